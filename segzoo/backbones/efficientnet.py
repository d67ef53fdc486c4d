"""EfficientNet B0-B7 and EfficientNetV2 B0-B3 (keras.applications; they normalise
raw [0, 255] pixels themselves)."""

import functools

from keras import applications

from segzoo.backbones._applications import build_application_encoder
from segzoo.backbones._spec import register_backbone

_V1_SKIPS = {
    2: "block2a_expand_activation",
    4: "block3a_expand_activation",
    8: "block4a_expand_activation",
    16: "block6a_expand_activation",
    32: "top_activation",
}


def _v2_skips(variant):
    # B0 has one block in stage 1 and two in stage 2; B1-B3 have two and three.
    small = variant == 0
    return {
        2: "block1a_project_activation" if small else "block1b_add",
        4: "block2b_add" if small else "block2c_add",
        8: "block4a_expand_activation",
        16: "block6a_expand_activation",
        32: "top_activation",
    }



def _register(name, application, skips, **options):
    build = functools.partial(build_application_encoder, application, skips, **options)
    register_backbone(name, build, skips, "none")


# The ImageNet standard deviations Keras divides by (after a Normalization layer whose
# stored variance needs them): keras/src/applications/efficientnet.py IMAGENET_STDDEV_RGB.
_IMAGENET_STD = (0.229, 0.224, 0.225)

for _variant in range(8):
    _register(
        f"efficientnetb{_variant}",
        getattr(applications, f"EfficientNetB{_variant}"),
        _V1_SKIPS,
        imagenet_std=_IMAGENET_STD,
    )
for _variant in range(4):
    _register(
        f"efficientnetv2b{_variant}",
        getattr(applications, f"EfficientNetV2B{_variant}"),
        _v2_skips(_variant),
    )
