"""From model outputs to probabilities and class ids."""

import math

import numpy as np


def probabilities(outputs, activation):
    """float32 probabilities from outputs (..., C): a logits head (activation None) gets its
    sigmoid (one channel) or softmax over the channels; any other head's outputs already
    are probabilities."""
    outputs = np.asarray(outputs, np.float32)
    if activation is not None:
        return outputs
    if outputs.shape[-1] == 1:
        return 1.0 / (1.0 + np.exp(-outputs))
    exponentials = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def to_labels(outputs, activation, threshold=0.5):
    """Class ids (..., H, W) int32 from model outputs (..., H, W, C): argmax over the
    channels, or for one channel the pixels above `threshold` (a probability; logits are
    compared with its logit)."""
    outputs = np.asarray(outputs)
    if outputs.shape[-1] == 1:
        cut = threshold if activation is not None else math.log(threshold / (1.0 - threshold))
        return (outputs[..., 0] > cut).astype(np.int32)
    return np.argmax(outputs, axis=-1).astype(np.int32)
