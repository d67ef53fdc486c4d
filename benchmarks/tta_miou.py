"""How much test-time augmentation changes the zoo checkpoints' held-out scores.

    python -m benchmarks.tta_miou [--names resunet-shapes-imbalanced,unet-mobilenetv2-shapes-binary]

Each checkpoint is loaded by name (bundled with the package) and scored on the held-out split its recipe
(examples/train_zoo.py) makes, fed to segzoo.predict as raw uint8 images, with tta None,
["identity", "hflip"], "flip" and "d4". The scores are those of the model cards (tests/test_zoo.py): mean IoU
over the classes present in labels or predictions (the foreground IoU for one sigmoid
channel) and pixel accuracy, from one confusion matrix over all pixels.
"""

import argparse
import importlib.util
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import segzoo
from benchmarks._machine import machine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_NAMES = "resunet-shapes-imbalanced,unet-mobilenetv2-shapes-binary"


def recipes():
    spec = importlib.util.spec_from_file_location("train_zoo", ROOT / "examples" / "train_zoo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RECIPES


def held_out(recipe):
    """The recipe's validation images (uint8, as stored) and masks."""
    dataset, options = recipe["dataset"]
    return getattr(segzoo.datasets, dataset)(**options).arrays["validation"]


def scores(labels, predicted, num_classes):
    classes = max(2, num_classes)
    matrix = np.bincount(labels.ravel() * classes + predicted.ravel(), minlength=classes**2).reshape(classes, classes)
    tp = np.diag(matrix)
    union = matrix.sum(0) + matrix.sum(1) - tp
    averaged = [1] if num_classes == 1 else range(classes)
    return float(np.mean([tp[c] / union[c] for c in averaged if union[c] > 0])), float(tp.sum() / matrix.sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", default=DEFAULT_NAMES, help="zoo names to score (comma-separated)")
    args = parser.parse_args()
    print(f"# {machine()}")
    print("| checkpoint | card mean IoU | tta | mean IoU | change | pixel accuracy | seconds |")
    print("|---|---|---|---|---|---|---|")
    all_recipes = recipes()
    for name in args.names.split(","):
        model = segzoo.from_pretrained(name)
        images, masks = held_out(all_recipes[name])
        card = segzoo.hub.load_manifest()[name]["metrics"]["mean_iou"]
        plain = None
        for tta in (None, ["identity", "hflip"], "flip", "d4"):
            start = time.perf_counter()
            predicted = np.stack(segzoo.predict(model, images, tta=tta, batch_size=16))
            seconds = time.perf_counter() - start
            iou, accuracy = scores(masks.astype(int), predicted, model.num_classes)
            plain = iou if plain is None else plain
            label = "+".join(tta) if isinstance(tta, list) else tta
            print(f"| {name} ({len(images)} images) | {card:.4f} | {label} | {iou:.4f} | {iou - plain:+.4f} "
                  f"| {accuracy:.4f} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
