import math

import numpy as np
import pytest
import tensorflow as tf

from segzoo.data.boundary import boundary_weights, with_boundary_weights
from segzoo.errors import ConfigError, DataError


def reference(mask, w0, sigma, class_weights=None, ignore_index=None):
    """Eq. 2 of the U-Net paper by brute force: objects by flood fill (4-connected, per
    class), distances by broadcasting over every object pixel, two smallest by sorting."""
    height, width = mask.shape
    valid = np.ones(mask.shape, bool) if ignore_index is None else mask != ignore_index
    seen = np.zeros(mask.shape, bool)
    objects = []  # one (n, 2) array of pixel coordinates per object
    for start in zip(*np.nonzero(valid & (mask > 0))):
        if seen[start]:
            continue
        seen[start] = True
        stack, pixels = [start], []
        while stack:
            i, j = stack.pop()
            pixels.append((i, j))
            for a, b in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
                if 0 <= a < height and 0 <= b < width and not seen[a, b] and valid[a, b] \
                        and mask[a, b] == mask[start]:
                    seen[a, b] = True
                    stack.append((a, b))
        objects.append(np.array(pixels, float))
    weights = np.zeros(mask.shape)
    for i in range(height):
        for j in range(width):
            if not valid[i, j]:
                continue
            weights[i, j] = 1.0 if class_weights is None else class_weights[mask[i, j]]
            if mask[i, j] == 0 and len(objects) >= 2:
                nearest = sorted(np.sqrt(((pixels - (i, j)) ** 2).sum(1)).min()
                                 for pixels in objects)
                weights[i, j] += w0 * math.exp(-((nearest[0] + nearest[1]) ** 2) / (2 * sigma**2))
    return weights


def random_mask(rng, shape=(12, 15), classes=3, density=0.25):
    """Sparse foreground of classes 1..classes-1: many small objects, some touching."""
    foreground = rng.random(shape) < density
    return np.where(foreground, rng.integers(1, classes, size=shape), 0)


def test_hand_computed_two_points():
    # Single-pixel objects at (1, 3) and (1, 5) of a 3 x 9 grid.
    mask = np.zeros((3, 9), int)
    mask[1, 3] = mask[1, 5] = 1
    w0, sigma = 10.0, 2.0
    got = boundary_weights(mask, w0=w0, sigma=sigma)
    assert got.dtype == np.float32 and got.shape == (3, 9)
    # Exactly between them: distance 1 to each.
    assert got[1, 4] == pytest.approx(1 + w0 * math.exp(-4 / (2 * sigma**2)), rel=1e-6)
    # (1, 0): 3 and 5 pixels along the row, (d1 + d2)^2 = 64.
    assert got[1, 0] == pytest.approx(1 + w0 * math.exp(-64 / (2 * sigma**2)), rel=1e-6)
    # Corner (0, 0): sqrt(1 + 9) and sqrt(1 + 25).
    gap = math.sqrt(10) + math.sqrt(26)
    assert got[0, 0] == pytest.approx(1 + w0 * math.exp(-gap**2 / (2 * sigma**2)), rel=1e-6)
    # Far corner (2, 8): sqrt(1 + 9) to (1, 5), sqrt(1 + 25) to (1, 3): same gap by symmetry.
    assert got[2, 8] == pytest.approx(got[0, 0], rel=1e-6)
    # The objects themselves get no border term.
    assert got[1, 3] == got[1, 5] == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_reference(seed):
    rng = np.random.default_rng(seed)
    mask = random_mask(rng)
    w0, sigma = 10.0, float(rng.uniform(1.5, 5.0))
    got = boundary_weights(mask, w0=w0, sigma=sigma)
    np.testing.assert_allclose(got, reference(mask, w0, sigma), atol=1e-5)


def test_touching_classes_and_diagonal_neighbours_are_separate_objects():
    # Class 1 and class 2 share an edge; class 1 pixels at (0, 4) and (1, 5) touch only by a
    # corner: four objects in all. The background pixel (0, 5) touches both diagonal ones.
    mask = np.array([[1, 2, 0, 0, 1, 0],
                     [1, 2, 0, 0, 0, 1]])
    got = boundary_weights(mask, w0=10, sigma=1)
    assert got[0, 5] == pytest.approx(1 + 10 * math.exp(-4 / 2), rel=1e-6)
    np.testing.assert_allclose(got, reference(mask, 10, 1), atol=1e-6)


def test_class_weights_and_ignore_index():
    rng = np.random.default_rng(7)
    mask = random_mask(rng)
    mask[rng.random(mask.shape) < 0.1] = 255
    class_weights = [0.5, 2.0, 3.0]
    got = boundary_weights(mask, w0=5, sigma=3, class_weights=class_weights, ignore_index=255)
    np.testing.assert_allclose(got, reference(mask, 5, 3, class_weights, 255), atol=1e-5)
    assert np.all(got[mask == 255] == 0)
    foreground = (mask == 1) | (mask == 2)
    np.testing.assert_allclose(got[foreground], np.take(class_weights, mask[foreground]))

    # An ignored pixel is no object: ignoring the middle one of three points leaves two.
    points = np.zeros((1, 7), int)
    points[0, [1, 3, 5]] = 1
    ignored = points.copy()
    ignored[0, 3] = 255
    two = np.where(points == 1, 1, 0)
    two[0, 3] = 0
    got = boundary_weights(ignored, w0=10, sigma=2, ignore_index=255)
    expected = boundary_weights(two, w0=10, sigma=2)
    expected[0, 3] = 0.0
    np.testing.assert_allclose(got, expected)


@pytest.mark.parametrize("class_weights", [None, [0.25, 4.0]])
def test_fewer_than_two_objects_gives_class_weights(class_weights):
    mask = np.zeros((9, 11), int)
    mask[2:5, 3:8] = 1  # one object, however large
    expected = np.ones(mask.shape) if class_weights is None else np.take(class_weights, mask)
    np.testing.assert_array_equal(boundary_weights(mask, class_weights=class_weights), expected)
    no_object = boundary_weights(np.zeros((4, 4), int), class_weights=class_weights)
    background_weight = 1.0 if class_weights is None else 0.25
    np.testing.assert_array_equal(no_object, np.full((4, 4), background_weight))


def test_batch_equals_per_image_calls():
    rng = np.random.default_rng(3)
    masks = np.stack([random_mask(rng) for _ in range(3)])
    masks[1] = 0
    masks[2] = 0
    masks[2, 4, 4] = 1  # one object only
    per_image = np.stack([boundary_weights(m, sigma=3) for m in masks])
    np.testing.assert_array_equal(boundary_weights(masks, sigma=3), per_image)
    np.testing.assert_array_equal(boundary_weights(masks[..., None], sigma=3), per_image)
    np.testing.assert_array_equal(boundary_weights(masks[0][..., None], sigma=3), per_image[0])
    assert boundary_weights(masks[0].astype(np.uint8), sigma=3).shape == masks[0].shape


@pytest.mark.parametrize("trailing_channel", [False, True])
def test_with_boundary_weights_equals_numpy(trailing_channel):
    rng = np.random.default_rng(5)
    masks = np.stack([random_mask(rng, (10, 13)) for _ in range(5)]).astype(np.int32)
    masks[0, 0, :3] = 255
    y = masks[..., None] if trailing_channel else masks
    images = rng.random((5, 10, 13, 3)).astype("float32")
    options = {"w0": 8, "sigma": 3, "class_weights": [1.0, 2.0, 0.5], "ignore_index": 255}
    pairs = tf.data.Dataset.from_tensor_slices((images, y)).batch(2)
    dataset = with_boundary_weights(pairs, **options)
    assert dataset.element_spec[2].shape.as_list() == [None, 10, 13]
    got = np.concatenate([w for _, _, w in dataset.as_numpy_iterator()])
    np.testing.assert_allclose(got, boundary_weights(masks, **options), rtol=1e-6)


def test_with_boundary_weights_refuses_weighted_dataset_and_bad_options():
    triples = (np.zeros((2, 4, 4, 3)), np.zeros((2, 4, 4), int), np.ones((2, 4, 4)))
    data = tf.data.Dataset.from_tensor_slices(triples)
    with pytest.raises(ConfigError, match="already yields sample weights"):
        with_boundary_weights(data.batch(2))
    with pytest.raises(ConfigError, match="sigma must be"):
        with_boundary_weights(data.batch(2), sigma=0)
    with pytest.raises(ConfigError, match=r"must yield \(x, y\) pairs"):
        with_boundary_weights(tf.data.Dataset.from_tensor_slices(np.zeros((2, 4, 4), int)))


MASK = np.array([[0, 1, 0], [2, 0, 1]])


@pytest.mark.parametrize(
    "mask, options, message",
    [
        (MASK, {"w0": -1}, "w0 must be a finite number >= 0"),
        (MASK, {"sigma": 0}, "sigma must be a finite number > 0"),
        (MASK, {"sigma": -2.0}, "sigma must be a finite number > 0"),
        (MASK, {"w0": float("nan")}, "w0 must be a finite number >= 0"),
        (MASK, {"class_weights": [[1.0, 2.0, 3.0]]}, "class_weights must be a flat sequence"),
        (MASK, {"class_weights": [1.0, -1.0, 1.0]}, "class_weights must be a flat sequence"),
        (MASK.astype(float), {}, "integer class labels.*Cast it"),
        (MASK[0], {}, r"mask must be \(H, W\).*got shape \(3,\)"),
        (np.zeros((2, 3, 3, 3), int), {}, r"4-D mask must be \(B, H, W, 1\)"),
    ],
)
def test_bad_inputs_raise_config_error(mask, options, message):
    with pytest.raises(ConfigError, match=message):
        boundary_weights(mask, **options)


@pytest.mark.parametrize(
    "mask, options, message",
    [
        (MASK, {"class_weights": [1.0, 2.0]},
         r"mask holds labels 2 outside 0..1 \(one class per class_weights entry\). Fix the masks or class_weights, "
         "or pass ignore_index=2"),
        (MASK - 1, {}, r"mask holds labels -1: class ids are 0, 1, 2.*ignore_index=-1"),
    ],
)
def test_bad_labels_raise_data_error(mask, options, message):
    with pytest.raises(DataError, match=message):
        boundary_weights(mask, **options)


def test_ignore_index_may_lie_outside_class_weights():
    mask = np.where(MASK == 2, 255, MASK)
    got = boundary_weights(mask, class_weights=[1.0, 2.0], ignore_index=255)
    assert got[1, 0] == 0.0 and got[0, 1] == 2.0
