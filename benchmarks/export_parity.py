"""How closely each export format reproduces Keras (docs/export.md).

For each model (UNet, 4 classes, encoder_weights=None, random weights, seed 0) built with
include_preprocessing=True: `segzoo.export.export_model` in every format whose packages
are installed, then the artefact in its own runtime on 4 random uint8-valued images,
against Keras' `model.predict` on the same images. Reported: the largest absolute
difference in probability, the share of pixels whose class (argmax) differs, the export
time and the artefact's size. With --checkpoints: trained checkpoint folders (the zoo's),
loaded with include_preprocessing=True, on 16 raw uint8 images of the built-in dataset
they were trained on (a seed they never saw).

Run: python -m benchmarks.export_parity [--size 128] [--backbones none,mobilenetv2,resnet50]
     python -m benchmarks.export_parity --checkpoints zoo/unet-mobilenetv2-shapes-binary,zoo/unet-digits
"""

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import segzoo
from benchmarks._machine import load, machine
from segzoo.export import EXPORT_FORMATS, export_model, run_exported

NEEDS = {"onnx": ("tf2onnx", "onnxruntime"), "openvino": ("openvino",), "litert": (), "tf_saved_model": ()}


def labels(probabilities):
    return probabilities[..., 0] > 0.5 if probabilities.shape[-1] == 1 else probabilities.argmax(-1)


def size_of(path):
    path = Path(path)
    files = list(path.rglob("*")) if path.is_dir() else [path, path.with_suffix(".bin")]
    return sum(f.stat().st_size for f in files if f.is_file())


def random_model(backbone, size):
    keras.utils.set_random_seed(0)
    options = {"depth": 3, "encoder_filters": 8} if backbone == "none" else {}
    model = segzoo.build("unet", backbone=backbone, num_classes=4, input_shape=(size, size, 3),
                         include_preprocessing=True, **options)
    return f"{backbone} ({model.preprocessing})", model, np.random.default_rng(0).integers(0, 256, (4, size, size, 3))


def trained_model(folder):
    model = segzoo.from_pretrained(folder, include_preprocessing=True)
    size = model.model_input_shape[0]
    if "digits" in Path(folder).name:
        split = segzoo.datasets.digits(80, image_size=size, seed=99)
    else:
        split = segzoo.datasets.shapes(80, image_size=size, num_classes=max(2, model.num_classes), seed=99)
    return f"{Path(folder).name} ({model.preprocessing})", model, split.arrays["validation"][0][:16]


def measure(label, model, images, folder):
    x = np.asarray(images).astype("float32")
    expected = model.predict(x, verbose=0)
    for format, suffix in EXPORT_FORMATS.items():
        missing = [m for m in NEEDS[format] if importlib.util.find_spec(m) is None]
        if format == "litert" and importlib.util.find_spec("ai_edge_litert") is None:
            missing.append("ai_edge_litert")
        if missing:
            print(f"| {label} | {format} | not installed: {', '.join(missing)} | | | |")
            continue
        start = time.perf_counter()
        path = export_model(model, Path(folder) / f"{model.name}{suffix}", format)
        seconds = time.perf_counter() - start
        got = run_exported(path, format, x)
        difference = float(np.abs(got - expected).max())
        flipped = float(np.mean(labels(got) != labels(expected)))
        print(f"| {label} | {format} | {difference:.1e} | {flipped:.2%} | "
              f"{seconds:.1f} | {size_of(path) / 2**20:.1f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--backbones", default="none,mobilenetv2,resnet50")
    parser.add_argument("--checkpoints", help="comma-separated checkpoint folders, instead of --backbones")
    args = parser.parse_args()
    print(f"machine: {machine()}; load {load()}; keras {keras.__version__}, tensorflow {tf.__version__}")
    if args.checkpoints:
        print("trained checkpoints, include_preprocessing=True, 16 raw uint8 held-out images\n")
        models = (trained_model(folder) for folder in args.checkpoints.split(","))
    else:
        print(f"UNet, 4 classes, {args.size}x{args.size}, random weights, include_preprocessing=True, "
              "4 random uint8-valued images\n")
        models = (random_model(backbone, args.size) for backbone in args.backbones.split(","))
    print("| model (convention) | format | max abs difference | pixels whose class differs | export s | MiB |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="segzoo-export-") as folder:
        for label, model, images in models:
            measure(label, model, images, folder)


if __name__ == "__main__":
    main()
