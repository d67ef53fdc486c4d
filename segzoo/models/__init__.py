"""Architectures: decoders over the backbones' {stride: feature} dicts, and the model class."""

from segzoo.models import encoder_decoder, resunet, unet  # noqa: F401  (registration)
from segzoo.models.segmentation_model import SegmentationModel, build, list_architectures

__all__ = ["SegmentationModel", "build", "list_architectures"]
