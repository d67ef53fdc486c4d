"""Predictions at each image's own size: resize to a size the model takes, apply the
backbone's input convention, predict, resize the labels back (nearest neighbour)."""

import math
import os

import numpy as np
import tensorflow as tf

from segzoo.data import preprocessing_function
from segzoo.data.decode import decode_image
from segzoo.errors import ConfigError, DataError
from segzoo.models import valid_input_size


def predict(model, images, *, batch_size=8, threshold=0.5, return_probabilities=False, input_size=None):
    """Class-id masks (H, W) int32, each at its image's own size.

    images: one image, or a list of them; an image is an (H, W, 3) array of [0, 255]
    pixels or a file path (a 4-D array is a list of images). One image in, one mask out.
    batch_size: images predicted together (consecutive images resized to the same size).
    threshold: a one-channel model's foreground cut-off, as a probability (a logits
    head is compared with the logit of it). input_size: (height, width) for a model that
    takes any size; default each image's own, rounded up to a valid size. The model's
    fixed size, if it has one, always wins.
    return_probabilities: also return per-pixel probabilities (H, W, C) float32,
    resized back bilinearly; then the result is (masks, probabilities).
    """
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"threshold must be a probability strictly between 0 and 1, got {threshold!r}.")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size!r}.")
    single = isinstance(images, (str, os.PathLike)) or len(getattr(images, "shape", ())) == 3
    arrays = [_as_image(image) for image in ([images] if single else images)]
    sizes = [_model_size(model, image.shape[:2], input_size) for image in arrays]
    prepare = preprocessing_function(model.backbone)
    masks, probabilities = [], []
    for group in _groups(sizes, batch_size):
        x = tf.stack([tf.image.resize(arrays[i], sizes[i]) for i in group])
        outputs = np.asarray(model.predict_on_batch(prepare(x) if prepare is not None else x))
        for i, labels, output in zip(group, to_labels(outputs, model.activation, threshold), outputs):
            own_size = arrays[i].shape[:2]
            masks.append(tf.image.resize(labels[..., None], own_size, method="nearest").numpy()[..., 0])
            if return_probabilities:
                probabilities.append(tf.image.resize(_probabilities(output, model.activation), own_size).numpy())
    if single:
        masks, probabilities = masks[0], probabilities[0] if probabilities else None
    return (masks, probabilities) if return_probabilities else masks


def to_labels(outputs, activation, threshold=0.5):
    """Class ids (B, H, W) int32 from a batch of model outputs: argmax over the channels,
    or for one channel the pixels above `threshold` (a probability; logits are compared
    with its logit)."""
    outputs = np.asarray(outputs)
    if outputs.shape[-1] == 1:
        cut = threshold if activation is not None else math.log(threshold / (1.0 - threshold))
        return (outputs[..., 0] > cut).astype(np.int32)
    return np.argmax(outputs, axis=-1).astype(np.int32)


def read_image(path):
    """An image file as float32 (H, W, 3) in [0, 255]; a DataError if it cannot be decoded."""
    try:
        return decode_image(tf.constant(str(path))).numpy()
    except tf.errors.OpError as error:
        message = " ".join(error.message.split())
        raise DataError(f"{str(path)!r} cannot be decoded as an image ({message}).") from None


def _as_image(image):
    if isinstance(image, (str, os.PathLike)):
        if not os.path.isfile(image):
            raise DataError(f"no such image: {str(image)!r}")
        return read_image(image)
    array = np.asarray(image)
    if array.ndim != 3:
        raise DataError(f"an image must be an (height, width, channels) array, got shape {array.shape}.")
    return array


def _model_size(model, image_size, requested):
    """The model's fixed (height, width), else `requested`, else the image's rounded up."""
    fixed = tuple(model.model_input_shape[:2])
    if None not in fixed:
        return fixed
    return tuple(requested or valid_input_size(image_size, model.depth, model.backbone))


def _groups(sizes, batch_size):
    """Runs of consecutive indices whose images go to the model at the same size."""
    group = []
    for index, size in enumerate(sizes):
        if group and (sizes[group[0]] != size or len(group) == batch_size):
            yield group
            group = []
        group.append(index)
    if group:
        yield group


def _probabilities(output, activation):
    """(h, w, C) probabilities from one output: a logits head gets its sigmoid (one
    channel) or softmax."""
    if activation is not None:
        return output
    return tf.sigmoid(output) if output.shape[-1] == 1 else tf.nn.softmax(output, axis=-1)
