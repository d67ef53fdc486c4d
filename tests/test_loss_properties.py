"""Property-based tests (hypothesis) for every loss in `segzoo.losses`.

For each loss and each mode it supports (multiclass softmax with sparse or one-hot
targets, binary sigmoid with one channel, multilabel), hypothesis draws small inputs
(batch 1-3, H and W 1-8, classes 2-5) together with the options: from_logits,
per_image, smooth, class_weights, class_indexes, ignore_index, per-pixel or per-image
sample weights, and each loss's own parameters. The properties:

1. the value lies in the range docs/losses.md gives (region losses in [0, 1], pixel
   losses >= 0, bounded by -log(1e-7) on probabilities because of the clipping);
2. it does not change when the pixels are permuted (the same permutation applied to
   y_true, y_pred and the sample weights): within each image for per_image=True, over
   the whole batch for pooled losses;
3. it is 0 for a perfect prediction;
4. its gradient with respect to y_pred is finite, also for absent classes, all-background
   targets, all-zero predictions, probabilities of exactly 0 and 1 and logits of 1e4;
5. predictions at pixels that count for nothing (ignore_index, sample weight 0) do not
   change it.

Everything is derandomized (the same examples on every run) and keeps no example database.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from segzoo import losses
from segzoo.errors import ConfigError


@pytest.fixture(autouse=True)
def _seed():
    """Overrides conftest's `_seed` for this module: these tests build no layers or models,
    and its keras.backend.clear_session() (a full gc.collect, 0.2-0.5 s) after each of the
    ~150 tests here would cost more than the tests themselves. The session is cleared once
    at the end of the module instead (`_clear_session_once`)."""
    keras.utils.set_random_seed(0)
    yield


@pytest.fixture(autouse=True, scope="module")
def _clear_session_once():
    yield
    keras.backend.clear_session()


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

IGNORE = 255
HUGE_LOGIT = 1e4  # docs/losses.md: "logits of +-1e4 are fine"
# Pixel losses clip probabilities at 1e-7, so on probabilities no pixel loses more than
# -log(1e-7) (about 16.12); a binary log(1 - p) is clipped at 1 - 1e-7, which is less.
MAX_NLL = -math.log(np.float32(1e-7))
# The Lovasz hinge on probabilities takes the logit of the clipped probability, at most
# log((1 - 1e-7) / 1e-7) (about 15.94), so a hinge error is at most 1 + that.
MAX_HINGE = 1.0 + math.log((1 - np.float32(1e-7)) / np.float32(1e-7))

# float32 tolerances, derived from the arithmetic (not from the output of one run): a host
# may round its kernels differently by an ulp or reduce a sum in another order or tree.
# U is float32's unit roundoff. A float32 sum of n non-negative terms, in whatever order,
# is within (n - 1) U / (1 - (n - 1) U) < n U of the exact sum, relative (Higham, "Accuracy
# and Stability of Numerical Algorithms", 2nd ed., section 4.2); every sum in these losses
# has non-negative terms (pixel losses, TP/FP/FN, class weights, Lovasz errors times
# Jaccard increments). A drawn batch has at most N_MAX pixels (shapes in `cases`).
U = 2.0**-24
N_MAX = 3 * 8 * 8
# 1. Range. Region ratios lie in [0, 1] exactly: rounding is monotone and each denominator
# adds non-negative terms to its numerator. What can pass a bound is a mean: a pixel loss
# is sum(w l) / sum(w), two sums of <= N_MAX terms, so its value is within 2 N_MAX U of
# the exact mean (<= the bound), relative; the class and image means (<= 5 + 3 terms) and
# Lovasz' cumulative sums stay inside that too. 2 * 192 * 2^-24 ~ 2.3e-5, relative to
# max(1, value). (The lower bound 0 is exact: no term is negative.)
RANGE_TOL = 2 * N_MAX * U
# 2. and 5. Reordering. Two orders of one sum of n terms differ by < 2 n U relative; a loss
# is at most a ratio of two such sums, GeneralizedDice with weights from a third
# (tp + fn): < 6 n U, plus < 2 (5 + 3) U from the class and image means of the two values,
# < 8 n U for n >= 2, relative to max(1, value) (a region loss 1 - r moves by as much as
# r <= 1 does). FocalTversky raises a per-class loss x to gamma < 1, and |a^g - b^g| <=
# |a - b|^g on [0, 1]: its bound is (8 n U) ** gamma (_order_tolerance).
ORDER_ULPS_PER_PIXEL = 8


def _order_tolerance(loss, pixels, value):
    """How far two summation orders of the same `pixels` may move the loss (see above)."""
    bound = ORDER_ULPS_PER_PIXEL * max(pixels, 2) * U
    tolerance = 0.0
    for weight, member in _members(loss):
        gamma = min(member.gamma, 1.0) if isinstance(member, losses.FocalTversky) else 1.0
        tolerance += abs(weight) * bound**gamma
    return tolerance * max(1.0, abs(value))


# A perfect prediction: region losses are exactly 0 in exact arithmetic (FP = FN = 0, so
# the ratio is (x + s) / (x + s) whatever the smoothing s); pixel losses on probabilities
# are not, because p is clipped to [1e-7, 1 - 1e-7]: a binary pixel loses
# -log(1 - 1e-7) ~ 1.2e-7 (float32: 1 - 1e-7 rounds to 1 - 1.19e-7). With logits of
# magnitude M the leaked probability is <= (C - 1) e^-M; M >= 50 makes it ~1e-21 (so
# FP / (FP + smooth) ~ 1e-16), and with smooth=0 M >= 120 makes softmax/sigmoid
# underflow to exactly 0 (see test_smooth_zero_needs_exact_zeros below). Hence 1e-6.
# Rounding can still leave a probability one ulp below 1 (1 - 2^-24: TensorFlow's softmax
# and sigmoid kernels differ between AVX2 and AVX-512 hosts), so 1 - T is a few 2^-24 ~ 6e-8
# instead of 0: within 1e-6 for every loss but FocalTversky, which raises it to gamma < 1:
# (6e-8)^0.75 ~ 4e-6 and (6e-8)^0.5 ~ 2.4e-4. Its bound is therefore ZERO_TOL ** gamma
# (_zero_tolerance), checked deterministically in test_one_ulp_from_perfect below.
# Rounding adds little and does not grow with the pixels: Dice, Jaccard and (Focal)Tversky
# put the same fl(TP) in numerator and denominator, so 1 - a / d <= the leak + 3 U;
# GeneralizedDice sums numerator and denominator over <= 5 classes separately, in any
# order within (2 * 5 + 3) U ~ 7.7e-7; pixel losses of a logit M >= 50 lose ~e^-50 each.
ZERO_TOL = 1e-6


# --- gradient helper -------------------------------------------------------------------


def value_and_gradient(loss_fn, y_pred):
    """(loss, d loss / d y_pred) as NumPy float32 arrays, one branch per Keras backend.

    The suite runs with TensorFlow; the JAX and PyTorch branches were checked by hand
    (KERAS_BACKEND=jax / torch) on the same losses.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(y_pred)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss_fn(x)
        gradient = tape.gradient(value, x)
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        value, gradient = jax.value_and_grad(loss_fn)(jnp.asarray(y_pred))
    elif backend == "torch":
        import torch

        x = torch.tensor(y_pred, requires_grad=True)
        value = loss_fn(x)
        value.backward()
        value, gradient = value.detach(), x.grad
    else:
        pytest.skip(f"value_and_gradient has no branch for the {backend} backend")
    assert gradient is not None, "the loss is not connected to y_pred"
    return keras.ops.convert_to_numpy(value), keras.ops.convert_to_numpy(gradient)


def evaluate(loss, y_true, y_pred, sample_weight=None):
    return float(keras.ops.convert_to_numpy(loss(y_true, y_pred, sample_weight)))


# --- the losses --------------------------------------------------------------------------


class Context(NamedTuple):
    mode: str  # "binary", "multiclass" or "multilabel"
    channels: int
    from_logits: bool
    per_image: bool
    ignore_index: object  # IGNORE or None
    purpose: str  # "any", "perfect" (no label smoothing), "gradient"


def _shared_options(draw, ctx):
    # mode=None resolves to the same mode for binary (1 channel) and multiclass (> 1).
    mode = ctx.mode if ctx.mode == "multilabel" else draw(st.sampled_from([ctx.mode, None]))
    return {"mode": mode, "from_logits": ctx.from_logits, "ignore_index": ctx.ignore_index}


def _class_weights(draw, count):
    weights = st.floats(0.0, 5.0, width=32, allow_subnormal=False)
    return draw(st.lists(weights, min_size=count, max_size=count).filter(any))


def _region_options(draw, ctx, smooth=True, class_weights=True):
    options = {**_shared_options(draw, ctx), "per_image": ctx.per_image}
    if smooth:
        options["smooth"] = draw(st.sampled_from([1e-5, 0.0, 1.0]))
    if class_weights and draw(st.booleans()):
        options["class_weights"] = _class_weights(draw, ctx.channels)
    if ctx.channels > 1 and draw(st.booleans()):
        indexes = st.lists(st.integers(0, ctx.channels - 1), min_size=1, max_size=ctx.channels, unique=True)
        options["class_indexes"] = sorted(draw(indexes))
    return options


def _pixel_options(draw, ctx, class_weights=True):
    options = _shared_options(draw, ctx)
    if class_weights and draw(st.booleans()):
        # Binary pixel losses take (background, foreground) weights.
        options["class_weights"] = _class_weights(draw, 2 if ctx.mode == "binary" else ctx.channels)
    return options


def _focal_parameters(draw, ctx):
    gammas = [0.0, 0.5, 1.0, 2.0, 3.0]
    gamma = draw(st.sampled_from(gammas))
    kind = draw(st.sampled_from(["none", "scalar", "per class"]))
    if kind == "none":
        return {"gamma": gamma}
    if kind == "scalar":
        return {"gamma": gamma, "alpha": draw(st.floats(0.0, 1.0, width=32))}
    # A sigmoid output weighs negatives by 1 - alpha_c: alpha_c must stay <= 1 there
    # (test_focal_sigmoid_alpha_above_one_is_refused).
    top = 2.0 if ctx.mode == "multiclass" else 1.0
    values = st.floats(0.0, top, width=32, allow_subnormal=False)
    return {"gamma": gamma, "alpha": draw(st.lists(values, min_size=ctx.channels, max_size=ctx.channels))}


def make_dice(draw, ctx):
    return losses.Dice(beta=draw(st.sampled_from([1.0, 0.5, 2.0])), **_region_options(draw, ctx))


def make_jaccard(draw, ctx):
    return losses.Jaccard(**_region_options(draw, ctx))


def make_tversky(draw, ctx):
    alpha, beta = draw(st.sampled_from([(0.5, 0.5), (0.3, 0.7), (0.7, 0.3), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0)]))
    return losses.Tversky(alpha=alpha, beta=beta, **_region_options(draw, ctx))


def make_focal_tversky(draw, ctx):
    alpha, beta = draw(st.sampled_from([(0.3, 0.7), (0.5, 0.5), (0.7, 0.3)]))
    gamma = draw(st.sampled_from([0.75, 0.5, 1.0, 2.0]))
    return losses.FocalTversky(alpha=alpha, beta=beta, gamma=gamma, **_region_options(draw, ctx))


def make_generalized_dice(draw, ctx):
    weighting = draw(st.sampled_from(["square", "simple", "uniform"]))
    return losses.GeneralizedDice(weighting=weighting, **_region_options(draw, ctx))


def make_lovasz(draw, ctx):
    return losses.Lovasz(**_region_options(draw, ctx, smooth=False))


def make_cross_entropy(draw, ctx):
    smoothing = 0.0 if ctx.purpose == "perfect" else draw(st.sampled_from([0.0, 0.1]))
    return losses.CrossEntropy(label_smoothing=smoothing, **_pixel_options(draw, ctx))


def make_balanced_cross_entropy(draw, ctx):
    beta = draw(st.sampled_from([None, 0.3, 0.9]))
    return losses.BalancedCrossEntropy(beta=beta, **_pixel_options(draw, ctx))


def make_focal(draw, ctx):
    return losses.Focal(**_focal_parameters(draw, ctx), **_pixel_options(draw, ctx))


def make_dice_plus_cross_entropy(draw, ctx):
    region = _region_options(draw, ctx, class_weights=False)
    return losses.Dice(**region) + losses.CrossEntropy(**_pixel_options(draw, ctx, class_weights=False))


def make_lovasz_plus_focal(draw, ctx):
    region = _region_options(draw, ctx, smooth=False, class_weights=False)
    pixel = _pixel_options(draw, ctx, class_weights=False)
    return 0.5 * losses.Lovasz(**region) + 2 * losses.Focal(gamma=2.0, **pixel)


@dataclass(frozen=True)
class Spec:
    name: str
    make: Callable
    modes: tuple
    per_image: bool  # takes per_image


ALL_MODES = ("multiclass", "binary", "multilabel")
SPECS = [
    Spec("Dice", make_dice, ALL_MODES, True),
    Spec("Jaccard", make_jaccard, ALL_MODES, True),
    Spec("Tversky", make_tversky, ALL_MODES, True),
    Spec("FocalTversky", make_focal_tversky, ALL_MODES, True),
    Spec("GeneralizedDice", make_generalized_dice, ALL_MODES, True),
    Spec("Lovasz", make_lovasz, ALL_MODES, True),
    Spec("CrossEntropy", make_cross_entropy, ALL_MODES, False),
    Spec("BalancedCrossEntropy", make_balanced_cross_entropy, ("binary",), False),
    Spec("Focal", make_focal, ALL_MODES, False),
    Spec("Dice+CrossEntropy", make_dice_plus_cross_entropy, ALL_MODES, True),
    Spec("0.5*Lovasz+2*Focal", make_lovasz_plus_focal, ALL_MODES, True),
]
SPEC_MODES = [pytest.param(spec, mode, id=f"{spec.name}-{mode}") for spec in SPECS for mode in spec.modes]


def test_every_loss_is_covered():
    public = {name for name in losses.__all__
              if isinstance(getattr(losses, name), type) and name not in ("SegmentationLoss", "Combo")}
    covered = {part.split("*")[-1] for spec in SPECS for part in spec.name.split("+")}
    assert public <= covered, public - covered


# --- inputs ----------------------------------------------------------------------------


@dataclass
class Case:
    loss: object
    ctx: Context
    y_true: np.ndarray  # as passed to the loss (sparse, sparse with a channel, one-hot or multi-hot)
    truth: np.ndarray  # (B, H, W, C) float 0/1, 0 where ignored
    valid: np.ndarray  # (B, H, W) bool: not ignored
    y_pred: np.ndarray  # (B, H, W, C) float32 probabilities or logits
    sample_weight: object  # None, (B, H, W) or (B,) float32

    def __repr__(self):  # what hypothesis prints for a counterexample
        return (
            f"Case(loss={describe(self.loss)}, ctx={self.ctx},\n y_true={self.y_true!r},\n "
            f"y_pred={self.y_pred!r},\n sample_weight={self.sample_weight!r})"
        )


def describe(loss):
    if isinstance(loss, losses.Combo):
        return " + ".join(f"{w} * {describe(member)}" for w, member in zip(loss.weights, loss.losses))
    options = {k: v for k, v in loss.get_config().items() if k != "name"}
    return f"{type(loss).__name__}({options})"


def _targets(draw, mode, shape, channels, ignore):
    """(y_true as passed, dense 0/1 truth, valid mask). The labels of each case come from a
    drawn subset of the classes, so absent classes and all-background targets are common."""
    if mode == "multilabel":
        on = draw(st.lists(st.integers(0, channels - 1), max_size=channels, unique=True))
        bits = draw(hnp.arrays(np.int32, shape + (channels,), elements=st.integers(0, 1)))
        y_true = bits * np.isin(np.arange(channels), on).astype(np.int32)
        return y_true.astype(np.float32), y_true.astype(np.float32), np.ones(shape, bool)
    count = 2 if mode == "binary" else channels
    allowed = draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=count, unique=True))
    labels = draw(hnp.arrays(np.int32, shape, elements=st.sampled_from(allowed)))
    valid = np.ones(shape, bool)
    if ignore:
        valid = ~draw(hnp.arrays(np.bool_, shape))
    truth = (labels[..., None] if mode == "binary" else np.eye(channels)[labels]) * valid[..., None]
    labels = np.where(valid, labels, IGNORE)
    layouts = ["sparse", "sparse with channel"] + (["one-hot"] if mode == "multiclass" and not ignore else [])
    layout = draw(st.sampled_from(layouts))
    if layout == "sparse with channel":
        return labels[..., None], truth.astype(np.float32), valid
    if layout == "one-hot":
        return truth.astype(np.float32), truth.astype(np.float32), valid
    return labels, truth.astype(np.float32), valid


def _perfect_prediction(truth, mode, from_logits, magnitude):
    if not from_logits:
        return truth.astype(np.float32)
    return (magnitude * (2.0 * truth - 1.0)).astype(np.float32)


def _predictions(draw, mode, truth, from_logits, kinds=("soft", "hard", "zeros", "perfect")):
    """Soft random values; hard ones (probabilities of exactly 0 and 1, logits of +-1e4);
    all-zero probabilities; or a perfect prediction. Hypothesis' float arrays also favour
    the bounds 0 and 1 in the soft ones."""
    shape = truth.shape
    kind = draw(st.sampled_from([k for k in kinds if not (k == "zeros" and from_logits)]))
    if kind == "perfect":
        return _perfect_prediction(truth, mode, from_logits, HUGE_LOGIT)
    if kind == "zeros":
        return np.zeros(shape, np.float32)
    if kind == "hard":
        if mode == "multiclass":
            hot = np.eye(shape[-1])[draw(hnp.arrays(np.int32, shape[:-1], elements=st.integers(0, shape[-1] - 1)))]
        else:
            hot = draw(hnp.arrays(np.int32, shape, elements=st.integers(0, 1)))
        return _perfect_prediction(hot, mode, from_logits, HUGE_LOGIT)
    if from_logits:
        elements = st.floats(-30.0, 30.0, width=32) | st.sampled_from([-HUGE_LOGIT, HUGE_LOGIT])
        return draw(hnp.arrays(np.float32, shape, elements=elements))
    raw = draw(hnp.arrays(np.float32, shape, elements=st.floats(0.0, 1.0, width=32)))
    if mode != "multiclass":
        return raw
    total = raw.sum(axis=-1, keepdims=True)  # rows of zeros stay all-zero predictions
    return np.where(total > 0, raw / np.where(total > 0, total, 1), 0).astype(np.float32)


def _sample_weight(draw, shape):
    kind = draw(st.sampled_from([None, "pixel", "image"]))
    weights = st.floats(0.0, 10.0, width=32, allow_subnormal=False)
    if kind == "pixel":
        return draw(hnp.arrays(np.float32, shape, elements=weights))
    if kind == "image":
        return draw(hnp.arrays(np.float32, shape[:1], elements=weights))
    return None


@st.composite
def cases(draw, spec, mode, purpose="any", pred_kinds=("soft", "hard", "zeros", "perfect")):
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 8)), draw(st.integers(1, 8)))
    channels = 1 if mode == "binary" else draw(st.integers(2, 5))
    ignore = mode != "multilabel" and draw(st.booleans())
    ctx = Context(
        mode=mode,
        channels=channels,
        from_logits=draw(st.booleans()),
        per_image=spec.per_image and draw(st.booleans()),
        ignore_index=IGNORE if ignore else None,
        purpose=purpose,
    )
    loss = spec.make(draw, ctx)
    y_true, truth, valid = _targets(draw, mode, shape, channels, ignore)
    y_pred = _predictions(draw, mode, truth, ctx.from_logits, pred_kinds)
    return Case(loss, ctx, y_true, truth, valid, y_pred, _sample_weight(draw, shape))


def _members(loss):
    """[(weight, loss)] of a Combo, [(1, loss)] otherwise."""
    if isinstance(loss, losses.Combo):
        return list(zip(loss.weights, loss.losses))
    return [(1.0, loss)]


def _upper_bound(loss, ctx):
    """The largest value docs/losses.md allows (inf where the loss is unbounded)."""
    if isinstance(loss, losses.Combo):
        return sum(w * _upper_bound(member, ctx) for w, member in _members(loss))
    if isinstance(loss, losses.Lovasz):
        if ctx.mode == "multiclass":
            return 1.0  # Lovasz softmax: errors in [0, 1], Jaccard increments sum to <= 1
        return math.inf if ctx.from_logits else MAX_HINGE
    if isinstance(loss, (losses.Dice, losses.Jaccard, losses.Tversky, losses.GeneralizedDice)):
        return 1.0
    if ctx.from_logits:
        return math.inf
    if isinstance(loss, losses.Focal) and loss.alpha is not None:
        alpha = np.atleast_1d(np.asarray(loss.alpha, np.float64))
        if ctx.mode != "multiclass":
            alpha = np.concatenate([alpha, 1.0 - alpha])
        return MAX_NLL * float(alpha.max())
    return MAX_NLL  # CrossEntropy (also label-smoothed), BalancedCrossEntropy, Focal


# --- permutations ----------------------------------------------------------------------


def _permute(array, order, within_image):
    """Reorder the H*W pixel positions of (B, H, W, ...) arrays: `order` is (B, H*W) when
    within_image, else a permutation of all B*H*W pixels."""
    if array is None or array.ndim == 1:  # no weights, or one weight per image
        return array
    b, h, w = array.shape[:3]
    if within_image:
        flat = array.reshape(b, h * w, -1)
        return flat[np.arange(b)[:, None], order].reshape(array.shape)
    return array.reshape(b * h * w, -1)[order].reshape(array.shape)


# --- 1. range ----------------------------------------------------------------------------


@pytest.mark.parametrize("spec, mode", SPEC_MODES)
@SETTINGS
@given(data=st.data())
def test_value_in_documented_range(spec, mode, data):
    case = data.draw(cases(spec, mode))
    value = evaluate(case.loss, case.y_true, case.y_pred, case.sample_weight)
    upper = _upper_bound(case.loss, case.ctx)
    assert np.isfinite(value)
    assert value >= -RANGE_TOL, value
    assert value <= upper + RANGE_TOL * max(1.0, abs(value)), (value, upper)
    if isinstance(case.loss, losses.Combo):  # a Combo is the weighted sum of its members
        # The members run the same kernels on the same inputs inside and outside the Combo;
        # only its float32 w1 a + w2 b rounds (< 3 U ~ 1.8e-7 relative, a and b >= 0).
        parts = sum(w * evaluate(m, case.y_true, case.y_pred, case.sample_weight) for w, m in _members(case.loss))
        assert value == pytest.approx(parts, rel=1e-6, abs=1e-6)


# --- 2. permutation invariance --------------------------------------------------------


@pytest.mark.parametrize("spec, mode", SPEC_MODES)
@SETTINGS
@given(data=st.data())
def test_invariant_under_pixel_permutations(spec, mode, data):
    case = data.draw(cases(spec, mode))
    b, h, w = case.valid.shape
    # Pooled losses see the batch as one bag of pixels; per-image losses and per-image
    # weights only allow a permutation inside each image (the same one or one per image).
    pooled = not case.ctx.per_image and (case.sample_weight is None or case.sample_weight.ndim > 1)
    how = data.draw(st.sampled_from(["shared", "per image"] + (["whole batch"] if pooled else [])))
    if how == "whole batch":
        order = np.asarray(data.draw(st.permutations(range(b * h * w))))
    elif how == "shared":
        order = np.tile(np.asarray(data.draw(st.permutations(range(h * w)))), (b, 1))
    else:
        order = np.stack([np.asarray(data.draw(st.permutations(range(h * w)))) for _ in range(b)])
    within = how != "whole batch"
    before = evaluate(case.loss, case.y_true, case.y_pred, case.sample_weight)
    after = evaluate(
        case.loss,
        _permute(case.y_true, order, within),
        _permute(case.y_pred, order, within),
        _permute(case.sample_weight, order, within),
    )
    assert abs(after - before) <= _order_tolerance(case.loss, b * h * w, before), (before, after)


# --- 3. a perfect prediction scores 0 ---------------------------------------------------


@pytest.mark.parametrize("spec, mode", SPEC_MODES)
@SETTINGS
@given(data=st.data())
def test_perfect_prediction_scores_zero(spec, mode, data):
    # Ignored pixels keep an arbitrary prediction: they must not matter.
    case = data.draw(cases(spec, mode, purpose="perfect", pred_kinds=("soft", "hard")))
    magnitude = data.draw(st.floats(50.0, HUGE_LOGIT))
    smooth_zero = any(getattr(m, "smooth", None) == 0.0 and not isinstance(m, losses.Lovasz)
                      for _, m in _members(case.loss))
    if smooth_zero:
        magnitude = max(magnitude, 120.0)  # exp(-120) underflows to 0 in float32
    perfect = _perfect_prediction(case.truth, mode, case.ctx.from_logits, magnitude)
    y_pred = np.where(case.valid[..., None], perfect, case.y_pred)
    value = evaluate(case.loss, case.y_true, y_pred, case.sample_weight)
    assert abs(value) <= _zero_tolerance(case.loss), value


def _zero_tolerance(loss):
    """How far from 0 float32 rounding may leave a perfect prediction's loss (see ZERO_TOL):
    a mean over classes of x ** gamma with every x <= ZERO_TOL is at most ZERO_TOL ** gamma."""
    tolerance = 0.0
    for weight, member in _members(loss):
        gamma = min(member.gamma, 1.0) if isinstance(member, losses.FocalTversky) else 1.0
        tolerance += abs(weight) * ZERO_TOL**gamma
    return tolerance


@pytest.mark.parametrize("loss", [
    losses.Dice(), losses.Jaccard(), losses.Tversky(alpha=0.3, beta=0.7), losses.GeneralizedDice(),
    losses.FocalTversky(gamma=0.5), losses.FocalTversky(gamma=0.75), losses.FocalTversky(gamma=2.0),
], ids=lambda loss: f"{type(loss).__name__}-{getattr(loss, 'gamma', '')}")
def test_one_ulp_from_perfect(loss):
    # The prediction a host whose kernels round differently may return for logits of +-50:
    # the true class at 1 - 2^-24 (the float32 just below 1), the rest 2^-24.
    labels = np.array([[[0, 1, 1, 0], [1, 0, 0, 1]]])
    below_one = np.nextafter(np.float32(1.0), np.float32(0.0))
    hot = np.eye(2, dtype=np.float32)[labels]
    y_pred = np.where(hot == 1.0, below_one, np.float32(1.0) - below_one).astype(np.float32)
    value = evaluate(loss, labels, y_pred)
    assert 0.0 <= value <= _zero_tolerance(loss), value
    if isinstance(loss, losses.FocalTversky) and loss.gamma < 1.0:
        assert value > ZERO_TOL, value  # so ZERO_TOL alone would be the wrong bound here


# --- 4. finite gradients -----------------------------------------------------------------


@pytest.mark.parametrize("spec, mode", SPEC_MODES)
@SETTINGS
@given(data=st.data())
def test_gradients_are_finite(spec, mode, data):
    case = data.draw(cases(spec, mode, purpose="gradient"))
    value, gradient = value_and_gradient(
        lambda y_pred: case.loss(case.y_true, y_pred, case.sample_weight), case.y_pred
    )
    assert np.isfinite(value), value
    assert gradient.shape == case.y_pred.shape
    assert np.all(np.isfinite(gradient)), gradient


# --- 5. pixels that count for nothing ---------------------------------------------------


@pytest.mark.parametrize("spec, mode", SPEC_MODES)
@SETTINGS
@given(data=st.data())
def test_ignored_and_zero_weight_pixels_do_not_matter(spec, mode, data):
    case = data.draw(cases(spec, mode))
    counted = case.valid.copy()
    if case.sample_weight is not None:
        weight = case.sample_weight
        counted &= (weight if weight.ndim > 1 else weight[:, None, None] * np.ones_like(counted)) != 0
    other = _predictions(data.draw, mode, case.truth, case.ctx.from_logits)
    changed = np.where(counted[..., None], case.y_pred, other)
    before = evaluate(case.loss, case.y_true, case.y_pred, case.sample_weight)
    after = evaluate(case.loss, case.y_true, changed, case.sample_weight)
    # Zero-weight pixels add exact zeros; what changes is at most the order of the sums
    # (Lovasz sorts every pixel by its error).
    tolerance = _order_tolerance(case.loss, case.valid.size, before)
    assert abs(after - before) <= tolerance, (before, after)


# --- counterexamples hypothesis found, pinned ----------------------------------------------


def test_class_indexes_selecting_only_zero_weight_classes_is_zero_not_nan():
    # Found by test_perfect_prediction_scores_zero[Tversky-multiclass]: 0 / 0 in
    # RegionLoss.combine gave NaN. Now 0 ("nothing to learn from"), as Lovasz,
    # GeneralizedDice and the pixel losses already did.
    labels = np.array([[[0]]])
    probs = np.array([[[[1.0, 0.0]]]], "float32")
    for cls in (losses.Dice, losses.Jaccard, losses.Tversky, losses.FocalTversky, losses.GeneralizedDice, losses.Lovasz):
        assert evaluate(cls(class_weights=[1, 0], class_indexes=[1]), labels, probs) == 0.0, cls.__name__


@pytest.mark.parametrize("gamma", [0.0, 0.5])
@pytest.mark.parametrize("mode, labels, y_pred, from_logits", [
    ("multiclass", [[[0]]], [[[[1.0, 0.0]]]], False),
    ("multiclass", [[[0]]], [[[[30.0, -30.0]]]], True),
    ("binary", [[[0]]], [[[[-1e4]]]], True),
])
def test_focal_gradient_with_gamma_below_one_at_a_certain_pixel(gamma, mode, labels, y_pred, from_logits):
    # Found by test_gradients_are_finite[Focal-*] when gamma in {0, 0.5} was drawn: x ** gamma
    # has an infinite slope at 0, times log p_t = 0 gave NaN.
    loss = losses.Focal(gamma=gamma, mode=mode, from_logits=from_logits)
    labels = np.array(labels)
    _, gradient = value_and_gradient(lambda y: loss(labels, y), np.array(y_pred, "float32"))
    assert np.all(np.isfinite(gradient)), gradient


@pytest.mark.parametrize("mode, channels", [("binary", 1), ("multilabel", 2)])
def test_focal_sigmoid_alpha_above_one_is_refused(mode, channels):
    # Found by test_value_in_documented_range[Focal-multilabel] with alpha drawn from
    # [0, 2] for every mode: a sigmoid output weighs its negatives by 1 - alpha_c, so
    # alpha_c > 1 gave a negative loss. It is refused now; multiclass still accepts it.
    loss = losses.Focal(gamma=2.0, alpha=[1.5] * channels, mode=mode, from_logits=True)
    y_true = np.zeros((1, 1, 1) + ((channels,) if mode == "multilabel" else ()), "float32")
    with pytest.raises(ConfigError, match="negatives by 1 - alpha"):
        evaluate(loss, y_true, np.zeros((1, 1, 1, channels), "float32"))
    multiclass = losses.Focal(alpha=[1.5, 0.5])
    assert evaluate(multiclass, np.zeros((1, 1, 1), int), np.full((1, 1, 1, 2), 0.5, "float32")) > 0


@pytest.mark.parametrize("magnitude, expected", [(20.0, 2 / 3), (50.0, 2 / 3), (120.0, 0.0)])
def test_smooth_zero_needs_exact_zeros(magnitude, expected):
    # Not a bug, the documented rule ("0/0 is a perfect score"; "with false positives its
    # loss approaches 1"): with smooth=0 an absent class scores 0 only if nothing at all is
    # predicted for it, and softmax(logits) is exactly 0 only once exp(-M) underflows
    # (M >~ 104 in float32). So a "perfect" logit prediction of moderate magnitude loses 1
    # per absent class (here 2 of 3), which is why test_perfect_prediction_scores_zero
    # uses M >= 120 with smooth=0. With the default smooth=1e-5 the loss is small but not
    # negligible for M = 20 (~0.009 here): FP / (FP + smooth) with FP ~ N e^-M, here
    # 2/3 * 64 e^-20 / (64 e^-20 + 1e-5) = 2/3 * 1.319e-7 / 1.0132e-5 = 0.00868 (an ulp of
    # difference in exp moves it by ~1e-9); 2/3 at M = 20 and 50 is off by 2 e^-M, < 1e-8.
    labels = np.zeros((1, 8, 8), int)
    logits = np.zeros((1, 8, 8, 3), "float32")
    logits[..., 0] = magnitude
    assert evaluate(losses.Dice(smooth=0.0, from_logits=True), labels, logits) == pytest.approx(expected, abs=1e-6)
    assert evaluate(losses.Dice(from_logits=True), labels, logits) < 0.01
