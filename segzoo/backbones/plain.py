"""backbone="none": a plain encoder trained from scratch, in 2-D or 3-D.

Level 0 works at full resolution; each further level halves every spatial size and,
by default, doubles the width. Features are keyed by stride, including stride 1.
"""

import keras

from segzoo.backbones._spec import register_backbone
from segzoo.errors import ConfigError
from segzoo import blocks

ENCODER_BLOCKS = ("conv", "residual")


def _build(input_shape, weights, max_stride, encoder_filters=32, encoder_convs=2, encoder_block="conv"):
    """`encoder_convs` counts convolutions per level; `encoder_block="residual"` builds the
    Deep Residual U-Net encoder (two convolutions per residual unit)."""
    if weights is not None:
        raise ConfigError(
            "backbone='none' is trained from scratch: it has no pretrained weights. "
            f"Pass encoder_weights=None (got {weights!r}), or pick a pretrained backbone."
        )
    levels = max_stride.bit_length()  # stride 2**(levels - 1) is the deepest
    widths = encoder_widths(encoder_filters, levels)
    if encoder_block not in ENCODER_BLOCKS:
        raise ConfigError(f"encoder_block must be one of {ENCODER_BLOCKS}, got {encoder_block!r}.")
    if not isinstance(encoder_convs, int) or encoder_convs < 1:
        raise ConfigError(f"encoder_convs must be a positive integer, got {encoder_convs!r}.")
    if encoder_block == "residual" and encoder_convs % 2:
        raise ConfigError(
            f"encoder_convs={encoder_convs}: residual units hold two convolutions each, "
            "so encoder_block='residual' needs an even number (2 = one unit per level)."
        )
    inputs = keras.Input(shape=input_shape, name="encoder_input")
    level = _residual_level if encoder_block == "residual" else _conv_level
    features, x = {}, inputs
    for index, width in enumerate(widths):
        x = level(x, width, index, encoder_convs)
        features[2**index] = x
    return keras.Model(inputs, features, name="encoder")


def encoder_widths(encoder_filters, levels):
    """An int is the base width, doubled at each level; a sequence gives every width."""
    if isinstance(encoder_filters, int) and encoder_filters > 0:
        return [encoder_filters * 2**index for index in range(levels)]
    widths = list(encoder_filters) if isinstance(encoder_filters, (list, tuple)) else None
    if not widths or not all(isinstance(w, int) and w > 0 for w in widths):
        raise ConfigError(
            f"encoder_filters must be a positive int (base width) or a sequence of them, got {encoder_filters!r}."
        )
    if len(widths) != levels:
        raise ConfigError(
            f"encoder_filters has {len(widths)} widths but depth={levels - 1} needs {levels} "
            "(full resolution plus one per downsampling). Change depth or the widths."
        )
    return widths


def _conv_level(x, width, index, convs):
    if index > 0:
        x = blocks.max_pool(x, f"encoder_level{index}_pool")
    for conv_index in range(1, convs + 1):
        x = blocks.conv_bn_relu(x, width, f"encoder_level{index}_block{conv_index}")
    return x


def _residual_level(x, width, index, convs):
    # Zhang et al. (2018): the first unit has no pre-activation, later levels
    # downsample with a stride-2 convolution instead of pooling.
    x = blocks.residual_unit(
        x, width, f"encoder_level{index}_unit1", strides=1 if index == 0 else 2, preactivate=index > 0
    )
    for unit in range(2, convs // 2 + 1):
        x = blocks.residual_unit(x, width, f"encoder_level{index}_unit{unit}")
    return x


register_backbone(
    "none", _build, (1, 2, 4, 8, 16, 32), "none", pretrained=False,
    options=("encoder_filters", "encoder_convs", "encoder_block"),
)
