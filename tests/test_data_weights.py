import numpy as np
import pytest
import tensorflow as tf

import segzoo
from segzoo.data import with_sample_weights
from segzoo.errors import ConfigError, DataError

# Two 2x2 masks: class 0 has 5 pixels (in both images), class 1 one pixel (image 0),
# class 2 two pixels (image 1); 8 pixels in all, 3 classes.
MASKS = np.array([[[0, 0], [0, 1]], [[0, 0], [2, 2]]])


def _effective(beta):
    raw = np.array([(1 - beta) / (1 - beta**n) for n in (5, 1, 2)])
    return 3 * raw / raw.sum()


@pytest.mark.parametrize(
    "method, options, expected",
    [
        ("inverse_frequency", {}, [8 / 15, 8 / 3, 8 / 6]),
        # f = 5/8, 1/4 (image 0 only), 2/4 (image 1 only); median 1/2.
        ("median_frequency", {}, [0.8, 2.0, 1.0]),
        ("effective_number", {"beta": 0.9}, _effective(0.9)),
        # sqrt(8/5), sqrt(8), 2, divided by their pixel-weighted mean.
        ("inverse_sqrt", {}, np.array([8**0.5 / 5**0.5, 8**0.5, 2.0])
         / ((5 * 8**0.5 / 5**0.5 + 8**0.5 + 2 * 2.0) / 8)),
    ],
)
def test_hand_computed_class_weights(method, options, expected):
    np.testing.assert_allclose(segzoo.class_weights(MASKS, 3, method=method, **options), expected, rtol=1e-9)


def test_dataset_source_equals_array_source():
    images = np.zeros((2, 2, 2, 3), "float32")
    dataset = tf.data.Dataset.from_tensor_slices((images, MASKS[..., None])).batch(1)
    assert segzoo.class_weights(dataset, 3) == pytest.approx(segzoo.class_weights(MASKS, 3))
    masks_only = tf.data.Dataset.from_tensor_slices(MASKS).batch(2)
    assert segzoo.class_weights(masks_only, 3) == pytest.approx(segzoo.class_weights(MASKS, 3))


def test_ignored_and_unseen_classes():
    masks = np.where(MASKS == 2, 255, MASKS)
    weights = segzoo.class_weights(masks, 3, ignore_index=255)
    assert weights == pytest.approx([6 / 15, 6 / 3, 0.0])  # 6 labelled pixels; class 2 unseen


def test_out_of_range_label_names_the_fix():
    with pytest.raises(DataError, match=r"A mask of source holds labels 255 outside 0..2 \(num_classes=3\).*ignore_index=255"):
        segzoo.class_weights(np.where(MASKS == 2, 255, MASKS), 3)


def test_bad_method():
    with pytest.raises(ConfigError, match="method must be one of"):
        segzoo.class_weights(MASKS, 3, method="log")


@pytest.mark.parametrize("trailing_channel", [False, True])
def test_with_sample_weights_is_a_gather(trailing_channel, rng):
    masks = rng.integers(0, 4, size=(6, 5, 7))
    masks[0, 0, :3] = 255
    y = masks[..., None] if trailing_channel else masks
    images = rng.random((6, 5, 7, 3)).astype("float32")
    weights = [0.5, 1.0, 2.0, 4.0]
    dataset = with_sample_weights(tf.data.Dataset.from_tensor_slices((images, y)).batch(4), weights, ignore_index=255)
    got = np.concatenate([w for _, _, w in dataset.as_numpy_iterator()])
    expected = np.where(masks == 255, 0.0, np.asarray(weights + [0.0])[np.minimum(masks, 4)])
    np.testing.assert_allclose(got, expected)
    assert got.shape == masks.shape


def test_with_sample_weights_refuses_anything_but_pairs():
    x, y = np.zeros((2, 4, 4, 3), np.float32), np.zeros((2, 4, 4), np.int32)
    weighted = tf.data.Dataset.from_tensor_slices((x, y, np.ones((2, 4, 4), np.float32)))
    with pytest.raises(ConfigError, match="already yields sample weights"):
        with_sample_weights(weighted, [1.0, 2.0])
    with pytest.raises(ConfigError, match=r"must yield \(x, y\) pairs"):
        with_sample_weights(tf.data.Dataset.from_tensor_slices(y), [1.0, 2.0])
