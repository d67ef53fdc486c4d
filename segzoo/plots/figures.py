"""Pictures drawn with matplotlib when it is installed (the `segzoo[plots]` extra): the
text of panel pictures, training curves, the confusion matrix and per-class IoU bars.
matplotlib's object API on an Agg canvas: no pyplot state. Each returns False (or the
picture without text) when matplotlib is missing."""

import numpy as np
import tensorflow as tf

MATPLOTLIB_HINT = "matplotlib is not installed (pip install matplotlib, or pip install 'segzoo[plots]')"
DPI = 100


def write_png(path, array):
    """Write a (H, W) or (H, W, C) uint8 / uint16 array as a PNG."""
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[..., None]
    tf.io.write_file(str(path), tf.io.encode_png(array))


def with_text(picture):
    """The picture's pixels with its titles and legend names written in; the pixels alone
    without matplotlib. The pixels are copied one to one (figimage, no resampling), so only
    the white text bands change."""
    height, width = picture.pixels.shape[:2]
    figure = _figure(width / DPI, height / DPI, layout=None)
    if figure is None:
        return picture.pixels
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure.figimage(picture.pixels, 0, 0, origin="upper", resize=False)
    for text, x, y, size, align in picture.texts:
        figure.text(x / width, 1 - y / height, text, ha=align, va="center", fontsize=size * 72 / DPI)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_picture(picture, path):
    write_png(path, with_text(picture))


def _figure(width, height, layout="constrained"):
    """A matplotlib Figure on an Agg canvas, or None without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure(figsize=(width, height), dpi=DPI, layout=layout)


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


def row_shares(matrix):
    """Each row (a true class) of a confusion matrix divided by its sum; empty rows stay 0."""
    matrix = np.asarray(matrix, np.float64)
    rows = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)


def confusion_matrix(matrix, class_names, path):
    """The confusion matrix, each row (true class) normalised to 1, with the pixel counts
    under the shares, to a PNG; False without matplotlib."""
    matrix = np.asarray(matrix, np.int64)
    count = len(matrix)
    figure = _figure(max(5, 0.9 * count + 3), max(4, 0.8 * count + 2))
    if figure is None:
        return False
    shares = row_shares(matrix)
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, label="share of the true class's pixels")
    axes.set(xticks=range(count), yticks=range(count), xlabel="predicted", ylabel="true",
             title="confusion matrix (rows normalised; pixel counts below)")
    axes.set_xticklabels(class_names, rotation=45, ha="right")
    axes.set_yticklabels(class_names)
    if count <= 20:
        for (row, column), share in np.ndenumerate(shares):
            axes.text(column, row, f"{share:.2f}\n{matrix[row, column]:,}", ha="center", va="center",
                      fontsize=7, color="white" if share > 0.5 else "black")
    figure.savefig(path)
    return True


def iou_bars(report, path):
    """Horizontal bars of each class's IoU from a segzoo.evaluate report, each labelled with
    its value, the classes with their pixel shares, the mean IoU as a dashed line; False
    without matplotlib."""
    classes = report["classes"]
    figure = _figure(7, max(2.5, 0.6 * len(classes) + 1.2))
    if figure is None:
        return False
    names = list(classes)
    values = [classes[name]["iou"] or 0.0 for name in names]
    total = sum(classes[name]["support"] for name in names) or 1
    axes = figure.subplots()
    axes.barh(range(len(names)), values, color="tab:blue")
    for index, value in enumerate(values):
        shown = "-" if classes[names[index]]["iou"] is None else f"{value:.3f}"
        inside = value > 0.2  # white on the bar, else black after it
        axes.text(value - 0.01 if inside else value + 0.01, index, shown, va="center", fontsize=9,
                  ha="right" if inside else "left", color="white" if inside else "black")
    title = "IoU per class"
    if report["mean"]["iou"] is not None:
        axes.axvline(report["mean"]["iou"], color="black", linestyle="--", linewidth=1)
        title += f" (dashed: mean IoU {report['mean']['iou']:.3f})"
    axes.set(yticks=range(len(names)), xlim=(0, 1), xlabel="IoU", title=title)
    axes.set_yticklabels([f"{name}\n{classes[name]['support'] / total:.1%} of pixels" for name in names])
    axes.invert_yaxis()
    figure.savefig(path)
    return True
