"""What `predict` accepts as images: arrays, paths, lists of them, or a tf.data.Dataset."""

import os

import numpy as np
import tensorflow as tf

from segzoo.data.decode import decode_image
from segzoo.errors import DataError


def read_image(path):
    """An image file as float32 (H, W, 3) in [0, 255]; a DataError if it cannot be decoded."""
    try:
        return decode_image(tf.constant(str(path))).numpy()
    except tf.errors.OpError as error:
        message = " ".join(error.message.split())
        raise DataError(f"{str(path)!r} cannot be decoded as an image ({message}).") from None


def image_list(images, spatial_dims):
    """(single, images): `single` when `images` is one image (a path, or an array of
    spatial_dims + 1 axes); images as an iterable of arrays (*spatial, channels), read
    lazily from paths and datasets."""
    if isinstance(images, tf.data.Dataset):
        return False, _dataset_images(images, spatial_dims)
    if isinstance(images, (str, os.PathLike)) or len(getattr(images, "shape", ())) == spatial_dims + 1:
        return True, [as_image(images, spatial_dims)]
    return False, (as_image(image, spatial_dims) for image in images)


def as_image(image, spatial_dims):
    """One image as an array (*spatial, channels): read from a path, or checked."""
    if isinstance(image, (str, os.PathLike)):
        if not os.path.isfile(image):
            raise DataError(f"no such image: {str(image)!r}")
        return read_image(image)
    array = np.asarray(image)
    if array.ndim != spatial_dims + 1:
        axes = "(height, width, channels)" if spatial_dims == 2 else "(depth, height, width, channels)"
        raise DataError(f"an image for this model must be an {axes} array, got shape {array.shape}.")
    return array


def _dataset_images(dataset, spatial_dims):
    """Images of a dataset of images or (image, mask[, weights]) tuples, batched or not."""
    for element in dataset:
        images = element[0] if isinstance(element, (tuple, list)) else element
        images = np.asarray(images)
        if images.ndim == spatial_dims + 2:
            yield from images
        else:
            yield as_image(images, spatial_dims)
