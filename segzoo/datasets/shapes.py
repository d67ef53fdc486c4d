"""Procedural shapes on textured backgrounds: a segmentation dataset with a class
imbalance you choose, deterministic by seed, made in NumPy in well under a second."""

import numpy as np

from segzoo.datasets._split import make_split
from segzoo.errors import ConfigError

SHAPES = ("disk", "square", "triangle", "ring", "cross")
# Kinds only drawn when asked for by name (kinds=...): the defaults stay as they were.
EXTRA_SHAPES = ("line",)


COLOURS = ("by_class", "random")


def shapes(n, image_size=128, num_classes=4, foreground_fraction=0.25, objects_per_image=3,
           seed=0, validation_fraction=0.2, batch_size=8, colours="by_class", kinds=None):
    """n images (image_size x image_size x 3, values 0-255) with masks of num_classes
    classes: 0 is the textured background, class k >= 1 is one shape kind (disk, square,
    triangle, ring, cross, repeating) in its own colour family.

    foreground_fraction: the share of pixels covered by shapes on average; 0.05 gives a
    heavily imbalanced set (background 95 %). colours: "by_class" (colour gives the class
    away: an easy task) or "random" (any hue for any shape: the class must be read from
    the shape). kinds: the shape of each class 1, 2, ... by name, from SHAPES and "line"
    (a segment about 2 pixels wide at 64 px: a thin class); None repeats SHAPES.
    Returns Split(train, validation, arrays).
    """
    _check(n, image_size, num_classes, foreground_fraction, objects_per_image, validation_fraction)
    if colours not in COLOURS:
        raise ConfigError(f"colours must be one of {COLOURS}, got {colours!r}.")
    kinds = shape_kinds(num_classes, kinds)
    rng = np.random.default_rng(seed)
    palette = _class_colours(num_classes, rng) if colours == "by_class" else None
    images = np.empty((n, image_size, image_size, 3), np.uint8)
    masks = np.zeros((n, image_size, image_size), np.uint8)
    # Radius such that objects_per_image shapes of mean area ~ (2r)² * 0.6 cover the fraction.
    radius = image_size * np.sqrt(foreground_fraction / (objects_per_image * 4 * 0.6))
    for index in range(n):
        images[index], masks[index] = _draw(rng, image_size, kinds, palette, radius, objects_per_image)
    return make_split(images, masks, validation_fraction, batch_size, seed)


def shape_kinds(num_classes, kinds=None):
    """The shape name of each class 1 .. num_classes - 1."""
    if kinds is None:
        return tuple(SHAPES[(label - 1) % len(SHAPES)] for label in range(1, num_classes))
    kinds = tuple(kinds)
    unknown = [kind for kind in kinds if kind not in SHAPES + EXTRA_SHAPES]
    if unknown or len(kinds) != num_classes - 1:
        raise ConfigError(f"kinds must name {num_classes - 1} shapes (one per class after the background) "
                          f"from {SHAPES + EXTRA_SHAPES}, got {kinds!r}.")
    return kinds


def _check(n, image_size, num_classes, foreground_fraction, objects_per_image, validation_fraction):
    if not isinstance(n, int) or n < 2:
        raise ConfigError(f"n must be an integer >= 2 (train and validation), got {n!r}.")
    if not isinstance(image_size, int) or image_size < 16:
        raise ConfigError(f"image_size must be an integer >= 16, got {image_size!r}.")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigError(f"num_classes must be >= 2 (background and one shape), got {num_classes!r}.")
    if not 0.0 < foreground_fraction < 0.8:
        raise ConfigError(f"foreground_fraction must be in (0, 0.8), got {foreground_fraction!r}.")
    if not isinstance(objects_per_image, int) or objects_per_image < 1:
        raise ConfigError(f"objects_per_image must be a positive integer, got {objects_per_image!r}.")
    if not 0.0 <= validation_fraction < 1.0:
        raise ConfigError(f"validation_fraction must be in [0, 1), got {validation_fraction!r}.")


def _class_colours(num_classes, rng):
    hues = np.linspace(0, 1, num_classes - 1, endpoint=False) + rng.uniform(0, 1)
    return [_hue_to_rgb(h % 1.0) for h in hues]


def _hue_to_rgb(hue):
    channels = np.clip(np.abs((hue * 6 + np.array([0.0, 4.0, 2.0])) % 6 - 3) - 1, 0, 1)
    return 60 + 150 * channels


def _draw(rng, size, kinds, palette, radius, objects):
    image = _background(rng, size)
    mask = np.zeros((size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    for _ in range(objects):
        label = int(rng.integers(1, len(kinds) + 1))
        r = radius * rng.uniform(0.7, 1.3)
        cy, cx = rng.uniform(r, size - r, size=2) if size > 2 * r else (size / 2, size / 2)
        if kinds[label - 1] == "line":  # an extra draw, for this kind only
            inside = _line_mask(yy - cy, xx - cx, r, rng.uniform(0, np.pi))
        else:
            inside = _shape_mask(kinds[label - 1], yy - cy, xx - cx, r)
        base = palette[label - 1] if palette is not None else _hue_to_rgb(rng.uniform())
        colour = base + rng.normal(0, 12, size=3)
        texture = rng.normal(0, 10, size=(size, size, 1))
        image[inside] = np.clip(colour + texture[inside], 0, 255)
        mask[inside] = label
    return image.astype(np.uint8), mask


def _background(rng, size):
    yy, xx = np.mgrid[:size, :size] / size
    field = np.zeros((size, size))
    for _ in range(3):  # a few random gratings: texture that is not a shape
        angle, frequency, phase = rng.uniform(0, np.pi), rng.uniform(2, 8), rng.uniform(0, 2 * np.pi)
        field += np.sin(2 * np.pi * frequency * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
    grey = 110 + 20 * field[..., None] + rng.normal(0, 8, size=(size, size, 1))
    tint = rng.uniform(-15, 15, size=3)
    return np.clip(grey + tint, 0, 255)


def _shape_mask(kind, dy, dx, r):
    if kind == "disk":
        return dy**2 + dx**2 <= r**2
    if kind == "square":
        return (np.abs(dy) <= 0.85 * r) & (np.abs(dx) <= 0.85 * r)
    if kind == "triangle":
        return (dy <= 0.8 * r) & (dy >= -r + 2 * np.abs(dx))
    if kind == "ring":
        distance = dy**2 + dx**2
        return (distance <= r**2) & (distance >= (0.55 * r) ** 2)
    return ((np.abs(dy) <= 0.3 * r) & (np.abs(dx) <= r)) | ((np.abs(dx) <= 0.3 * r) & (np.abs(dy) <= r))


def _line_mask(dy, dx, r, angle):
    """A segment of length 2r at `angle`, about 2 pixels wide whatever the image size."""
    along = dx * np.cos(angle) + dy * np.sin(angle)
    across = dy * np.cos(angle) - dx * np.sin(angle)
    return (np.abs(along) <= r) & (np.abs(across) <= 1.0)
