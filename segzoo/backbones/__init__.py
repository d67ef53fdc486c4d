"""Backbones: each yields a dict {stride: feature map} that every decoder consumes."""

from segzoo.backbones import efficientnet, mobilenet, plain, resnet  # noqa: F401  (registration)
from segzoo.backbones._spec import BACKBONES, BackboneSpec


def get_backbone_spec(name):
    return BACKBONES.get(name)


def list_backbones():
    return BACKBONES.names()


__all__ = ["BackboneSpec", "get_backbone_spec", "list_backbones"]
