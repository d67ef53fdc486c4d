"""Pictures: colour overlays, error maps and titled panels (NumPy; text with matplotlib
when installed), training curves, the confusion matrix and per-class IoU bars (matplotlib)."""

from segzoo.plots.colours import (
    ERROR_KINDS,
    class_colours,
    dim,
    enlarge,
    error_map,
    label_map,
    overlay,
)
from segzoo.plots.figures import (
    MATPLOTLIB_HINT,
    confusion_matrix,
    iou_bars,
    row_shares,
    save_picture,
    training_curves,
    with_text,
    write_png,
)
from segzoo.plots.panels import Picture, panels

__all__ = [
    "ERROR_KINDS",
    "MATPLOTLIB_HINT",
    "Picture",
    "class_colours",
    "confusion_matrix",
    "dim",
    "enlarge",
    "error_map",
    "iou_bars",
    "label_map",
    "overlay",
    "panels",
    "row_shares",
    "save_picture",
    "training_curves",
    "with_text",
    "write_png",
]
