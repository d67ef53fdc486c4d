"""Losses for imbalanced segmentation. See docs/losses.md for which to pick."""

from segzoo.losses.base import SegmentationLoss
from segzoo.losses.combined import Combo
from segzoo.losses.lovasz import Lovasz
from segzoo.losses.pixel import BalancedCrossEntropy, CrossEntropy, Focal
from segzoo.losses.region import Dice, FocalTversky, GeneralizedDice, Jaccard, Tversky
from segzoo.losses.spec import LOSS_NAMES, from_spec, parse_spec

__all__ = [
    "LOSS_NAMES",
    "BalancedCrossEntropy",
    "Combo",
    "CrossEntropy",
    "Dice",
    "Focal",
    "FocalTversky",
    "GeneralizedDice",
    "Jaccard",
    "Lovasz",
    "SegmentationLoss",
    "Tversky",
    "from_spec",
    "parse_spec",
]
