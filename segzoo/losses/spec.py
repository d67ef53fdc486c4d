"""Losses from a short text: "dice+2*focal" -> Combo([Dice(), Focal()], [1.0, 2.0])."""

from segzoo._names import did_you_mean
from segzoo.errors import ConfigError, UnknownNameError
from segzoo.losses.combined import Combo
from segzoo.losses.lovasz import Lovasz
from segzoo.losses.pixel import BalancedCrossEntropy, CrossEntropy, Focal
from segzoo.losses.region import Dice, FocalTversky, GeneralizedDice, Jaccard, Tversky

# The names a spec may use, in the order `segzoo train --help` lists them.
LOSS_NAMES = {
    "dice": Dice,
    "jaccard": Jaccard,
    "tversky": Tversky,
    "focal_tversky": FocalTversky,
    "generalized_dice": GeneralizedDice,
    "lovasz": Lovasz,
    "ce": CrossEntropy,
    "cross_entropy": CrossEntropy,
    "balanced_ce": BalancedCrossEntropy,
    "focal": Focal,
}


def parse_spec(text):
    """'dice+2*focal' -> ((1.0, 'dice'), (2.0, 'focal')): '+'-joined names of LOSS_NAMES,
    each optionally weighted by 'W*'; case and '-' for '_' do not matter."""
    terms = []
    for part in text.lower().replace("-", "_").split("+"):
        weight, _, name = part.strip().rpartition("*")
        name = name.strip()
        if name not in LOSS_NAMES:
            hint = did_you_mean(name, LOSS_NAMES)
            raise UnknownNameError(f"unknown loss {name!r}.{hint} Available: {', '.join(sorted(LOSS_NAMES))}.")
        try:
            terms.append((float(weight) if weight.strip() else 1.0, name))
        except ValueError:
            raise ConfigError(f"bad weight {weight!r} in {text!r}; write e.g. dice+2*focal") from None
    return tuple(terms)


def from_spec(text, *, from_logits=False, ignore_index=None):
    """The loss `text` names (see parse_spec): one loss when it names one with weight 1,
    else a Combo of them with their weights. Every part gets from_logits and ignore_index."""
    terms = parse_spec(text)
    losses = [LOSS_NAMES[name](from_logits=from_logits, ignore_index=ignore_index) for _, name in terms]
    weights = [weight for weight, _ in terms]
    if len(losses) == 1 and weights[0] == 1.0:
        return losses[0]
    return Combo(losses, weights)
