"""Feature Pyramid Network decoder for segmentation (Lin et al. 2017; Kirillov et al.'s
panoptic FPN head), as segmentation_models.pytorch builds it.

Top-down pathway over the four deepest encoder levels: a 1x1 lateral conv per level
added to the nearest-upsampled level above. Each pyramid level then goes through
3x3 conv-GroupNorm-ReLU blocks, upsampling by 2 after each, until it reaches the
shallowest level's stride; the four are summed (or concatenated), spatially dropped
out, and the head upsamples the result bilinearly to full resolution.
"""

from keras import layers

from segzoo import blocks
from segzoo.errors import ConfigError
from segzoo.models._spec import register_architecture

LEVELS = 4
MERGE_POLICIES = ("add", "cat")
_SPATIAL_DROPOUT = {2: layers.SpatialDropout2D, 3: layers.SpatialDropout3D}


def decode(features, depth, decoder_filters, dropout=0.2, merge_policy="add"):
    """decoder_filters: (pyramid width, segmentation width), smp's (256, 128)."""
    if merge_policy not in MERGE_POLICIES:
        raise ConfigError(f"merge_policy must be one of {MERGE_POLICIES}, got {merge_policy!r}.")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}.")
    pyramid_width, segmentation_width = decoder_filters
    pyramid = _top_down(features, depth, pyramid_width)
    branches = [_segmentation_branch(p, segmentation_width, LEVELS - 1 - level, f"decoder_branch{level + 1}")
                for level, p in enumerate(pyramid)]
    if merge_policy == "add":
        x = layers.Add(name="decoder_merge")(branches)
    else:
        x = blocks.concatenate(branches, "decoder_merge")
    if dropout:
        x = _SPATIAL_DROPOUT[blocks.spatial_dims(x)](dropout, name="decoder_dropout")(x)
    return x


def _top_down(features, depth, width):
    """P5..P2 (deepest first): lateral 1x1 convs plus the upsampled level above."""
    strides = [2 ** (depth - level) for level in range(LEVELS)]
    x = blocks.conv(features[strides[0]], width, f"decoder_lateral{strides[0]}", kernel_size=1, use_bias=True)
    pyramid = [x]
    for stride in strides[1:]:
        lateral = blocks.conv(features[stride], width, f"decoder_lateral{stride}", kernel_size=1, use_bias=True)
        x = blocks.upsample(x, "nearest", f"decoder_topdown{stride}")
        x = layers.Add(name=f"decoder_pyramid{stride}")([x, lateral])
        pyramid.append(x)
    return pyramid


def _segmentation_branch(x, width, upsamplings, name):
    """max(1, upsamplings) conv-GN-ReLU blocks, each followed by a bilinear 2x upsampling
    when `upsamplings` > 0."""
    for block in range(1, max(1, upsamplings) + 1):
        x = blocks.conv(x, width, f"{name}_block{block}_conv")
        x = blocks.relu(blocks.group_norm(x, f"{name}_block{block}_gn"), f"{name}_block{block}_relu")
        if upsamplings:
            x = blocks.upsample(x, "bilinear", f"{name}_block{block}_upsample")
    return x


register_architecture(
    "fpn", decode, default_filters=(256, 128), filter_count=2, mirror_encoder=False,
    output_stride=lambda depth: 2 ** (depth - LEVELS + 1), options=("dropout", "merge_policy"),
)
