"""Streaming segmentation metrics read from a confusion matrix accumulated over the whole
evaluation (never an average of per-batch scores).

Binary (1-channel) outputs count two classes, background 0 and foreground 1, and report
the foreground unless `class_indexes` says otherwise. Multilabel outputs keep a 2x2
matrix per channel. A class with nothing to score (e.g. IoU of a class neither present
nor predicted) is NaN in the per-class result and left out of the mean.

That is the one mean IoU of segzoo: these metrics, `segzoo.evaluate`, `segzoo train`'s
choice of the best epoch and the model cards all average the same classes
(`averaged_classes`, then those with a defined score). A class predicted but absent from
the ground truth scores 0 and counts.
"""

import keras
from keras import ops

from segzoo._options import reject_unknown_options
from segzoo.core.replicas import global_sum
from segzoo.core.targets import prepare, resolve_mode
from segzoo.errors import ConfigError

AVERAGES = ("macro", None)

__all__ = ["ConfusionMatrixMetric", "Dice", "IoU", "PixelAccuracy", "Precision", "Recall"]


def _register(cls):
    # "segzoo>DiceMetric": segzoo.losses.Dice is already "segzoo>Dice".
    return keras.saving.register_keras_serializable(package="segzoo", name=f"{cls.__name__}Metric")(cls)


class ConfusionMatrixMetric(keras.metrics.Metric):
    default_name = None  # each score's name in Keras' logs when none is given

    def __init__(
        self,
        num_classes,
        mode=None,
        threshold=0.5,
        from_logits=False,
        class_indexes=None,
        ignore_index=None,
        average="macro",
        name=None,
        dtype=None,
        **unknown,
    ):
        reject_unknown_options(self, unknown, ConfusionMatrixMetric)
        super().__init__(name=name or self.default_name, dtype=dtype)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ConfigError(f"num_classes must be the number of output channels (>= 1), got {num_classes!r}.")
        if average not in AVERAGES:
            raise ConfigError(f"average must be 'macro' (mean over classes) or None (per class), got {average!r}.")
        if not 0.0 < threshold < 1.0:
            raise ConfigError(f"threshold must be in (0, 1), got {threshold}.")
        self.num_classes = num_classes
        self.mode = resolve_mode(mode, num_classes)
        self.threshold = float(threshold)
        self.from_logits = bool(from_logits)
        self.class_indexes = None if class_indexes is None else [int(i) for i in class_indexes]
        self.ignore_index = ignore_index
        self.average = average
        shape = (num_classes, 2, 2) if self.mode == "multilabel" else (self.classes,) * 2
        self.confusion = self.add_variable(shape=shape, initializer="zeros", name="confusion", dtype="float32")
        self._check_class_indexes()

    @property
    def classes(self):
        """Classes counted: two (background, foreground) for a binary output."""
        return 2 if self.mode == "binary" else self.num_classes

    def _check_class_indexes(self):
        if self.class_indexes and (max(self.class_indexes) >= self.classes or min(self.class_indexes) < 0):
            raise ConfigError(f"class_indexes {self.class_indexes} must lie in [0, {self.classes}).")

    def update_state(self, y_true, y_pred, sample_weight=None):
        prepared = prepare(y_true, y_pred, self.mode, self.ignore_index, sample_weight, self.from_logits)
        truth, pred, weight = prepared.truth, prepared.pred, prepared.weight
        channels = truth.shape[-1]
        if channels != self.num_classes:
            raise ConfigError(
                f"{self.name} counts {self.num_classes} classes but y_pred has {channels} channels: pass "
                f"num_classes={channels} (the model's output channels)."
            )
        weight = ops.reshape(weight, (-1, 1))
        truth = ops.reshape(truth, (-1, channels))
        if self.mode == "multiclass":
            hard = ops.one_hot(ops.argmax(ops.reshape(pred, (-1, channels)), axis=-1), channels, dtype="float32")
            self.confusion.assign_add(ops.einsum("ni,nj->ij", truth * weight, hard))
            return
        hard = ops.cast(ops.greater(ops.reshape(pred, (-1, channels)), self.threshold), "float32")
        # Each channel as a (background, foreground) pair of classes.
        truth, hard = _pairs(truth), _pairs(hard)
        pattern = "nci,ncj->ij" if self.mode == "binary" else "nci,ncj->cij"
        self.confusion.assign_add(ops.einsum(pattern, truth * weight[..., None], hard))

    def global_confusion(self):
        """The confusion matrix over all replicas. Keras reads a metric inside each replica
        of a tf.distribute strategy for the per-step logs (progress bar, callbacks), where
        the variable holds that replica's counts only; elsewhere this is `confusion`."""
        return global_sum(self.confusion + 0.0)[0]  # a tensor on the replica's device

    def counts(self):
        """Per class: (tp, fp, fn, tn) as vectors."""
        m = self.global_confusion()
        if self.mode == "multilabel":
            return m[:, 1, 1], m[:, 0, 1], m[:, 1, 0], m[:, 0, 0]
        tp = ops.diagonal(m)
        fp = ops.sum(m, axis=0) - tp
        fn = ops.sum(m, axis=1) - tp
        tn = ops.sum(m) - tp - fp - fn
        return tp, fp, fn, tn

    def per_class(self):
        raise NotImplementedError

    def result(self):
        scores = self.per_class()
        if self.average is None:
            return scores
        scores = ops.take(scores, self.averaged_classes(), axis=0)
        defined = ops.logical_not(ops.isnan(scores))
        count = ops.sum(ops.cast(defined, "float32"))
        total = ops.sum(ops.where(defined, scores, 0.0))
        return ops.where(count > 0, total / ops.maximum(count, 1.0), float("nan"))

    def averaged_classes(self):
        """The classes the mean is taken over (before leaving out undefined scores): those
        of class_indexes, a binary output's foreground, or all."""
        if self.class_indexes is not None:
            return self.class_indexes
        if self.mode == "binary":
            return [1]
        return list(range(self.classes))

    def reset_state(self):
        self.confusion.assign(ops.zeros(self.confusion.shape, self.confusion.dtype))

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "num_classes": self.num_classes,
            "mode": self.mode,
            "threshold": self.threshold,
            "from_logits": self.from_logits,
            "class_indexes": self.class_indexes,
            "ignore_index": self.ignore_index,
            "average": self.average,
        }


def _pairs(values):
    return ops.stack([1.0 - values, values], axis=-1)


def _ratio(numerator, denominator):
    return ops.where(denominator > 0, numerator / ops.maximum(denominator, 1e-30), float("nan"))


# Per-class scores from per-class counts: NaN where there is nothing to score. The metric
# classes and segzoo.evaluate both read them.
def iou_score(tp, fp, fn):
    return _ratio(tp, tp + fp + fn)


def f_beta_score(tp, fp, fn, beta=1.0):
    b2 = beta**2
    return _ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)


def precision_score(tp, fp):
    return _ratio(tp, tp + fp)


def recall_score(tp, fn):
    return _ratio(tp, tp + fn)


@_register
class IoU(ConfusionMatrixMetric):
    """TP / (TP + FP + FN) per class; the mean is mIoU."""

    default_name = "iou"

    def per_class(self):
        tp, fp, fn, _ = self.counts()
        return iou_score(tp, fp, fn)


@_register
class Dice(ConfusionMatrixMetric):
    """F-beta per class: (1 + b²) TP / ((1 + b²) TP + b² FN + FP); beta=1 is Dice / F1."""

    default_name = "dice"

    def __init__(self, num_classes, beta=1.0, **kwargs):
        super().__init__(num_classes, **kwargs)
        if beta <= 0:
            raise ConfigError(f"beta must be > 0, got {beta}.")
        self.beta = float(beta)

    def per_class(self):
        tp, fp, fn, _ = self.counts()
        return f_beta_score(tp, fp, fn, self.beta)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


@_register
class Precision(ConfusionMatrixMetric):
    """TP / (TP + FP) per class: the share of the pixels predicted as a class that are it."""

    default_name = "precision"

    def per_class(self):
        tp, fp, _, _ = self.counts()
        return precision_score(tp, fp)


@_register
class Recall(ConfusionMatrixMetric):
    """TP / (TP + FN) per class: the share of a class's pixels that are found."""

    default_name = "recall"

    def per_class(self):
        tp, _, fn, _ = self.counts()
        return recall_score(tp, fn)


@_register
class PixelAccuracy(ConfusionMatrixMetric):
    """Share of (weighted, not ignored) pixels whose class is right; per channel for
    multilabel outputs. The macro average over classes is the mean class accuracy."""

    default_name = "pixel_accuracy"

    def per_class(self):
        tp, fp, fn, tn = self.counts()
        return _ratio(tp + tn, tp + fp + fn + tn)

    def result(self):
        if self.average is None or self.mode == "multilabel":
            return super().result()
        tp = self.counts()[0]
        return _ratio(ops.sum(tp), ops.sum(self.global_confusion()))
