"""U-Net decoder (Ronneberger et al. 2015): upsample, concatenate the skip, two convs."""

from segzoo.errors import ConfigError
from segzoo import blocks
from segzoo.models._spec import register_architecture


def check_upsampling(upsampling):
    if upsampling not in blocks.UPSAMPLING_MODES:
        raise ConfigError(f"upsampling must be one of {blocks.UPSAMPLING_MODES}, got {upsampling!r}.")


def decode(features, depth, decoder_filters, upsampling="bilinear"):
    check_upsampling(upsampling)
    x = features[2**depth]
    for stage, width in enumerate(decoder_filters, start=1):
        name = f"decoder_stage{stage}"
        stride = 2 ** (depth - stage)
        if upsampling == "nearest" and blocks.spatial_dims(x) == 2:
            x = blocks.nearest_upsampling_conv([x, *_skip(features, stride)], width, f"{name}_block1_conv")
            x = blocks.relu(blocks.batch_norm(x, f"{name}_block1_bn"), f"{name}_block1_relu")
        else:
            x = upsample_and_join(x, features, stride, upsampling, width, name)
            x = blocks.conv_bn_relu(x, width, f"{name}_block1")
        x = blocks.conv_bn_relu(x, width, f"{name}_block2")
    return x


def _skip(features, stride):
    return [features[stride]] if stride in features else []


def upsample_and_join(x, features, stride, upsampling, width, name):
    """Upsample to `stride` and concatenate the encoder's feature there, if it has one."""
    x = blocks.upsample(x, upsampling, f"{name}_upsample", filters=width)
    if stride in features:
        x = blocks.concatenate([x, features[stride]], f"{name}_concat")
    return x


register_architecture("unet", decode, options=("upsampling",))
