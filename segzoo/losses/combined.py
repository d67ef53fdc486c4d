"""Combo: a weighted sum of losses, also made by `+` and scalar `*` on segzoo losses."""

import keras

from segzoo._options import reject_unknown_options
from segzoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="segzoo")
class Combo(keras.losses.Loss):
    """sum_i weights[i] * losses[i](y_true, y_pred, sample_weight), e.g.
    `Combo([Dice(), Focal()], weights=[1.0, 2.0])` or `Dice() + 2 * Focal()`."""

    def __init__(self, losses, weights=None, name=None, **unknown):
        reject_unknown_options(self, unknown, Combo)
        super().__init__(name=name or "combo")
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
        return sum(w * loss(y_true, y_pred, sample_weight) for w, loss in zip(self.weights, self.losses))

    def call(self, y_true, y_pred):
        return self(y_true, y_pred)

    def __add__(self, other):
        other = Combo.of(_as_loss(other))
        return Combo(self.losses + other.losses, self.weights + other.weights)

    def __radd__(self, other):
        return self if other == 0 else NotImplemented

    def __mul__(self, factor):
        if not isinstance(factor, (int, float)):
            return NotImplemented
        return Combo(self.losses, [w * factor for w in self.weights], name=self.name)

    __rmul__ = __mul__

    def get_config(self):
        return {
            "losses": [keras.saving.serialize_keras_object(loss) for loss in self.losses],
            "weights": self.weights,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        losses = [keras.saving.deserialize_keras_object(loss) for loss in config["losses"]]
        return cls(losses, config["weights"], config.get("name"))


def _as_loss(loss):
    if isinstance(loss, keras.losses.Loss):
        return loss
    raise TypeError(f"Combo takes keras.losses.Loss instances, got {type(loss).__name__}.")
