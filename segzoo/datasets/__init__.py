"""Built-in datasets, made on the spot with no download."""

from segzoo.datasets._split import Split
from segzoo.datasets.digits import digits
from segzoo.datasets.shapes import shapes

__all__ = ["Split", "digits", "shapes"]
