"""The U-Net border weight map (Ronneberger et al. 2015, eq. 2): per-pixel weights that make
the thin background gaps between touching objects count, and a tf.data helper that adds
them to (x, y) batches."""

import math

import numpy as np
import tensorflow as tf
from scipy import ndimage

from segzoo.core.labels import label_problem
from segzoo.data.weights import check_pairs
from segzoo.errors import ConfigError, DataError


def boundary_weights(mask, w0=10, sigma=5, class_weights=None, ignore_index=None):
    """Per-pixel weights w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))**2 / (2 * sigma**2)).

    mask: integer (or bool) labels, (H, W) or (H, W, 1) for one image, (B, H, W) or
    (B, H, W, 1) for a batch; a trailing axis of size 1 is always read as the channel.
    Returns float32 weights of shape (H, W) or (B, H, W); images are independent.

    w_c(x) is class_weights[label(x)] when class_weights is given (one weight per class,
    background 0 included), else 1.

    Objects are the connected components, 4-connected (scipy.ndimage.label's default), of
    each foreground class (label > 0) taken separately: two touching regions of different
    classes are two objects, one region of one class is one object whatever its size.
    d1(x) and d2(x) are the distances from x to the nearest and the second-nearest object,
    measured as in `scipy.ndimage.distance_transform_edt(objects != k)`: the Euclidean
    distance between the centre of x and the centre of the closest pixel of object k (so 1
    for a background pixel that touches k by an edge, sqrt(2) by a corner). The paper's
    "distance to the border of the cell" is the same thing for background pixels up to that
    pixel-centre convention (a border at the pixel edge would give 0.5 less).

    The border term is added on background pixels (label 0) only. In the paper (figure 3d)
    the large weights lie on the background gaps that separate touching cells; inside an
    object d1 would be 0 (the pixel belongs to it) and d2 would be the distance to the
    neighbour, so applying the formula there too would also lift the rims of every object
    facing a neighbour — weight the paper does not show and that pulls the loss towards
    object borders rather than towards the gaps the network must learn to keep open.
    With fewer than two objects in an image the border term is 0 and w = w_c.

    ignore_index: pixels with this label are neither objects nor background; their weight
    is 0 (distances are still measured straight through them).

    Cost: one distance transform per object, O(K * H * W) time for K objects, and only the
    running two smallest distances are kept (O(H * W) memory, whatever K).
    """
    _check_options(w0, sigma, class_weights)
    labels, batched = _as_label_images(mask)
    table = None if class_weights is None else np.asarray(class_weights, np.float64)
    weights = np.stack([
        _one_image(image, float(w0), float(sigma), table, ignore_index) for image in labels
    ]) if len(labels) else np.zeros(labels.shape, np.float32)
    return weights if batched else weights[0]


def with_boundary_weights(dataset, w0=10, sigma=5, class_weights=None, ignore_index=None):
    """Map (x, y) batches to (x, y, w) with w = boundary_weights(y, ...): the per-pixel
    weights `model.fit` takes, like `with_sample_weights`. w has y's shape without a trailing
    axis of size 1. Runs in NumPy through tf.numpy_function, so the map does not go in a
    saved graph; the options are checked here, a bad mask fails when the batch is read."""
    _check_options(w0, sigma, class_weights)
    check_pairs(dataset)
    options = {
        "w0": w0, "sigma": sigma, "class_weights": class_weights, "ignore_index": ignore_index,
    }

    def add_weights(x, y):
        weight = tf.numpy_function(
            lambda labels: boundary_weights(labels, **options), [y], tf.float32, stateful=False
        )
        rank = y.shape.rank
        if rank == 4 or (rank == 3 and y.shape[-1] == 1):
            weight.set_shape(y.shape[:-1])
        elif rank is not None and (rank == 2 or (rank == 3 and y.shape[-1] is not None)):
            weight.set_shape(y.shape)
        return x, y, weight

    return dataset.map(add_weights, num_parallel_calls=tf.data.AUTOTUNE)


def _check_options(w0, sigma, class_weights):
    if not _finite_number(w0) or w0 < 0:
        raise ConfigError(f"w0 must be a finite number >= 0 (the paper uses 10), got {w0!r}.")
    if not _finite_number(sigma) or sigma <= 0:
        raise ConfigError(
            f"sigma must be a finite number > 0, in pixels (the paper uses about 5), got {sigma!r}."
        )
    if class_weights is not None:
        try:
            table = np.asarray(class_weights, np.float64)
        except (TypeError, ValueError):
            table = None
        if table is None or table.ndim != 1 or not np.all(np.isfinite(table)) or np.any(table < 0):
            raise ConfigError(
                "class_weights must be a flat sequence of finite numbers >= 0, one per class "
                f"(background 0 first), got {class_weights!r}."
            )


def _finite_number(value):
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _as_label_images(mask):
    """(B, H, W) integer labels and whether the input was a batch."""
    labels = np.asarray(mask)
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        raise ConfigError(
            f"mask must hold integer class labels, got dtype {labels.dtype}. Cast it "
            "(mask.astype(int), tf.cast(y, tf.int32)); for one-hot or soft masks take argmax first."
        )
    shape = labels.shape
    if labels.ndim >= 3 and shape[-1] == 1:
        labels = labels[..., 0]
    elif labels.ndim == 4:
        raise ConfigError(
            f"A 4-D mask must be (B, H, W, 1), got shape {shape}. Pass sparse labels, not one-hot "
            "(take argmax over the last axis)."
        )
    if labels.ndim not in (2, 3):
        raise ConfigError(
            f"mask must be (H, W), (H, W, 1), (B, H, W) or (B, H, W, 1), got shape {shape}."
        )
    batched = labels.ndim == 3
    return (labels if batched else labels[None]).astype(np.int64), batched


def _one_image(labels, w0, sigma, table, ignore_index):
    valid = np.ones(labels.shape, bool) if ignore_index is None else labels != ignore_index
    _check_labels(labels[valid], table, ignore_index)
    if table is None:
        weights = valid.astype(np.float64)
    else:
        weights = np.where(valid, table[np.where(valid, labels, 0)], 0.0)
    background = valid & (labels == 0)
    if w0 == 0 or not background.any():
        return weights.astype(np.float32)
    objects, count = _objects(labels, valid)
    if count < 2:
        return weights.astype(np.float32)
    nearest = np.full(labels.shape, np.inf)
    second = np.full(labels.shape, np.inf)
    for k in range(1, count + 1):
        distance = ndimage.distance_transform_edt(objects != k)
        np.minimum(second, np.maximum(nearest, distance), out=second)
        np.minimum(nearest, distance, out=nearest)
    gap = nearest[background] + second[background]
    weights[background] += w0 * np.exp(-gap * gap / (2.0 * sigma * sigma))
    return weights.astype(np.float32)


def _check_labels(labels, table, ignore_index):
    if not labels.size:
        return
    classes = None if table is None else len(table)
    problem = label_problem("mask", labels, classes, ignore_index, " (one class per class_weights entry)", "class_weights")
    if problem:
        raise DataError(problem)


def _objects(labels, valid):
    """Connected components of each foreground class, numbered 1..count across classes."""
    objects = np.zeros(labels.shape, np.int64)
    count = 0
    for value in np.unique(labels[valid & (labels > 0)]):
        components, found = ndimage.label(valid & (labels == value))
        objects[components > 0] = components[components > 0] + count
        count += found
    return objects, count
