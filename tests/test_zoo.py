"""Every zoo checkpoint in segzoo's own manifest: bundled in the package (found with
importlib.resources), loaded by name with no network, golden output within 1e-4, and the
held-out mean IoU and pixel accuracy on its card and in the manifest equal to those of an
independent NumPy confusion matrix over the same predictions."""

import hashlib
import importlib.resources
import importlib.util
import re
import socket
from pathlib import Path

import numpy as np
import pytest

import segzoo

ROOT = Path(__file__).resolve().parents[1]
ZOO = Path(importlib.resources.files("segzoo") / "zoo")  # what an installed package holds
MAX_BYTES = 15 * 10**6


def _recipes():
    spec = importlib.util.spec_from_file_location("train_zoo", ROOT / "examples" / "train_zoo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ENTRIES = segzoo.hub.load_manifest(segzoo.hub.manifest.DEFAULT_MANIFEST)


def test_the_zoo_has_three_checkpoints_each_under_15_mb():
    assert len(ENTRIES) >= 3
    for name, entry in ENTRIES.items():
        sizes = {path: (ZOO / name / path).stat().st_size for path in entry["files"]}
        assert sum(sizes.values()) <= MAX_BYTES, (name, sizes)


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_zoo_folder_matches_its_manifest_entry(name):
    entry = ENTRIES[name]
    on_disk = sorted(p.name for p in (ZOO / name).iterdir())
    assert on_disk == sorted(entry["files"])
    for path, expected in entry["files"].items():
        data = (ZOO / name / path).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (expected["sha256"], expected["size"]), path


@pytest.mark.parametrize("name", sorted(ENTRIES))
def closed_port_url():
    """An http URL on 127.0.0.1 where nothing listens: any request fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_zoo_checkpoint_reproduces_its_card(name, tmp_path, monkeypatch):
    """Loaded offline by name from the bundled copy: an empty cache, downloads off, and
    the hub endpoint a closed port."""
    monkeypatch.delenv(segzoo.hub.MANIFEST_ENV, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    entry = ENTRIES[name]
    model = segzoo.from_pretrained(name, cache_dir=tmp_path, local_files_only=True)
    assert not any(tmp_path.iterdir())
    assert segzoo.hub.check_golden(model, ZOO / name, atol=1e-4) <= 1e-4
    _, validation, _ = _recipes().load_data(name)
    expected = reference_scores(model, validation)
    card = card_metrics((ZOO / name / "README.md").read_text())
    assert set(card) == set(expected) == set(entry["metrics"])
    for metric, value in expected.items():
        # 1e-3 allows for the card's 4 decimals and for a pixel whose scores tie within
        # float noise going the other way on another CPU, and still tells the binary
        # foreground IoU (0.9948) from a mean that also counts background (0.9964).
        assert abs(card[metric] - value) <= 1e-3, ("card", metric, card[metric], value)
        assert abs(entry["metrics"][metric] - value) <= 1e-3, ("manifest", metric, entry["metrics"], value)


def reference_scores(model, data):
    """Mean IoU and pixel accuracy from a NumPy confusion matrix over the model's
    predictions, independent of segzoo's metrics: argmax for a softmax head, p > 0.5 for
    one sigmoid channel. The mean IoU averages the classes that occur in the labels or
    the predictions; for one sigmoid channel it is the foreground's IoU."""
    labels, predicted = [], []
    for x, y in data:
        scores = np.asarray(model(x, training=False))
        hard = (scores[..., 0] > 0.5) if scores.shape[-1] == 1 else scores.argmax(-1)
        predicted.append(hard.astype(int).ravel())
        labels.append(np.asarray(y).astype(int).ravel())
    classes = max(2, model.num_classes)
    matrix = confusion_matrix(np.concatenate(labels), np.concatenate(predicted), classes)
    tp = np.diag(matrix)
    union = matrix.sum(0) + matrix.sum(1) - tp  # tp + fp + fn
    averaged = [1] if model.num_classes == 1 else range(classes)
    ious = [tp[c] / union[c] for c in averaged if union[c] > 0]
    return {"mean_iou": float(np.mean(ious)), "pixel_accuracy": float(tp.sum() / matrix.sum())}


def confusion_matrix(labels, predicted, classes):
    """matrix[t, p]: how many pixels of true class t were predicted as p."""
    assert labels.shape == predicted.shape and labels.min() >= 0 and labels.max() < classes
    counts = np.bincount(labels * classes + predicted, minlength=classes * classes)
    return counts.reshape(classes, classes)


def card_metrics(card):
    """{metric: value} from the 'metric | value' table under the card's '## Metrics'."""
    section = card.split("## Metrics", 1)[1]
    rows = re.findall(r"^\| (\w+) \| ([0-9.]+) \|$", section, re.MULTILINE)
    return {name: float(value) for name, value in rows}


def test_reference_scores_on_a_hand_checked_case():
    """2x2 labels [[0, 1], [1, 2]] predicted [[0, 1], [2, 2]]: class 0 IoU 1, class 1
    1/2, class 2 1/2 -> mean 2/3; 3 of 4 pixels right."""
    probabilities = np.eye(3, dtype="float32")[[[0, 1], [2, 2]]][None]

    class Fixed:
        num_classes = 3

        def __call__(self, x, training):
            return probabilities

    scores = reference_scores(Fixed(), [(None, np.array([[[0, 1], [1, 2]]]))])
    assert scores == pytest.approx({"mean_iou": 2 / 3, "pixel_accuracy": 0.75})
