"""Deep Residual U-Net (Zhang, Liu & Wang 2018): residual units in the decoder, and in
the encoder too when backbone="none"."""

from segzoo import blocks
from segzoo.models._spec import register_architecture
from segzoo.models.unet import check_upsampling, upsample_and_join


def decode(features, depth, decoder_filters, upsampling="bilinear"):
    check_upsampling(upsampling)
    x = features[2**depth]
    for stage, width in enumerate(decoder_filters, start=1):
        name = f"decoder_stage{stage}"
        x = upsample_and_join(x, features, 2 ** (depth - stage), upsampling, width, name)
        x = blocks.residual_unit(x, width, f"{name}_unit")
    return x


register_architecture("resunet", decode, encoder_block="residual", options=("upsampling",))
