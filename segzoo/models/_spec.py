"""What every architecture registers: its decoder and its defaults."""

import dataclasses
from typing import Callable, Optional

from segzoo._registry import Registry


@dataclasses.dataclass(frozen=True)
class ArchitectureSpec:
    """`decode(features, depth, decoder_filters, **options)` maps the encoder's
    {stride: feature} dict to the tensor the head reads.

    `head_upsamples`: the decoder stops at stride 2 and the head's transposed conv
    reaches full resolution (the pix2pix decoder). `stages(depth)` is the number of
    decoder_filters it takes: one per stage, or `filter_count` for decoders whose width
    does not follow the depth (FPN's pyramid and segmentation widths). `encoder_block` is
    the plain encoder it pairs with when backbone="none"; `mirror_encoder` gives a plain
    encoder's decoder its widths (else `default_filters` always).

    `output_stride(depth)`: the stride of the decoder's output, which the head upsamples
    bilinearly after its conv (FPN decodes at stride 4, as in segmentation_models.pytorch).
    """

    name: str
    decode: Callable
    default_filters: tuple = (256, 128, 64, 32, 16)
    head_upsamples: bool = False
    encoder_block: str = "conv"
    options: tuple = ()
    filter_count: Optional[int] = None
    mirror_encoder: bool = True
    output_stride: Callable = lambda depth: 1

    def stages(self, depth):
        if self.filter_count is not None:
            return self.filter_count
        return depth - 1 if self.head_upsamples else depth


ARCHITECTURES = Registry("architecture")


def register_architecture(name, decode, **fields):
    """Registers ArchitectureSpec(name, decode, **fields) under `name`."""
    return ARCHITECTURES.register(name, ArchitectureSpec(name, decode, **fields))
