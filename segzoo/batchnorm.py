"""`recalibrate_batchnorm`: BatchNormalization moving statistics recomputed from data.

A BatchNormalization layer normalizes a training batch with that batch's own mean and
variance, and an inference batch with moving averages of them. After a short training,
or with a momentum close to 1, those averages still lag far behind: the model scores well
in training mode and predicts nonsense (often only background) in inference mode. The fix
is "precise BN" (Wu & Johnson 2021; torch.optim.swa_utils.update_bn): run the data
through the model once, each layer normalizing with its batch statistics, and set the
moving statistics to the exact averages of those, weighted by pixel count. The weights do
not change.
"""

import contextlib
import math
import warnings

import keras
import numpy as np

from segzoo import blocks
from segzoo.errors import ConfigError

_KNOWN = (keras.layers.BatchNormalization, blocks.BatchNormalization)


class _BatchStatistics(blocks.BatchNormalization):
    """A layer's class while it is recalibrated: it normalizes with the batch's statistics
    (and, at momentum 0, stores them as its moving ones) whatever `training` says, so the
    rest of the model (Dropout, ...) runs in inference mode."""

    def call(self, inputs, training=None, mask=None):
        return super().call(inputs, training=True, mask=mask)


def recalibrate_batchnorm(model, data, steps=None, batch_size=16):
    """Set the moving mean and variance of every trainable BatchNormalization layer of
    `model` to the averages of its batch statistics over `data`; returns the model.

    data: a tf.data.Dataset or any iterable of batches, each the model's input or a tuple
    (x, y) / (x, y, sample_weight) as `fit` takes them (the training data, prepared as for
    training); or an array of inputs, cut into batches of `batch_size`. Batches should be
    as large as the training batches: a layer's statistics are averaged batch by batch.
    steps: the number of batches to use (None: all; needed for a dataset that repeats).

    Layers that are not trainable (a frozen encoder) normalize with their moving
    statistics in training too, so they keep them. Under a tf.distribute strategy, call
    it outside `strategy.run`: the batches then run whole on one device and the moving
    statistics of every replica are set. Works with every Keras backend.
    """
    layers = _trainable_batchnorm_layers(model)
    if not layers:
        return model
    totals = [[np.zeros(layer.moving_mean.shape), np.zeros(layer.moving_variance.shape)] for layer in layers]
    pixels = 0
    with _batch_statistics(layers), _no_gradients():
        for x in _input_batches(data, steps, batch_size):
            model(x, training=False)
            count = math.prod(x.shape[:-1])
            for layer, (mean, variance) in zip(layers, totals):
                mean += count * keras.ops.convert_to_numpy(layer.moving_mean)
                variance += count * keras.ops.convert_to_numpy(layer.moving_variance)
            pixels += count
    if pixels == 0:
        raise ConfigError("recalibrate_batchnorm got no batch: the data is empty (or steps=0).")
    for layer, (mean, variance) in zip(layers, totals):
        layer.moving_mean.assign((mean / pixels).astype(np.float32))
        layer.moving_variance.assign((variance / pixels).astype(np.float32))
    return model


def _trainable_batchnorm_layers(model):
    layers, others = [], []
    for layer in model._flatten_layers(include_self=False):
        if not isinstance(layer, keras.layers.BatchNormalization) or not layer.trainable:
            continue
        (layers if type(layer) in _KNOWN and not layer.renorm else others).append(layer)
    if others:
        warnings.warn(
            f"recalibrate_batchnorm left {len(others)} BatchNormalization layers as they are "
            f"({', '.join(layer.name for layer in others[:3])}{', ...' if len(others) > 3 else ''}): "
            "subclasses and renorm layers keep their own moving statistics.",
            stacklevel=3,
        )
    return layers


@contextlib.contextmanager
def _batch_statistics(layers):
    saved = [(layer.__class__, layer.momentum) for layer in layers]
    try:
        for layer in layers:
            layer.__class__ = _BatchStatistics  # adds no state: weights and names stay
            layer.momentum = 0.0  # the moving statistics become each batch's own
        yield
    finally:
        for layer, (cls, momentum) in zip(layers, saved):
            layer.__class__ = cls
            layer.momentum = momentum


@contextlib.contextmanager
def _no_gradients():
    if keras.backend.backend() != "torch":
        yield
        return
    import torch

    with torch.no_grad():
        yield


def _input_batches(data, steps, batch_size):
    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 0):
        raise ConfigError(f"steps must be a non-negative integer or None (all batches), got {steps!r}.")
    _check_finite_data(data, steps)
    if _is_tensor(data):  # NumPy arrays included
        data = _slices(data, batch_size)
    for index, batch in enumerate(data):
        if steps is not None and index >= steps:
            return
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        yield _to_backend(x)


def _slices(array, batch_size):
    for start in range(0, len(array), batch_size):
        yield array[start:start + batch_size]


def _check_finite_data(data, steps):
    if steps is None and _is_tf_dataset(data):
        import tensorflow as tf

        if int(data.cardinality()) == tf.data.INFINITE_CARDINALITY:
            raise ConfigError(
                "recalibrate_batchnorm got a dataset that repeats forever: pass steps=N (e.g. the "
                "number of batches in one pass over the training data)."
            )


def _is_tf_dataset(data):
    return type(data).__module__.startswith("tensorflow") and hasattr(data, "element_spec")


def _is_tensor(data):
    return hasattr(data, "shape") and hasattr(data, "dtype") and not isinstance(data, (tuple, list, dict))


def _to_backend(x):
    """A batch from tf.data (a tf.Tensor) as NumPy for the JAX and torch backends."""
    if keras.backend.backend() != "tensorflow" and hasattr(x, "numpy") and type(x).__module__.startswith("tensorflow"):
        return x.numpy()
    return x
