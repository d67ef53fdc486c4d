"""Decoding image and mask files inside tf.data: PNG (8- and 16-bit), JPEG and BMP with
TensorFlow's own decoders, TIFF through the optional tifffile package, and the palette
indices of indexed PNG masks through the optional Pillow package."""

import io
import os

import numpy as np
import tensorflow as tf

from segzoo.errors import ConfigError, DataError

MASK_FORMATS = ("index", "palette", "binary")
# A pixel whose colour is in no palette entry: never a valid class, so the checks catch it.
UNKNOWN_COLOUR = -1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PILLOW_NEEDED = ("is an indexed (palette) PNG: its pixels are palette indices, the class ids, and reading "
                 "them needs the Pillow package: pip install pillow (or pip install 'segzoo[indexed]').")


def decode_image(path):
    """float32 (H, W, 3) in [0, 255] (16-bit files scaled down)."""
    return tf.cond(_is_tiff(path), lambda: _tiff(path, _tiff_image, tf.float32, 3),
                   lambda: _native_image(path))


def decode_mask(path, mask_format, palette):
    """int32 (H, W, 1) class ids; palette colours not listed become UNKNOWN_COLOUR."""
    return decode_mask_encoding(path, mask_format, palette)[0]


def decode_mask_encoding(path, mask_format, palette):
    """(the mask decode_mask gives, a string tensor naming how the file stored it, for inspect).

    "index" and "binary" read an indexed PNG's palette indices, "palette" its colours.
    "binary" decides per mask by its largest value m: m <= 1 means a 0/1 mask, kept as it
    is (an all-zero mask is all background); m <= 255 thresholds at 128 (0/255, also with
    JPEG noise); above that at 32768 (0/65535 16-bit)."""
    if mask_format == "palette":
        channels, tiff_read = 3, _tiff_rgb
    else:
        channels, tiff_read = 1, _tiff_labels
    raw, source = tf.cond(_is_tiff(path), lambda: (_tiff(path, tiff_read, tf.int32, channels), tf.constant("TIFF")),
                          lambda: _native_mask(path, channels))
    if mask_format == "palette":
        return _palette_labels(raw, palette), tf.strings.join(["palette: ", source])
    if mask_format == "binary":
        return _binary(raw)
    return raw, tf.strings.join(["index: ", source])


def _is_tiff(path):
    return tf.strings.regex_full_match(tf.strings.lower(path), r".*\.tiff?")


def _native_image(path):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return tf.cast(image, tf.float32)


def _binary(raw):
    largest = tf.reduce_max(raw)
    half = tf.where(largest > 255, 32768, 128)
    foreground = tf.where(largest <= 1, raw, tf.cast(raw >= half, tf.int32))
    kind = tf.where(largest <= 1, "binary 0/1", tf.where(largest > 255, "binary 0/65535", "binary 0/255"))
    return foreground, kind


def _native_mask(path, channels):
    """(int32 mask, "8-bit", "16-bit" or "palette PNG indices"). A 16-bit PNG keeps ids above
    255; an indexed PNG read for one channel gives its palette indices (TensorFlow's decoder
    would give their colours' luminance); everything else decodes as 8-bit."""
    contents = tf.io.read_file(path)
    # Padded, so that a file shorter than a PNG header reaches the decoder and its error.
    header = tf.strings.substr(tf.strings.join([tf.strings.substr(contents, 0, 26), b"\0" * 26]), 0, 26)
    png = tf.strings.substr(header, 0, 8) == PNG_SIGNATURE
    sixteen_bit = png & (tf.strings.substr(header, 24, 1) == b"\x10")  # IHDR bit depth
    indexed = png & (tf.strings.substr(header, 25, 1) == b"\x03")  # IHDR colour type 3

    def sixteen():
        return tf.cast(tf.io.decode_png(contents, channels=channels, dtype=tf.uint16), tf.int32), tf.constant("16-bit")

    def indices():
        array = tf.numpy_function(_png_indices, [path, contents], tf.int32, stateful=False)
        array.set_shape([None, None, 1])
        return array, tf.constant("palette PNG indices")

    def eight():
        image = tf.io.decode_image(contents, channels=channels, expand_animations=False)
        return tf.cast(image, tf.int32), tf.constant("8-bit")

    if channels == 3:  # colours wanted: TensorFlow expands a palette to them
        return tf.cond(sixteen_bit, sixteen, eight)
    return tf.cond(sixteen_bit, sixteen, lambda: tf.cond(indexed, indices, eight))


def _png_indices(path, contents):
    # Eager calls pass 0-d object arrays, graphs the bytes themselves.
    path, contents = (value if isinstance(value, bytes) else value.item() for value in (path, contents))
    try:
        from PIL import Image
    except ImportError:
        raise DataError(f"{os.path.basename(path.decode())} {PILLOW_NEEDED}") from None
    with Image.open(io.BytesIO(contents)) as image:  # mode "P": the indices, whatever the bit depth
        return np.asarray(image, np.int32)[..., None]


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
