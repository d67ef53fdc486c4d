"""segzoo.losses.from_spec: the "dice+2*focal" text of `segzoo train --loss`."""

import pytest

from segzoo import losses
from segzoo.errors import ConfigError, UnknownNameError


@pytest.mark.parametrize("text, classes, weights", [
    ("dice+2*focal", [losses.Dice, losses.Focal], [1.0, 2.0]),
    ("Cross-Entropy + 0.5*lovasz", [losses.CrossEntropy, losses.Lovasz], [1.0, 0.5]),
    ("2*dice", [losses.Dice], [2.0]),
    ("ce+balanced_ce+focal_tversky", [losses.CrossEntropy, losses.BalancedCrossEntropy, losses.FocalTversky],
     [1.0, 1.0, 1.0]),
])
def test_from_spec_builds_a_combo_with_the_weights(text, classes, weights):
    loss = losses.from_spec(text, from_logits=True, ignore_index=255)
    assert type(loss) is losses.Combo and loss.weights == weights
    assert [type(part) for part in loss.losses] == classes
    assert all(part.from_logits and part.ignore_index == 255 for part in loss.losses)


def test_one_name_with_weight_one_is_the_loss_itself():
    loss = losses.from_spec("generalized_dice")
    assert type(loss) is losses.GeneralizedDice and not loss.from_logits and loss.ignore_index is None
    assert losses.parse_spec("jaccard + 3*tversky") == ((1.0, "jaccard"), (3.0, "tversky"))


def test_unknown_name_and_bad_weight_say_what_to_write():
    with pytest.raises(UnknownNameError) as unknown:
        losses.from_spec("dcie+ce")
    assert str(unknown.value) == (
        "unknown loss 'dcie'. Did you mean 'dice' or 'ce'? Available: " + ", ".join(sorted(losses.LOSS_NAMES)) + ".")
    with pytest.raises(ConfigError, match=r"^bad weight 'x' in 'x\*dice'; write e.g. dice\+2\*focal$"):
        losses.from_spec("x*dice")
