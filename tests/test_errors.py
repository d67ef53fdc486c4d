"""Bad arguments raise specific errors whose messages say what was wrong and the fix."""

import pytest

import segzoo
from segzoo.errors import ConfigError, InputShapeError, UnknownNameError

CASES = [
    ({"architecture": "unett"}, UnknownNameError, r"Unknown architecture 'unett'. Did you mean 'unet'"),
    ({"backbone": "resnet5"}, UnknownNameError, r"Did you mean .*'resnet50'"),
    ({"backbone": "mobilenetv3"}, UnknownNameError, r"Available: .*mobilenetv2"),
    ({"activation": "softmax", "num_classes": 1}, ConfigError, r"use activation='sigmoid'"),
    ({"activation": "relu"}, ConfigError, r"'sigmoid', 'softmax' or None"),
    ({"num_classes": 0}, ConfigError, r"positive integer"),
    ({"input_shape": (100, 100, 3)}, InputShapeError, r"Nearest valid sizes: 96 or 128"),
    ({"input_shape": (20, 20, 3)}, InputShapeError, r"Nearest valid sizes: 32\."),
    ({"input_shape": (64, 64)}, InputShapeError, r"\(height, width, channels\)"),
    ({"input_shape": (64, 64, None)}, InputShapeError, r"channel count"),
    ({"input_shape": (32, 32, 32, 1)}, InputShapeError, r"use backbone='none'"),
    ({"input_shape": (16, 16, 3), "depth": 3}, InputShapeError, r"below 32.*Nearest valid sizes: 32\."),
    ({"input_shape": (20, 20, 3), "depth": 3}, InputShapeError, r"multiple of 8 .*Nearest valid sizes: 32\."),
    ({"input_shape": (20, 20, 3), "depth": 3, "backbone": "none"}, InputShapeError, r"Nearest valid sizes: 16 or 24"),
    ({"depth": 6}, ConfigError, r"depth must be one of \(3, 4, 5\)"),
    ({"depth": 2}, ConfigError, r"depth must be one of"),
    ({"decoder_filters": (64, 32)}, ConfigError, r"5 positive integers"),
    ({"colour": "red"}, ConfigError, r"Unknown option\(s\) colour .* Valid options: alpha, upsampling"),
    ({"upsampling": "cubic"}, ConfigError, r"upsampling must be one of"),
    ({"architecture": "encoder_decoder", "dropout": 1.5}, ConfigError, r"dropout must be in \[0, 1\)"),
    ({"backbone": "none", "encoder_filters": (8, 16)}, ConfigError, r"depth=5 needs 6"),
    ({"backbone": "none", "encoder_filters": -4}, ConfigError, r"positive int"),
    ({"backbone": "none", "encoder_block": "dense"}, ConfigError, r"encoder_block must be one of"),
    ({"architecture": "resunet", "backbone": "none", "encoder_convs": 3}, ConfigError, r"even number"),
    ({"encoder_weights": 3}, ConfigError, r"None, 'imagenet' or a path"),
]


@pytest.mark.parametrize("arguments, error, message", CASES, ids=[str(c[0]) for c in CASES])
def test_bad_build_arguments(arguments, error, message):
    arguments = {"architecture": "unet", "input_shape": (64, 64, 3), **arguments}
    with pytest.raises(error, match=message):
        segzoo.build(**arguments)


def test_sigmoid_with_many_classes_is_multilabel_not_an_error():
    model = segzoo.build("unet", backbone="none", num_classes=4, activation="sigmoid",
                         input_shape=(32, 32, 3), encoder_filters=2)
    assert model.output_shape == (None, 32, 32, 4)


def test_errors_are_value_errors_too():
    # Code that catches ValueError for bad arguments keeps working.
    assert issubclass(ConfigError, ValueError) and issubclass(UnknownNameError, ValueError)
