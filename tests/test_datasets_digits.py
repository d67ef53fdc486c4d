import importlib.util
import sys

import numpy as np
import pytest
import tensorflow as tf

from segzoo.datasets import digits
from segzoo.datasets._split import validation_count
from segzoo.datasets.digits import HELD_OUT, _generate, _resize_bilinear
from segzoo.errors import ConfigError

needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="needs scikit-learn"
)


@pytest.fixture(scope="module")
def sklearn_digits():
    from sklearn.datasets import load_digits

    return load_digits()


@needs_sklearn
def test_arrays_have_the_documented_shapes_and_values():
    split = digits(12, image_size=64, validation_fraction=0.25)
    images, masks = split.arrays["train"]
    assert images.shape == (9, 64, 64, 3) and images.dtype == np.uint8
    assert masks.shape == (9, 64, 64) and masks.dtype == np.uint8
    assert masks.max() <= 10 and (masks == 0).mean() > 0.5  # mostly background
    assert images.std() > 10  # not a blank canvas


@needs_sklearn
def test_deterministic_by_seed():
    a, b, c = (digits(6, image_size=48, seed=s).arrays["train"] for s in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[1], c[1])


@needs_sklearn
@pytest.mark.parametrize("digits_per_image", [(1, 1), (2, 4), (10, 10)])
def test_each_image_holds_the_requested_number_of_distinct_digits(digits_per_image):
    low, high = digits_per_image
    _, masks, _ = _generate(40, 64, digits_per_image, seed=3, validation=0)
    counts = [len(np.setdiff1d(np.unique(mask), [0])) for mask in masks]
    assert min(counts) == low and max(counts) == high, counts


@needs_sklearn
def test_only_a_few_classes_per_image_but_all_classes_overall():
    masks = digits(100, image_size=64, validation_fraction=0.0).arrays["train"][1]
    present = [len(np.unique(mask)) for mask in masks]  # background included
    assert np.mean(present) <= 4
    assert set(np.unique(masks)) == set(range(11))


@needs_sklearn
def test_each_labelled_region_looks_like_a_digit_of_its_class(sklearn_digits):
    # Independent of the generator's bookkeeping: shrink each labelled region back to 8x8
    # and find the nearest scikit-learn glyph; its label must be the mask class - 1.
    _, masks, placements = _generate(30, 96, (1, 3), seed=5, validation=0)
    references = sklearn_digits.images.reshape(len(sklearn_digits.images), -1) / 16
    agree = total = 0
    for mask, chosen in zip(masks, placements):
        for place in chosen:
            crop = mask[place.window]
            (label,) = np.setdiff1d(np.unique(crop), [0])  # one digit per box, nothing else
            small = tf.image.resize((crop > 0)[..., None].astype(np.float32), (8, 8), method="area")
            distances = np.linalg.norm(references - small.numpy().reshape(1, -1), axis=1)
            agree += sklearn_digits.target[np.argmin(distances)] == label - 1
            total += 1
    assert total > 40 and agree / total >= 0.9, (agree, total)


@needs_sklearn
def test_nothing_is_labelled_outside_the_placed_digits():
    _, masks, placements = _generate(20, 64, (1, 4), seed=7, validation=0)
    for mask, chosen in zip(masks, placements):
        inside = np.zeros(mask.shape, bool)
        for place in chosen:
            box = inside[place.window]
            assert box.shape == (place.side, place.side) and not box.any()  # in bounds, no overlap
            box[:] = True
        assert not mask[~inside].any()


@needs_sklearn
def test_strokes_contrast_with_the_background():
    images, masks = digits(30, image_size=64, validation_fraction=0.0).arrays["train"]
    for image, mask in zip(images, masks):
        brightness = image.astype(float).mean(axis=-1)
        background = brightness[mask == 0].mean()
        for label in np.setdiff1d(np.unique(mask), [0]):  # each digit is lighter or darker
            assert abs(brightness[mask == label].mean() - background) > 25


@needs_sklearn
def test_validation_images_use_held_out_handwriting(sklearn_digits):
    cut = int(len(sklearn_digits.target) * (1 - HELD_OUT))
    _, _, placements = _generate(20, 64, (1, 3), seed=0, validation=5)
    rows = [[place.index for place in chosen] for chosen in placements]
    assert all(row >= cut for image in rows[:5] for row in image)
    assert all(row < cut for image in rows[5:] for row in image)


@needs_sklearn
@pytest.mark.parametrize(
    "n, fraction, expected", [(10, 0.2, 2), (10, 0.3, 3), (5, 0.01, 1), (6, 0.0, 0)]
)
def test_split_sizes_and_batches(n, fraction, expected):
    split = digits(n, image_size=32, digits_per_image=(1, 2), validation_fraction=fraction,
                   batch_size=4)
    assert len(split.arrays["validation"][0]) == expected == validation_count(n, fraction)
    assert len(split.arrays["train"][0]) == n - expected
    x, y = next(iter(split.train))
    assert x.shape == (4, 32, 32, 3) and x.dtype == tf.float32 and y.dtype == tf.int32
    assert sum(int(b[0].shape[0]) for b in split.validation) == expected


@needs_sklearn
def test_to_folders_writes_png_pairs(tmp_path):
    split = digits(5, image_size=32, digits_per_image=(1, 2), validation_fraction=0.4)
    split.to_folders(tmp_path)
    for name in ("train", "validation"):
        images, masks = split.arrays[name]
        for index in range(len(images)):
            mask = _read_png(tmp_path / name / "masks" / f"{index:05d}.png")
            np.testing.assert_array_equal(mask[..., 0], masks[index])
            image = _read_png(tmp_path / name / "images" / f"{index:05d}.png")
            np.testing.assert_array_equal(image, images[index])
    assert len(list((tmp_path / "train" / "images").iterdir())) == 3


def _read_png(path):
    return tf.io.decode_png(tf.io.read_file(str(path))).numpy()


@pytest.mark.parametrize("side", [8, 16, 21, 40])
def test_resize_matches_tensorflow_bilinear(side, rng):
    array = rng.uniform(0, 16, size=(8, 8))
    expected = tf.image.resize(array[..., None], (side, side), method="bilinear")[..., 0].numpy()
    np.testing.assert_allclose(_resize_bilinear(array, side), expected, atol=1e-4)


@pytest.mark.parametrize(
    "options, message",
    [({"n": 1}, "n must be"), ({"n": 4.0}, "n must be"),
     ({"digits_per_image": (0, 2)}, "1 <= min <= max <= 10"),
     ({"digits_per_image": (3, 2)}, "digits_per_image"),
     ({"digits_per_image": (1, 11)}, "digits_per_image"),
     ({"digits_per_image": 2}, "a \\(min, max\\) pair"),
     ({"digits_per_image": (1.0, 2)}, "digits_per_image"),
     ({"image_size": 8}, "image_size must be an integer >= 32"),
     ({"image_size": 60, "digits_per_image": (1, 10)}, "image_size must be an integer >= 64"),
     ({"validation_fraction": 1.0}, "validation_fraction"), ({"batch_size": 0}, "batch_size")],
)
def test_bad_arguments(options, message):
    # Checked before scikit-learn is touched, so these run without it too.
    with pytest.raises(ConfigError, match=message):
        digits(**{"n": 4, **options})


def test_missing_scikit_learn_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn...` now fails
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ConfigError, match="pip install scikit-learn"):
        digits(4, image_size=32)
