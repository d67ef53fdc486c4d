import numpy as np
import pytest
import tensorflow as tf

from segzoo.data import augment
from segzoo.errors import ConfigError


def _encoded_batch():
    """Masks of three classes in blocks; the image's pixel value encodes the class."""
    y = np.zeros((4, 64, 64), np.int32)
    y[:, 10:30, 10:40] = 1
    y[:, 35:60, 20:50] = 2
    y[1] = y[1].T
    x = np.stack([y * 100.0] * 3, axis=-1).astype("float32")
    return x, y


def _interior(mask, margin=2):
    """Pixels whose (2 margin + 1)² neighbourhood holds one label and lies inside the
    image: images are resampled bilinearly, so values blend within a pixel or two of an
    edge (0 and 200 read as 1) and of the fill that zoom and rotation bring in."""
    padded = np.pad(mask, ((0, 0), (margin, margin), (margin, margin)), constant_values=-1)
    same = np.ones(mask.shape, bool)
    for dy in range(2 * margin + 1):
        for dx in range(2 * margin + 1):
            same &= padded[:, dy:dy + mask.shape[1], dx:dx + mask.shape[2]] == mask
    return same


GEOMETRIC = dict(flip="horizontal_and_vertical", rotate90=True, rotation=0.1, zoom=0.2, translation=0.1)


def test_image_and_mask_stay_aligned_in_a_dataset():
    x, y = _encoded_batch()
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).repeat(3).map(augment(**GEOMETRIC, seed=3))
    batches = list(data.as_numpy_iterator())
    assert not np.array_equal(batches[0][1], batches[1][1])  # a new draw every batch
    for images, masks in batches:
        assert masks.dtype == np.int32 and set(np.unique(masks)) <= {0, 1, 2}
        read = np.clip(np.round(images[..., 0] / 100), 0, 2).astype(int)
        # Rotation, zoom and translation each resample the image: the blur adds up, so
        # stay 3 pixels away from edges (a misalignment would break whole blocks).
        inside = _interior(masks, margin=3)
        assert inside.mean() > 0.4  # thousands of pixels per batch are checked
        np.testing.assert_array_equal(read[inside], masks[inside])
        assert not np.array_equal(masks, y)  # something moved


def test_photometric_changes_touch_images_only():
    x, y = _encoded_batch()
    images, masks = augment(flip=None, brightness=0.3, contrast=0.3, noise=5.0, seed=0)(tf.constant(x), tf.constant(y))
    np.testing.assert_array_equal(masks.numpy(), y)
    assert not np.allclose(images.numpy(), x)
    assert images.numpy().min() >= 0 and images.numpy().max() <= 255


def test_reproducible_with_a_seed():
    x, y = _encoded_batch()
    first = augment(**GEOMETRIC, noise=3.0, seed=7)(tf.constant(x), tf.constant(y))
    second = augment(**GEOMETRIC, noise=3.0, seed=7)(tf.constant(x), tf.constant(y))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_random_crop():
    x, y = _encoded_batch()
    images, masks = augment(flip=None, crop=(32, 48), seed=0)(tf.constant(x), tf.constant(y))
    assert images.shape == (4, 32, 48, 3) and masks.shape == (4, 32, 48)
    read = np.round(images.numpy()[..., 0] / 100).astype(int)
    np.testing.assert_array_equal(read, masks.numpy())  # a crop moves no pixel within itself


@pytest.mark.parametrize("options, message", [({"flip": "diagonal"}, "flip must be one of"),
                                              ({"zoom": -0.1}, "zoom must be >= 0")])
def test_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        augment(**options)
