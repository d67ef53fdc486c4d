"""The data pipeline (tf.data): folders of images and masks, class weights and
per-pixel sample weights."""

from segzoo.data.augment import augment
from segzoo.data.boundary import boundary_weights, with_boundary_weights
from segzoo.data.files import pair_files
from segzoo.data.folders import from_folders, preprocessing_function
from segzoo.data.inspect import DatasetReport, inspect
from segzoo.data.weights import class_weights, with_sample_weights

__all__ = [
    "DatasetReport",
    "augment",
    "boundary_weights",
    "class_weights",
    "from_folders",
    "inspect",
    "pair_files",
    "preprocessing_function",
    "with_boundary_weights",
    "with_sample_weights",
]
