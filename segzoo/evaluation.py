"""`segzoo.evaluate`: a per-class report over a whole dataset, from one confusion matrix."""

import math

import keras
import numpy as np

from segzoo import metrics
from segzoo.errors import ConfigError, DataError
from segzoo.core.labels import label_problem, scored_by_predictions
from segzoo.models.heads import check_from_logits, check_mode, head_reading


def evaluate(model, data, class_names=None, mode=None, threshold=0.5, from_logits=None,
             ignore_index=None, batch_size=8, print_table=False):
    """Run `model` over `data` and report IoU, Dice, precision, recall and support per
    class, their means, and pixel accuracy. The means are the metrics' (segzoo.metrics):
    over the classes with a defined score, the foreground of a binary output;
    report["mean_over"] names the classes of the mean IoU.

    data: a tf.data.Dataset or any iterable of (x, y) or (x, y, sample_weight) batches,
    or a tuple (x, y) of arrays. from_logits: by default True when the model's head has
    no activation (segzoo models record it), else False; a value that contradicts a segzoo
    model's head is a ConfigError. Inputs holding NaN or inf, and sparse labels outside the
    model's classes (other than ignore_index), are a DataError naming the batch: either
    would make the report silently wrong.
    """
    activation = getattr(model, "activation", "softmax")
    if from_logits is None:
        from_logits = activation is None
    else:
        check_from_logits(activation, from_logits, "segzoo.evaluate")
    options = {"mode": mode, "threshold": threshold, "from_logits": from_logits,
               "ignore_index": ignore_index, "average": None}
    counter = None
    for index, batch in enumerate(_batches(data, batch_size)):
        x, y, weight = (tuple(batch) + (None,))[:3]
        _check_finite(x, index)
        prediction = model.predict_on_batch(x)
        if counter is None:
            counter = metrics.IoU(prediction.shape[-1], **_head_mode(options, activation, prediction.shape[-1]))
        _check_labels(y, prediction, counter.classes, ignore_index, index)
        counter.update_state(y, prediction, weight)
    if counter is None:
        raise ConfigError("evaluate got no batch: the data is empty.")
    report = build_report(counter, class_names)
    if print_table:
        print(format_report(report))
    return report


def _head_mode(options, activation, channels):
    """mode=None follows the head: a multi-channel sigmoid head is multilabel. A mode
    the head contradicts is a ConfigError."""
    if options["mode"] is None:
        return {**options, "mode": head_reading(activation, channels)[0]}
    check_mode(activation, channels, options["mode"], "segzoo.evaluate")
    return options


def build_report(counter, class_names=None):
    tp, fp, fn, _ = counter.counts()
    scores = {
        key: keras.ops.convert_to_numpy(values).astype(float)
        for key, values in (
            ("iou", metrics.iou_score(tp, fp, fn)),
            ("dice", metrics.f_beta_score(tp, fp, fn)),
            ("precision", metrics.precision_score(tp, fp)),
            ("recall", metrics.recall_score(tp, fn)),
        )
    }
    tp, fn = keras.ops.convert_to_numpy(tp), keras.ops.convert_to_numpy(fn)
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(tp))]
    if len(names) != len(tp):
        raise ConfigError(f"class_names has {len(names)} names but the model scores {len(tp)} classes.")
    classes = {
        name: {**{key: _number(values[i]) for key, values in scores.items()}, "support": int(tp[i] + fn[i])}
        for i, name in enumerate(names)
    }
    averaged = counter.averaged_classes()
    confusion = keras.ops.convert_to_numpy(counter.confusion)
    return {
        "classes": classes,
        "mean": {key: _mean(values[averaged]) for key, values in scores.items()},
        "mean_over": [names[i] for i in averaged if not np.isnan(scores["iou"][i])],
        "pixel_accuracy": _number(np.trace(confusion) / confusion.sum()) if confusion.ndim == 2 else None,
        "confusion_matrix": confusion.tolist(),
    }


def format_report(report):
    header = f"{'class':<16}{'IoU':>8}{'Dice':>8}{'Prec':>8}{'Recall':>8}{'support':>12}"
    lines = [header, "-" * len(header)]
    for name, row in report["classes"].items():
        cells = "".join(_cell(row[key]) for key in ("iou", "dice", "precision", "recall"))
        lines.append(f"{name:<16}{cells}{row['support']:>12}")
    mean = report["mean"]
    lines.append("-" * len(header))
    lines.append(f"{'mean':<16}" + "".join(_cell(mean[k]) for k in ("iou", "dice", "precision", "recall")))
    lines.append(f"mean over: {', '.join(report['mean_over']) or 'no class'}")
    if report["pixel_accuracy"] is not None:
        lines.append(f"pixel accuracy {report['pixel_accuracy']:.4f}")
    return "\n".join(lines)


def _cell(value):
    return f"{'-':>8}" if value is None else f"{value:>8.4f}"


def _mean(values):
    """Mean of the defined scores (a class present but never predicted has no precision)."""
    defined = values[~np.isnan(values)]
    return _number(defined.mean()) if defined.size else None


def _number(value):
    value = float(value)
    return None if math.isnan(value) else value


def _check_finite(x, index):
    if not hasattr(x, "dtype"):  # several inputs: left to the model
        return
    values = np.asarray(x)
    if values.dtype.kind != "f":
        return
    bad = values.size - int(np.isfinite(values).sum())
    if bad:
        raise DataError(
            f"Batch {index} of the data holds {bad} NaN or infinite input values: the model cannot "
            "score them and the report would be wrong. Replace them (e.g. np.nan_to_num) or drop "
            "those images before evaluating."
        )


def _check_labels(y, prediction, classes, ignore_index, index):
    """Sparse labels (B, *spatial) or (B, *spatial, 1) must be class ids of the model."""
    labels = np.asarray(y)
    sparse = labels.ndim == prediction.ndim - 1 or (labels.ndim == prediction.ndim and labels.shape[-1] == 1)
    if not sparse or labels.dtype.kind not in "iuf":
        return
    problem = label_problem(f"Batch {index} of the data", labels, classes, ignore_index,
                            scored_by_predictions(prediction.shape[-1]))
    if problem:
        raise DataError(problem)


def _batches(data, batch_size):
    if isinstance(data, tuple) and len(data) in (2, 3) and hasattr(data[0], "shape"):
        for start in range(0, len(data[0]), batch_size):
            yield tuple(part[start:start + batch_size] for part in data)
        return
    yield from data
