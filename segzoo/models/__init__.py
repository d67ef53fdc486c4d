"""Architectures: decoders over the backbones' {stride: feature} dicts, and the model class."""

from segzoo.models import (  # noqa: F401  (registration)
    attention_unet,
    encoder_decoder,
    fpn,
    linknet,
    resunet,
    segformer,
    unet,
    unetplusplus,
)
from segzoo.models._spec import ArchitectureSpec
from segzoo.models.preprocessing import CONVENTIONS, Preprocessing, preprocess
from segzoo.models.segmentation_model import (
    SegmentationModel,
    build,
    get_architecture_spec,
    list_architectures,
)
from segzoo.models.sizes import MIN_PRETRAINED_SIZE, smallest_input_side, valid_input_size

__all__ = [
    "CONVENTIONS",
    "MIN_PRETRAINED_SIZE",
    "ArchitectureSpec",
    "Preprocessing",
    "SegmentationModel",
    "build",
    "get_architecture_spec",
    "list_architectures",
    "preprocess",
    "smallest_input_side",
    "valid_input_size",
]
