"""U-Net decoder (Ronneberger et al. 2015): upsample, concatenate the skip, two convs."""

from segzoo.errors import ConfigError
from segzoo import blocks
from segzoo.models._spec import ARCHITECTURES, ArchitectureSpec


def check_upsampling(upsampling):
    if upsampling not in blocks.UPSAMPLING_MODES:
        raise ConfigError(f"upsampling must be one of {blocks.UPSAMPLING_MODES}, got {upsampling!r}.")


def decode(features, depth, decoder_filters, upsampling="bilinear"):
    check_upsampling(upsampling)
    x = features[2**depth]
    for stage, width in enumerate(decoder_filters, start=1):
        name = f"decoder_stage{stage}"
        x = upsample_and_join(x, features, 2 ** (depth - stage), upsampling, width, name)
        x = blocks.conv_bn_relu(x, width, f"{name}_block1")
        x = blocks.conv_bn_relu(x, width, f"{name}_block2")
    return x


def upsample_and_join(x, features, stride, upsampling, width, name):
    """Upsample to `stride` and concatenate the encoder's feature there, if it has one."""
    x = blocks.upsample(x, upsampling, f"{name}_upsample", filters=width)
    if stride in features:
        x = blocks.concatenate([x, features[stride]], f"{name}_concat")
    return x


ARCHITECTURES.register(
    "unet",
    ArchitectureSpec(
        name="unet",
        decode=decode,
        default_filters=(256, 128, 64, 32, 16),
        head_upsamples=False,
        encoder_block="conv",
        options=("upsampling",),
    ),
)
