"""Joint augmentation of images and masks on Keras 3 preprocessing layers.

Geometric layers see {"images": x, "segmentation_masks": m} and move both alike (masks
with nearest neighbour); photometric changes touch the images only. Masks keep integer
labels: the layers return them as floats, so they are rounded back.
"""

import keras
import tensorflow as tf

from segzoo.errors import ConfigError

FLIPS = (None, "horizontal", "vertical", "horizontal_and_vertical")


class Augment:
    """A callable (images, masks) -> (images, masks) on batches, for `dataset.map`.
    Images are float (B, H, W, 3) in [0, 255]; masks integer (B, H, W)."""

    def __init__(self, geometric, photometric, rotate90, noise, seed):
        self.geometric = geometric
        self.photometric = photometric
        self.rotate90 = rotate90
        self.noise = noise
        self.generator = tf.random.Generator.from_seed(seed) if seed is not None else tf.random.Generator.from_non_deterministic_state()

    def __call__(self, images, masks):
        masks = tf.cast(masks, tf.float32)[..., None]  # the layers need (B, H, W, 1)
        if self.rotate90:
            images, masks = self._rotate90(images, masks)
        for layer in self.geometric:
            out = layer({"images": images, "segmentation_masks": masks}, training=True)
            images, masks = out["images"], out["segmentation_masks"]
        for layer in self.photometric:
            images = layer(images, training=True)
        if self.noise:
            images = images + self.generator.normal(tf.shape(images), stddev=self.noise)
        images = tf.clip_by_value(images, 0.0, 255.0)
        return images, tf.cast(tf.round(masks[..., 0]), tf.int32)

    def _rotate90(self, images, masks):
        k = self.generator.uniform((tf.shape(images)[0],), 0, 4, dtype=tf.int32)

        def rotate(tensor):
            turns = tf.stack([tf.image.rot90(tensor, i) for i in range(4)])  # (4, B, H, W, C)
            return tf.gather(tf.transpose(turns, (1, 0, 2, 3, 4)), k, batch_dims=1)

        return rotate(images), rotate(masks)


def augment(flip="horizontal", rotate90=False, rotation=0.0, zoom=0.0, translation=0.0,
            crop=None, brightness=0.0, contrast=0.0, noise=0.0, seed=None):
    """Build a joint augmentation. rotation: a fraction of a full turn (0.1 = +-36 deg);
    zoom and translation: fractions of the size; crop: (height, width) taken at random,
    not larger than the input; brightness, contrast: Keras factors; noise: the standard
    deviation of Gaussian noise in pixel units (images in [0, 255]). rotate90 needs
    square images. Reflection fills what rotation, zoom and translation uncover, in the
    image and the mask alike. Use: `dataset.map(segzoo.data.augment(...))`."""
    if flip not in FLIPS:
        raise ConfigError(f"flip must be one of {FLIPS}, got {flip!r}.")
    for name, value in (("rotation", rotation), ("zoom", zoom), ("translation", translation),
                        ("brightness", brightness), ("contrast", contrast), ("noise", noise)):
        if value < 0:
            raise ConfigError(f"{name} must be >= 0, got {value}.")
    geometric = []
    if flip:
        geometric.append(keras.layers.RandomFlip(flip, seed=seed))
    if rotation:
        geometric.append(keras.layers.RandomRotation(rotation, seed=seed))
    if zoom:
        geometric.append(keras.layers.RandomZoom(zoom, seed=seed))
    if translation:
        geometric.append(keras.layers.RandomTranslation(translation, translation, seed=seed))
    if crop is not None:
        geometric.append(keras.layers.RandomCrop(*crop, seed=seed))
    photometric = []
    if brightness:
        photometric.append(keras.layers.RandomBrightness(brightness, value_range=(0, 255), seed=seed))
    if contrast:
        photometric.append(keras.layers.RandomContrast(contrast, value_range=(0, 255), seed=seed))
    return Augment(geometric, photometric, rotate90, float(noise), seed)
