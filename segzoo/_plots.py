"""Pictures the `segzoo` command writes: colour overlays of class masks (NumPy and
tf.io.encode_png, always available) and, when matplotlib is installed, training curves
and a confusion matrix (matplotlib's object API on an Agg canvas: no pyplot state)."""

import colorsys

import numpy as np
import tensorflow as tf

# Distinct colours for the first classes (the "tab10" hues, then a few more); class 0,
# the background, is never painted. Further classes get golden-angle hues.
BASE_COLOURS = (
    (0, 0, 0), (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    (255, 255, 0), (0, 255, 255), (255, 0, 255), (128, 0, 0), (0, 128, 0),
)
MATPLOTLIB_HINT = "matplotlib is not installed (pip install matplotlib, or pip install 'segzoo[plots]')"


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


def side_by_side(*panels, gap=2):
    """Panels of equal height joined left to right with a white gap."""
    spacer = np.full((panels[0].shape[0], gap, 3), 255, np.uint8)
    parts = []
    for panel in panels:
        parts.extend((panel, spacer))
    return np.concatenate(parts[:-1], axis=1)


def enlarge(array, min_height=128):
    """Repeat pixels (an integer factor, nearest neighbour) until the picture is at least
    `min_height` tall, so that small training images stay legible."""
    factor = max(1, -(-min_height // array.shape[0]))
    return np.repeat(np.repeat(array, factor, axis=0), factor, axis=1)


def write_png(path, array):
    """Write a (H, W) or (H, W, C) uint8 / uint16 array as a PNG."""
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[..., None]
    tf.io.write_file(str(path), tf.io.encode_png(array))


def _figure(width, height):
    """A matplotlib Figure on an Agg canvas, or None without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def training_curves(history, path):
    """Loss and IoU per epoch (training and validation) to a PNG; False without matplotlib."""
    figure = _figure(10, 4)
    if figure is None:
        return False
    from matplotlib.ticker import MaxNLocator

    for axes, key, title in zip(figure.subplots(1, 2), ("loss", "iou"), ("loss", "mean IoU")):
        for prefix, label in (("", "training"), ("val_", "validation")):
            values = history.get(prefix + key)
            if values:
                axes.plot(range(1, len(values) + 1), values, marker="o", label=label)
        axes.set(title=title, xlabel="epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    figure.savefig(path)
    return True


def confusion_matrix(matrix, class_names, path):
    """The confusion matrix, each row (true class) normalised to 1, to a PNG; False
    without matplotlib."""
    matrix = np.asarray(matrix, np.float64)
    count = len(matrix)
    figure = _figure(max(5, 0.6 * count + 3), max(4, 0.6 * count + 2))
    if figure is None:
        return False
    rows = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, label="share of the true class's pixels")
    axes.set(xticks=range(count), yticks=range(count), xlabel="predicted", ylabel="true",
             title="confusion matrix (rows normalised)")
    axes.set_xticklabels(class_names, rotation=45, ha="right")
    axes.set_yticklabels(class_names)
    if count <= 20:
        for (row, column), share in np.ndenumerate(shares):
            axes.text(column, row, f"{share:.2f}", ha="center", va="center", fontsize=8,
                      color="white" if share > 0.5 else "black")
    figure.savefig(path)
    return True
