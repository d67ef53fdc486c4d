"""Lovasz losses (Berman, Rannen Triki & Blaschko 2018): convex surrogates of the
Jaccard loss, by sorting pixel errors. Hinge on logits for binary and multilabel
outputs, softmax probabilities for multiclass.

Sample weights enter the cumulative sums of the Jaccard gradient, so a pixel of weight
2 acts as two identical pixels and weight 0 removes it.

With per_image=False the errors of the global batch are sorted together: under a
tf.distribute strategy each replica all-gathers the others' pixels first (exact, at the
cost of every replica sorting the whole batch).
"""

import keras
from keras import ops

from segzoo.losses._replicas import global_gather, global_mean
from segzoo.losses._stats import safe_ratio
from segzoo.losses.region import RegionLoss

_EPSILON = 1e-7


@keras.saving.register_keras_serializable(package="segzoo")
class Lovasz(RegionLoss):
    """Lovasz hinge (binary, multilabel) or Lovasz softmax (multiclass). Multiclass
    averages the classes present in the ground truth, as the paper's classes="present".
    `smooth` is unused: the surrogate needs none."""

    uses_probabilities = False

    def compute(self, prepared):
        truth, pred, weight = prepared.truth, prepared.pred, prepared.weight
        channels = truth.shape[-1]
        class_weights = self.class_weight_vector(channels)
        truth, pred, weight = (self._flatten(t) for t in (truth, pred, ops.broadcast_to(weight, ops.shape(truth))))
        if prepared.mode == "multiclass":
            prob = ops.softmax(pred, axis=1) if self.from_logits else pred
            errors = ops.abs(truth - prob)
            surrogate = _unchanged
        else:
            logits = pred if self.from_logits else _logit(pred)
            errors = 1.0 - logits * (2.0 * truth - 1.0)
            surrogate = ops.relu
        if not self.per_image:  # sort the errors of the global batch, all replicas' pixels
            errors, truth, weight = global_gather(errors, truth, weight, axis=2)
        per_class = self._sorted_loss(errors, truth, weight, surrogate)  # (G, C)
        present = ops.cast(ops.sum(weight * truth, axis=-1) > 0, "float32")
        if prepared.mode != "multiclass":
            present = ops.ones_like(present)
        per_class, present, class_weights = self.select(channels, per_class, present, class_weights)
        weights = present * class_weights
        total = ops.sum(weights, axis=-1)
        loss = ops.sum(per_class * weights, axis=-1) / ops.where(total > 0, total, 1.0)
        return global_mean(loss) if self.per_image else ops.mean(loss)

    def _flatten(self, tensor):
        """(B, *spatial, C) -> (G, C, N): G = B per image, else 1 for the whole batch."""
        groups = ops.shape(tensor)[0] if self.per_image else 1
        flat = ops.reshape(tensor, (groups, -1, tensor.shape[-1]))
        return ops.transpose(flat, (0, 2, 1))

    @staticmethod
    def _sorted_loss(errors, truth, weight, surrogate):
        order = ops.flip(ops.argsort(_sort_keys(errors), axis=-1), axis=-1)  # descending errors
        errors, truth, weight = _take_along_rows(order, errors, truth, weight)
        return ops.sum(surrogate(errors) * _lovasz_gradient(truth, weight), axis=-1)


def _sort_keys(errors):
    """int32 keys with the errors' order wherever it matters, since TensorFlow's CPU sorts
    int32 faster than float32 (the sort is most of this loss's time): a float32 > 0 orders
    as its bit pattern. Errors <= 0 (hinge only, surrogate 0) all get key 0, so they stay
    behind the others and only reorder among themselves, which changes nothing."""
    positive = ops.where(errors > 0.0, errors, 0.0)[..., None]  # Keras' TF view needs a static last axis
    return ops.view(positive, "int32")[..., 0]


def _take_along_rows(order, *tensors):
    """ops.take_along_axis(t, order, axis=-1) for each tensor, as one plain int32 gather
    from the flattened tensor: take_along_axis casts to int64 and gathers row by row,
    which made these gathers a third slower on TensorFlow's CPU."""
    length = ops.shape(order)[-1]
    rows = ops.reshape(order, (-1, length))
    starts = ops.arange(ops.shape(rows)[0], dtype="int32")[:, None] * length
    flat = ops.reshape(rows + starts, ops.shape(order))
    return tuple(ops.take(ops.reshape(t, (-1,)), flat) for t in tensors)


def _lovasz_gradient(truth_sorted, weight_sorted):
    """Increments of the (weighted) Jaccard loss along the sorted pixels."""
    positives = ops.sum(weight_sorted * truth_sorted, axis=-1, keepdims=True)
    intersection = positives - ops.cumsum(weight_sorted * truth_sorted, axis=-1)
    union = positives + ops.cumsum(weight_sorted * (1.0 - truth_sorted), axis=-1)
    jaccard = 1.0 - safe_ratio(intersection, union)
    return ops.concatenate([jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], axis=-1)


def _logit(prob):
    prob = ops.clip(prob, _EPSILON, 1.0 - _EPSILON)
    return ops.log(prob) - ops.log(1.0 - prob)


def _unchanged(errors):
    return errors
