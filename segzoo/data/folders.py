"""Folders of images and masks to a tf.data pipeline.

Images and masks are paired by file stem, never by listing order. Masks are only ever
resized with nearest neighbour, so no label appears that was not in the file. Every pair
is scanned once up front (`segzoo.data.inspect`), so a bad file raises a DataError naming
it before training starts.
"""

import tensorflow as tf

from segzoo.backbones import get_backbone_spec
from segzoo.core.labels import assert_labels_in_graph
from segzoo.data.decode import UNKNOWN_COLOUR, check_mask_format, decode_image, decode_mask
from segzoo.data.files import check_indexed_png_support, pair_files
from segzoo.data.inspect import scan
from segzoo.errors import ConfigError
from segzoo.models.preprocessing import CAFFE_BGR_MEAN

RESIZE_MODES = ("stretch", "pad", "crop")
INTERPOLATIONS = ("bilinear", "area")


def from_folders(images_dir, masks_dir, image_size, num_classes, mask_format="index", palette=None,
                 mask_suffix="", batch_size=8, shuffle=True, seed=None, augment=None, cache=False,
                 preprocessing=None, ignore_index=None, resize="stretch", interpolation="bilinear", check=True):
    """A tf.data.Dataset of (image float32 (B, H, W, 3), mask int32 (B, H, W)) batches.

    mask_format: "index" (pixel value = class id; 8- or 16-bit PNG, an indexed PNG's palette
    indices), "palette" (RGB colour -> class id, `palette` a list of colours, index = class)
    or "binary" (0/1 masks as they are, others >= half range is 1; docs/data.md has the rule).
    resize: "stretch" to image_size, or keep the aspect ratio and "pad" (masks padded with
    ignore_index, which is then required) or "crop" (centre). Images use `interpolation`,
    masks always nearest neighbour.
    augment: None or a callable on (images, masks) batches, such as
    `segzoo.data.augment(...)`; it runs after `cache` (a new draw every epoch) and before
    `preprocessing`, on images in [0, 255].
    preprocessing: None, a segzoo model (its input convention, nothing if the model
    includes it), a backbone name (its pretrained weights' convention) or a callable on
    float images in [0, 255].
    check: scan every pair once before returning (`segzoo.data.inspect`) and raise a
    DataError naming the first unreadable file, out-of-range label or size mismatch. With
    check=False the same problems still stop iteration, with a TensorFlow error.
    """
    size = _check_options(image_size, num_classes, mask_format, palette, resize, interpolation, ignore_index)
    if augment is not None and not callable(augment):
        raise ConfigError(f"augment must be a callable on (images, masks) such as segzoo.data.augment(...), got {augment!r}.")
    prepare = preprocessing_function(preprocessing)
    pairs = pair_files(images_dir, masks_dir, mask_suffix)
    check_indexed_png_support([p[1] for p in pairs], mask_format)
    if check:
        scan(pairs, num_classes, mask_format, palette, ignore_index).raise_if_problems()
    paths = tf.data.Dataset.from_tensor_slices(([p[0] for p in pairs], [p[1] for p in pairs]))
    if shuffle:
        paths = paths.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    read = pair_reader(size, num_classes, mask_format, palette, resize, interpolation, ignore_index)
    data = paths.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None or not shuffle)
    if cache:
        data = data.cache() if cache is True else data.cache(cache)
    data = data.batch(batch_size)
    if augment is not None:
        data = data.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    if prepare is not None:
        data = data.map(lambda x, y: (prepare(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def _check_options(image_size, num_classes, mask_format, palette, resize, interpolation, ignore_index):
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ConfigError(f"image_size must be an int or (height, width), got {image_size!r}.")
    check_mask_format(num_classes, mask_format, palette)
    if resize not in RESIZE_MODES:
        raise ConfigError(f"resize must be one of {RESIZE_MODES}, got {resize!r}.")
    if interpolation not in INTERPOLATIONS:
        raise ConfigError(f"interpolation must be one of {INTERPOLATIONS} (masks always use nearest), got {interpolation!r}.")
    if resize == "pad" and ignore_index is None:
        raise ConfigError("resize='pad' pads masks with ignore_index: pass one (e.g. 255) for the losses to skip.")
    return size


def preprocessing_function(preprocessing):
    """The callable that turns [0, 255] images into what `preprocessing` expects, or None
    for nothing to do. `preprocessing`: None; a segzoo model (its `input_preprocessing`
    convention: nothing when the model includes its preprocessing layer); a backbone name
    (its pretrained weights' convention); or a callable, returned as it is.

    The conventions are those of segzoo.models.preprocessing, written with TensorFlow ops
    so that they run in tf.data whatever the Keras backend."""
    if preprocessing is None:
        return None
    if hasattr(preprocessing, "include_preprocessing"):  # a SegmentationModel (also callable)
        convention = "none" if preprocessing.include_preprocessing else preprocessing.preprocessing
    elif callable(preprocessing):
        return preprocessing
    else:
        convention = get_backbone_spec(preprocessing).preprocessing
    if convention == "tf":
        return lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0
    if convention == "caffe":
        return lambda x: tf.reverse(tf.cast(x, tf.float32), axis=[-1]) - CAFFE_BGR_MEAN
    return None  # raw [0, 255] pixels: the model normalises them itself


def pair_reader(size, num_classes, mask_format, palette, resize, interpolation, ignore_index):
    def read(image_path, mask_path):
        image = decode_image(image_path)
        mask = decode_mask(mask_path, mask_format, palette)
        tf.debugging.assert_equal(
            tf.shape(image)[:2], tf.shape(mask)[:2],
            message=tf.strings.join(["image and mask sizes differ: ", image_path, " vs ", mask_path]),
        )
        _check_labels(mask, num_classes, ignore_index, mask_path)
        image, mask = _resize(image, mask, size, resize, interpolation, ignore_index)
        return image, mask[..., 0]

    return read


def _check_labels(mask, num_classes, ignore_index, path):
    labels = mask if ignore_index is None else tf.where(mask == ignore_index, 0, mask)
    tf.debugging.assert_none_equal(
        labels, UNKNOWN_COLOUR, message=tf.strings.join(["a colour not in the palette in ", path]))
    assert_labels_in_graph(mask, num_classes, ignore_index, path)


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
