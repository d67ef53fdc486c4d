"""What every backbone family registers: how to build it and what it yields."""

import dataclasses
from typing import Callable

from segzoo._registry import Registry


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """A backbone: `build(input_shape, weights, max_stride, **options)` returns a
    `keras.Model` whose output is a dict {stride: feature map}.

    `preprocessing` names the input convention of the pretrained weights:
    "tf" (pixels scaled to [-1, 1]), "caffe" (BGR, ImageNet mean subtracted) or
    "none" (raw [0, 255] pixels; the model normalises them itself).
    """

    name: str
    build: Callable
    strides: tuple
    preprocessing: str
    pretrained: bool = True
    options: tuple = ()


BACKBONES = Registry("backbone")


def register_backbone(name, build, strides, preprocessing, **fields):
    """Registers BackboneSpec(name, build, strides, preprocessing, **fields) under `name`."""
    return BACKBONES.register(name, BackboneSpec(name, build, tuple(strides), preprocessing, **fields))
