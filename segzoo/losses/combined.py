"""Combo: a weighted sum of losses, also made by `+` and scalar `*` on segzoo losses."""

import keras
from keras import ops

from segzoo._options import reject_unknown_options
from segzoo.errors import ConfigError
from segzoo.losses.base import check_reduction


@keras.saving.register_keras_serializable(package="segzoo")
class Combo(keras.losses.Loss):
    """sum_i weights[i] * losses[i](y_true, y_pred, sample_weight), e.g.
    `Combo([Dice(), Focal()], weights=[1.0, 2.0])` or `Dice() + 2 * Focal()`."""

    def __init__(self, losses, weights=None, reduction="sum_over_batch_size", name=None, dtype=None, **unknown):
        reject_unknown_options(self, unknown, Combo)
        super().__init__(name=name or "combo", reduction=check_reduction(reduction), dtype=dtype)
        self.losses = [_as_loss(loss) for loss in losses]
        weights = [1.0] * len(self.losses) if weights is None else [float(w) for w in weights]
        if not self.losses or len(weights) != len(self.losses):
            raise ConfigError(
                f"Combo needs one weight per loss: got {len(self.losses)} losses and {len(weights)} weights."
            )
        self.weights = weights

    @classmethod
    def of(cls, loss):
        return loss if isinstance(loss, Combo) else cls([loss])

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The Combo's reduction applies to every part."""
        total = sum(w * _part(loss, y_true, y_pred, sample_weight, self.reduction)
                    for w, loss in zip(self.weights, self.losses))
        return ops.cast(total, self.dtype)

    def call(self, y_true, y_pred):
        return self(y_true, y_pred)

    def __add__(self, other):
        other = Combo.of(_as_loss(other))
        return Combo(self.losses + other.losses, self.weights + other.weights, self.reduction, dtype=self.dtype)

    def __radd__(self, other):
        return self if other == 0 else NotImplemented

    def __mul__(self, factor):
        if not isinstance(factor, (int, float)):
            return NotImplemented
        return Combo(self.losses, [w * factor for w in self.weights], self.reduction, self.name, self.dtype)

    __rmul__ = __mul__

    def get_config(self):
        return {
            "losses": [keras.saving.serialize_keras_object(loss) for loss in self.losses],
            "weights": self.weights,
            "reduction": self.reduction,
            "name": self.name,
            "dtype": self.dtype,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        losses = [keras.saving.deserialize_keras_object(loss) for loss in config.pop("losses")]
        return cls(losses, **config)


def _part(loss, y_true, y_pred, sample_weight, reduction):
    if hasattr(loss, "reduced"):  # a segzoo loss
        return loss.reduced(y_true, y_pred, sample_weight, reduction)
    if reduction in ("sum", None, "none"):  # another Keras loss: its values averaged per image
        per_element = type(loss).from_config({**loss.get_config(), "reduction": "none"})(y_true, y_pred, sample_weight)
        per_image = ops.mean(ops.reshape(per_element, (ops.shape(per_element)[0], -1)), axis=-1)
        return ops.sum(per_image) if reduction == "sum" else per_image
    return loss(y_true, y_pred, sample_weight)


def _as_loss(loss):
    if isinstance(loss, keras.losses.Loss):
        return loss
    raise TypeError(f"Combo takes keras.losses.Loss instances, got {type(loss).__name__}.")
