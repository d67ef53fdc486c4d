"""The names segzoo.plots had here before it was a package, for callers not yet moved
(segzoo/cli/predict.py: overlay, write_png)."""

from segzoo.plots import (
    MATPLOTLIB_HINT,
    class_colours,
    confusion_matrix,
    overlay,
    training_curves,
    write_png,
)

__all__ = ["MATPLOTLIB_HINT", "class_colours", "confusion_matrix", "overlay", "training_curves", "write_png"]
