"""The data pipeline (tf.data): folders of images and masks, class weights and
per-pixel sample weights."""

from segzoo.data.augment import augment
from segzoo.data.folders import from_folders, pair_files
from segzoo.data.weights import class_weights, with_sample_weights

__all__ = ["augment", "class_weights", "from_folders", "pair_files", "with_sample_weights"]
