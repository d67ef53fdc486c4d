"""ResNet v1 (caffe preprocessing) and v2 (pre-activation) from keras.applications."""

import functools

from keras import applications

from segzoo.backbones._applications import build_application_encoder
from segzoo.backbones._spec import BACKBONES, BackboneSpec

# Blocks per stage 3 and 4: the skip is the last block of each stage.
_STAGE_BLOCKS = {"50": (4, 6), "101": (4, 23), "152": (8, 36)}


def _v1_skips(stage3, stage4):
    return {
        2: "conv1_relu",
        4: "conv2_block3_out",
        8: f"conv3_block{stage3}_out",
        16: f"conv4_block{stage4}_out",
        32: "conv5_block3_out",
    }


def _v2_skips(stage3, stage4):
    # v2 downsamples at the end of a stage: take the pre-activation of its last block.
    return {
        2: "conv1_conv",
        4: "conv2_block3_1_relu",
        8: f"conv3_block{stage3}_1_relu",
        16: f"conv4_block{stage4}_1_relu",
        32: "post_relu",
    }



for _layers, (_stage3, _stage4) in _STAGE_BLOCKS.items():
    for _suffix, _skips, _prep in (("", _v1_skips, "caffe"), ("v2", _v2_skips, "tf")):
        _name = f"resnet{_layers}{_suffix}"
        _app = getattr(applications, f"ResNet{_layers}{_suffix.upper()}")
        _table = _skips(_stage3, _stage4)
        BACKBONES.register(
            _name,
            BackboneSpec(
                name=_name,
                build=functools.partial(build_application_encoder, _app, _table),
                strides=tuple(_table),
                preprocessing=_prep,
                pretrained=True,
            ),
        )
