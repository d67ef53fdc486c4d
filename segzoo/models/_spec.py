"""What every architecture registers: its decoder and its defaults."""

import dataclasses
from typing import Callable

from segzoo._registry import Registry


@dataclasses.dataclass(frozen=True)
class ArchitectureSpec:
    """`decode(features, depth, decoder_filters, **options)` maps the encoder's
    {stride: feature} dict to the tensor the head reads.

    `head_upsamples`: the decoder stops at stride 2 and the head's transposed conv
    reaches full resolution (the pix2pix decoder). `stages(depth)` is the number of
    decoder_filters it takes. `encoder_block` is the plain encoder it pairs with when
    backbone="none".
    """

    name: str
    decode: Callable
    default_filters: tuple = (256, 128, 64, 32, 16)
    head_upsamples: bool = False
    encoder_block: str = "conv"
    options: tuple = ()

    def stages(self, depth):
        return depth - 1 if self.head_upsamples else depth


ARCHITECTURES = Registry("architecture")


def register_architecture(name, decode, **fields):
    """Registers ArchitectureSpec(name, decode, **fields) under `name`."""
    return ARCHITECTURES.register(name, ArchitectureSpec(name, decode, **fields))
