"""Smoke tests: every example script runs to the end on a few images for one epoch and
prints what its docstring promises. Numbers are not checked, only that the lines appear."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ("IoU    Dice    Prec  Recall     support", "mean over", "pixel accuracy")

needs_sklearn = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                   reason="needs scikit-learn")

# (script, arguments, lines expected in stdout); "{out}" becomes the test's tmp_path.
CASES = [
    pytest.param("quickstart.py", ["--epochs", "1", "--images", "16", "--out", "{out}"],
                 [*TABLE, "reloaded with keras.saving.load_model, max abs difference"], id="quickstart"),
    pytest.param("binary_sigmoid_unet.py", ["--epochs", "1", "--images", "16"],
                 [*TABLE, "object", "held-out object IoU by threshold:", "threshold 0.5: IoU"],
                 id="binary_sigmoid_unet"),
    pytest.param("class_weights_jaccard.py", ["--epochs", "1", "--images", "16"],
                 [*TABLE, "training with median_frequency weights",
                  "foreground mIoU (disk, square, triangle), weighted",
                  "foreground mIoU (disk, square, triangle), unweighted", "one seed per run"],
                 id="class_weights_jaccard"),
    pytest.param("pets_like_logits.py", ["--epochs", "1", "--images", "16"],
                 [*TABLE, "note: no --encoder-weights", "trainable (decoder and head)", "border: recall"],
                 id="pets_like_logits"),
    pytest.param("finetune_zoo.py", ["--images", "16", "--frozen-epochs", "1", "--epochs", "1"],
                 [*TABLE, "new 6-class head", "ring", "cross"], id="finetune_zoo"),
    pytest.param("save_and_load.py", ["--steps", "1", "--out", "{out}"],
                 ["keras.saving.load_model(model.keras): max abs difference of predictions",
                  "segzoo.from_pretrained(folder, compile=True): max abs difference of predictions",
                  "optimizer steps before and after one fit step", "segzoo.metrics.",
                  "fresh interpreter without `import segzoo`", "fix: `import segzoo`"],
                 id="save_and_load"),
    pytest.param("generalized_dice_digits.py", ["--epochs", "1", "--images", "16", "--compare"],
                 [*TABLE, "1/(n²+1e-10)", "near-perfect (99 % on the true class)",
                  "gradient norm |dL/dp|", "digit 9",
                  "held-out mIoU (classes present), GeneralizedDice(per_image=True) + CrossEntropy()",
                  "held-out mIoU (classes present), the epsilon version + CrossEntropy()"],
                 id="generalized_dice_digits", marks=needs_sklearn),
]


@pytest.mark.parametrize(("script", "arguments", "expected"), CASES)
def test_example_runs(script, arguments, expected, tmp_path):
    arguments = [a.replace("{out}", str(tmp_path)) for a in arguments]
    # Offline: finetune_zoo loads the zoo checkpoint bundled in segzoo/zoo/, nothing may be downloaded.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script), *arguments], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    missing = [line for line in expected if line not in result.stdout]
    assert not missing, f"{script} did not print {missing}:\n{result.stdout[-3000:]}"


def test_every_example_has_a_smoke_test():
    covered = {case.values[0] for case in CASES}
    # train_zoo.py trains the zoo's checkpoints (tests/test_zoo.py checks its recipes);
    # naive_vs_recommended.py runs in full in tests/test_example_imbalance.py.
    tested_elsewhere = {"train_zoo.py", "naive_vs_recommended.py"}
    scripts = {path.name for path in (ROOT / "examples").glob("*.py")} - tested_elsewhere
    assert scripts <= covered, f"examples without a smoke test: {sorted(scripts - covered)}"
