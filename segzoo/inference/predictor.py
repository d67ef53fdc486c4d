"""`predict`: masks or probabilities at each image's own size, whole or in tiles, with
optional test-time augmentation."""

import numpy as np

from segzoo.data import preprocessing_function
from segzoo.errors import ConfigError
from segzoo.inference.geometry import PADDINGS, crop, fit_size, model_geometry, pad_to, resize
from segzoo.inference.images import image_list
from segzoo.inference.outputs import probabilities, to_labels
from segzoo.inference.tiling import check_tiling, predict_tiled
from segzoo.inference.tta import averaged, tta_transforms


def predict(model, images, *, batch_size=8, tile=None, overlap=0.25, blend="gaussian", tta=None,
            threshold=0.5, return_probabilities=False, input_size=None, padding="reflect", progress=False):
    """Class-id masks int32, one per image at the image's own size.

    images: one image or a list of them; an image is an (H, W, C) array of [0, 255]
    pixels ((D, H, W, C) for a 3-D model) or a file path; an array with one more axis is
    a list; a tf.data.Dataset yields images or (image, mask) pairs, batched or not. One
    image in, one mask out; otherwise a list.

    Sizes (the aspect ratio is always kept):
    - a model that takes any size: the image is padded at the bottom and right (and back,
      for volumes) up to the next size it takes, predicted, and the padding cropped off.
      No resizing.
    - a model with a fixed size (or `input_size=(h, w)` for one that takes any size):
      the image is resized (bilinear) so that its longer side fits, padded to that size,
      predicted; the padding is cropped off and the probabilities resized back (bilinear)
      before the labels are taken from them.
    - `tile=(h, w)` or an int ((d, h, w) for volumes): sliding-window prediction at the
      image's own resolution, no resizing; tiles overlap by `overlap` of their side and
      are blended with `blend` weights ("gaussian", sigma 0.125 * side, or "constant").
      A tile must be a size the model takes (its fixed size, if it has one).
    padding: "reflect" (mirror the image; the default: the model sees image-like content
    past the edge) or "zero" (zeros after the model's preprocessing).

    The model's preprocessing (its backbone's convention) is applied first; images are
    raw [0, 255] pixels. tta: None, "flip" (identity, horizontal, vertical flips; volumes
    also flip depth), "d4" (the 8 flips and 90-degree rotations) or a list of names of
    segzoo.inference.TRANSFORMS; predictions are averaged in probability space.
    threshold: a one-channel model's foreground cut-off, as a probability.
    batch_size: images (or tiles) per model call. progress: a progress bar over tiles.
    return_probabilities: also return per-pixel probabilities (*spatial, K) float32
    (softmax / sigmoid of a logits head); then the result is (masks, probabilities).
    """
    geometry = model_geometry(model)
    _check_options(threshold, batch_size, padding, input_size, tile)
    tile = None if tile is None else check_tiling(tile, overlap, blend, geometry.dims)
    if tile is not None:
        geometry.check_tile(tile)
    box = _box(geometry, input_size)
    names = tta_transforms(tta, geometry.dims, box or geometry.fixed)
    activation = getattr(model, "activation", "probabilities")

    def run(batch):
        return averaged(lambda x: probabilities(model.predict_on_batch(x), activation), batch, names)

    single, arrays = image_list(images, geometry.dims)
    prepare = model_preprocessing(model)
    if tile is not None:
        tiled = {"tile": tile, "overlap": overlap, "blend": blend, "batch_size": batch_size,
                 "multiple": geometry.multiple, "progress": progress}
        outputs = (_predict_tiled(run, image, prepare, geometry, padding, tiled) for image in arrays)
    else:
        outputs = _predict_whole(run, arrays, prepare, geometry, box, padding, batch_size)
    masks, kept = [], []
    for output in outputs:
        masks.append(to_labels(output, "probabilities", threshold))
        if return_probabilities:
            kept.append(output)
    if single:
        masks, kept = masks[0], kept[0] if kept else None
    return (masks, kept) if return_probabilities else masks


def model_preprocessing(model):
    """The callable that turns [0, 255] pixels into what the model expects, or None when
    the model does it itself (include_preprocessing) or is not a segzoo model."""
    if not hasattr(model, "include_preprocessing"):
        return None
    return preprocessing_function(model)


def _check_options(threshold, batch_size, padding, input_size, tile):
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"threshold must be a probability strictly between 0 and 1, got {threshold!r}.")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"batch_size must be an integer >= 1, got {batch_size!r}.")
    if padding not in PADDINGS:
        raise ConfigError(f"padding must be one of {PADDINGS}, got {padding!r}.")
    if input_size is not None and tile is not None:
        raise ConfigError("pass tile (predict at the image's resolution) or input_size (resize to it), not both.")


def _box(geometry, input_size):
    """The size images are letterboxed into, or None (pad to a valid size instead)."""
    if not geometry.any_size:
        if input_size is not None and tuple(input_size) != geometry.fixed:
            raise ConfigError(f"input_size {tuple(input_size)!r}: this model takes only {geometry.fixed!r}; drop it "
                              "(images are letterboxed into the model's size).")
        return geometry.fixed
    if input_size is None:
        return None
    input_size = tuple(input_size)
    if geometry.dims != 2 or len(input_size) != 2 or geometry.valid(input_size) != input_size:
        raise ConfigError(f"input_size {input_size!r} is not a size the model takes; nearest above: "
                          f"{geometry.valid(input_size[:geometry.dims])}.")
    return input_size


def _prepared(image, prepare):
    if prepare is None:
        return np.asarray(image, np.float32)
    # a copy: keras' preprocess_input works in place on float arrays (the caller's image)
    return np.asarray(prepare(np.array(image, np.float32)), np.float32)


def _predict_tiled(run, image, prepare, geometry, padding, tiled):
    """One image's probabilities by sliding window, padded first to a valid size at least
    one tile large, so that every tile start is a multiple of the model's stride."""
    size = image.shape[:-1]
    padded = pad_to(_prepared(image, prepare), geometry.valid(np.maximum(size, tiled["tile"])), padding)
    return crop(predict_tiled(run, padded, **tiled), size)


def _plan(geometry, box, size):
    """(size the image is resized to, size of the model input it is padded to)."""
    if box is None:
        return tuple(size), geometry.valid(size)
    if geometry.dims != 2:
        if tuple(size) != tuple(box):
            raise ConfigError(f"a volume of {tuple(size)} for a model that takes only {tuple(box)}: pass tile=.")
        return tuple(size), tuple(box)
    return fit_size(size, box), tuple(box)


def _predict_whole(run, arrays, prepare, geometry, box, padding, batch_size):
    """Probabilities per image, consecutive images with the same model input batched."""
    group = []
    for image in arrays:
        plan = _plan(geometry, box, image.shape[:-1])
        if group and (group[0][1][1] != plan[1] or len(group) == batch_size):
            yield from _predict_group(run, group, prepare, padding)
            group = []
        group.append((image, plan))
    if group:
        yield from _predict_group(run, group, prepare, padding)


def _predict_group(run, group, prepare, padding):
    inputs = []
    for image, (fitted, model_size) in group:
        content = image if fitted == image.shape[:-1] else resize(np.asarray(image, np.float32), fitted)
        inputs.append(pad_to(_prepared(content, prepare), model_size, padding))
    for (image, (fitted, _)), output in zip(group, run(np.stack(inputs))):
        yield resize(crop(output, fitted), image.shape[:2]) if fitted != image.shape[:-1] else crop(output, fitted)
