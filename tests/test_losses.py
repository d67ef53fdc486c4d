"""Losses: hand-checkable tables, a NumPy re-implementation on random inputs, options,
absent classes, stability, and serialization."""

import keras
import numpy as np
import pytest
import reference_losses as ref
import tensorflow as tf
from conftest import run_python

from segzoo import losses
from segzoo.errors import ConfigError

# One 2x2 image, classes [[0, 1], [2, 2]]; every pixel gives its true class 2/3 and the
# others 1/6. Per class: class 0 and 1: TP 2/3, FP 1/2, FN 1/3; class 2: TP 4/3, FP 1/3, FN 2/3.
LABELS = np.array([[[0, 1], [2, 2]]])
PROBS = (0.5 * np.eye(3)[LABELS] + 0.5 / 3).astype("float32")


def value(loss, y_true, y_pred, sample_weight=None):
    return float(keras.ops.convert_to_numpy(loss(y_true, y_pred, sample_weight)))


TABLE = [
    (losses.Dice(smooth=0), 1 - (8 / 13 + 8 / 13 + 8 / 11) / 3),
    (losses.Jaccard(smooth=0), 1 - (4 / 9 + 4 / 9 + 4 / 7) / 3),
    # Tversky(0.5, 0.5) is Dice.
    (losses.Tversky(alpha=0.5, beta=0.5, smooth=0), 1 - (8 / 13 + 8 / 13 + 8 / 11) / 3),
    # Tversky(1, 1) is Jaccard.
    (losses.Tversky(alpha=1, beta=1, smooth=0), 1 - (4 / 9 + 4 / 9 + 4 / 7) / 3),
    # class 0: (2/3) / (2/3 + 0.3 * 1/2 + 0.7 * 1/3) = 40/63; class 2: (4/3)/(4/3 + 0.1 + 14/30) = 40/57
    (losses.Tversky(alpha=0.3, beta=0.7, smooth=0), 1 - (40 / 63 + 40 / 63 + 40 / 57) / 3),
    (losses.FocalTversky(alpha=0.3, beta=0.7, gamma=0.5, smooth=0),
     ((23 / 63) ** 0.5 * 2 + (17 / 57) ** 0.5) / 3),
    # Class weights: sum(w_c L_c) / sum(w_c).
    (losses.Dice(smooth=0, class_weights=[1, 0, 3]), ((1 - 8 / 13) + 3 * (1 - 8 / 11)) / 4),
    (losses.Dice(smooth=0, class_indexes=[2]), 1 - 8 / 11),
    # F2: (5 TP) / (5 TP + 4 FN + FP); class 0: (10/3) / (10/3 + 4/3 + 1/2) = 20/31; class 2: (20/3)/(20/3 + 8/3 + 1/3) = 20/29
    (losses.Dice(beta=2, smooth=0), 1 - (20 / 31 + 20 / 31 + 20 / 29) / 3),
    # Generalized dice, uniform weights: 1 - 2 sum TP / sum (2TP + FP + FN) = 1 - (16/3) / (16/3 + 4/3 + 4/3)
    (losses.GeneralizedDice(weighting="uniform", smooth=0), 1 - 2 / 3),
    # "simple": w = 1, 1, 1/2: num = 2 (2/3 + 2/3 + 2/3) = 4; den = 13/6 + 13/6 + 11/3 * 1/2 = 37/6
    (losses.GeneralizedDice(weighting="simple", smooth=0), 1 - 24 / 37),
    # "square": w = 1, 1, 1/4: num = 2 (4/3 + 1/3) = 10/3; den = 13/3 + 11/12 = 63/12
    (losses.GeneralizedDice(weighting="square", smooth=0), 1 - (10 / 3) / (63 / 12)),
    (losses.CrossEntropy(), -np.log(2 / 3)),
    (losses.CrossEntropy(label_smoothing=0.3), -(0.8 * np.log(2 / 3) + 0.2 * np.log(1 / 6))),
    (losses.Focal(gamma=2), -((1 / 3) ** 2) * np.log(2 / 3)),
    (losses.Focal(gamma=0), -np.log(2 / 3)),
    (losses.Focal(gamma=1, alpha=[0.25, 0.5, 1.0]), -(1 / 3) * np.log(2 / 3) * (0.25 + 0.5 + 2) / 4),
    (losses.Dice(smooth=0) + 2 * losses.Focal(gamma=2),
     1 - (8 / 13 + 8 / 13 + 8 / 11) / 3 - 2 * (1 / 3) ** 2 * np.log(2 / 3)),
]


@pytest.mark.parametrize("loss, expected", TABLE, ids=[f"{i}-{type(c[0]).__name__}" for i, c in enumerate(TABLE)])
def test_hand_computed_values(loss, expected):
    assert value(loss, LABELS, PROBS) == pytest.approx(expected, abs=1e-6)


# Class-weighted CE on pixels whose losses differ (in TABLE every pixel has -log(2/3), so
# any weighting would give the same value). Classes [[0, 1], [2, 2]], the true class gets
# 0.5, 0.25, 0.8, 0.4 and the others share the rest; class_weights [1, 0.5, 2].
WEIGHTED_CE_PROBS = np.array([[[[0.5, 0.25, 0.25], [0.375, 0.25, 0.375]],
                               [[0.1, 0.1, 0.8], [0.3, 0.3, 0.4]]]], "float32")


def test_class_weighted_cross_entropy_is_the_weighted_mean_over_pixels():
    # Pixel losses -log p: 0.693147, 1.386294, 0.223144, 0.916291; pixel weights 1, 0.5, 2, 2.
    # sum(w l) / sum(w) = (0.693147 + 0.693147 + 0.446287 + 1.832581) / 5.5 = 3.665162 / 5.5
    expected = 3.665162 / 5.5  # 0.666393
    assert expected == pytest.approx(
        (-np.log(0.5) - 0.5 * np.log(0.25) - 2 * np.log(0.8) - 2 * np.log(0.4)) / 5.5, abs=1e-6)
    got = value(losses.CrossEntropy(class_weights=[1, 0.5, 2]), LABELS, WEIGHTED_CE_PROBS)
    assert got == pytest.approx(expected, abs=1e-6)
    # Wrong weightings land far outside that tolerance: the unweighted mean 3.218876 / 4,
    # sum(w l) over the pixel count 3.665162 / 4, the class-weighted mean of class means.
    for wrong in (3.218876 / 4, 3.665162 / 4, (0.693147 + 0.5 * 1.386294 + 2 * (0.223144 + 0.916291) / 2) / 3.5):
        assert abs(wrong - expected) > 0.05


# Binary: truth [1, 0, 0, 1], p [0.8, 0.2, 0.6, 0.4]: TP 1.2, FP 0.8, FN 0.8.
BINARY_TRUTH = np.array([[[1, 0], [0, 1]]])
BINARY_PROBS = np.array([[[[0.8], [0.2]], [[0.6], [0.4]]]], "float32")


@pytest.mark.parametrize(
    "loss, expected",
    [
        (losses.Dice(smooth=0), 1 - 2.4 / 4.0),
        (losses.Jaccard(smooth=0), 1 - 1.2 / 2.8),
        (losses.CrossEntropy(), -(2 * np.log(0.8) + 2 * np.log(0.4)) / 4),
        (losses.CrossEntropy(class_weights=[1, 3]),
         -(3 * np.log(0.8) + np.log(0.8) + np.log(0.4) + 3 * np.log(0.4)) / 8),
        (losses.BalancedCrossEntropy(beta=0.75),
         -(0.75 * (np.log(0.8) + np.log(0.4)) + 0.25 * (np.log(0.8) + np.log(0.4))) / 4),
        (losses.Focal(gamma=2, alpha=0.25),
         -(0.25 * 0.04 * np.log(0.8) + 0.75 * 0.04 * np.log(0.8) + 0.75 * 0.36 * np.log(0.4)
           + 0.25 * 0.36 * np.log(0.4)) / 4),
    ],
)
def test_binary_hand_computed_values(loss, expected):
    assert value(loss, BINARY_TRUTH, BINARY_PROBS) == pytest.approx(expected, abs=1e-6)
    assert value(loss, BINARY_TRUTH[..., None], BINARY_PROBS) == pytest.approx(expected, abs=1e-6)


def _random_case(rng, shape=(3, 6, 5), classes=4):
    labels = rng.integers(0, classes, size=shape)
    logits = rng.normal(size=(*shape, classes)) * 2
    weight = rng.uniform(0, 2, size=shape)
    return labels, logits.astype("float32"), weight.astype("float32")


REGION_REFERENCES = [
    (losses.Dice, ref.dice_loss, {}),
    (losses.Dice, lambda t, p, w, **k: ref.dice_loss(t, p, w, beta=0.5, **k), {"beta": 0.5}),
    (losses.Jaccard, ref.jaccard_loss, {}),
    (losses.Tversky, lambda t, p, w, **k: ref.tversky_loss(t, p, w, 0.2, 0.8, **k), {"alpha": 0.2, "beta": 0.8}),
    (losses.FocalTversky, lambda t, p, w, **k: ref.tversky_loss(t, p, w, 0.3, 0.7, gamma=0.75, **k), {}),
]


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("cls, reference, options", REGION_REFERENCES)
def test_region_losses_match_numpy(cls, reference, options, per_image, rng):
    labels, logits, weight = _random_case(rng)
    kwargs = {"per_image": per_image, "smooth": 0.5, "class_weights": [1.0, 2.0, 0.5, 0.0]}
    loss = cls(from_logits=True, **options, **kwargs)
    expected = reference(ref.one_hot(labels, 4), ref.softmax(logits.astype(float)), weight[..., None], **kwargs)
    assert value(loss, labels, logits, weight) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("weighting", ["square", "simple", "uniform"])
def test_generalized_dice_matches_numpy(weighting, per_image, rng):
    labels, logits, weight = _random_case(rng)
    labels[0][labels[0] == 3] = 0  # class 3 absent from image 0
    loss = losses.GeneralizedDice(weighting=weighting, per_image=per_image, from_logits=True, smooth=1e-5)
    expected = ref.generalized_dice_loss(ref.one_hot(labels, 4), ref.softmax(logits.astype(float)),
                                         weight[..., None], weighting, per_image, smooth=1e-5)
    assert value(loss, labels, logits, weight) == pytest.approx(expected, rel=1e-5)


def test_pixel_losses_match_numpy(rng):
    labels, logits, weight = _random_case(rng)
    probs = ref.softmax(logits.astype(float))
    ce = losses.CrossEntropy(from_logits=True, class_weights=[1, 2, 0.5, 3], label_smoothing=0.1)
    assert value(ce, labels, logits, weight) == pytest.approx(
        ref.cross_entropy(labels, probs, weight, [1, 2, 0.5, 3], 0.1), rel=1e-5)
    focal = losses.Focal(gamma=1.5, alpha=[0.1, 0.2, 0.3, 0.4], from_logits=True)
    assert value(focal, labels, logits, weight) == pytest.approx(
        ref.focal(labels, probs, weight, 1.5, [0.1, 0.2, 0.3, 0.4]), rel=1e-5)


def test_binary_pixel_losses_match_numpy(rng):
    truth = rng.integers(0, 2, size=(2, 8, 8))
    logits = rng.normal(size=(2, 8, 8, 1)).astype("float32") * 3
    weight = rng.uniform(0, 2, size=(2, 8, 8)).astype("float32")
    prob = 1 / (1 + np.exp(-logits[..., 0].astype(float)))
    bce = losses.CrossEntropy(from_logits=True, class_weights=[0.5, 4.0])
    assert value(bce, truth, logits, weight) == pytest.approx(
        ref.binary_cross_entropy(truth, prob, weight, pos_weight=4.0, neg_weight=0.5), rel=1e-5)
    negatives = np.sum(weight * (1 - truth)) / np.sum(weight)
    balanced = losses.BalancedCrossEntropy(from_logits=True)
    assert value(balanced, truth, logits, weight) == pytest.approx(
        ref.balanced_cross_entropy(truth, prob, weight, negatives), rel=1e-5)


ALL_LOSSES = [
    losses.Dice(), losses.Jaccard(), losses.Tversky(), losses.FocalTversky(), losses.GeneralizedDice(),
    losses.CrossEntropy(), losses.Focal(), losses.Lovasz(),
    losses.Dice(per_image=True) + losses.CrossEntropy(),
]
MULTICLASS_IDS = [type(loss).__name__ for loss in ALL_LOSSES]


@pytest.mark.parametrize("loss", ALL_LOSSES[:-1], ids=MULTICLASS_IDS[:-1])
def test_ignored_pixels_count_for_nothing(loss, rng):
    labels, logits, _ = _random_case(rng)
    ignored = labels.copy()
    ignored[:, :2] = 255
    config = {**loss.get_config(), "from_logits": True}
    with_ignore = type(loss).from_config({**config, "ignore_index": 255})
    zero_weight = np.ones(labels.shape, "float32")
    zero_weight[:, :2] = 0
    plain = type(loss).from_config(config)
    assert value(with_ignore, ignored, logits) == pytest.approx(value(plain, labels, logits, zero_weight), rel=1e-6)


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=MULTICLASS_IDS)
def test_weight_two_counts_a_pixel_twice(loss, rng):
    labels, logits, _ = _random_case(rng, shape=(1, 4, 4))
    probs = ref.softmax(logits.astype(float)).astype("float32")
    weight = np.ones(labels.shape, "float32")
    weight[0, 0, 0] = 2.0
    # The same image with pixel (0, 0) repeated once more (as an extra column).
    extra_labels = np.concatenate([labels, np.zeros((1, 4, 1), int)], axis=2)
    extra_labels[0, :, 4] = labels[0, 0, 0]
    extra_probs = np.concatenate([probs, np.repeat(probs[:, :1, :1], 4, axis=1)], axis=2)
    extra_weight = np.zeros((1, 4, 5), "float32")
    extra_weight[..., :4] = 1
    extra_weight[0, 0, 4] = 1
    assert value(loss, labels, probs, weight) == pytest.approx(
        value(loss, extra_labels, extra_probs, extra_weight), rel=1e-5)


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=MULTICLASS_IDS)
def test_volumes_work_like_images(loss, rng):
    labels, logits, weight = _random_case(rng, shape=(2, 3, 4, 5))
    probs = ref.softmax(logits.astype(float)).astype("float32")
    as_image = value(loss, labels.reshape(2, 12, 5), probs.reshape(2, 12, 5, 4), weight.reshape(2, 12, 5))
    assert value(loss, labels, probs, weight) == pytest.approx(as_image, rel=1e-6)


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=MULTICLASS_IDS)
def test_one_hot_and_sparse_targets_agree(loss, rng):
    labels, logits, _ = _random_case(rng)
    probs = ref.softmax(logits.astype(float)).astype("float32")
    sparse = value(loss, labels, probs)
    assert value(loss, labels[..., None], probs) == pytest.approx(sparse, rel=1e-6)
    assert value(loss, ref.one_hot(labels, 4).astype("float32"), probs) == pytest.approx(sparse, rel=1e-6)


def test_per_image_averages_images(rng):
    # Image 0 perfect, image 1 all wrong: per image 0 and 1 -> 0.5.
    labels = np.array([[[0, 1]], [[0, 1]]])
    probs = np.array([[[[1, 0], [0, 1]]], [[[0, 1], [1, 0]]]], "float32")
    assert value(losses.Dice(per_image=True, smooth=0), labels, probs) == pytest.approx(0.5)
    assert value(losses.Dice(per_image=False, smooth=0), labels, probs) == pytest.approx(0.5)
    # With unequal images the two reductions differ: image 1 has 3 of 4 pixels right.
    labels = np.array([[[0, 1, 1, 1]], [[0, 1, 1, 1]]])
    probs = np.eye(2, dtype="float32")[np.array([[[0, 1, 1, 1]], [[1, 1, 1, 1]]])]
    per_image = value(losses.Jaccard(per_image=True, smooth=0), labels, probs)
    batch = value(losses.Jaccard(per_image=False, smooth=0), labels, probs)
    assert per_image == pytest.approx((0 + (1 - (0 + 3 / 4) / 2)) / 2)
    assert batch == pytest.approx(1 - (1 / 2 + 6 / 7) / 2)


# --- absent classes and numerical safety -------------------------------------------


def _value_and_gradient(loss, y_true, x, sample_weight=None, to_pred=None):
    """The loss and its gradient w.r.t. x; the loss sees to_pred(x) (x itself by default)."""
    x = tf.Variable(x)
    with tf.GradientTape() as tape:
        total = loss(y_true, x if to_pred is None else to_pred(x), sample_weight)
    return float(total), tape.gradient(total, x).numpy()


def _loss_and_gradient(loss, labels, logits, from_logits):
    activation = tf.nn.softmax if logits.shape[-1] > 1 else tf.sigmoid
    return _value_and_gradient(loss, labels, logits, to_pred=None if from_logits else activation)


def _family(from_logits, **options):
    return [
        losses.Dice(from_logits=from_logits, **options),
        losses.Jaccard(from_logits=from_logits, **options),
        losses.Tversky(from_logits=from_logits, **options),
        losses.FocalTversky(from_logits=from_logits, **options),
        losses.GeneralizedDice(from_logits=from_logits, **options),
        losses.Lovasz(from_logits=from_logits, **options),
        losses.CrossEntropy(from_logits=from_logits),
        losses.Focal(from_logits=from_logits),
    ]


@pytest.mark.parametrize("case", ["absent class", "all background", "all-zero predictions", "huge logits"])
@pytest.mark.parametrize("smooth", [0.0, 1e-5])
@pytest.mark.parametrize("per_image", [False, True])
def test_no_nan_or_inf(case, smooth, per_image, rng):
    labels = rng.integers(0, 3, size=(2, 8, 8))  # class 3 of 4 never appears
    logits = rng.normal(size=(2, 8, 8, 4)).astype("float32")
    from_logits = True
    if case == "all background":
        labels[:] = 0
    if case == "all-zero predictions":
        logits[:] = -1e4  # softmax of equal values; probabilities from probabilities below
        from_logits = False
    if case == "huge logits":
        logits = np.where(rng.random(logits.shape) > 0.5, 1e4, -1e4).astype("float32")
    for loss in _family(from_logits, per_image=per_image, smooth=smooth)[:6] + _family(from_logits)[6:]:
        total, gradient = _loss_and_gradient(loss, labels, logits, from_logits)
        assert np.isfinite(total) and np.all(np.isfinite(gradient)), (type(loss).__name__, total)


def test_generalized_dice_absent_class_gets_largest_finite_weight():
    # Class 2 absent: with "square" weights 1/4 (class 0, 2 pixels) and 1/4 (class 1),
    # class 2 gets 1/4 too, so its false positives count like the others.
    labels = np.array([[[0, 0, 1, 1]]])
    probs = np.array([[[[0.5, 0.5, 0], [1, 0, 0], [0, 0.5, 0.5], [0, 1, 0]]]], "float32")
    # TP = (1.5, 1.5, 0), FP = (0, 0.5, 0.5), FN = (0.5, 0.5, 0)
    expected = 1 - 2 * (1.5 + 1.5) / (2 * 1.5 + 0.5 + 2 * 1.5 + 1.0 + 0.5)
    assert value(losses.GeneralizedDice(smooth=0), labels, probs) == pytest.approx(expected)


@pytest.mark.parametrize("scale", [1e-30, 1e-20, 1e3])
@pytest.mark.parametrize("weighting", ["square", "simple"])
def test_generalized_dice_with_tiny_or_large_sample_weights_matches_float64(weighting, scale, rng):
    # 1 / support² of a support of 1e-30 overflows float32 (it gave NaN); float64 holds it.
    labels, logits, weight = _random_case(rng)
    weight = (weight * scale).astype("float32")
    loss = losses.GeneralizedDice(weighting=weighting, from_logits=True, smooth=1e-5)
    expected = ref.generalized_dice_loss(ref.one_hot(labels, 4), ref.softmax(logits.astype(float)),
                                         weight[..., None].astype(float), weighting, smooth=1e-5)
    assert value(loss, labels, logits, weight) == pytest.approx(expected, rel=1e-5)


def test_generalized_dice_with_every_class_absent_is_zero():
    labels = np.full((1, 2, 2), 255)
    probs = np.full((1, 2, 2, 3), 1 / 3, "float32")
    assert value(losses.GeneralizedDice(ignore_index=255), labels, probs) == 0.0
    assert value(losses.GeneralizedDice(ignore_index=255, smooth=0), labels, probs) == 0.0


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_predictions(policy, rng):
    labels, logits, _ = _random_case(rng)
    dtype = "float16" if policy == "mixed_float16" else "bfloat16"
    low = tf.cast(logits * 1e3, dtype)  # saturating logits in half precision
    keras.mixed_precision.set_global_policy(policy)
    try:
        for loss in _family(True) + _family(True, per_image=True)[:6]:
            total, gradient = _loss_and_gradient(loss, labels, low, True)
            assert np.isfinite(total) and np.all(np.isfinite(gradient.astype("float32"))), type(loss).__name__
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_perfect_prediction_scores_zero():
    probs = np.eye(3, dtype="float32")[LABELS]
    for loss in _family(False, smooth=1e-5):
        assert value(loss, LABELS, probs) == pytest.approx(0.0, abs=1e-5), type(loss).__name__


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: losses.Dice(class_weights=[1, -1, 1]), "non-negative"),
        (lambda: losses.Dice(class_weights=[0, 0]), "not all zero"),
        (lambda: losses.Dice(mode="softmax"), "mode must be one of"),
        (lambda: losses.Tversky(alpha=-1), "alpha and beta must be >= 0"),
        (lambda: losses.GeneralizedDice(weighting="log"), "weighting must be one of"),
        (lambda: losses.Focal(alpha=2.0), "scalar alpha must be in"),
        (lambda: losses.CrossEntropy(label_smoothing=1.0), "label_smoothing"),
        (lambda: losses.Dice(class_indexes=[0, 0]), "distinct"),
        (lambda: losses.BalancedCrossEntropy(mode="multiclass"), "binary only"),
    ],
)
def test_bad_options(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


@pytest.mark.parametrize(
    "loss, y_true, y_pred, message",
    [
        (losses.Dice(class_weights=[1, 2]), LABELS, PROBS, "class_weights has 2 values but the predictions have 3"),
        (losses.Dice(), np.zeros((1, 3, 3)), PROBS, r"y_true of shape \(1, 3, 3\) does not fit y_pred of shape \(1, 2, 2, 3\)"),
        (losses.Dice(), np.zeros((1, 2, 2, 2)), PROBS, "does not fit"),
        (losses.Dice(mode="binary"), LABELS, PROBS, "mode='binary' needs predictions with 1 channel"),
        (losses.Dice(mode="multilabel"), LABELS, PROBS, "multi-hot targets"),
        (losses.Dice(class_indexes=[5]), LABELS, PROBS, "name a class >= 3"),
        (losses.Dice(ignore_index=255), np.eye(3)[LABELS], PROBS, "ignore_index needs sparse integer labels"),
        (losses.BalancedCrossEntropy(), LABELS, PROBS, "needs a 1-channel"),
    ],
)
def test_bad_inputs(loss, y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        loss(y_true, y_pred)


def test_bad_sample_weight_shape():
    with pytest.raises(ValueError, match="sample_weight of shape"):
        losses.Dice()(LABELS, PROBS, np.ones((1, 3)))


# --- serialization -----------------------------------------------------------------

CONFIGURED = [
    losses.Dice(beta=2, class_weights=[1, 2, 3], per_image=True, smooth=0.1, from_logits=True),
    losses.Jaccard(class_indexes=[1, 2], ignore_index=255),
    losses.Tversky(alpha=0.2, beta=0.8),
    losses.FocalTversky(gamma=0.5),
    losses.GeneralizedDice(weighting="simple"),
    losses.CrossEntropy(label_smoothing=0.1, class_weights=[1, 1, 4]),
    losses.Focal(gamma=1.0, alpha=[0.2, 0.3, 0.5]),
    losses.Lovasz(per_image=True, exact=True),
    losses.Combo([losses.Dice(), losses.Focal()], weights=[1.0, 2.0]),
    losses.Jaccard(reduction="sum", name="summed_jaccard"),
]


@pytest.mark.parametrize("loss", CONFIGURED, ids=[type(loss).__name__ for loss in CONFIGURED])
def test_config_round_trip(loss):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(restored) is type(loss) and restored.get_config() == loss.get_config()
    y_pred = PROBS if not getattr(loss, "from_logits", False) else np.log(PROBS)
    assert value(restored, LABELS, y_pred) == pytest.approx(value(loss, LABELS, y_pred))


def test_balanced_cross_entropy_round_trip():
    loss = losses.BalancedCrossEntropy(beta=0.9)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert restored.get_config() == loss.get_config()


# --- Keras' reduction, name and dtype ---------------------------------------------------

REDUCED = [
    lambda **k: losses.Dice(**k), lambda **k: losses.Dice(per_image=True, **k),
    lambda **k: losses.Jaccard(class_weights=[1, 2, 0, 1], **k), lambda **k: losses.Tversky(alpha=0.3, beta=0.7, **k),
    lambda **k: losses.FocalTversky(**k), lambda **k: losses.GeneralizedDice(**k),
    lambda **k: losses.GeneralizedDice(per_image=True, weighting="simple", **k), lambda **k: losses.Lovasz(**k),
    lambda **k: losses.Lovasz(exact=True, **k), lambda **k: losses.CrossEntropy(label_smoothing=0.1, **k),
    lambda **k: losses.Focal(alpha=[0.2, 0.3, 0.5, 1.0], **k), lambda **k: losses.Dice(ignore_index=3, **k),
    lambda **k: losses.Combo([losses.Dice(), losses.CrossEntropy()], [1.0, 0.5], **k),
    lambda **k: losses.Combo([losses.Dice(), keras.losses.SparseCategoricalCrossentropy()], **k),
]


def _reduction_case(rng):
    labels, logits, weight = _random_case(rng)
    labels[1][labels[1] == 2] = 0  # a class absent from one image
    return labels, keras.ops.convert_to_numpy(keras.ops.softmax(logits)), weight


@pytest.mark.parametrize("make", REDUCED, ids=lambda make: type(make()).__name__)
@pytest.mark.parametrize("weighted", [False, True])
def test_reduction_none_is_each_image_alone(make, weighted, rng):
    labels, probs, weight = _reduction_case(rng)
    weight = weight if weighted else None
    got = keras.ops.convert_to_numpy(make(reduction="none")(labels, probs, weight))
    alone = [value(make(), labels[i:i + 1], probs[i:i + 1], None if weight is None else weight[i:i + 1])
             for i in range(len(labels))]
    assert got.shape == (len(labels),)
    np.testing.assert_allclose(got, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", REDUCED, ids=lambda make: type(make()).__name__)
def test_reduction_sum_is_the_batch_size_times_the_default(make, rng):
    # Keras: "sum_over_batch_size" (the default) is the sum over the batch's samples / batch size.
    labels, probs, weight = _reduction_case(rng)
    default = value(make(), labels, probs, weight)
    assert value(make(reduction="sum"), labels, probs, weight) == pytest.approx(len(labels) * default, rel=1e-6)
    for same in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        assert value(make(reduction=same), labels, probs, weight) == pytest.approx(default, rel=1e-6)


@pytest.mark.parametrize("make", [lambda **k: losses.BalancedCrossEntropy(**k),
                                  lambda **k: losses.Lovasz(**k), lambda **k: losses.Dice(**k)])
def test_binary_reduction_none_is_each_image_alone(make, rng):
    # BalancedCrossEntropy's beta (the share of negatives) is then each image's own.
    labels, logits, weight = _random_case(rng, classes=2)
    probs = keras.ops.convert_to_numpy(keras.ops.sigmoid(logits[..., :1]))
    got = keras.ops.convert_to_numpy(make(reduction="none")(labels, probs, weight))
    alone = [value(make(), labels[i:i + 1], probs[i:i + 1], weight[i:i + 1]) for i in range(len(labels))]
    np.testing.assert_allclose(got, alone, rtol=1e-5, atol=1e-6)


def test_reduction_of_a_per_image_loss_matches_keras_semantics(rng):
    # per_image=True: the loss is the mean of the images' losses, so "sum" is their sum.
    labels, probs, _ = _reduction_case(rng)
    per_image = keras.ops.convert_to_numpy(losses.Dice(per_image=True, reduction="none")(labels, probs))
    assert value(losses.Dice(per_image=True, reduction="sum"), labels, probs) == pytest.approx(per_image.sum(), rel=1e-6)
    assert value(losses.Dice(per_image=True), labels, probs) == pytest.approx(per_image.mean(), rel=1e-6)


def test_name_and_dtype_as_keras_losses_take_them():
    loss = losses.Dice(name="my_dice", dtype="float64")
    result = loss(LABELS, PROBS)
    assert loss.name == "my_dice" and keras.backend.standardize_dtype(result.dtype) == "float64"
    assert float(result) == pytest.approx(value(losses.Dice(), LABELS, PROBS), rel=1e-6)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert restored.get_config() == loss.get_config() and restored.get_config()["dtype"] == "float64"


def _model_for(loss):
    """A tiny model whose head fits the loss: logits, softmax, or one sigmoid channel."""
    import segzoo

    binary = isinstance(loss, losses.BalancedCrossEntropy)
    activation = None if getattr(loss, "from_logits", False) else "sigmoid" if binary else "softmax"
    return segzoo.build("unet", backbone="none", num_classes=1 if binary else 3, activation=activation,
                        input_shape=(32, 32, 3), depth=3, encoder_filters=2)


def test_models_compiled_with_each_loss_and_metric_load_in_a_fresh_process(tmp_path, rng):
    import json

    from segzoo import metrics

    x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    expected = {}
    for index, loss in enumerate(CONFIGURED + [losses.BalancedCrossEntropy(beta=0.8)]):
        model = _model_for(loss)
        classes = model.output_shape[-1]
        y = rng.integers(0, max(classes, 2), (2, 32, 32)).astype("int32")
        np.save(tmp_path / f"y{index}.npy", y)
        from_logits = model.activation is None
        scores = [metrics.IoU(classes, from_logits=from_logits), metrics.Dice(classes, beta=2, from_logits=from_logits),
                  metrics.Precision(classes, from_logits=from_logits), metrics.Recall(classes, from_logits=from_logits),
                  metrics.PixelAccuracy(classes, from_logits=from_logits)]
        model.compile(loss=loss, metrics=scores, run_eagerly=True)
        model.save(tmp_path / f"m{index}.keras")
        expected[index] = (type(loss).__name__, model.evaluate(x, y, verbose=0, return_dict=True))
    code = f"""
import json, numpy as np, keras, segzoo
x = np.load({str(tmp_path / 'x.npy')!r})
for index in {sorted(expected)}:
    model = keras.saving.load_model({str(tmp_path)!r} + f"/m{{index}}.keras")
    y = np.load({str(tmp_path)!r} + f"/y{{index}}.npy")
    print(json.dumps([index, type(model.loss).__name__, model.evaluate(x, y, verbose=0, return_dict=True)]))
"""
    lines = run_python(code).strip().splitlines()[-len(expected):]
    assert len(lines) == len(expected)
    for line in lines:
        index, name, got = json.loads(line)
        want_name, want = expected[index]
        assert name == want_name and set(got) == set(want) and len(got) == 6
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-5), (name, key)


# --- Lovasz ------------------------------------------------------------------------


@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_softmax_matches_reference(per_image, rng):
    labels, logits, _ = _random_case(rng)
    labels[1][labels[1] == 2] = 0  # a class absent from one image
    keep = rng.random(labels.shape) > 0.2
    probs = ref.softmax(logits.astype(float))
    loss = losses.Lovasz(per_image=per_image)
    expected = ref.lovasz(labels, probs, keep, per_image, binary=False)
    assert value(loss, labels, probs.astype("float32"), keep.astype("float32")) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_hinge_matches_reference(per_image, rng):
    truth = rng.integers(0, 2, size=(3, 7, 6))
    logits = rng.normal(size=(3, 7, 6, 1)).astype("float32") * 2
    keep = rng.random(truth.shape) > 0.2
    loss = losses.Lovasz(per_image=per_image, from_logits=True)
    expected = ref.lovasz(truth, logits[..., 0].astype(float), keep, per_image, binary=True)
    assert value(loss, truth, logits, keep.astype("float32")) == pytest.approx(expected, rel=1e-5)


def test_lovasz_hand_computed_binary():
    # Logits (2, -1) for truth (1, 0): errors 1 - 2 = -1 and 1 - 1 = 0 -> hinge 0.
    assert value(losses.Lovasz(from_logits=True), np.array([[1, 0]]), np.array([[[2.0], [-1.0]]], "float32")) == 0.0
    # Logits (0, 0): errors (1, 1); sorted grads: 1 - 0/1 = 1, then (1 - 0/2) - 1 = 0 -> loss 1.
    assert value(losses.Lovasz(from_logits=True), np.array([[1, 0]]), np.zeros((1, 2, 1), "float32")) == 1.0


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("sharpness", [0.0, 8.0], ids=["untrained", "trained"])
def test_lovasz_bins_stay_within_their_bound_of_the_full_sort(per_image, sharpness, rng):
    """9216 pixels per image, soft targets and sample weights, against a float64 NumPy
    full sort: the default bins keep the value within 1e-4 (their bound is 2^-7 of it
    plus 2^-24) and the gradient within 2 % (L2); exact=True matches both to float32
    rounding (the Jaccard increments are differences of values near 1)."""
    labels = rng.integers(0, 4, (2, 96, 96))
    probs = ref.softmax(rng.normal(size=(2, 96, 96, 4)) + sharpness * np.eye(4)[labels])
    truth = 0.9 * np.eye(4)[labels] + 0.025
    weight = rng.uniform(0, 2, (2, 96, 96))
    expected, expected_gradient = ref.lovasz_softmax_weighted(truth, probs, weight, per_image)
    inputs = (truth.astype("float32"), probs.astype("float32"), weight.astype("float32"))
    for exact, value_tolerance, gradient_tolerance in ((True, 1e-5, 1e-3), (False, 1e-4, 2e-2)):
        got, gradient = _value_and_gradient(losses.Lovasz(per_image=per_image, exact=exact), *inputs)
        assert abs(got - expected) <= expected * 2**-7 + 2**-24
        assert got == pytest.approx(expected, rel=value_tolerance), exact
        error = np.linalg.norm(gradient - expected_gradient) / np.linalg.norm(expected_gradient)
        assert error <= gradient_tolerance, (exact, error)


def test_lovasz_hand_computed_errors_sharing_a_bin():
    """Hinge errors 1 + 2^-9 (foreground, logit -2^-9) and 1 (background, logit 0) fall in
    one bin. The sort puts the foreground first: loss 1 * (1 + 2^-9) + 0 * 1. The bins
    interleave the two evenly: the foreground's share of the bin's Jaccard rise (1) is
    log(1 + b / (P + B_above)) * f / b = log 2, so the loss is (1 + 2^-9) log 2 + (1 - log 2)
    and its gradient w.r.t. the logits (-log 2, 1 - log 2)."""
    truth = np.array([[1, 0]])
    logits = np.array([[[-(2.0**-9)], [0.0]]], "float32")
    exact, exact_gradient = _value_and_gradient(losses.Lovasz(from_logits=True, exact=True), truth, logits)
    assert exact == pytest.approx(1 + 2**-9, rel=1e-6)
    np.testing.assert_allclose(exact_gradient.ravel(), [-1.0, 0.0], atol=1e-6)
    binned, gradient = _value_and_gradient(losses.Lovasz(from_logits=True), truth, logits)
    assert binned == pytest.approx((1 + 2**-9) * np.log(2) + 1 - np.log(2), rel=1e-6)
    np.testing.assert_allclose(gradient.ravel(), [-np.log(2), 1 - np.log(2)], rtol=1e-5)


def test_lovasz_hinge_bins_follow_each_rows_largest_error(rng):
    """Hinge errors are unbounded: logits of scale 1e3 and 1e-3 in one batch, per image,
    against the NumPy full sort."""
    truth = rng.integers(0, 2, size=(2, 48, 48))
    logits = rng.normal(size=(2, 48, 48, 1)) * np.array([1e3, 1e-3])[:, None, None, None]
    keep = np.ones(truth.shape, bool)
    expected = ref.lovasz(truth, logits[..., 0], keep, per_image=True, binary=True)
    got = value(losses.Lovasz(per_image=True, from_logits=True), truth, logits.astype("float32"))
    assert got == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=MULTICLASS_IDS)
def test_fit_and_evaluate_take_per_pixel_sample_weights(loss, rng):
    """Through Keras' own data path: (B, H, W) weights reach the loss unchanged."""
    import segzoo

    model = segzoo.build("unet", backbone="none", num_classes=4, activation="softmax",
                         input_shape=(32, 32, 3), depth=3, encoder_filters=2)
    x = rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 4, (4, 32, 32))
    w = (rng.uniform(0, 2, (4, 32, 32)) * (y != 0)).astype("float32")  # class 0 weighs nothing
    model.compile(optimizer="sgd", loss=loss, run_eagerly=True)
    history = model.fit(x, y, sample_weight=w, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    evaluated = model.evaluate(x, y, sample_weight=w, batch_size=4, verbose=0)
    assert evaluated == pytest.approx(value(loss, y, model.predict(x, verbose=0), w), rel=1e-5)
    assert evaluated != pytest.approx(value(loss, y, model.predict(x, verbose=0)), rel=1e-3)


# --- targets checked where they enter ----------------------------------------------------


@pytest.mark.parametrize("labels, fragment", [
    (np.full((2, 32, 32), 7, "int32"), "labels that are not class ids 0..3"),
    (np.full((2, 32, 32), 1.5, "float32"), "resize masks with nearest-neighbour interpolation"),
])
def test_bad_labels_stop_a_compiled_fit(labels, fragment):
    import segzoo

    model = segzoo.build("unet", backbone="none", num_classes=4, input_shape=(32, 32, 3), depth=3, encoder_filters=2)
    model.compile(optimizer="adam", loss=losses.Dice() + losses.CrossEntropy())  # a tf.function, no values seen
    with pytest.raises(tf.errors.InvalidArgumentError, match=fragment):
        model.fit(np.zeros((2, 32, 32, 3), "float32"), labels, verbose=0)


def test_ignore_index_and_whole_float_labels_pass_the_checks():
    labels = np.array([[[0.0, 3.0], [255.0, 1.0]]], "float32")  # float class ids, one ignored pixel
    probs = np.full((1, 2, 2, 4), 0.25, "float32")
    assert np.isfinite(value(losses.Dice(ignore_index=255), labels, probs))
    graph = tf.function(lambda y, p: losses.CrossEntropy(ignore_index=255)(y, p))
    assert np.isfinite(float(graph(labels, probs)))
