"""The one place where targets, predictions and pixel weights are put in shape, for the
losses and the metrics alike.

Shapes: predictions (B, *spatial, C) for 2-D images and 3-D volumes alike; targets are
sparse labels (B, *spatial) or (B, *spatial, 1), or one-hot / multi-hot (B, *spatial, C).
Everything is computed in float32 whatever the mixed-precision policy.
"""

from typing import NamedTuple

from keras import ops

from segzoo.errors import ConfigError
from segzoo.core.labels import check_dense_targets, check_labels

MODES = ("binary", "multiclass", "multilabel")


class Prepared(NamedTuple):
    truth: object  # (B, *spatial, C) float32 one-hot / multi-hot; zero where ignored
    pred: object  # (B, *spatial, C) float32 probabilities, or logits when kept raw
    weight: object  # (B, *spatial, 1) float32: sample weight, 0 where ignored
    mode: str


def resolve_mode(mode, channels):
    if mode is None:
        return "binary" if channels == 1 else "multiclass"
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES} or None (from the channel count), got {mode!r}.")
    if mode == "binary" and channels != 1:
        raise ConfigError(
            f"mode='binary' needs predictions with 1 channel, got {channels}. Use "
            "mode='multiclass' (softmax) or 'multilabel' (one sigmoid per channel)."
        )
    if mode == "multiclass" and channels == 1:
        raise ConfigError(
            "mode='multiclass' needs at least 2 channels, got 1: a 1-channel sigmoid output "
            "is binary (mode='binary')."
        )
    return mode


def prepare(y_true, y_pred, mode, ignore_index=None, sample_weight=None, from_logits=False, activate=True):
    """Targets, predictions and pixel weights in one shape, (B, *spatial, C)."""
    y_pred = ops.cast(y_pred, "float32")
    channels = y_pred.shape[-1]
    mode = resolve_mode(mode, channels)
    truth, valid = _targets(y_true, y_pred, mode, ignore_index)
    weight = valid if sample_weight is None else valid * _pixel_weights(sample_weight, y_pred)
    if activate:
        y_pred = probabilities(y_pred, mode, from_logits)
    return Prepared(truth, y_pred, weight, mode)


def probabilities(y_pred, mode, from_logits):
    if not from_logits:
        return y_pred
    return ops.softmax(y_pred, axis=-1) if mode == "multiclass" else ops.sigmoid(y_pred)


def _targets(y_true, y_pred, mode, ignore_index):
    channels = y_pred.shape[-1]
    rank = len(y_pred.shape)
    true_rank = len(y_true.shape)
    dense = true_rank == rank and y_true.shape[-1] == channels and (channels > 1 or mode == "binary")
    _check_spatial(y_true, y_pred, dense or true_rank == rank)
    if dense and mode != "binary":
        if ignore_index is not None:
            raise ConfigError(
                "ignore_index needs sparse integer labels (B, H, W) or (B, H, W, 1); got one-hot "
                f"targets of shape {tuple(y_true.shape)}. Zero the ignored pixels' sample weight instead."
            )
        check_dense_targets(y_true)
        return ops.cast(y_true, "float32"), _ones_like_pixels(y_pred)
    if mode == "multilabel":
        raise ConfigError(
            f"mode='multilabel' needs multi-hot targets of shape {_expected(y_pred)}, got "
            f"{tuple(y_true.shape)}."
        )
    if true_rank == rank:
        if y_true.shape[-1] != 1:
            raise ConfigError(_shape_message(y_true, y_pred))
        y_true = ops.squeeze(y_true, axis=-1)
    elif true_rank != rank - 1:
        raise ConfigError(_shape_message(y_true, y_pred))
    check_labels(y_true, 2 if mode == "binary" else channels, ignore_index, channels=channels)
    labels = ops.cast(y_true, "int32")
    valid = ops.ones_like(labels, dtype="float32")
    if ignore_index is not None:
        valid = ops.cast(ops.not_equal(labels, ignore_index), "float32")
        labels = labels * ops.cast(valid, "int32")
    if mode == "binary":
        truth = ops.cast(labels, "float32")[..., None]
    else:
        truth = ops.one_hot(labels, channels, dtype="float32")
    return truth * valid[..., None], valid[..., None]


def _ones_like_pixels(y_pred):
    return ops.ones_like(y_pred[..., :1])


def _pixel_weights(sample_weight, y_pred):
    weight = ops.cast(sample_weight, "float32")
    rank = len(y_pred.shape)
    if len(weight.shape) == rank - 1:
        return weight[..., None]
    if len(weight.shape) == rank and weight.shape[-1] == 1:
        return weight
    if len(weight.shape) == 1:  # one weight per image
        return ops.reshape(weight, (-1,) + (1,) * (rank - 1))
    raise ConfigError(
        f"sample_weight of shape {tuple(weight.shape)} does not fit predictions of shape "
        f"{tuple(y_pred.shape)}: give one weight per pixel {tuple(y_pred.shape[:-1])} or per image (B,)."
    )


def _check_spatial(y_true, y_pred, with_channels):
    got = tuple(y_true.shape[1:-1] if with_channels else y_true.shape[1:])
    want = tuple(y_pred.shape[1:-1])
    if len(got) != len(want) or any(g is not None and w is not None and g != w for g, w in zip(got, want)):
        raise ConfigError(_shape_message(y_true, y_pred))


def _expected(y_pred):
    return "(B, " + ", ".join(["..."] * (len(y_pred.shape) - 2)) + f", {y_pred.shape[-1]})"


def _shape_message(y_true, y_pred):
    spatial = tuple(y_pred.shape[1:-1])
    return (
        f"y_true of shape {tuple(y_true.shape)} does not fit y_pred of shape {tuple(y_pred.shape)}: "
        f"expected sparse labels (B, *{spatial}) or (B, *{spatial}, 1), or one-hot "
        f"(B, *{spatial}, {y_pred.shape[-1]})."
    )
