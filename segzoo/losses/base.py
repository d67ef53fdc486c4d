"""Base classes: option validation, per-pixel sample weights, `+` and `*`.

Keras applies `sample_weight` after `call()` returns, which cannot weigh the pixels
inside a ratio of sums; so segzoo losses take it in `__call__` and reduce themselves,
over the global batch when a tf.distribute strategy splits it (see `segzoo.core.replicas`).
"""


import keras
from keras import ops

from segzoo._options import reject_unknown_options
from segzoo.errors import ConfigError
from segzoo.core.class_weights import check_class_weights
from segzoo.core.replicas import global_sum, scale_to_replicas, warn_if_local
from segzoo.core.targets import MODES, prepare


# Keras' reduction values. A segzoo loss's "sample" is an image: "none" gives each image's
# loss computed on that image alone, "sum" the batch's loss times the batch size (so that
# the default, "sum_over_batch_size", is sum / batch size, as in Keras). The sample weights
# act inside the statistics, so "mean_with_sample_weight" is the default too.
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ConfigError(
            f"reduction must be one of Keras' {', '.join(map(repr, REDUCTIONS))}, got {reduction!r}: "
            "'none' gives one loss per image, 'sum' the batch's loss times its size."
        )
    return reduction


def unreduced(reduction):
    return reduction in (None, "none")


class SegmentationLoss(keras.losses.Loss):
    """Options every segzoo loss shares: mode, from_logits, class_weights, ignore_index,
    and Keras' reduction, name and dtype (the math runs in float32; the value is returned
    in `dtype`)."""

    def __init__(self, mode=None, from_logits=False, class_weights=None, ignore_index=None,
                 reduction="sum_over_batch_size", name=None, dtype=None, **unknown):
        reject_unknown_options(self, unknown, SegmentationLoss)
        super().__init__(name=name, reduction=check_reduction(reduction), dtype=dtype)
        if mode is not None and mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES} or None (from the channel count), got {mode!r}.")
        if ignore_index is not None and not isinstance(ignore_index, int):
            raise ConfigError(f"ignore_index must be an integer label value or None, got {ignore_index!r}.")
        self.mode = mode
        self.from_logits = bool(from_logits)
        self.class_weights = check_class_weights(class_weights)
        self.ignore_index = ignore_index

    def __call__(self, y_true, y_pred, sample_weight=None):
        return self.reduced(y_true, y_pred, sample_weight, self.reduction)

    def reduced(self, y_true, y_pred, sample_weight, reduction):
        """The loss under `reduction` (a Combo passes its own to its parts)."""
        prepared = prepare(
            y_true, y_pred, self.mode, self.ignore_index, sample_weight, self.from_logits,
            activate=self.uses_probabilities,
        )
        warn_if_local(type(self).__name__)
        if unreduced(reduction):
            return ops.cast(self.per_image_losses(prepared), self.dtype)
        loss = self.compute(prepared)
        if reduction == "sum":
            loss = loss * global_sum(ops.cast(ops.shape(prepared.truth)[0], "float32"))[0]
        # compute() gives the global batch's loss on every replica; Keras sums the
        # replicas' gradients, so each replica's share is 1 / replicas, as for Keras' losses.
        return ops.cast(scale_to_replicas(loss), self.dtype)

    # Region losses work on probabilities; pixel losses take logits raw for stable logs.
    uses_probabilities = True

    def call(self, y_true, y_pred):
        return self(y_true, y_pred)

    def compute(self, prepared):
        """The batch's loss, a scalar."""
        raise NotImplementedError

    def per_image_losses(self, prepared):
        """(B,): each image's loss, as if it were the batch alone."""
        raise NotImplementedError

    def class_weight_vector(self, channels):
        if self.class_weights is None:
            return ops.ones((channels,), "float32")
        if len(self.class_weights) != channels:
            raise ConfigError(
                f"class_weights has {len(self.class_weights)} values but the predictions have "
                f"{channels} classes: give one weight per class."
            )
        return ops.convert_to_tensor(self.class_weights, "float32")

    def get_config(self):
        return {
            "name": self.name,
            "reduction": self.reduction,
            "dtype": self.dtype,
            "mode": self.mode,
            "from_logits": self.from_logits,
            "class_weights": self.class_weights,
            "ignore_index": self.ignore_index,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __add__(self, other):
        from segzoo.losses.combined import Combo

        return Combo.of(self) + other

    def __radd__(self, other):
        if other == 0:  # sum([...]) starts from 0
            return self
        return NotImplemented

    def __mul__(self, factor):
        from segzoo.losses.combined import Combo

        return Combo.of(self) * factor

    __rmul__ = __mul__


def weighted_mean(values, weights, per_image=False):
    """sum(w * v) / sum(w) over the global batch, or over each image's pixels (B,) with
    per_image; 0 where every weight is 0 (nothing to learn from)."""
    if per_image:
        axes = tuple(range(1, len(values.shape)))
        weighted, total = ops.sum(values * weights, axis=axes), ops.sum(weights, axis=axes)
    else:
        weighted, total = global_sum(ops.sum(values * weights), ops.sum(weights))
    return weighted / ops.where(ops.equal(total, 0.0), 1.0, total)
