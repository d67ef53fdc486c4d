"""Streaming metrics: hand-checked confusion matrices, a NumPy reference, options,
and segzoo.evaluate."""

import keras
import numpy as np
import pytest

import segzoo
from segzoo import metrics
from segzoo.errors import ConfigError

# Truth [[0, 1], [2, 2]], predicted classes [[0, 2], [2, 1]]:
# TP (1, 0, 1), FP (0, 1, 1), FN (0, 1, 1).
LABELS = np.array([[[0, 1], [2, 2]]])
PREDICTED = np.eye(3, dtype="float32")[np.array([[[0, 2], [2, 1]]])] * 0.8 + 0.2 / 3


def score(metric, y_true=LABELS, y_pred=PREDICTED, sample_weight=None):
    metric.update_state(y_true, y_pred, sample_weight)
    return keras.ops.convert_to_numpy(metric.result())


@pytest.mark.parametrize(
    "metric, per_class, mean",
    [
        (metrics.IoU, [1, 0, 1 / 3], 4 / 9),
        (metrics.Dice, [1, 0, 1 / 2], 1 / 2),
        (metrics.Precision, [1, 0, 1 / 2], 1 / 2),
        (metrics.Recall, [1, 0, 1 / 2], 1 / 2),
        (metrics.PixelAccuracy, [1, 2 / 4, 2 / 4], 2 / 4),
    ],
)
def test_hand_computed(metric, per_class, mean):
    np.testing.assert_allclose(score(metric(3, average=None)), per_class, atol=1e-6)
    assert score(metric(3)) == pytest.approx(mean)


def test_f_beta():
    # class 2: (1 + 4) * 1 / (5 * 1 + 4 * 1 + 1) = 1/2; class 0: 1; class 1: 0.
    np.testing.assert_allclose(score(metrics.Dice(3, beta=2, average=None)), [1, 0, 0.5], atol=1e-6)


def test_accumulates_over_batches_not_averaging_scores():
    # Batch 1: class 1 tiny and missed; batch 2: class 1 large and found.
    y1, p1 = np.array([[[0, 0, 0, 1]]]), np.eye(2, dtype="float32")[[[[0, 0, 0, 0]]]]
    y2, p2 = np.array([[[1, 1, 1, 0]]]), np.eye(2, dtype="float32")[[[[1, 1, 1, 0]]]]
    metric = metrics.IoU(2, average=None)
    metric.update_state(y1, p1)
    metric.update_state(y2, p2)
    # Over both: class 1 TP 3, FN 1 -> 3/4; class 0 TP 4, FP 1 -> 4/5.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(metric.result()), [4 / 5, 3 / 4], atol=1e-6)
    metric.reset_state()
    assert np.all(np.isnan(keras.ops.convert_to_numpy(metric.result())))


def test_matches_numpy_confusion_matrix(rng):
    labels = rng.integers(0, 5, size=(3, 9, 7))
    probs = rng.random((3, 9, 7, 5)).astype("float32")
    weight = rng.uniform(0, 2, size=labels.shape).astype("float32")
    confusion = np.zeros((5, 5))
    np.add.at(confusion, (labels.ravel(), probs.argmax(-1).ravel()), weight.ravel())
    tp = np.diag(confusion)
    fp, fn = confusion.sum(0) - tp, confusion.sum(1) - tp
    np.testing.assert_allclose(score(metrics.IoU(5, average=None), labels, probs, weight),
                               tp / (tp + fp + fn), rtol=1e-5)
    np.testing.assert_allclose(score(metrics.Recall(5, average=None), labels, probs, weight),
                               tp / (tp + fn), rtol=1e-5)
    np.testing.assert_allclose(score(metrics.Precision(5, average=None), labels, probs, weight),
                               tp / (tp + fp), rtol=1e-5)
    np.testing.assert_allclose(score(metrics.Dice(5, beta=0.5, average=None), labels, probs, weight),
                               1.25 * tp / (1.25 * tp + 0.25 * fn + fp), rtol=1e-5)
    assert score(metrics.PixelAccuracy(5), labels, probs, weight) == pytest.approx(
        tp.sum() / confusion.sum(), rel=1e-5)


def test_binary_threshold_and_logits():
    truth = np.array([[[1, 0], [0, 1]]])
    probs = np.array([[[[0.8], [0.2]], [[0.6], [0.4]]]], "float32")
    assert score(metrics.IoU(1), truth, probs) == pytest.approx(1 / 3)  # foreground
    assert score(metrics.IoU(1, threshold=0.3), truth, probs) == pytest.approx(2 / 3)
    logits = np.log(probs / (1 - probs))
    assert score(metrics.IoU(1, from_logits=True), truth, logits) == pytest.approx(1 / 3)
    # Both classes: background TP 1, FP 1, FN 1 -> 1/3 as well.
    np.testing.assert_allclose(score(metrics.IoU(1, average=None), truth, probs), [1 / 3, 1 / 3])
    assert score(metrics.PixelAccuracy(1), truth, probs) == pytest.approx(0.5)


def test_multilabel_channels_are_scored_separately():
    truth = np.array([[[[1, 0], [1, 1]]]], "float32")  # two pixels, two labels
    probs = np.array([[[[0.9, 0.6], [0.2, 0.7]]]], "float32")
    # channel 0: TP 1, FN 1 -> IoU 1/2; channel 1: TP 1, FP 1 -> 1/2
    np.testing.assert_allclose(score(metrics.IoU(2, mode="multilabel", average=None), truth, probs), [0.5, 0.5])


def test_ignore_index_and_class_indexes():
    # Ignoring pixel (1, 0) removes class 2's only true positive: 1/3 -> 0.
    labels = np.array([[[0, 1], [255, 2]]])
    np.testing.assert_allclose(score(metrics.IoU(3, ignore_index=255, average=None), labels), [1, 0, 0])
    assert score(metrics.IoU(3, class_indexes=[0, 2])) == pytest.approx((1 + 1 / 3) / 2)


def test_absent_class_is_nan_per_class_and_left_out_of_the_mean():
    labels = np.array([[[0, 0], [1, 1]]])
    probs = np.eye(3, dtype="float32")[labels]
    per_class = score(metrics.IoU(3, average=None), labels, probs)
    assert per_class[:2].tolist() == [1.0, 1.0] and np.isnan(per_class[2])
    assert score(metrics.IoU(3), labels, probs) == pytest.approx(1.0)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="num_classes"):
        metrics.IoU(0)
    with pytest.raises(ConfigError, match="average"):
        metrics.IoU(3, average="micro")
    with pytest.raises(ConfigError, match=r"class_indexes \[3\] must lie in \[0, 3\)"):
        metrics.IoU(3, class_indexes=[3])
    with pytest.raises(ValueError, match="counts 4 classes but y_pred has 3 channels"):
        metrics.IoU(4).update_state(LABELS, PREDICTED)


@pytest.mark.parametrize("cls", [metrics.IoU, metrics.Dice, metrics.Precision, metrics.Recall, metrics.PixelAccuracy])
def test_config_round_trip(cls):
    metric = cls(4, class_indexes=[1, 3], ignore_index=255, threshold=0.4)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert type(restored) is cls and restored.get_config() == metric.get_config()


def test_evaluate_reports_per_class(rng, capsys):
    model = segzoo.build("unet", backbone="none", num_classes=3, activation=None,
                         input_shape=(32, 32, 3), depth=3, encoder_filters=2)
    x = rng.uniform(-1, 1, (5, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 3, (5, 32, 32))
    report = segzoo.evaluate(model, (x, y), class_names=["bg", "a", "b"], batch_size=2, print_table=True)
    predicted = keras.ops.convert_to_numpy(model(x)).argmax(-1)
    confusion = np.zeros((3, 3))
    np.add.at(confusion, (y.ravel(), predicted.ravel()), 1)
    tp = np.diag(confusion)
    iou = tp / (confusion.sum(0) + confusion.sum(1) - tp)
    assert [report["classes"][n]["iou"] for n in ("bg", "a", "b")] == pytest.approx(iou.tolist(), rel=1e-5)
    assert report["mean"]["iou"] == pytest.approx(iou.mean(), rel=1e-5)
    assert report["classes"]["a"]["support"] == int((y == 1).sum())
    assert report["pixel_accuracy"] == pytest.approx(tp.sum() / y.size)
    assert "mean over" in capsys.readouterr().out


def test_every_registered_name_is_unique():
    from segzoo import losses

    abstract = {"SegmentationLoss", "ConfusionMatrixMetric"}
    classes = [getattr(module, name) for module in (losses, metrics)
               for name in module.__all__
               if isinstance(getattr(module, name), type) and name not in abstract]
    names = [keras.saving.get_registered_name(cls) for cls in classes]
    assert len(set(names)) == len(names), names
    for cls in classes:
        assert keras.saving.get_registered_object(keras.saving.get_registered_name(cls)) is cls


def test_volumes_score_like_flattened_images(rng):
    labels = rng.integers(0, 3, size=(2, 4, 5, 6))
    probs = rng.random((2, 4, 5, 6, 3)).astype("float32")
    volume = score(metrics.IoU(3, average=None), labels, probs)
    image = score(metrics.IoU(3, average=None), labels.reshape(2, 20, 6), probs.reshape(2, 20, 6, 3))
    np.testing.assert_allclose(volume, image, rtol=1e-6)


def test_evaluate_mean_skips_undefined_scores():
    """A class present but never predicted has no precision; the mean leaves it out."""

    class Constant(keras.Model):
        def call(self, x):
            return keras.ops.one_hot(keras.ops.zeros(keras.ops.shape(x)[:3], "int32"), 2)

    y = np.array([[[0, 0], [1, 1]]])
    report = segzoo.evaluate(Constant(), (np.zeros((1, 2, 2, 1), "float32"), y))
    assert report["classes"]["1"]["precision"] is None
    assert report["mean"]["precision"] == pytest.approx(0.5)  # class 0 only: 2 of 4 right
    assert report["mean"]["iou"] == pytest.approx(0.25)  # (0.5 + 0) / 2


class Fixed(keras.Model):
    """Outputs the given scores whatever the input."""

    def __init__(self, scores):
        super().__init__()
        self.scores = keras.ops.convert_to_tensor(scores)

    def call(self, x):
        return self.scores


def test_evaluate_and_the_iou_metric_report_one_mean():
    # Truth: classes 0 and 1 only. Prediction: class 2 on one pixel (absent from the truth:
    # IoU 0, counted), class 3 neither present nor predicted (no IoU, left out).
    y = np.array([[[0, 0], [0, 1]]])
    predicted = np.array([[[0, 0], [2, 1]]])
    scores = np.eye(4, dtype="float32")[predicted]
    iou = {0: 2 / 3, 1: 1.0, 2: 0.0}  # class 0: TP 2 / (TP 2 + FN 1); class 1: 1/1; class 2: 0 / FP 1
    expected = float(np.mean(list(iou.values())))
    report = segzoo.evaluate(Fixed(scores), (np.zeros((1, 2, 2, 1), "float32"), y),
                             class_names=["bg", "a", "b", "c"])
    assert report["mean"]["iou"] == pytest.approx(expected)
    assert report["mean_over"] == ["bg", "a", "b"]
    assert score(metrics.IoU(4), y, scores) == pytest.approx(expected)


def test_a_binary_mean_iou_is_its_foreground_everywhere():
    y = np.array([[[0, 0], [1, 1]]])
    probabilities = np.array([[[[0.1], [0.9]], [[0.8], [0.3]]]], "float32")  # predicted 0 1 / 1 0
    foreground = 1 / 3  # TP 1 (bottom left), FP 1 (top right), FN 1 (bottom right)
    report = segzoo.evaluate(Fixed(probabilities), (np.zeros((1, 2, 2, 1), "float32"), y),
                             class_names=["background", "road"])
    assert report["mean"]["iou"] == pytest.approx(foreground) and report["mean_over"] == ["road"]
    assert report["classes"]["background"]["iou"] == pytest.approx(1 / 3)  # shown, not averaged
    assert score(metrics.IoU(1), y, probabilities) == pytest.approx(foreground)
