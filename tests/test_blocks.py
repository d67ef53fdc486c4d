import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from segzoo.blocks import LinearUpsampling


def _linear_reference(x):
    """Interpolate at each output's source coordinate (o + 0.5) / 2 - 0.5, clamped,
    from the 2**d surrounding corners (the textbook multilinear formula)."""
    spatial = x.shape[1:-1]
    out = np.zeros((x.shape[0], *[2 * n for n in spatial], x.shape[-1]))
    for index in itertools.product(*[range(2 * n) for n in spatial]):
        total = 0.0
        sources = [min(max((o + 0.5) / 2 - 0.5, 0), n - 1) for o, n in zip(index, spatial)]
        for corner in itertools.product((0, 1), repeat=len(spatial)):
            weight, position = 1.0, []
            for src, n, side in zip(sources, spatial, corner):
                low = int(np.floor(src))
                frac = src - low
                position.append(min(low + side, n - 1))
                weight *= frac if side else 1 - frac
            total = total + weight * x[(slice(None), *position, slice(None))]
        out[(slice(None), *index, slice(None))] = total
    return out


@pytest.mark.parametrize("shape", [(2, 3, 5, 2), (1, 3, 2, 4, 2)])
def test_linear_upsampling_matches_multilinear_formula(shape, rng):
    x = rng.normal(size=shape).astype("float32")
    got = keras.ops.convert_to_numpy(LinearUpsampling()(x))
    np.testing.assert_allclose(got, _linear_reference(x), atol=1e-5)


def test_linear_upsampling_equals_tf_bilinear_resize(rng):
    x = rng.normal(size=(2, 8, 6, 3)).astype("float32")
    expected = tf.image.resize(x, (16, 12), method="bilinear").numpy()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(LinearUpsampling()(x)), expected, atol=1e-5)


def test_linear_upsampling_serializes():
    layer = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(LinearUpsampling(name="up")))
    assert isinstance(layer, LinearUpsampling) and layer.name == "up"
