"""Class weights from label statistics, and per-pixel sample weights for `model.fit`
(Keras' `class_weight` refuses 3-D targets)."""

import numpy as np
import tensorflow as tf

from segzoo.core.class_weights import check_class_weights
from segzoo.core.labels import label_problem
from segzoo.errors import ConfigError, DataError

METHODS = ("inverse_frequency", "median_frequency", "effective_number", "inverse_sqrt")


def class_weights(source, num_classes, method="inverse_frequency", ignore_index=None, beta=0.999):
    """One weight per class from the label counts of `source`, read in one streaming pass.

    source: an array of masks (N, H, W) or (N, H, W, 1), or a tf.data.Dataset of masks or
    of (image, mask[, weight]) batches. Classes never seen get weight 0. Methods, with
    n_c the pixel count of class c and N the total:
      inverse_frequency  N / (C * n_c)                       (sklearn's "balanced")
      median_frequency   median(f) / f_c, f_c = n_c / pixels of the images containing c
                                                              (Eigen & Fergus 2015)
      effective_number   (1 - beta) / (1 - beta ** n_c), scaled to sum to C (Cui et al. 2019)
      inverse_sqrt       sqrt(N / n_c), scaled so the pixel-weighted mean weight is 1
    """
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ConfigError(
            f"num_classes must be a positive integer (the number of classes, background "
            f"included), got {num_classes!r}."
        )
    if method not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}, got {method!r}.")
    if method == "effective_number" and not 0.0 < beta < 1.0:
        raise ConfigError(f"beta must be in (0, 1) for effective_number, got {beta}.")
    counts, present_pixels = _count(source, num_classes, ignore_index)
    if counts.sum() == 0:
        raise ConfigError("No labelled pixel found in source: cannot compute class weights.")
    seen = counts > 0
    weights = np.zeros(num_classes)
    if method == "inverse_frequency":
        weights[seen] = counts.sum() / (num_classes * counts[seen])
    elif method == "median_frequency":
        frequency = counts[seen] / present_pixels[seen]
        weights[seen] = np.median(frequency) / frequency
    elif method == "effective_number":
        weights[seen] = (1.0 - beta) / (1.0 - np.power(beta, counts[seen]))
        weights *= num_classes / weights.sum()
    else:
        weights[seen] = np.sqrt(counts.sum() / counts[seen])
        weights /= np.sum(weights * counts) / counts.sum()
    return weights.tolist()


def _count(source, num_classes, ignore_index):
    """Pixels per class, and per class the pixels of the images that contain it."""
    counts = np.zeros(num_classes, np.int64)
    present_pixels = np.zeros(num_classes, np.int64)
    for masks in _mask_batches(source):
        for mask in masks.reshape(len(masks), -1):
            if ignore_index is not None:
                mask = mask[mask != ignore_index]
            if mask.size and (mask.min() < 0 or mask.max() >= num_classes):
                raise DataError(label_problem("A mask of source", mask, num_classes))
            image_counts = np.bincount(mask, minlength=num_classes)
            counts += image_counts
            present_pixels[image_counts > 0] += mask.size
    return counts, present_pixels


def _mask_batches(source):
    if isinstance(source, tf.data.Dataset):
        for element in source.as_numpy_iterator():
            masks = element[1] if isinstance(element, tuple) else element
            yield _as_labels(masks)
        return
    masks = _as_labels(np.asarray(source))
    for start in range(0, len(masks), 64):
        yield masks[start:start + 64]


def _as_labels(masks):
    masks = np.asarray(masks)
    if masks.ndim >= 3 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.ndim == 2:
        masks = masks[None]
    return masks.astype(np.int64)


def with_sample_weights(dataset, class_weights, ignore_index=None):
    """Map (x, y) batches to (x, y, w), w[b, h, w] = class_weights[y[b, h, w]]: the
    per-pixel weights `model.fit` takes. Ignored or out-of-range labels weigh 0."""
    check_pairs(dataset)
    check_class_weights(class_weights)
    table = tf.constant(np.asarray(class_weights, np.float32))
    classes = len(class_weights)

    def add_weights(x, y):
        labels = tf.cast(y[..., 0] if y.shape.rank and y.shape[-1] == 1 else y, tf.int32)
        valid = (labels >= 0) & (labels < classes)
        if ignore_index is not None:
            valid &= labels != ignore_index
        weight = tf.gather(table, tf.where(valid, labels, 0))
        return x, y, tf.where(valid, weight, 0.0)

    return dataset.map(add_weights, num_parallel_calls=tf.data.AUTOTUNE)


def check_pairs(dataset):
    """Refuse, before mapping, a dataset that does not yield (x, y) pairs."""
    spec = dataset.element_spec
    if isinstance(spec, tuple) and len(spec) == 3:
        raise ConfigError("The dataset already yields sample weights (x, y, w): add weights to (x, y) pairs once.")
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ConfigError(f"The dataset must yield (x, y) pairs, got elements {spec}.")
