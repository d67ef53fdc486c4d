"""Sliding-window prediction (as MONAI's sliding_window_inference): overlapping tiles,
predicted a batch at a time, their probabilities blended with an importance map into one
buffer of the image's size — never all tiles at once."""

import itertools
import math

import keras
import numpy as np

from segzoo.errors import ConfigError

BLENDS = ("gaussian", "constant")
SIGMA_SCALE = 0.125  # MONAI's default: sigma = 0.125 * tile side


def tile_starts(size, tile, overlap, multiple=1):
    """Start positions along one axis of tiles of side `tile` covering `size` pixels, each
    sharing at least `overlap` of its side with the next; the last tile ends at the edge.
    The step is a multiple of `multiple` (a model that halves its input n times is
    shift-equivariant only for shifts of 2**n).

    tile_starts(256, 64, 0.25) == [0, 48, 96, 144, 192]
    """
    if size <= tile:
        return [0]
    step = max(multiple, int(tile * (1 - overlap)) // multiple * multiple)
    count = math.ceil((size - tile) / step) + 1
    return sorted({min(i * step, size - tile) for i in range(count)})


def importance_map(tile, blend="gaussian"):
    """float32 weights of shape `tile` for each tile's probabilities: all ones
    ("constant"), or a Gaussian centred on the tile with sigma 0.125 * side, peak 1
    ("gaussian"), which gives less weight to predictions near tile borders."""
    if blend == "constant":
        return np.ones(tile, np.float32)
    weights = np.ones((), np.float64)
    for side in tile:
        offsets = np.arange(side) - (side - 1) / 2
        weights = np.multiply.outer(weights, np.exp(-(offsets**2) / (2 * (SIGMA_SCALE * side) ** 2)))
    return (weights / weights.max()).astype(np.float32)


def check_tiling(tile, overlap, blend, spatial_dims):
    """`tile` as a tuple of sides (an int is every side), after checking the options."""
    sides = (tile,) * spatial_dims if isinstance(tile, (int, np.integer)) else tuple(tile)
    if len(sides) != spatial_dims or not all(isinstance(s, (int, np.integer)) and s > 0 for s in sides):
        raise ConfigError(f"tile must be a positive int or {spatial_dims} positive ints (one per spatial axis), "
                          f"got {tile!r}.")
    if not 0.0 <= overlap < 1.0:
        raise ConfigError(f"overlap must be a fraction in [0, 1), got {overlap!r}.")
    if blend not in BLENDS:
        raise ConfigError(f"blend must be one of {BLENDS}, got {blend!r}.")
    return tuple(int(s) for s in sides)


def predict_tiled(run, image, tile, overlap=0.25, blend="gaussian", batch_size=8, multiple=1, progress=False):
    """Blended probabilities (*spatial, K) float32 of an image (*spatial, C) that is at
    least `tile` on every side: `run` maps a batch of tiles (B, *tile, C) to probabilities
    (B, *tile, K). Memory: the image, the sums (*spatial, K), the weights (*spatial) and
    one batch of tiles."""
    size = image.shape[:-1]
    starts = list(itertools.product(*(tile_starts(s, t, overlap, multiple) for s, t in zip(size, tile))))
    weight = importance_map(tile, blend)
    weights = np.zeros(size, np.float32)
    sums = None
    bar = keras.utils.Progbar(len(starts), unit_name="tile") if progress else None
    for first in range(0, len(starts), batch_size):
        batch = starts[first:first + batch_size]
        windows = [tuple(slice(s, s + t) for s, t in zip(start, tile)) for start in batch]
        probabilities = run(np.stack([image[window] for window in windows]))
        if sums is None:
            sums = np.zeros((*size, probabilities.shape[-1]), np.float32)
        for window, tile_probabilities in zip(windows, probabilities):
            sums[window] += tile_probabilities * weight[..., None]
            weights[window] += weight
        if bar is not None:
            bar.add(len(batch))
    sums /= weights[..., None]
    return sums
