"""Decoding image and mask files inside tf.data: PNG (8- and 16-bit), JPEG and BMP with
TensorFlow's own decoders, TIFF through the optional tifffile package."""

import numpy as np
import tensorflow as tf

from segzoo.errors import ConfigError

MASK_FORMATS = ("index", "palette", "binary")
# A pixel whose colour is in no palette entry: never a valid class, so the checks catch it.
UNKNOWN_COLOUR = -1


def decode_image(path):
    """float32 (H, W, 3) in [0, 255] (16-bit files scaled down)."""
    return tf.cond(_is_tiff(path), lambda: _tiff(path, _tiff_image, tf.float32, 3),
                   lambda: _native_image(path))


def decode_mask(path, mask_format, palette):
    """int32 (H, W, 1) class ids; palette colours not listed become UNKNOWN_COLOUR."""
    if mask_format == "palette":
        channels, tiff_read = 3, _tiff_rgb
    else:
        channels, tiff_read = 1, _tiff_labels
    raw = tf.cond(_is_tiff(path), lambda: _tiff(path, tiff_read, tf.int32, channels),
                  lambda: _native_mask(path, channels))
    if mask_format == "palette":
        return _palette_labels(raw, palette)
    if mask_format == "binary":
        half = tf.where(tf.reduce_max(raw) > 255, 32768, 128)
        return tf.cast(raw >= half, tf.int32)
    return raw


def _is_tiff(path):
    return tf.strings.regex_full_match(tf.strings.lower(path), r".*\.tiff?")


def _native_image(path):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return tf.cast(image, tf.float32)


def _native_mask(path, channels):
    """A 16-bit PNG keeps ids above 255; everything else decodes as 8-bit."""
    contents = tf.io.read_file(path)
    sixteen_bit = (tf.strings.substr(contents, 1, 3) == "PNG") & (tf.strings.substr(contents, 24, 1) == b"\x10")
    return tf.cond(
        sixteen_bit,
        lambda: tf.cast(tf.io.decode_png(contents, channels=channels, dtype=tf.uint16), tf.int32),
        lambda: tf.cast(tf.io.decode_image(contents, channels=channels, expand_animations=False), tf.int32),
    )


def _palette_labels(rgb, palette):
    colours = tf.constant(np.asarray(palette, np.int32))  # (C, 3)
    matches = tf.reduce_all(rgb[:, :, None, :] == colours[None, None], axis=-1)  # (H, W, C)
    labels = tf.cast(tf.argmax(tf.cast(matches, tf.int32), axis=-1), tf.int32)
    return tf.where(tf.reduce_any(matches, axis=-1), labels, UNKNOWN_COLOUR)[..., None]


def _tiff(path, read, dtype, channels):
    array = tf.numpy_function(read, [path], dtype, stateful=False)
    array.set_shape([None, None, channels])
    return array


def _read_tiff(path):
    import tifffile  # optional: files.check_tiff_support said so before any reading

    return np.asarray(tifffile.imread(path.decode(), key=0))  # the first page of a stack


def _tiff_image(path):
    """Grey, RGB or RGBA; integer types scaled to [0, 255] by their range, floats kept."""
    array = _read_tiff(path)
    if np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float32) * (255.0 / np.iinfo(array.dtype).max)
    array = array.astype(np.float32)
    if array.ndim == 2:
        array = array[..., None]
    if array.shape[-1] == 1:
        return np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])


def _tiff_labels(path):
    array = _read_tiff(path)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(f"{path.decode()}: an index mask must have one channel, this TIFF has shape {array.shape}")
    return array.astype(np.int32)[..., None]


def _tiff_rgb(path):
    array = _read_tiff(path)
    if array.ndim != 3 or array.shape[-1] < 3:
        raise ValueError(f"{path.decode()}: a palette mask must be RGB, this TIFF has shape {array.shape}")
    return np.ascontiguousarray(array[..., :3]).astype(np.int32)


def check_mask_format(num_classes, mask_format, palette):
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}.")
    if mask_format not in MASK_FORMATS:
        raise ConfigError(f"mask_format must be one of {MASK_FORMATS}, got {mask_format!r}.")
    if (mask_format == "palette") != (palette is not None):
        raise ConfigError("mask_format='palette' needs palette=[(r, g, b), ...] (class i = colour i), and only it.")
    if palette is not None and len(palette) != num_classes:
        raise ConfigError(
            f"palette has {len(palette)} colours for {num_classes} classes: give one (r, g, b) colour "
            "per class, class i = palette[i]."
        )
