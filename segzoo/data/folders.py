"""Folders of images and masks to a tf.data pipeline.

Images and masks are paired by file stem, never by listing order. Masks are only ever
resized with nearest neighbour, so no label appears that was not in the file. Problems
found while reading (a label >= num_classes, an image and mask of different sizes) stop
the pipeline with the file's name.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from segzoo.backbones import get_backbone_spec
from segzoo.errors import ConfigError, DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
MASK_FORMATS = ("index", "palette", "binary")
RESIZE_MODES = ("stretch", "pad", "crop")
INTERPOLATIONS = ("bilinear", "area")


def pair_files(images_dir, masks_dir, mask_suffix=""):
    """[(image_path, mask_path)] sorted by stem; a mask's stem may end in `mask_suffix`."""
    images = _by_stem(images_dir, "")
    masks = _by_stem(masks_dir, mask_suffix)
    lonely_images = sorted(set(images) - set(masks))
    lonely_masks = sorted(set(masks) - set(images))
    if lonely_images or lonely_masks:
        raise DataError(
            "Images and masks do not pair up by file name"
            + _listing(" images without a mask", lonely_images, images)
            + _listing(" masks without an image", lonely_masks, masks)
            + (f". Masks named like 'x{mask_suffix or '_mask'}.png'? Pass mask_suffix." if lonely_masks else ".")
        )
    return [(images[stem], masks[stem]) for stem in sorted(images)]


def _by_stem(directory, suffix):
    if not os.path.isdir(directory):
        raise DataError(f"{directory!r} is not a directory.")
    files = {}
    for name in os.listdir(directory):
        stem, extension = os.path.splitext(name)
        if extension.lower() not in IMAGE_EXTENSIONS:
            continue
        if suffix and stem.endswith(suffix):
            stem = stem[: -len(suffix)]
        if stem in files:
            raise DataError(f"Two files in {directory!r} share the stem {stem!r}: {os.path.basename(files[stem])}, {name}.")
        files[stem] = os.path.join(directory, name)
    if not files:
        raise DataError(f"No image files ({', '.join(IMAGE_EXTENSIONS)}) in {directory!r}.")
    return files


def _listing(label, stems, files):
    if not stems:
        return ""
    shown = ", ".join(os.path.basename(files[s]) for s in stems[:10])
    more = f" and {len(stems) - 10} more" if len(stems) > 10 else ""
    return f";{label}: {shown}{more}"


def from_folders(images_dir, masks_dir, image_size, num_classes, mask_format="index", palette=None,
                 mask_suffix="", batch_size=8, shuffle=True, seed=None, cache=False, preprocessing=None,
                 ignore_index=None, resize="stretch", interpolation="bilinear"):
    """A tf.data.Dataset of (image float32 (B, H, W, 3), mask int32 (B, H, W)) batches.

    mask_format: "index" (pixel value = class id; 8- or 16-bit PNG), "palette" (RGB colour
    -> class id, `palette` a list of colours, index = class) or "binary" (>= half range is 1).
    resize: "stretch" to image_size, or keep the aspect ratio and "pad" (masks padded with
    ignore_index, which is then required) or "crop" (centre). Images use `interpolation`,
    masks always nearest neighbour.
    preprocessing: None, a backbone name (its keras.applications input convention) or a
    callable on float images in [0, 255].
    """
    size = _check_options(image_size, num_classes, mask_format, palette, resize, interpolation, ignore_index)
    prepare = _preprocessing(preprocessing)
    pairs = pair_files(images_dir, masks_dir, mask_suffix)
    paths = tf.data.Dataset.from_tensor_slices(([p[0] for p in pairs], [p[1] for p in pairs]))
    if shuffle:
        paths = paths.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    read = _reader(size, num_classes, mask_format, palette, resize, interpolation, ignore_index)
    data = paths.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None or not shuffle)
    if cache:
        data = data.cache() if cache is True else data.cache(cache)
    data = data.batch(batch_size)
    if prepare is not None:
        data = data.map(lambda x, y: (prepare(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def _check_options(image_size, num_classes, mask_format, palette, resize, interpolation, ignore_index):
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ConfigError(f"image_size must be an int or (height, width), got {image_size!r}.")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}.")
    if mask_format not in MASK_FORMATS:
        raise ConfigError(f"mask_format must be one of {MASK_FORMATS}, got {mask_format!r}.")
    if (mask_format == "palette") != (palette is not None):
        raise ConfigError("mask_format='palette' needs palette=[(r, g, b), ...] (class i = colour i), and only it.")
    if palette is not None and len(palette) != num_classes:
        raise ConfigError(f"palette has {len(palette)} colours for {num_classes} classes.")
    if resize not in RESIZE_MODES:
        raise ConfigError(f"resize must be one of {RESIZE_MODES}, got {resize!r}.")
    if interpolation not in INTERPOLATIONS:
        raise ConfigError(f"interpolation must be one of {INTERPOLATIONS} (masks always use nearest), got {interpolation!r}.")
    if resize == "pad" and ignore_index is None:
        raise ConfigError("resize='pad' pads masks with ignore_index: pass one (e.g. 255) for the losses to skip.")
    return size


def _preprocessing(preprocessing):
    if preprocessing is None or callable(preprocessing):
        return preprocessing
    convention = get_backbone_spec(preprocessing).preprocessing
    if convention == "tf":
        return lambda x: x / 127.5 - 1.0
    if convention == "caffe":
        return keras.applications.resnet.preprocess_input
    return None  # the backbone normalises raw [0, 255] pixels itself


def _reader(size, num_classes, mask_format, palette, resize, interpolation, ignore_index):
    def read(image_path, mask_path):
        image = tf.io.decode_image(tf.io.read_file(image_path), channels=3, expand_animations=False)
        mask = _decode_mask(tf.io.read_file(mask_path), mask_format, palette, mask_path)
        tf.debugging.assert_equal(
            tf.shape(image)[:2], tf.shape(mask)[:2],
            message=tf.strings.join(["image and mask sizes differ: ", image_path, " vs ", mask_path]),
        )
        _check_labels(mask, num_classes, ignore_index, mask_path)
        image, mask = _resize(tf.cast(image, tf.float32), mask, size, resize, interpolation, ignore_index)
        return image, mask[..., 0]

    return read


def _decode_mask(contents, mask_format, palette, path):
    if mask_format == "palette":
        rgb = tf.cast(tf.io.decode_image(contents, channels=3, expand_animations=False), tf.int32)
        colours = tf.constant(np.asarray(palette, np.int32))  # (C, 3)
        matches = tf.reduce_all(rgb[:, :, None, :] == colours[None, None], axis=-1)
        tf.debugging.assert_equal(
            tf.reduce_all(tf.reduce_any(matches, axis=-1)), True,
            message=tf.strings.join(["a colour not in the palette in ", path]),
        )
        return tf.cast(tf.argmax(tf.cast(matches, tf.int32), axis=-1), tf.int32)[..., None]
    mask = _decode_labels(contents)
    if mask_format == "binary":
        half = tf.cond(tf.reduce_max(mask) > 255, lambda: 32768, lambda: 128)
        mask = tf.cast(mask >= half, tf.int32)
    return mask


def _decode_labels(contents):
    """Class ids from one channel, 8- or 16-bit: a 16-bit PNG keeps ids above 255."""
    is_png = tf.strings.substr(contents, 1, 3) == "PNG"
    sixteen_bit = is_png & (tf.strings.substr(contents, 24, 1) == b"\x10")
    return tf.cond(
        sixteen_bit,
        lambda: tf.cast(tf.io.decode_png(contents, channels=1, dtype=tf.uint16), tf.int32),
        lambda: tf.cast(tf.io.decode_image(contents, channels=1, expand_animations=False), tf.int32),
    )


def _check_labels(mask, num_classes, ignore_index, path):
    labels = mask if ignore_index is None else tf.where(mask == ignore_index, 0, mask)
    tf.debugging.assert_less(
        tf.reduce_max(labels), num_classes,
        message=tf.strings.join([
            "a mask holds a label >= num_classes (", str(num_classes), ") in ", path,
            ": fix num_classes, or pass ignore_index for the value of unlabelled pixels",
        ]),
    )


def _resize(image, mask, size, resize, interpolation, ignore_index):
    if resize == "stretch":
        return (tf.image.resize(image, size, method=interpolation),
                tf.image.resize(mask, size, method="nearest"))
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    target = tf.constant(size, tf.float32)
    scales = target / shape
    scale = tf.reduce_min(scales) if resize == "pad" else tf.reduce_max(scales)
    scaled = tf.cast(tf.round(shape * scale), tf.int32)
    image = tf.image.resize(image, scaled, method=interpolation)
    mask = tf.image.resize(mask, scaled, method="nearest")
    if resize == "crop":
        return (tf.image.resize_with_crop_or_pad(image, *size), tf.image.resize_with_crop_or_pad(mask, *size))
    # Pad: images with zeros, masks with ignore_index, centred.
    mask = tf.image.resize_with_crop_or_pad(mask - ignore_index, *size) + ignore_index
    return tf.image.resize_with_crop_or_pad(image, *size), mask
