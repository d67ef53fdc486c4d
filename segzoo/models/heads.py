"""The segmentation head: a conv to `num_classes` channels and the output activation."""

from keras import layers

from segzoo.errors import ConfigError
from segzoo import blocks

ACTIVATIONS = ("sigmoid", "softmax", None)


def check_head(num_classes, activation):
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}.")
    if activation not in ACTIVATIONS:
        raise ConfigError(
            f"activation must be 'auto' (sigmoid for 1 class, softmax for more), 'sigmoid', "
            f"'softmax' or None (logits), got {activation!r}."
        )
    if activation == "softmax" and num_classes == 1:
        raise ConfigError(
            "activation='softmax' with num_classes=1 always outputs 1. For binary segmentation "
            "use activation='sigmoid' with num_classes=1, or softmax with num_classes=2."
        )


def check_from_logits(activation, from_logits, user):
    """Refuse a loss, metric or evaluate call told the wrong thing about the head's output:
    `user` (e.g. "Loss Dice") has `from_logits`, the model's head applies `activation`.
    Anything else (a head not built by segzoo, from_logits unknown) is left alone."""
    known = activation is None or (isinstance(activation, str) and activation in ACTIVATIONS)
    if from_logits is None or not known:
        return
    if from_logits and activation is not None:
        raise ConfigError(
            f"{user} has from_logits=True, but the model's head already applies {activation!r}: "
            f"its outputs are probabilities, and {activation} would be applied twice. Pass "
            "from_logits=False, or build the model with activation=None to output logits."
        )
    if not from_logits and activation is None:
        raise ConfigError(
            f"{user} has from_logits=False, but the model's head has no activation "
            "(activation=None): its outputs are logits, not probabilities. Pass from_logits=True, "
            "or build the model with activation='sigmoid' or 'softmax'."
        )


def head_reading(activation, channels):
    """(mode, from_logits) that read a head's outputs as it makes them: a multi-channel
    sigmoid head is multilabel, other heads take the mode from the channel count."""
    mode = "multilabel" if activation == "sigmoid" and channels > 1 else None
    return mode, activation is None


def check_mode(activation, num_classes, mode, user):
    """Refuse a loss or metric that reads the outputs differently from how the head makes
    them: `mode` (None: from the channel count) "multiclass" treats the channels as one
    softmax distribution, "multilabel" as independent sigmoids."""
    resolved = mode or ("binary" if num_classes == 1 else "multiclass")
    implied = "" if mode else " (mode=None, from the channel count)"
    if activation == "sigmoid" and num_classes > 1 and resolved == "multiclass":
        raise ConfigError(
            f"{user} reads the {num_classes} output channels as one softmax distribution "
            f"(mode='multiclass'{implied}), but the model's head applies 'sigmoid' to each channel "
            "on its own: nothing makes them sum to 1, so the loss would not push the wrong classes "
            "down. For one class per pixel build the model with activation='softmax' (the default, "
            "'auto', for num_classes >= 2); for multi-label targets (one 0/1 mask per channel) pass "
            "mode='multilabel' to every segzoo loss and metric."
        )
    if activation == "softmax" and resolved == "multilabel":
        raise ConfigError(
            f"{user} has mode='multilabel' (one independent yes/no per channel), but the model's "
            f"head applies 'softmax' across the {num_classes} channels, which then compete and sum "
            "to 1. For multi-label targets build the model with activation='sigmoid'; for one class "
            "per pixel pass mode='multiclass' (or None)."
        )


def segmentation_head(x, num_classes, activation, upsample, stride=1):
    """A 1x1 conv to `num_classes` channels (a stride-2 transposed conv with `upsample`), then
    bilinear upsampling from the decoder's output `stride` to full resolution. The output
    stays float32 under mixed precision so losses see full precision."""
    if upsample:
        x = blocks.conv_transpose(x, num_classes, "head_conv", kernel_size=3)
    else:
        x = blocks.conv(x, num_classes, "head_conv", kernel_size=1, use_bias=True)
    x = blocks.upsample_by(x, stride, "head_upsample")
    return layers.Activation(activation or "linear", dtype="float32", name="head_activation")(x)
