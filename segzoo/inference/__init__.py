"""Predictions on real images: masks (or probabilities) at each image's own size.

`predict` pads (or letterboxes) each image to a size the model takes, applies the model's
input convention, predicts — whole, or in overlapping tiles blended like MONAI's
sliding_window_inference —, optionally averages test-time flips and rotations in
probability space, and crops and resizes back. docs/predict.md describes each step.
"""

from segzoo.inference.images import read_image
from segzoo.inference.outputs import probabilities, to_labels
from segzoo.inference.predictor import predict
from segzoo.inference.tiling import importance_map, tile_starts
from segzoo.inference.tta import TRANSFORMS, TTA_SETS

__all__ = ["TRANSFORMS", "TTA_SETS", "importance_map", "predict", "probabilities", "read_image",
           "tile_starts", "to_labels"]
