"""MobileNetV2 (keras.applications), width multiplier `alpha`."""

from keras import applications

from segzoo.backbones._applications import build_application_encoder
from segzoo.backbones._spec import register_backbone

SKIPS = {
    2: "block_1_expand_relu",
    4: "block_3_expand_relu",
    8: "block_6_expand_relu",
    16: "block_13_expand_relu",
    32: "out_relu",
}

def _build(input_shape, weights, max_stride, alpha=1.0):
    return build_application_encoder(
        applications.MobileNetV2, SKIPS, input_shape, weights, max_stride, alpha=alpha
    )

register_backbone("mobilenetv2", _build, SKIPS, "tf", options=("alpha",))
