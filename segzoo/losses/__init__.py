"""Losses for imbalanced segmentation. See docs/losses.md for which to pick."""

from segzoo.losses.base import SegmentationLoss
from segzoo.losses.combined import Combo
from segzoo.losses.lovasz import Lovasz
from segzoo.losses.pixel import BalancedCrossEntropy, CrossEntropy, Focal
from segzoo.losses.region import Dice, FocalTversky, GeneralizedDice, Jaccard, Tversky

__all__ = [
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
]
