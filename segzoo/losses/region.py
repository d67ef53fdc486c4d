"""Region losses: Dice (F-beta), Jaccard, Tversky, FocalTversky, GeneralizedDice.

Each turns the soft per-class (TP, FP, FN) of `_stats.soft_stats` into a per-class loss,
then averages the classes as sum(w_c * L_c) / sum(w_c). See docs/losses.md.
"""

import keras
from keras import ops

from segzoo.errors import ConfigError
from segzoo.core.replicas import global_mean
from segzoo.losses._stats import safe_ratio, soft_stats
from segzoo.losses.base import SegmentationLoss

WEIGHTINGS = ("square", "simple", "uniform")


class RegionLoss(SegmentationLoss):
    """Adds class_indexes, per_image and smooth to the shared options."""

    def __init__(self, class_indexes=None, per_image=False, smooth=1e-5, **kwargs):
        super().__init__(**kwargs)
        if class_indexes is not None:
            class_indexes = [int(i) for i in class_indexes]
            if not class_indexes or min(class_indexes) < 0 or len(set(class_indexes)) != len(class_indexes):
                raise ConfigError(
                    f"class_indexes must be distinct non-negative class ids, got {class_indexes}."
                )
        if smooth < 0:
            raise ConfigError(f"smooth must be >= 0, got {smooth}.")
        self.class_indexes = class_indexes
        self.per_image = bool(per_image)
        self.smooth = float(smooth)

    def compute(self, prepared):
        if self.per_image:
            return global_mean(self.per_image_losses(prepared))
        return ops.mean(self.loss_values(prepared, per_image=False))  # Lovasz's is (1,)

    def per_image_losses(self, prepared):
        return self.loss_values(prepared, per_image=True)

    def loss_values(self, prepared, per_image):
        """(B,) per image, else () over the global batch."""
        tp, fp, fn = soft_stats(prepared, per_image)
        weights = self.class_weight_vector(tp.shape[-1])
        tp, fp, fn, weights = self.select(tp.shape[-1], tp, fp, fn, weights)
        return self.combine(tp, fp, fn, weights)

    def select(self, channels, *tensors):
        if self.class_indexes is None:
            return tensors
        if max(self.class_indexes) >= channels:
            raise ConfigError(
                f"class_indexes {self.class_indexes} name a class >= {channels}, the number of classes "
                f"the predictions have: keep the ids in 0..{channels - 1}."
            )
        return tuple(ops.take(t, self.class_indexes, axis=-1) for t in tensors)

    def combine(self, tp, fp, fn, weights):
        """Per-class losses averaged with the class weights: (B,) or ()."""
        per_class = self.per_class(tp, fp, fn)
        return ops.sum(per_class * weights, axis=-1) / ops.maximum(ops.sum(weights), 1e-30)

    def per_class(self, tp, fp, fn):
        raise NotImplementedError

    def get_config(self):
        return {
            **super().get_config(),
            "class_indexes": self.class_indexes,
            "per_image": self.per_image,
            "smooth": self.smooth,
        }


@keras.saving.register_keras_serializable(package="segzoo")
class Dice(RegionLoss):
    """1 - F_beta = 1 - ((1+b²)TP + s) / ((1+b²)TP + b²FN + FP + s); beta=1 is Dice."""

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        if beta <= 0:
            raise ConfigError(f"beta must be > 0, got {beta}.")
        self.beta = float(beta)

    def per_class(self, tp, fp, fn):
        b2 = self.beta**2
        return 1.0 - safe_ratio((1 + b2) * tp + self.smooth, (1 + b2) * tp + b2 * fn + fp + self.smooth)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


@keras.saving.register_keras_serializable(package="segzoo")
class Jaccard(RegionLoss):
    """1 - IoU = 1 - (TP + s) / (TP + FP + FN + s)."""

    def per_class(self, tp, fp, fn):
        return 1.0 - safe_ratio(tp + self.smooth, tp + fp + fn + self.smooth)


@keras.saving.register_keras_serializable(package="segzoo")
class Tversky(RegionLoss):
    """1 - (TP + s) / (TP + alpha FP + beta FN + s): alpha weighs false positives,
    beta false negatives (Salehi et al. 2017); alpha = beta = 0.5 is Dice."""

    def __init__(self, alpha=0.5, beta=0.5, **kwargs):
        super().__init__(**kwargs)
        if alpha < 0 or beta < 0 or alpha + beta == 0:
            raise ConfigError(f"alpha and beta must be >= 0 and not both 0, got {alpha}, {beta}.")
        self.alpha = float(alpha)
        self.beta = float(beta)

    def per_class(self, tp, fp, fn):
        return 1.0 - safe_ratio(tp + self.smooth, tp + self.alpha * fp + self.beta * fn + self.smooth)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta}


@keras.saving.register_keras_serializable(package="segzoo")
class FocalTversky(Tversky):
    """(1 - Tversky index) ** gamma per class (Abraham & Khan 2019, who recommend
    alpha=0.3, beta=0.7, gamma=0.75): gamma < 1 stresses the hard, small classes."""

    def __init__(self, alpha=0.3, beta=0.7, gamma=0.75, **kwargs):
        super().__init__(alpha=alpha, beta=beta, **kwargs)
        if gamma <= 0:
            raise ConfigError(f"gamma must be > 0, got {gamma}.")
        self.gamma = float(gamma)

    def per_class(self, tp, fp, fn):
        loss = super().per_class(tp, fp, fn)
        # x ** gamma (gamma < 1) has an infinite slope at 0: a perfect score is 0, with a
        # finite gradient, by never raising 0 itself to the power.
        positive = ops.greater(loss, 0.0)
        return ops.where(positive, ops.power(ops.where(positive, loss, 1.0), self.gamma), 0.0)

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma}


@keras.saving.register_keras_serializable(package="segzoo")
class GeneralizedDice(RegionLoss):
    """Generalized Dice (Sudre et al. 2017): 1 - 2 sum_c w_c TP_c / sum_c w_c (2TP+FP+FN)_c,
    w_c = 1 / support_c² ("square"), 1 / support_c ("simple") or 1 ("uniform").

    A class absent from the ground truth (support 0) would get an infinite weight; it
    gets the largest finite weight of that image (or batch) instead, as MONAI >= 1.3
    does. With every class absent the loss is 0. class_weights multiply w_c.
    """

    def __init__(self, weighting="square", **kwargs):
        super().__init__(**kwargs)
        if weighting not in WEIGHTINGS:
            raise ConfigError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}.")
        self.weighting = weighting

    def combine(self, tp, fp, fn, weights):
        relative, scale = self._generalized_weights(tp + fn)
        weights = weights * relative
        # w_c = relative_c / scale: smooth / w_c's scale keeps the ratio what it is with w_c
        smooth = self.smooth * scale
        numerator = 2.0 * ops.sum(weights * tp, axis=-1) + smooth
        denominator = ops.sum(weights * (2.0 * tp + fp + fn), axis=-1) + smooth
        return 1.0 - safe_ratio(numerator, denominator)

    def _generalized_weights(self, support):
        """(relative weights, scale): w_c = 1 / support_c ** power is relative_c / scale,
        relative to the largest finite weight, so that neither overflows: a support of
        1e-30 (tiny sample weights) would make 1 / support² infinite in float32."""
        if self.weighting == "uniform":
            return ops.ones_like(support), 1.0
        power = 2.0 if self.weighting == "square" else 1.0
        absent = ops.equal(support, 0.0)
        any_present = ops.any(ops.logical_not(absent), axis=-1, keepdims=True)
        smallest = ops.min(ops.where(absent, float("inf"), support), axis=-1, keepdims=True)
        smallest = ops.where(any_present, smallest, 1.0)
        relative = ops.power(smallest / ops.where(absent, 1.0, support), power)
        # An absent class gets the largest finite weight (relative 1), none if all are absent.
        relative = ops.where(absent, ops.cast(any_present, "float32"), relative)
        scale = ops.squeeze(ops.power(smallest, power), axis=-1)
        return ops.stop_gradient(relative), ops.stop_gradient(scale)

    def get_config(self):
        return {**super().get_config(), "weighting": self.weighting}
