"""Targets checked where they enter a loss or metric: class ids outside the classes (a
label 7 for 4 classes, 255 for unlabelled pixels), binary masks saved as 0/255, values
that are not whole numbers where class ids are expected (masks resized with bilinear
interpolation), one-hot or multi-hot targets outside [0, 1].

Concrete values (eager calls, PyTorch's fit, which runs eagerly) raise a DataError that
names the values and the fix. In a TensorFlow graph (fit and evaluate compile one) a
graph assert stops the step with the same message. JAX's jitted fit has no values to
look at while tracing, so there only eager calls are checked (docs/losses.md).
"""

import keras
import numpy as np
from keras import ops

from segzoo.errors import DataError


def check_sparse_labels(labels, classes, ignore_index):
    """labels: class ids (B, *spatial) in 0..classes - 1 (a binary output's classes are
    0 and 1), or ignore_index."""
    values = _concrete(labels)
    if values is not None:
        message = sparse_label_problem("y_true", values, classes, ignore_index)
        if message:
            raise DataError(message)
    elif _tensorflow_graph(labels):
        _assert_in_graph(labels, classes, ignore_index)


def check_dense_targets(targets):
    """One-hot or multi-hot targets (soft ones too) must lie in [0, 1]."""
    values = _concrete(targets)
    if values is not None:
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        if low < 0.0 or high > 1.0:
            raise DataError(dense_target_message(low, high))
    elif _tensorflow_graph(targets):
        import tensorflow as tf

        targets = tf.cast(targets, "float32")
        inside = tf.reduce_all((targets >= 0.0) & (targets <= 1.0))
        tf.debugging.Assert(inside, [dense_target_message(None, None), tf.reduce_min(targets), tf.reduce_max(targets)])


def sparse_label_problem(where, values, classes, ignore_index):
    """What is wrong with `values` as class ids (a message naming `where`), else None."""
    values = np.asarray(values)
    if ignore_index is not None:
        values = values[values != ignore_index]
    if values.dtype.kind == "f":
        fractional = values[np.isfinite(values) & (values != np.round(values))]
        if fractional.size or not np.all(np.isfinite(values)):
            return fractional_message(where, fractional[:1].tolist() or ["nan"])
    bad = np.unique(values[(values < 0) | (values >= classes)])
    if bad.size:
        return range_message(where, bad, classes)
    return None


def range_message(where, bad, classes):
    shown = ", ".join(_number(v) for v in bad[:8].tolist()) + (", ..." if bad.size > 8 else "")
    largest = _number(bad[-1].item())
    message = (
        f"{where} holds labels {shown} outside 0..{classes - 1}, the classes the "
        f"{'1-channel (binary)' if classes == 2 else f'{classes}-channel'} predictions score. Fix the "
        f"masks or the model's num_classes, or pass ignore_index={largest} if that value marks "
        "unlabelled pixels."
    )
    if classes == 2 and bad[-1] == 255:
        message += (" A 1-channel output scores 0 (background) and 1 (foreground): masks saved as 0/255 "
                    "need mask / 255 (or mask > 0).")
    return message


def fractional_message(where, examples):
    return (
        f"{where} holds values that are not class ids (e.g. {examples[0]}): sparse targets and "
        "binary masks must hold whole numbers (0, 1, ...). Were the masks resized with bilinear "
        "interpolation? Resize masks with nearest-neighbour interpolation, or round them; for soft "
        "targets use one-hot (B, H, W, C) targets with a multi-channel output."
    )


def dense_target_message(low, high):
    seen = "" if low is None else f" (from {_number(low)} to {_number(high)})"
    return (
        f"y_true holds one-hot or multi-hot targets outside [0, 1]{seen}: each channel is a 0/1 "
        "mask, or a soft value between. Masks saved as 0/255 need mask / 255."
    )


def _number(value):
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _concrete(tensor):
    """The tensor's values as NumPy when it has any now (not while tracing a graph)."""
    if isinstance(tensor, (np.ndarray, list, tuple, int, float)):
        return np.asarray(tensor)
    if isinstance(tensor, keras.KerasTensor):  # a symbolic input while Keras builds a model
        return None
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly() or not hasattr(tensor, "numpy"):
            return None
    elif backend == "jax":
        import jax

        if isinstance(tensor, jax.core.Tracer):
            return None
    elif backend == "torch":
        import torch

        if torch.compiler.is_compiling():
            return None
    return ops.convert_to_numpy(tensor)


def _tensorflow_graph(tensor):
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.is_tensor(tensor) and not tf.executing_eagerly()


def _assert_in_graph(labels, classes, ignore_index):
    import tensorflow as tf

    labels = tf.convert_to_tensor(labels)
    valid = tf.ones_like(labels, tf.bool) if ignore_index is None else tf.not_equal(labels, tf.cast(ignore_index, labels.dtype))
    inside = (labels >= tf.cast(0, labels.dtype)) & (labels < tf.cast(classes, labels.dtype))
    good = inside | ~valid
    if labels.dtype.is_floating:
        good &= (labels == tf.round(labels)) | ~valid
    message = (
        f"y_true holds labels that are not class ids 0..{classes - 1} (or ignore_index={ignore_index}): "
        "fix the masks or the model's num_classes, pass ignore_index for the value that marks unlabelled "
        "pixels, divide 0/255 binary masks by 255, and resize masks with nearest-neighbour "
        "interpolation. The smallest and largest labels:"
    )
    kept = tf.where(valid, labels, tf.zeros_like(labels))
    tf.debugging.Assert(tf.reduce_all(good), [message, tf.reduce_min(kept), tf.reduce_max(kept)])
