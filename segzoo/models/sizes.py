"""Which input sizes a model takes: the one place the rule lives."""

import math

from segzoo.backbones import get_backbone_spec

MIN_PRETRAINED_SIZE = 32  # keras.applications refuse smaller inputs


def smallest_input_side(depth, backbone):
    """The smallest side a model of this depth and backbone takes: 2**depth, and at least
    MIN_PRETRAINED_SIZE for a pretrained (keras.applications) backbone."""
    multiple = 2**depth
    return max(multiple, MIN_PRETRAINED_SIZE) if get_backbone_spec(backbone).pretrained else multiple


def valid_input_size(size, depth, backbone):
    """The nearest size at or above `size` (a tuple of sides) the model takes: each side
    rounded up to a multiple of 2**depth, and at least smallest_input_side(depth, backbone).

    valid_input_size((45, 70), depth=3, backbone="none") == (48, 72)
    """
    multiple = 2**depth
    smallest = smallest_input_side(depth, backbone)
    return tuple(max(smallest, math.ceil(side / multiple) * multiple) for side in size)
