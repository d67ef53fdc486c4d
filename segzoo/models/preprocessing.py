"""The backbones' input conventions, and the layer that applies one inside a model.

A convention turns raw pixels in [0, 255] (RGB, channels last) into what a backbone's
pretrained weights expect:

- "caffe": RGB -> BGR, then the ImageNet BGR channel means subtracted, no scaling
  (keras.applications.resnet.preprocess_input);
- "tf": x / 127.5 - 1, pixels in [-1, 1] (MobileNetV2, ResNetV2);
- "none": unchanged; the backbone normalises raw pixels itself (EfficientNet) or was
  trained from scratch on whatever it is given (backbone "none").
"""

import keras
from keras import ops

from segzoo.errors import ConfigError

CONVENTIONS = ("caffe", "tf", "none")
# The ImageNet channel means in BGR order, as keras.applications' "caffe" mode subtracts them.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


def check_convention(convention, channels=None):
    """A ConfigError for an unknown convention, or "caffe" on other than 3 channels."""
    if convention not in CONVENTIONS:
        raise ConfigError(f"Unknown preprocessing convention {convention!r}; use one of {', '.join(CONVENTIONS)}.")
    if convention == "caffe" and channels is not None and channels != 3:
        raise ConfigError(
            f"The 'caffe' convention swaps RGB to BGR and subtracts 3 channel means; the input has "
            f"{channels} channel(s). Give the model 3-channel images, or leave include_preprocessing off."
        )


def preprocess(x, convention, dtype="float32"):
    """[0, 255] pixels (any numeric dtype, channels last) in `convention`, as `dtype`."""
    check_convention(convention)
    x = ops.cast(x, dtype)
    if convention == "tf":
        return x / 127.5 - 1.0
    if convention == "caffe":
        return ops.flip(x, axis=-1) - ops.convert_to_tensor(CAFFE_BGR_MEAN, dtype)
    return x


@keras.saving.register_keras_serializable(package="segzoo")
class Preprocessing(keras.layers.Layer):
    """Applies a backbone's input convention ("caffe", "tf" or "none") to raw [0, 255]
    pixels, so that a model starting with it takes images as they are stored. No weights."""

    def __init__(self, convention, **kwargs):
        super().__init__(**kwargs)
        check_convention(convention)
        self.convention = convention

    def build(self, input_shape):
        check_convention(self.convention, input_shape[-1])
        self.built = True

    def call(self, inputs):
        return preprocess(inputs, self.convention, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "convention": self.convention}
