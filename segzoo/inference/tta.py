"""Test-time augmentation: predict on flipped / rotated copies of a batch, undo each
transform on the probabilities and average them."""

import numpy as np

from segzoo.errors import ConfigError

# The plane of the rotations and of hflip / vflip: height and width, the last two
# spatial axes of a batch (B, *spatial, C); dflip flips the depth of a volume.
_PLANE = (-3, -2)


def _flip(axis):
    def flip(x):
        return np.flip(x, axis)

    return flip, flip


def _rotation(turns):
    return (lambda x: np.rot90(x, turns, axes=_PLANE)), (lambda x: np.rot90(x, -turns, axes=_PLANE))


def _transpose(x):
    return np.swapaxes(x, *_PLANE)


def _antitranspose(x):
    return np.rot90(_transpose(x), 2, axes=_PLANE)


def _identity(x):
    return x


# name -> (forward, inverse) on batches (B, *spatial, C).
TRANSFORMS = {
    "identity": (_identity, _identity),
    "hflip": _flip(-2),
    "vflip": _flip(-3),
    "dflip": _flip(1),
    "rot90": _rotation(1),
    "rot180": _rotation(2),
    "rot270": _rotation(3),
    "transpose": (_transpose, _transpose),
    "antitranspose": (_antitranspose, _antitranspose),
}
SWAPS_HEIGHT_AND_WIDTH = frozenset({"rot90", "rot270", "transpose", "antitranspose"})
TTA_SETS = {
    "flip": ("identity", "hflip", "vflip"),
    # the dihedral group of the square: 4 rotations, each with and without a mirror
    "d4": ("identity", "rot90", "rot180", "rot270", "hflip", "vflip", "transpose", "antitranspose"),
}


def tta_transforms(tta, spatial_dims, fixed=None):
    """The transform names of `tta` (None, "flip", "d4" or a list of names). A volume's
    "flip" also flips its depth. Transforms that swap height and width need a model that
    takes any size or a square input: `fixed` is the model's fixed (height, width)."""
    if tta is None:
        return ("identity",)
    if isinstance(tta, str):
        if tta not in TTA_SETS:
            raise ConfigError(f"tta must be None, 'flip', 'd4' or a list of {', '.join(TRANSFORMS)}; got {tta!r}.")
        names = TTA_SETS[tta] + (("dflip",) if tta == "flip" and spatial_dims == 3 else ())
    else:
        names = tuple(tta)
        unknown = [name for name in names if name not in TRANSFORMS]
        if unknown or not names:
            raise ConfigError(f"unknown test-time transform(s) {unknown}; choose from {', '.join(TRANSFORMS)}.")
    if "dflip" in names and spatial_dims != 3:
        raise ConfigError("tta 'dflip' flips the depth of a volume; this model takes 2-D images.")
    if fixed is not None and None not in fixed and fixed[-2] != fixed[-1] and SWAPS_HEIGHT_AND_WIDTH & set(names):
        raise ConfigError(f"tta {tta!r} rotates the input, but this model takes only {fixed[-2]}x{fixed[-1]} "
                          "(not square) inputs; use tta='flip'.")
    return names


def averaged(run, batch, names):
    """The mean over `names` of inverse(run(forward(batch))): `run` maps a batch to
    probabilities."""
    total = None
    for name in names:
        forward, inverse = TRANSFORMS[name]
        probabilities = inverse(run(np.ascontiguousarray(forward(batch))))
        total = probabilities if total is None else total + probabilities
    return total / len(names) if len(names) > 1 else total
