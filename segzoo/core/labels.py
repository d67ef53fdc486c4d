"""Labels checked where they enter a loss, a metric, evaluate or the data pipeline, with
one message style: class ids outside the classes (a
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


def check_labels(labels, classes, ignore_index, where="y_true", channels=None):
    """labels: class ids (B, *spatial) in 0..classes - 1 (a binary output's classes are
    0 and 1), or ignore_index. Concrete values raise a DataError naming `where`; in a
    TensorFlow graph a graph assert stops the step with the same advice. `channels`: the
    predictions' channel count, when a loss or metric checks the labels it scores."""
    values = _concrete(labels)
    if values is not None:
        scored_by = None if channels is None else scored_by_predictions(channels)
        message = label_problem(where, values, classes, ignore_index, scored_by)
        if message:
            raise DataError(message)
    elif _tensorflow_graph(labels):
        assert_labels_in_graph(labels, classes, ignore_index, where)


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


def label_problem(where, values, classes, ignore_index=None, scored_by=None, limit="num_classes"):
    """What is wrong with `values` as class ids 0..classes - 1 (a message naming `where`),
    else None. classes=None checks only that the ids are whole and not negative."""
    values = np.asarray(values)
    if ignore_index is not None:
        values = values[values != ignore_index]
    if values.dtype.kind == "f":
        fractional = values[np.isfinite(values) & (values != np.round(values))]
        if fractional.size or not np.all(np.isfinite(values)):
            return fractional_message(where, fractional[:1].tolist() or ["nan"])
    outside = values < 0 if classes is None else (values < 0) | (values >= classes)
    bad = np.unique(values[outside])
    if bad.size:
        return range_message(where, bad, classes, scored_by, limit)
    return None


def range_message(where, bad, classes, scored_by=None, limit="num_classes"):
    """The one message for class ids outside 0..classes - 1 (bad: sorted NumPy values).
    scored_by says where the classes come from (default: the `limit` option's value)."""
    shown = ", ".join(_number(v) for v in bad[:8].tolist()) + (", ..." if bad.size > 8 else "")
    largest = _number(bad[-1].item())
    if classes is None:
        message = f"{where} holds labels {shown}: class ids are 0, 1, 2, ... (0 = background). Fix the masks"
    else:
        scored_by = scored_by or f" ({limit}={classes})"
        message = f"{where} holds labels {shown} outside 0..{classes - 1}{scored_by}. Fix the masks or {limit}"
    message += f", or pass ignore_index={largest} if that value marks unlabelled pixels."
    if classes == 2 and bad[-1] == 255:
        message += (" A binary output scores 0 (background) and 1 (foreground): masks saved as 0/255 "
                    "need mask / 255 (or mask > 0).")
    return message


def scored_by_predictions(channels):
    """range_message's scored_by for labels a loss or metric scores against predictions."""
    return f", the classes the {'1-channel (binary)' if channels == 1 else f'{channels}-channel'} predictions score"


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


def assert_labels_in_graph(labels, classes, ignore_index, where):
    """A TensorFlow graph assert for check_labels; `where` may be a string tensor (a path)."""
    import tensorflow as tf

    labels = tf.convert_to_tensor(labels)
    valid = tf.ones_like(labels, tf.bool) if ignore_index is None else tf.not_equal(labels, tf.cast(ignore_index, labels.dtype))
    inside = (labels >= tf.cast(0, labels.dtype)) & (labels < tf.cast(classes, labels.dtype))
    good = inside | ~valid
    if labels.dtype.is_floating:
        good &= (labels == tf.round(labels)) | ~valid
    message = tf.strings.join([
        where,
        f" holds labels that are not class ids 0..{classes - 1}"
        f"{'' if ignore_index is None else f' (or ignore_index={ignore_index})'}: "
        "fix the masks or num_classes, pass ignore_index for the value that marks unlabelled "
        "pixels, divide 0/255 binary masks by 255, and resize masks with nearest-neighbour "
        "interpolation. The smallest and largest labels:",
    ])
    kept = tf.where(valid, labels, tf.zeros_like(labels))
    tf.debugging.Assert(tf.reduce_all(good), [message, tf.reduce_min(kept), tf.reduce_max(kept)])
