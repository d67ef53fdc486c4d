"""Handwritten digits composited on textured canvases: an 11-class segmentation dataset
(0 background, d + 1 digit d) in which each image holds only a few classes. The glyphs are
scikit-learn's bundled 8x8 digits (no download); the drawing is NumPy only."""

import math
from typing import NamedTuple

import numpy as np

from segzoo.datasets._split import make_split, validation_count
from segzoo.errors import ConfigError

MIN_DIGIT_SIZE = 16  # pixels; an 8x8 glyph blown up less than 2x is barely a digit
HELD_OUT = 0.2  # the last fifth of scikit-learn's digits is kept for validation images


class Placement(NamedTuple):
    index: int  # row of sklearn.datasets.load_digits()
    top: int
    left: int
    side: int

    @property
    def window(self):
        """The (rows, columns) slices of the square this digit is drawn in."""
        return slice(self.top, self.top + self.side), slice(self.left, self.left + self.side)


def digits(n, image_size=128, digits_per_image=(1, 3), seed=0, validation_fraction=0.2,
           batch_size=8):
    """n images (image_size x image_size x 3, uint8) with masks of 11 classes: 0 is the
    textured background, class d + 1 is the handwritten digit d.

    Each image holds between digits_per_image[0] and digits_per_image[1] digits, all of
    different classes, each blown up to 20-40 % of image_size and drawn in a random colour
    that contrasts with the background; the mask marks the pixels where the smoothed glyph
    is more than half inked. Validation images draw their digits from scikit-learn
    samples (the last fifth) that training images never use. Needs scikit-learn. Returns Split(train, validation, arrays).
    """
    _check(n, image_size, digits_per_image, validation_fraction, batch_size)
    validation = validation_count(n, validation_fraction)
    images, masks, _ = _generate(n, image_size, tuple(digits_per_image), seed, validation)
    return make_split(images, masks, validation_fraction, batch_size, seed)


def _check(n, image_size, digits_per_image, validation_fraction, batch_size):
    if not _is_int(n) or n < 2:
        raise ConfigError(f"n must be an integer >= 2 (train and validation), got {n!r}.")
    if not (isinstance(digits_per_image, (tuple, list)) and len(digits_per_image) == 2
            and all(_is_int(k) for k in digits_per_image)
            and 1 <= digits_per_image[0] <= digits_per_image[1] <= 10):
        raise ConfigError(
            "digits_per_image must be a (min, max) pair of integers with 1 <= min <= max <= 10 "
            f"(each image holds digits of distinct classes), got {digits_per_image!r}."
        )
    smallest = MIN_DIGIT_SIZE * _grid_size(digits_per_image[1])
    if not _is_int(image_size) or image_size < smallest:
        raise ConfigError(
            f"image_size must be an integer >= {smallest} to hold {digits_per_image[1]} digits "
            f"of at least {MIN_DIGIT_SIZE} pixels, got {image_size!r}."
        )
    if not 0.0 <= validation_fraction < 1.0:
        raise ConfigError(f"validation_fraction must be in [0, 1), got {validation_fraction!r}.")
    if not _is_int(batch_size) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}.")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _load_digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ConfigError(
            "segzoo.datasets.digits draws scikit-learn's bundled handwritten digits, and "
            "scikit-learn is not installed: pip install scikit-learn"
        ) from error
    data = load_digits()
    return data.images, data.target


def _generate(n, image_size, digits_per_image, seed, validation):
    """images, masks and, per image, the Placements drawn; the first `validation` images
    take their glyphs from the held-out samples."""
    glyphs, labels = _load_digits()
    pools = _pools(labels)
    rng = np.random.default_rng(seed)
    images = np.empty((n, image_size, image_size, 3), np.uint8)
    masks = np.zeros((n, image_size, image_size), np.uint8)
    placements = []
    for index in range(n):
        pool = pools["validation" if index < validation else "train"]
        chosen = _place(rng, image_size, digits_per_image, pool)
        images[index], masks[index] = _draw(rng, image_size, glyphs, labels, chosen)
        placements.append(chosen)
    return images, masks, placements


def _pools(labels):
    """{split: [sample rows of digit d for d in 0..9]}; a contiguous block is held out
    rather than every fifth sample, as neighbouring samples may share a writer."""
    cut = int(len(labels) * (1 - HELD_OUT))
    rows = np.arange(len(labels))
    return {
        split: [part[labels[part] == d] for d in range(10)]
        for split, part in (("train", rows[:cut]), ("validation", rows[cut:]))
    }


def _grid_size(count):
    return math.ceil(math.sqrt(count))


def _place(rng, size, digits_per_image, pool):
    """Distinct digits in distinct cells of a jittered grid: they never overlap and every
    digit drawn fits, so no retries and no silently dropped digits."""
    count = int(rng.integers(digits_per_image[0], digits_per_image[1] + 1))
    grid = _grid_size(count)
    cell = size / grid
    classes = rng.choice(10, size=count, replace=False)
    cells = rng.choice(grid * grid, size=count, replace=False)
    placements = []
    for digit, where in zip(classes, cells):
        side = int(np.clip(round(rng.uniform(0.2, 0.4) * size), MIN_DIGIT_SIZE, math.floor(cell)))
        row, column = divmod(int(where), grid)
        top = math.floor(row * cell + rng.uniform(0, cell - side))
        left = math.floor(column * cell + rng.uniform(0, cell - side))
        placements.append(Placement(int(rng.choice(pool[digit])), top, left, side))
    return placements


def _draw(rng, size, glyphs, labels, placements):
    image, level = _background(rng, size)
    mask = np.zeros((size, size), np.uint8)
    for place in placements:
        ink = _resize_bilinear(glyphs[place.index], place.side)
        ink = ink / ink.max()
        colour = _ink_colour(rng, level) + rng.normal(0, 6, size=(place.side, place.side, 1))
        # Soft alpha keeps the strokes' edges smooth; the label is where ink dominates.
        image[place.window] = image[place.window] * (1 - ink[..., None]) + colour * ink[..., None]
        mask[place.window][ink > 0.5] = labels[place.index] + 1
    return np.clip(np.round(image), 0, 255).astype(np.uint8), mask


def _background(rng, size):
    """A grey canvas with a faint grating, pixel noise and a tint; returns it and its level."""
    yy, xx = np.mgrid[:size, :size] / size
    angle, frequency, phase = rng.uniform(0, np.pi), rng.uniform(1, 5), rng.uniform(0, 2 * np.pi)
    wave = np.sin(2 * np.pi * frequency * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
    level = rng.uniform(60, 190)
    grey = level + 12 * wave[..., None] + rng.normal(0, 6, size=(size, size, 1))
    return grey + rng.uniform(-12, 12, size=3), level


def _ink_colour(rng, level):
    """A colour whose brightness is 60-110 grey levels away from the background's, lighter
    or darker, so that strokes stand out whatever the canvas."""
    contrast = rng.uniform(60, 110)
    options = [b for b in (level + contrast, level - contrast) if 10 <= b <= 245]
    return rng.choice(options) + rng.uniform(-25, 25, size=3)


def _resize_bilinear(array, side):
    """Bilinear resize of a square 2-D array to side x side, with half-pixel centres (the
    sampling of tf.image.resize), as two small matrix products."""
    weights = _bilinear_weights(array.shape[0], side)
    return weights @ array @ weights.T


def _bilinear_weights(source, target):
    centres = np.clip((np.arange(target) + 0.5) * source / target - 0.5, 0, source - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, source - 1)
    weights = np.zeros((target, source))
    weights[np.arange(target), low] += 1 - (centres - low)
    weights[np.arange(target), high] += centres - low
    return weights
