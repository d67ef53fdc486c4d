"""The soft per-class statistics (TP, FP, FN) of the region losses: the one place their
math lives. Targets, predictions and weights come in shape from `segzoo.core.targets`.
"""

from keras import ops

from segzoo.core.replicas import global_sum


def soft_stats(prepared, per_image):
    """Soft (TP, FP, FN) per class: (B, C) when per_image, else (C,) over the global batch:
    summed across replicas when a tf.distribute strategy splits the batch (see segzoo.core.replicas)."""
    truth, prob, weight = prepared.truth, prepared.pred, prepared.weight
    axes = tuple(range(1, len(prob.shape) - 1))
    if not per_image:
        axes = (0,) + axes
    tp = ops.sum(weight * truth * prob, axis=axes)
    fp = ops.sum(weight * (1.0 - truth) * prob, axis=axes)
    fn = ops.sum(weight * truth * (1.0 - prob), axis=axes)
    if not per_image:
        tp, fp, fn = global_sum(tp, fp, fn)
    return tp, fp, fn


def safe_ratio(numerator, denominator):
    """numerator / denominator, and 1 where the denominator is 0 (nothing to find and
    nothing predicted is a perfect score). No NaN in the value or the gradient."""
    empty = ops.equal(denominator, 0.0)
    ratio = numerator / ops.where(empty, 1.0, denominator)
    return ops.where(empty, 1.0, ratio)
