"""Sliding-window prediction (segzoo.predict(..., tile=...)) against a sliding window
written here, and against whole-image prediction where a tile sees all a pixel depends on."""

import keras
import numpy as np
import pytest

import segzoo
from segzoo.errors import ConfigError
from segzoo.inference import importance_map, tile_starts

RADIUS = 3  # three 3x3 convolutions: a pixel depends on its 7x7 neighbourhood


def conv_model(spatial_dims, classes=3, layers=RADIUS, seed=0):
    """'same' convolutions, no pooling: shift-equivariant with a receptive field of
    radius `layers`, any input size."""
    keras.utils.set_random_seed(seed)
    conv = keras.layers.Conv2D if spatial_dims == 2 else keras.layers.Conv3D
    inputs = keras.Input((None,) * spatial_dims + (3,))
    x = inputs
    for _ in range(layers - 1):
        x = conv(6, 3, padding="same", activation="tanh")(x)
    return keras.Model(inputs, conv(classes, 3, padding="same", activation="softmax")(x))


def gaussian(tile):
    """MONAI's importance map: exp(-d^2 / (2 sigma^2)) per axis, sigma = tile / 8."""
    weights = 1.0
    for axis, side in enumerate(tile):
        shape = [1] * len(tile)
        shape[axis] = side
        d = (np.arange(side) - (side - 1) / 2).reshape(shape)
        weights = weights * np.exp(-(d**2) / (2 * (side / 8) ** 2))
    return weights


def reference_sliding_window(model, image, tile, starts, weights):
    """Weighted mean of every tile's prediction, one tile at a time."""
    total = np.zeros((*image.shape[:2], 3))
    norm = np.zeros(image.shape[:2])
    for top in starts[0]:
        for left in starts[1]:
            window = (slice(top, top + tile), slice(left, left + tile))
            total[window] += np.asarray(model.predict_on_batch(image[window][None]))[0] * weights[..., None]
            norm[window] += weights
    return total / norm[..., None]


def seam_free(size, tile, starts, radius):
    """Pixels along one axis whose receptive field lies inside every tile covering them
    (a tile edge on the image edge is no seam: the whole image has the same border)."""
    index = np.arange(size)
    free = np.ones(size, bool)
    for start in starts:
        inside = (index >= start) & (index < start + tile)
        near_start = (index - start < radius) & (start > 0)
        near_end = (start + tile - 1 - index < radius) & (start + tile < size)
        free &= ~(inside & (near_start | near_end))
    return free


def test_tile_starts_and_importance_map_hand_values():
    assert tile_starts(256, 64, 0.25) == [0, 48, 96, 144, 192]
    assert tile_starts(200, 64, 0.5) == [0, 32, 64, 96, 128, 136]  # the last one ends at the edge
    assert tile_starts(64, 64, 0.25) == [0] and tile_starts(10, 64, 0.25) == [0]
    assert tile_starts(256, 64, 0.3, multiple=16) == [0, 32, 64, 96, 128, 160, 192]  # 44 -> 32
    weights = importance_map((64, 64))
    assert weights.shape == (64, 64) and weights.max() == pytest.approx(1.0)
    np.testing.assert_allclose(weights, gaussian((64, 64)) / gaussian((64, 64)).max(), rtol=1e-6)
    # the peak is at offsets of 0.5 from the centre 31.5, so the corner is exp(-2 (31.5² - 0.5²) / 2σ²)
    assert weights[0, 0] == pytest.approx(np.exp(-2 * (31.5**2 - 0.5**2) / (2 * 8**2)), rel=1e-5)
    np.testing.assert_array_equal(importance_map((4, 5, 6), "constant"), np.ones((4, 5, 6)))


@pytest.mark.parametrize("blend", ["gaussian", "constant"])
def test_tiled_equals_a_hand_sliding_window_and_the_whole_image_away_from_seams(blend):
    model = conv_model(2)
    image = np.random.default_rng(0).uniform(0, 255, (256, 256, 3)).astype(np.float32)
    _, tiled = segzoo.predict(model, image, tile=64, overlap=0.25, blend=blend, batch_size=5,
                              return_probabilities=True)
    starts = ([0, 48, 96, 144, 192],) * 2
    weights = gaussian((64, 64)) if blend == "gaussian" else np.ones((64, 64))
    np.testing.assert_allclose(tiled, reference_sliding_window(model, image, 64, starts, weights), atol=1e-5)
    whole = np.asarray(model.predict_on_batch(image[None]))[0]
    free = np.outer(*(seam_free(256, 64, s, RADIUS) for s in starts))
    assert 0.5 < free.mean() < 0.9
    assert np.abs(tiled - whole)[free].max() < 1e-4
    assert np.abs(tiled - whole)[~free].max() > 1e-3  # the seams do differ: the mask is needed


def test_an_image_smaller_than_a_tile_is_padded_to_one_tile():
    model = conv_model(2)
    image = np.random.default_rng(1).uniform(0, 255, (20, 30, 3)).astype(np.float32)
    _, tiled = segzoo.predict(model, image, tile=64, return_probabilities=True)
    padded = np.pad(image, ((0, 44), (0, 34), (0, 0)), mode="reflect")
    np.testing.assert_allclose(tiled, np.asarray(model.predict_on_batch(padded[None]))[0, :20, :30], atol=1e-6)


def test_volumes_tiled_equal_the_whole_volume_away_from_seams():
    model = conv_model(3, classes=3, layers=2, seed=1)
    volume = np.random.default_rng(2).uniform(0, 255, (40, 36, 44, 3)).astype(np.float32)
    mask, tiled = segzoo.predict(model, volume, tile=16, overlap=0.25, batch_size=8, return_probabilities=True)
    whole = np.asarray(model.predict_on_batch(volume[None]))[0]
    starts = ([0, 12, 24], [0, 12, 20], [0, 12, 24, 28])  # step int(16 * 0.75) = 12, the last at the edge
    free = np.ones(volume.shape[:3], bool)
    for axis, (size, axis_starts) in enumerate(zip(volume.shape[:3], starts)):
        shape = [1, 1, 1]
        shape[axis] = size
        free &= seam_free(size, 16, axis_starts, 2).reshape(shape)
    assert mask.shape == volume.shape[:3] and tiled.shape == (*volume.shape[:3], 3)
    assert free.mean() > 0.3 and np.abs(tiled - whole)[free].max() < 1e-4
    assert np.abs(tiled - whole)[~free].max() > 1e-3


def test_a_segzoo_volume_model_tiles():
    model = segzoo.build("unet", backbone="none", num_classes=2, input_shape=(None, None, None, 1), depth=3,
                         encoder_filters=2)
    volume = np.random.default_rng(3).uniform(0, 255, (20, 30, 17, 1)).astype(np.float32)
    assert segzoo.predict(model, volume, tile=16).shape == (20, 30, 17)
    assert segzoo.predict(model, volume).shape == (20, 30, 17)


def test_bad_tiles_are_config_errors():
    model = segzoo.build("unet", backbone="none", num_classes=2, input_shape=(None, None, 3), depth=3,
                         encoder_filters=2)
    image = np.zeros((40, 40, 3), np.float32)
    with pytest.raises(ConfigError, match="tile side 50 is not a size the model takes .* nearest valid sizes: 48 or 56"):
        segzoo.predict(model, image, tile=50)
    with pytest.raises(ConfigError, match="tile must be a positive int or 2 positive ints"):
        segzoo.predict(model, image, tile=(16, 16, 16))
    with pytest.raises(ConfigError, match=r"overlap must be a fraction in \[0, 1\)"):
        segzoo.predict(model, image, tile=16, overlap=1.0)
    with pytest.raises(ConfigError, match="blend must be one of"):
        segzoo.predict(model, image, tile=16, blend="linear")
    fixed = segzoo.build("unet", backbone="none", num_classes=2, input_shape=(32, 32, 3), depth=3,
                         encoder_filters=2)
    with pytest.raises(ConfigError, match=r"takes only 32x32 inputs; pass tile=\(32, 32\)"):
        segzoo.predict(fixed, image, tile=16)
    assert segzoo.predict(fixed, np.zeros((70, 50, 3), np.float32), tile=32).shape == (70, 50)
