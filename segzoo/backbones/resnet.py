"""ResNet v1 (caffe preprocessing) and v2 (pre-activation) from keras.applications."""

import functools

from keras import applications

from segzoo.backbones._applications import build_application_encoder
from segzoo.backbones._spec import register_backbone

# Blocks per stage 3 and 4: the skip is the last block of each stage.
_STAGE_BLOCKS = {"50": (4, 6), "101": (4, 23), "152": (8, 36)}

# {stride: layer}; {stage3} and {stage4} stand for the last block of stages 3 and 4. v2 downsamples
# at the end of a stage, so its skips are the pre-activations of those last blocks.
_SKIPS = {
    "": ("conv1_relu", "conv2_block3_out", "conv3_block{stage3}_out", "conv4_block{stage4}_out", "conv5_block3_out"),
    "v2": ("conv1_conv", "conv2_block3_1_relu", "conv3_block{stage3}_1_relu", "conv4_block{stage4}_1_relu", "post_relu"),
}
_PREPROCESSING = {"": "caffe", "v2": "tf"}


def _skips(version, stage3, stage4):
    return {2**level: name.format(stage3=stage3, stage4=stage4) for level, name in enumerate(_SKIPS[version], 1)}


for _layers, _stages in _STAGE_BLOCKS.items():
    for _version in _SKIPS:
        _table = _skips(_version, *_stages)
        _app = getattr(applications, f"ResNet{_layers}{_version.upper()}")
        _build = functools.partial(build_application_encoder, _app, _table)
        register_backbone(f"resnet{_layers}{_version}", _build, _table, _PREPROCESSING[_version])
