"""Pixel losses: CrossEntropy, BalancedCrossEntropy, Focal.

Each computes a loss per pixel and returns the weighted mean sum(w * l) / sum(w), where
a pixel's weight is its sample weight times the class weight of its true class (0 for
ignored pixels). For binary outputs class_weights are (background, foreground).
"""

import keras
from keras import ops

from segzoo.errors import ConfigError
from segzoo.losses.base import SegmentationLoss, weighted_mean

_EPSILON = 1e-7


class PixelLoss(SegmentationLoss):
    uses_probabilities = False  # logs are taken from logits directly when from_logits

    def compute(self, prepared):
        losses, class_weight = self.pixel_losses(prepared)
        return weighted_mean(losses, prepared.weight * class_weight)

    def per_image_losses(self, prepared):
        losses, class_weight = self.pixel_losses(prepared, per_image=True)
        return weighted_mean(losses, prepared.weight * class_weight, per_image=True)

    def pixel_losses(self, prepared, per_image=False):
        """(per-pixel loss, per-pixel class weight), both (B, *spatial, 1); per_image: any
        statistic of the batch (BalancedCrossEntropy's beta) is taken per image."""
        raise NotImplementedError

    def true_class_weight(self, prepared):
        truth, channels = prepared.truth, prepared.truth.shape[-1]
        if prepared.mode == "binary":
            background, foreground = self._binary_class_weights()
            return foreground * truth + background * (1.0 - truth)
        if prepared.mode == "multilabel":
            return ops.ones_like(truth[..., :1])  # channel weights are applied per channel
        return ops.sum(truth * self.class_weight_vector(channels), axis=-1, keepdims=True)

    def channel_mean(self, losses, prepared):
        """Mean over the channels of a multilabel output, weighted by class_weights."""
        weights = self.class_weight_vector(losses.shape[-1])
        return ops.sum(losses * weights, axis=-1, keepdims=True) / ops.sum(weights)

    def _binary_class_weights(self):
        if self.class_weights is None:
            return 1.0, 1.0
        if len(self.class_weights) != 2:
            raise ConfigError(
                f"class_weights for a binary (1-channel) output are (background, foreground); got "
                f"{len(self.class_weights)} values. Pass two weights, e.g. class_weights=[1.0, 5.0]."
            )
        return self.class_weights

    def log_probabilities(self, prepared):
        """log p and log (1 - p) per channel, stable for logits of any size."""
        pred = prepared.pred
        if prepared.mode == "multiclass":
            if self.from_logits:
                return ops.log_softmax(pred, axis=-1), None
            return ops.log(ops.clip(pred, _EPSILON, 1.0)), None
        if self.from_logits:
            return -ops.softplus(-pred), -ops.softplus(pred)
        pred = ops.clip(pred, _EPSILON, 1.0 - _EPSILON)
        return ops.log(pred), ops.log(1.0 - pred)


@keras.saving.register_keras_serializable(package="segzoo")
class CrossEntropy(PixelLoss):
    """Categorical (softmax, sparse or one-hot targets) or binary cross-entropy by mode."""

    def __init__(self, label_smoothing=0.0, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {label_smoothing}.")
        self.label_smoothing = float(label_smoothing)

    def pixel_losses(self, prepared, per_image=False):
        truth = prepared.truth
        log_p, log_not_p = self.log_probabilities(prepared)
        if prepared.mode == "multiclass":
            target = truth * (1 - self.label_smoothing) + self.label_smoothing / truth.shape[-1]
            losses = -ops.sum(target * log_p, axis=-1, keepdims=True)
        else:
            target = truth * (1 - self.label_smoothing) + self.label_smoothing / 2
            losses = -(target * log_p + (1 - target) * log_not_p)
            if prepared.mode == "multilabel":
                losses = self.channel_mean(losses, prepared)
        return losses, self.true_class_weight(prepared)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="segzoo")
class BalancedCrossEntropy(PixelLoss):
    """Binary cross-entropy with beta on positive and 1 - beta on negative pixels.

    beta=None takes the share of negative pixels in the batch (Xie & Tu 2015, HED), so
    a rare foreground weighs as much as the background.
    """

    def __init__(self, beta=None, **kwargs):
        super().__init__(**kwargs)
        if beta is not None and not 0.0 < beta < 1.0:
            raise ConfigError(f"beta must be in (0, 1) or None (from the batch), got {beta}.")
        if self.mode not in (None, "binary"):
            raise ConfigError(f"BalancedCrossEntropy is binary only, got mode={self.mode!r}.")
        self.beta = None if beta is None else float(beta)

    def pixel_losses(self, prepared, per_image=False):
        if prepared.mode != "binary":
            raise ConfigError(
                "BalancedCrossEntropy needs a 1-channel (binary) output; for several classes "
                "use CrossEntropy(class_weights=...) or Focal."
            )
        truth = prepared.truth
        beta = self.beta
        if beta is None:
            negatives = weighted_mean(1.0 - truth, prepared.weight, per_image)
            if per_image:
                negatives = ops.reshape(negatives, (-1,) + (1,) * (len(truth.shape) - 1))
            beta = ops.stop_gradient(negatives)
        log_p, log_not_p = self.log_probabilities(prepared)
        losses = -(beta * truth * log_p + (1 - beta) * (1 - truth) * log_not_p)
        return losses, self.true_class_weight(prepared)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


@keras.saving.register_keras_serializable(package="segzoo")
class Focal(PixelLoss):
    """-alpha_t (1 - p_t) ** gamma log p_t (Lin et al. 2017): softmax for multiclass,
    sigmoid for binary and multilabel. alpha: None (1), a scalar (binary: the positive
    class's weight, negatives get 1 - alpha) or one value per class."""

    def __init__(self, gamma=2.0, alpha=None, **kwargs):
        super().__init__(**kwargs)
        if gamma < 0:
            raise ConfigError(f"gamma must be >= 0, got {gamma}.")
        if isinstance(alpha, (list, tuple)):
            alpha = [float(a) for a in alpha]
            if any(a < 0 for a in alpha):
                raise ConfigError(f"alpha values must be >= 0, got {alpha}.")
        elif alpha is not None:
            alpha = float(alpha)
            if not 0.0 <= alpha <= 1.0:
                raise ConfigError(f"a scalar alpha must be in [0, 1], got {alpha}.")
        self.gamma = float(gamma)
        self.alpha = alpha

    def pixel_losses(self, prepared, per_image=False):
        truth = prepared.truth
        log_p, log_not_p = self.log_probabilities(prepared)
        if prepared.mode == "multiclass":
            log_pt = ops.sum(truth * log_p, axis=-1, keepdims=True)
            losses = -self._alpha_t(truth, prepared.mode) * self._modulator(log_pt) * log_pt
        else:
            log_pt = truth * log_p + (1 - truth) * log_not_p
            losses = -self._alpha_t(truth, prepared.mode) * self._modulator(log_pt) * log_pt
            if prepared.mode == "multilabel":
                losses = self.channel_mean(losses, prepared)
        return losses, self.true_class_weight(prepared)

    def _modulator(self, log_pt):
        base = ops.maximum(1.0 - ops.exp(log_pt), 0.0)
        if self.gamma >= 1.0:
            return ops.power(base, self.gamma)
        # x ** gamma has an infinite slope at 0 when gamma < 1: never raise 0 to the power,
        # or a pixel predicted with certainty gets a NaN gradient.
        positive = base > 0
        return ops.where(positive, ops.power(ops.where(positive, base, 1.0), self.gamma), float(self.gamma == 0))

    def _alpha_t(self, truth, mode):
        if self.alpha is None:
            return 1.0
        if isinstance(self.alpha, float):
            if mode == "multiclass":
                return self.alpha
            return self.alpha * truth + (1 - self.alpha) * (1 - truth)
        if len(self.alpha) != truth.shape[-1]:
            raise ConfigError(
                f"alpha has {len(self.alpha)} values but the output has {truth.shape[-1]} classes: give "
                "one alpha per class, or a scalar."
            )
        if mode != "multiclass" and max(self.alpha) > 1.0:
            raise ConfigError(
                f"alpha {self.alpha} has values above 1, but a {mode} (sigmoid) output weighs each "
                "class's negatives by 1 - alpha, which would then be negative. Keep alpha in [0, 1] "
                "here (per-class weights above 1 suit softmax outputs), or use class_weights."
            )
        alpha = ops.convert_to_tensor(self.alpha, "float32")
        if mode == "multiclass":
            return ops.sum(truth * alpha, axis=-1, keepdims=True)
        return alpha * truth + (1 - alpha) * (1 - truth)

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma, "alpha": self.alpha}
