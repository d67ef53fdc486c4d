"""The zoo from an installed wheel, end to end: build segzoo's wheel, install it with its
dependencies into a fresh virtualenv (no system site-packages), then in that venv, with no
network, load every zoo checkpoint by name and score it on its held-out split from raw
uint8 images with `segzoo.predict`, and compare with the mean IoU on its card.

    python -m benchmarks.zoo_roundtrip            # 4-6 minutes with pip's cache warm
    python -m benchmarks.zoo_roundtrip --keep DIR # keep the wheel and the venv in DIR

The install follows .ci/constraints.txt (the CI pins). In the venv the hub endpoint is a
closed port, HF_HUB_OFFLINE=1 and the hub cache is empty, so the checkpoints can only come
from the package. The held-out split is regenerated from examples/train_zoo.py's recipe
(dataset, size, seed), as when the card was written; the mean IoU is counted here with
NumPy over the classes that occur in the labels or predictions (the foreground IoU for a
one-channel model), as segzoo.evaluate counts it. Exit status 1 if any checkpoint is more
than 0.01 away from its card.
"""

import argparse
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.01


# --------------------------------------------------------------------------- the parent


def build_wheel(work):
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "segzoo", source / "segzoo", ignore=shutil.ignore_patterns("__pycache__"))
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
         str(work / "dist"), str(source)])
    (wheel,) = (work / "dist").glob("segzoo-*.whl")
    return wheel


def fresh_venv(work, wheel):
    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--clear", str(venv)])
    python = venv / "bin" / "python"
    env = {**os.environ, "PIP_CONSTRAINT": str(ROOT / ".ci" / "constraints.txt")}
    run([str(python), "-m", "pip", "install", "-q", f"{wheel}[digits]"], env=env)
    return python


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def evaluate_in(python, work):
    result = work / "result.json"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "PYTHON"))}
    env.update(HF_ENDPOINT=closed_port_url(), HF_HUB_OFFLINE="1", HF_HOME=str(work / "hf-home"),
               TF_CPP_MIN_LOG_LEVEL="2")
    run([str(python), str(Path(__file__).resolve()), "--evaluate", str(result),
         "--recipes", str(ROOT / "examples" / "train_zoo.py")], env=env, cwd=work)
    return json.loads(result.read_text())


def run(command, **options):
    subprocess.run(command, check=True, **options)


def report(result, seconds):
    print(f"segzoo {result['version']} from {result['package']}")
    print("timings: " + ", ".join(f"{step} {value:.0f} s" for step, value in seconds.items()))
    print("| checkpoint | card mIoU | reproduced mIoU | difference | card pixel acc. | reproduced pixel acc. |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for name, row in result["checkpoints"].items():
        difference = abs(row["mean_iou"] - row["card"]["mean_iou"])
        worst = max(worst, difference)
        print(f"| {name} | {row['card']['mean_iou']:.4f} | {row['mean_iou']:.4f} | {difference:.4f} | "
              f"{row['card']['pixel_accuracy']:.4f} | {row['pixel_accuracy']:.4f} |")
    print(f"largest difference {worst:.4f} ({'within' if worst <= TOLERANCE else 'OVER'} {TOLERANCE})")
    return worst <= TOLERANCE


def main_parent(keep):
    work = Path(keep or tempfile.mkdtemp(prefix="zoo-roundtrip-"))
    work.mkdir(parents=True, exist_ok=True)
    seconds = {}
    try:
        start = time.perf_counter()
        wheel = build_wheel(work)
        seconds["wheel"] = time.perf_counter() - start
        print(f"built {wheel.name} ({wheel.stat().st_size / 1e6:.1f} MB)", flush=True)
        start = time.perf_counter()
        python = fresh_venv(work, wheel)
        seconds["venv + pip install"] = time.perf_counter() - start
        start = time.perf_counter()
        result = evaluate_in(python, work)
        seconds["load + predict + score"] = time.perf_counter() - start
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if report(result, seconds) else 1


# --------------------------------------------------------------------------- in the venv


def main_child(out, recipes_path):
    import numpy as np

    import segzoo

    package = Path(segzoo.__file__).resolve().parent
    assert package.is_relative_to(Path(sys.prefix).resolve()), f"segzoo imported from {package}, not the venv"
    recipes = load_recipes(recipes_path)
    rows = {}
    for name in segzoo.hub.list_pretrained():
        model = segzoo.from_pretrained(name, local_files_only=True)
        images, labels = held_out(segzoo, recipes[name])
        assert images.dtype == np.uint8
        masks = segzoo.predict(model, list(images))
        card = card_metrics((segzoo.hub.zoo_root() / name / "README.md").read_text(encoding="utf-8"))
        rows[name] = {**scores(labels, np.stack(masks), model.num_classes), "card": card}
        print(name, rows[name], flush=True)
    Path(out).write_text(json.dumps({"version": segzoo.__version__, "package": str(package),
                                     "checkpoints": rows}, indent=2))


def load_recipes(path):
    spec = importlib.util.spec_from_file_location("train_zoo", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RECIPES


def held_out(segzoo, recipe):
    """The raw uint8 images and labels of the recipe's validation split."""
    dataset, options = recipe["dataset"]
    split = getattr(segzoo.datasets, dataset)(**options)
    return split.arrays["validation"]


def scores(labels, predicted, num_classes):
    """Mean IoU (classes in the labels or predictions; a one-channel model: the foreground)
    and pixel accuracy, from a confusion matrix counted with NumPy."""
    import numpy as np

    classes = max(2, num_classes)
    labels, predicted = labels.astype(np.int64).ravel(), predicted.astype(np.int64).ravel()
    matrix = np.bincount(labels * classes + predicted, minlength=classes**2).reshape(classes, classes)
    tp = np.diag(matrix)
    union = matrix.sum(0) + matrix.sum(1) - tp
    counted = [1] if num_classes == 1 else range(classes)
    ious = [tp[c] / union[c] for c in counted if union[c] > 0]
    return {"mean_iou": float(np.mean(ious)), "pixel_accuracy": float(tp.sum() / matrix.sum())}


def card_metrics(card):
    """{metric: value} from the 'metric | value' table under the card's '## Metrics'."""
    section = card.split("## Metrics", 1)[1]
    return {name: float(value) for name, value in re.findall(r"^\| (\w+) \| ([0-9.]+) \|$", section, re.M)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", metavar="DIR", help="build and install in DIR and keep it")
    parser.add_argument("--evaluate", metavar="OUT", help=argparse.SUPPRESS)  # the child, in the venv
    parser.add_argument("--recipes", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evaluate:
        main_child(args.evaluate, args.recipes)
        return 0
    return main_parent(args.keep)


if __name__ == "__main__":
    sys.exit(main())
