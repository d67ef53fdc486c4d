"""Test-time augmentation in segzoo.predict: a model that is symmetric under flips and
rotations gives the plain prediction back; any model gives the mean of the transformed
predictions, each transformed back (written here with NumPy flips and rotations)."""

import itertools

import keras
import numpy as np
import pytest

import segzoo
from segzoo.errors import ConfigError


def symmetric_model(seed=0):
    """Two 3x3 convolutions whose kernels are averaged over the 8 flips and rotations of
    the square, with 'same' (symmetric) padding: flipping or rotating the input flips or
    rotates the output exactly."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, None, 3))
    first = keras.layers.Conv2D(5, 3, padding="same", activation="tanh")
    last = keras.layers.Conv2D(3, 3, padding="same", activation="softmax")
    model = keras.Model(inputs, last(first(inputs)))
    for layer in (first, last):
        kernel, bias = layer.get_weights()
        variants = [np.rot90(k, turns, axes=(0, 1)) for turns in range(4) for k in (kernel, kernel[:, ::-1])]
        layer.set_weights([np.mean(variants, axis=0), bias])
    return model


def plain_model(seed=1):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="tanh")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same", activation="softmax")(x))


def image(size, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (*size, 3)).astype(np.float32)


@pytest.mark.parametrize("tta", ["flip", "d4"])
@pytest.mark.parametrize("tile", [None, 32])
def test_a_flip_and_rotation_symmetric_model_gives_the_plain_prediction(tta, tile):
    model = symmetric_model()
    x = image((48, 64))
    _, plain = segzoo.predict(model, x, tile=tile, return_probabilities=True)
    _, augmented = segzoo.predict(model, x, tta=tta, tile=tile, return_probabilities=True)
    assert not np.allclose(plain, plain[:, ::-1], atol=1e-3)  # the image is not symmetric
    np.testing.assert_allclose(augmented, plain, atol=1e-5)


def test_flip_averages_the_flipped_predictions_flipped_back():
    model = plain_model()
    x = image((40, 56), seed=1)

    def run(array):
        return np.asarray(model.predict_on_batch(array[None]))[0]

    expected = (run(x) + run(x[:, ::-1])[:, ::-1] + run(x[::-1])[::-1]) / 3
    mask, probabilities = segzoo.predict(model, x, tta="flip", return_probabilities=True)
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)
    np.testing.assert_array_equal(mask, expected.argmax(-1))
    assert np.abs(expected - run(x)).max() > 1e-3  # the augmentation does change this model's output


def test_d4_averages_all_eight_transforms_of_a_non_square_input():
    """A model that takes any size: rotating a 40x56 input gives a 56x40 one."""
    model = plain_model()
    x = image((40, 56), seed=2)
    outputs = []
    for turns, mirror in itertools.product(range(4), (False, True)):
        source = x[:, ::-1] if mirror else x
        output = np.asarray(model.predict_on_batch(np.ascontiguousarray(np.rot90(source, turns))[None]))[0]
        back = np.rot90(output, -turns)
        outputs.append(back[:, ::-1] if mirror else back)
    _, probabilities = segzoo.predict(model, x, tta="d4", return_probabilities=True)
    np.testing.assert_allclose(probabilities, np.mean(outputs, axis=0), atol=1e-6)


def test_volumes_flip_depth_too_and_rotations_need_a_square_fixed_input():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((None, None, None, 1))
    model = keras.Model(inputs, keras.layers.Conv3D(2, 3, padding="same", activation="softmax")(inputs))
    volume = np.random.default_rng(3).uniform(0, 255, (6, 8, 10, 1)).astype(np.float32)

    def run(array):
        return np.asarray(model.predict_on_batch(array[None]))[0]

    expected = np.mean([run(volume), run(volume[:, :, ::-1])[:, :, ::-1], run(volume[:, ::-1])[:, ::-1],
                        run(volume[::-1])[::-1]], axis=0)
    _, probabilities = segzoo.predict(model, volume, tta="flip", return_probabilities=True)
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)
    wide = segzoo.build("unet", backbone="none", num_classes=2, input_shape=(32, 64, 3), depth=3, encoder_filters=2)
    with pytest.raises(ConfigError, match="rotates the input, but this model takes only 32x64"):
        segzoo.predict(wide, image((32, 64)), tta="d4")
    assert segzoo.predict(wide, image((32, 64)), tta="flip").shape == (32, 64)
