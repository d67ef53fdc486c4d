"""Sizes: which inputs a model takes, and getting an image there and back (padding,
letterboxing, cropping) without changing its aspect ratio."""

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from segzoo.errors import ConfigError
from segzoo.models.sizes import smallest_input_side

PADDINGS = ("reflect", "zero")


@dataclass(frozen=True)
class Geometry:
    """A model's spatial input rule: `fixed` sizes (None where any size goes), sides a
    multiple of `multiple` and at least `smallest`."""

    fixed: tuple
    multiple: int = 1
    smallest: int = 1

    @property
    def dims(self):
        return len(self.fixed)

    @property
    def any_size(self):
        return all(side is None for side in self.fixed)

    def valid(self, size):
        """Each side rounded up to the nearest size the model takes."""
        return tuple(max(self.smallest, math.ceil(side / self.multiple) * self.multiple) for side in size)

    def check_tile(self, tile):
        """A ConfigError naming the nearest valid sizes when the model refuses `tile`."""
        if not self.any_size and tuple(tile) != self.fixed:
            raise ConfigError(f"tile {_text(tile)}: this model takes only {_text(self.fixed)} inputs; "
                              f"pass tile={tuple(self.fixed)}.")
        for side in tile:
            if side < self.smallest or side % self.multiple:
                lower = max(self.smallest, side // self.multiple * self.multiple)
                upper = max(self.smallest, self.valid((side,))[0])
                nearest = " or ".join(map(str, sorted({lower, upper})))
                raise ConfigError(f"tile side {side} is not a size the model takes (multiples of {self.multiple}, "
                                  f"at least {self.smallest}); nearest valid sizes: {nearest}.")


def model_geometry(model):
    """The Geometry of a segzoo model (2**depth multiples, the pretrained minimum), or of
    any Keras model (its input shape; any size where None)."""
    fixed = tuple(model.input_shape[1:-1])
    if not hasattr(model, "depth") or not hasattr(model, "backbone"):
        return Geometry(fixed)
    return Geometry(fixed, 2**model.depth, smallest_input_side(model.depth, model.backbone))


def fit_size(size, box):
    """The size an image of `size` is resized to so that it fits in `box` with its aspect
    ratio kept: the longer side (relative to the box) fills it."""
    scale = min(b / s for s, b in zip(size, box))
    return tuple(min(b, max(1, round(s * scale))) for s, b in zip(size, box))


def pad_to(array, size, padding):
    """Pad an array (*spatial, channels) at the end of each spatial axis up to `size`:
    mirror images of the content ("reflect", without repeating the edge pixel) or zeros."""
    widths = [(0, target - side) for side, target in zip(array.shape[:-1], size)] + [(0, 0)]
    if not any(after for _, after in widths):
        return array
    if padding == "zero":
        return np.pad(array, widths)
    # NumPy reflects repeatedly when the padding is wider than the image, and repeats a
    # side of one pixel, which has nothing to mirror.
    return np.pad(array, widths, mode="reflect")


def crop(array, size):
    """The first `size` pixels of each spatial axis of (..., *spatial, channels)."""
    return array[(Ellipsis, *(slice(0, side) for side in size), slice(None))]


def resize(array, size):
    """Bilinear resize of (H, W, C) (half-pixel centres, no antialiasing: tf.image.resize)."""
    if tuple(array.shape[:2]) == tuple(size):
        return np.asarray(array, np.float32)
    return tf.image.resize(array, size).numpy()


def _text(size):
    return "x".join(str(side) for side in size)
