import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import run_python

import segzoo
from segzoo.blocks import BatchNormalization, LinearUpsampling, NearestUpsamplingConv2D


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


def test_linear_upsampling_with_unknown_sizes_matches_formula(rng):
    # Traced with unknown height and width, the layer cannot use Keras' resize.
    x = rng.normal(size=(2, 3, 5, 2)).astype("float32")
    traced = tf.function(LinearUpsampling(), input_signature=[tf.TensorSpec((None, None, None, 2))])
    np.testing.assert_allclose(traced(x).numpy(), _linear_reference(x), atol=1e-5)


def test_linear_upsampling_keeps_bfloat16(rng):
    x = tf.cast(rng.normal(size=(1, 4, 4, 2)), "bfloat16")
    assert LinearUpsampling(dtype="mixed_bfloat16")(x).dtype == "bfloat16"


def test_linear_upsampling_equals_tf_bilinear_resize(rng):
    x = rng.normal(size=(2, 8, 6, 3)).astype("float32")
    expected = tf.image.resize(x, (16, 12), method="bilinear").numpy()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(LinearUpsampling()(x)), expected, atol=1e-5)


def test_linear_upsampling_serializes():
    layer = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(LinearUpsampling(name="up")))
    assert isinstance(layer, LinearUpsampling) and layer.name == "up"


def _numpy_batch_norm(x, gamma, beta, epsilon):
    axes = tuple(range(x.ndim - 1))
    mean, variance = x.mean(axis=axes), x.var(axis=axes)  # biased, as Keras
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta, mean, variance


def _paired_batch_norms(shape, **options):
    """segzoo's and Keras' layer with the same random variables."""
    ours, theirs = BatchNormalization(**options), keras.layers.BatchNormalization(**options)
    for layer in (ours, theirs):
        layer.build(shape)
    values = [np.random.default_rng(7).uniform(0.5, 1.5, v.shape).astype("float32") for v in theirs.weights]
    ours.set_weights(values)
    theirs.set_weights(values)
    return ours, theirs


def _fused_kernel_used(layer, x, training):
    graph = tf.function(lambda t: layer(t, training=training)).get_concrete_function(x).graph
    return any(op.type.startswith("FusedBatchNorm") for op in graph.get_operations())


@pytest.mark.parametrize("shape", [(4, 6, 5, 3), (2, 3, 4, 5, 3)])
@pytest.mark.parametrize("options", [{}, {"epsilon": 1.001e-5, "momentum": 0.9}, {"center": False, "scale": False}])
def test_batch_norm_training_matches_numpy_and_keras(shape, options, rng):
    x = rng.normal(2.0, 3.0, size=shape).astype("float32")
    ours, theirs = _paired_batch_norms(shape, **options)
    assert _fused_kernel_used(ours, x, training=True)
    gamma = ours.gamma.numpy() if ours.scale else 1.0
    beta = ours.beta.numpy() if ours.center else 0.0
    moving = [ours.moving_mean.numpy(), ours.moving_variance.numpy()]
    expected, mean, variance = _numpy_batch_norm(x, gamma, beta, ours.epsilon)

    tensor = tf.constant(x)
    results = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            y = layer(tensor, training=True)
            loss = tf.reduce_sum(y * tf.sin(y))  # a non-trivial upstream gradient
        results.append((y.numpy(), tape.gradient(loss, [tensor, *layer.trainable_weights])))
    np.testing.assert_allclose(results[0][0], expected, rtol=1e-4, atol=1e-4)
    for got, want in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-3, atol=1e-4)
    m = ours.momentum
    np.testing.assert_allclose(ours.moving_mean.numpy(), m * moving[0] + (1 - m) * mean, rtol=1e-5)
    np.testing.assert_allclose(ours.moving_variance.numpy(), m * moving[1] + (1 - m) * variance, rtol=1e-5)


def test_batch_norm_inference_uses_moving_statistics(rng):
    x = rng.normal(size=(3, 5, 4, 2)).astype("float32")
    ours, _ = _paired_batch_norms(x.shape)
    assert _fused_kernel_used(ours, x, training=False)
    expected = (x - ours.moving_mean.numpy()) / np.sqrt(ours.moving_variance.numpy() + ours.epsilon)
    expected = expected * ours.gamma.numpy() + ours.beta.numpy()
    np.testing.assert_allclose(ours(x, training=False).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_batch_norm_frozen_layer_uses_moving_statistics(rng):
    x = rng.normal(size=(3, 5, 4, 2)).astype("float32")
    ours, theirs = _paired_batch_norms(x.shape)
    ours.trainable = theirs.trainable = False
    np.testing.assert_allclose(ours(x, training=True).numpy(), theirs(x, training=True).numpy(), atol=1e-5)
    np.testing.assert_allclose(ours.moving_mean.numpy(), theirs.moving_mean.numpy())


def test_batch_norm_mixed_bfloat16_close_to_float32(rng):
    x = rng.normal(size=(4, 6, 6, 3)).astype("float32")
    reference, _ = _paired_batch_norms(x.shape)
    ours = BatchNormalization(dtype="mixed_bfloat16")
    ours.build(x.shape)
    ours.set_weights(reference.get_weights())
    y = ours(tf.cast(x, "bfloat16"), training=True)
    assert y.dtype == "bfloat16" and _fused_kernel_used(ours, tf.cast(x, "bfloat16"), training=True)
    np.testing.assert_allclose(tf.cast(y, "float32").numpy(), reference(x, training=True).numpy(), atol=0.05)


def test_batch_norm_falls_back_to_keras_where_it_cannot_fuse(rng):
    x = rng.normal(size=(4, 5, 3)).astype("float32")  # 3-D: no fused kernel
    ours, theirs = _paired_batch_norms(x.shape)
    assert not _fused_kernel_used(ours, x, training=True)
    np.testing.assert_allclose(ours(x, training=True).numpy(), theirs(x, training=True).numpy(), atol=1e-6)
    synced = BatchNormalization(synchronized=True)
    assert not _fused_kernel_used(synced, rng.normal(size=(2, 3, 3, 2)).astype("float32"), training=True)


def test_every_batch_norm_of_a_model_is_the_fused_one():
    model = segzoo.build("unet", backbone="resnet50", num_classes=2, input_shape=(64, 64, 3), encoder_weights=None)
    norms = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 53 + 10  # ResNet50's and the decoder's two per stage
    assert all(type(layer) is BatchNormalization for layer in norms)


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


@pytest.mark.parametrize("skip_channels", [2, 0])
def test_nearest_upsampling_conv_equals_upsample_concatenate_conv(skip_channels, rng):
    x = tf.constant(rng.normal(size=(2, 5, 7, 3)).astype("float32"))
    skip = tf.constant(rng.normal(size=(2, 10, 14, skip_channels)).astype("float32"))
    inputs = [x, skip] if skip_channels else [x]
    fused = NearestUpsamplingConv2D(4)
    fused.build([tuple(t.shape) for t in inputs])
    conv = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)
    conv.build((None, 10, 14, 3 + skip_channels))
    conv.set_weights(fused.get_weights())

    def reference(*tensors):
        up = tf.repeat(tf.repeat(tensors[0], 2, axis=1), 2, axis=2)  # nearest: each pixel 2x2
        return conv(tf.concat([up, *tensors[1:]], axis=-1))

    results = []
    for function, weights in ((lambda *t: fused(list(t)), fused.kernel), (reference, conv.kernel)):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            y = function(*inputs)
            loss = tf.reduce_sum(y * tf.cos(y))
        results.append((y.numpy(), tape.gradient(loss, [*inputs, weights])))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-5)
    for got, want in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_nearest_upsampling_conv_on_other_backends(backend):
    pytest.importorskip(backend)
    code = f"""
import os
os.environ["KERAS_BACKEND"] = "{backend}"
import numpy as np, keras
from segzoo.blocks import NearestUpsamplingConv2D
rng = np.random.default_rng(0)
x, skip = rng.normal(size=(2, 5, 7, 3)), rng.normal(size=(2, 10, 14, 2))
layer = NearestUpsamplingConv2D(4)
y = keras.ops.convert_to_numpy(layer([x.astype("float32"), skip.astype("float32")]))
kernel = keras.ops.convert_to_numpy(layer.kernel)
joined = np.concatenate([x.repeat(2, axis=1).repeat(2, axis=2), skip], axis=-1)
padded = np.pad(joined, ((0, 0), (1, 1), (1, 1), (0, 0)))
expected = sum(padded[:, i:i + 10, j:j + 14] @ kernel[i, j] for i in range(3) for j in range(3))
print(np.abs(y - expected).max())
"""
    assert float(run_python(code).split()[-1]) < 1e-5


def test_nearest_upsampling_conv_serializes():
    layer = NearestUpsamplingConv2D(5, name="up")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is NearestUpsamplingConv2D and clone.filters == 5 and clone.name == "up"
    assert clone.compute_output_shape([(None, 4, None, 3), (None, 8, None, 2)]) == (None, 8, None, 5)


def test_nearest_unet_has_the_same_weights_as_bilinear():
    shapes = {}
    for upsampling in ("nearest", "bilinear"):
        model = segzoo.build("unet", backbone="mobilenetv2", num_classes=3, input_shape=(64, 64, 3),
                             encoder_weights=None, upsampling=upsampling)
        shapes[upsampling] = sorted(tuple(w.shape) for w in model.weights)
    assert shapes["nearest"] == shapes["bilinear"]
