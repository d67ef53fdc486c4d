"""Class colours, colour overlays and the error map: NumPy only."""

import colorsys

import numpy as np

# Distinct colours for the first classes (the "tab10" hues, then a few more); class 0,
# the background, is never painted. Further classes get golden-angle hues.
BASE_COLOURS = (
    (0, 0, 0), (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    (255, 255, 0), (0, 255, 255), (255, 0, 255), (128, 0, 0), (0, 128, 0),
)
# The error map's kinds, over the foreground (every class but 0), and their colours.
ERROR_KINDS = {
    "correct": (255, 255, 255),
    "missed (false negative)": (255, 0, 255),
    "false alarm (false positive)": (255, 190, 0),
    "wrong class": (0, 190, 255),
}


def class_colours(count):
    """(count, 3) uint8 RGB colours, one per class id."""
    colours = list(BASE_COLOURS[:count])
    for index in range(len(colours), count):
        hue = (index * 0.618033988749895) % 1.0
        colours.append(tuple(round(255 * c) for c in colorsys.hsv_to_rgb(hue, 0.85, 0.95)))
    return np.asarray(colours, np.uint8).reshape(-1, 3)


def overlay(image, labels, num_classes, alpha=0.5):
    """The image (H, W, 3, values 0-255) with each pixel of class 1..num_classes-1 blended
    with its class colour; background (0) and other values (ignore_index) stay as they are."""
    image = np.clip(np.asarray(image, np.float32), 0, 255)
    labels = np.asarray(labels)
    colours = class_colours(max(num_classes, 2)).astype(np.float32)
    painted = (labels >= 1) & (labels < num_classes)
    blended = image.copy()
    blended[painted] = (1 - alpha) * image[painted] + alpha * colours[labels[painted]]
    return np.round(blended).astype(np.uint8)


def dim(image):
    """The image in grey at half contrast (64-191), a backdrop that no class colour blends into."""
    grey = np.round(np.asarray(image, np.float32).mean(axis=-1, keepdims=True) * 0.5 + 64)
    return np.repeat(grey, 3, axis=-1).astype(np.uint8)


def label_map(image, labels, num_classes):
    """Each pixel of class 1..num_classes-1 in its solid class colour over the dimmed image
    (exactly the legend's colours); background and other values (ignore_index) stay grey."""
    labels = np.asarray(labels)
    picture = dim(image)
    painted = (labels >= 1) & (labels < num_classes)
    picture[painted] = class_colours(max(num_classes, 2))[labels[painted]]
    return picture


def error_map(image, truth, prediction, num_classes):
    """The dimmed image, each foreground error or hit painted in its ERROR_KINDS colour:
    correct (a foreground pixel given its class), missed (foreground called background),
    false alarm (background called foreground), wrong class (another foreground class).
    Correct background and labels outside the classes (ignore_index) stay grey."""
    truth, prediction = np.asarray(truth), np.asarray(prediction)
    picture = dim(image)
    scored = (truth >= 0) & (truth < num_classes)
    truth_fg, predicted_fg = scored & (truth >= 1), scored & (prediction >= 1)
    kinds = (truth_fg & (prediction == truth), truth_fg & ~predicted_fg,
             ~truth_fg & predicted_fg & scored, truth_fg & predicted_fg & (prediction != truth))
    for where, colour in zip(kinds, ERROR_KINDS.values()):
        picture[where] = colour
    return picture


def enlarge(array, min_height=256):
    """Repeat pixels (an integer factor, nearest neighbour) until the picture is at least
    `min_height` tall, so that small images stay legible."""
    factor = max(1, -(-min_height // array.shape[0]))
    return np.repeat(np.repeat(array, factor, axis=0), factor, axis=1)
