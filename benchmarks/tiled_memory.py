"""Peak memory and agreement of tiled against whole-image prediction (segzoo.predict).

    python -m benchmarks.tiled_memory [--size 2048] [--tile 256] [--volume 128] [--volume-tile 64]

Image: a size x size mosaic of held-out 96x96 `shapes` images (the recipe of the zoo's
resunet-shapes-imbalanced) segmented by that checkpoint's weights in a model that takes
any size (whole) and with tiles (tiled). Volume: a volume^3 random one-channel volume
through a 3-D UNet (backbone "none", depth 3, 8 filters, random weights). Each run is a
fresh subprocess; its memory is the peak RSS (getrusage) after loading the model, after
predicting one tile (the base) and after predicting the whole input (the peak). Printed: those, the
image-sized buffers for scale, and the largest probability difference between tiled and
whole at pixels at least m pixels from every tile seam.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import segzoo
from benchmarks._machine import load, machine

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = "resunet-shapes-imbalanced"  # bundled with the package
SHAPES = {"n": 480, "image_size": 96, "num_classes": 4, "foreground_fraction": 0.05, "seed": 12, "colours": "random"}
MARGINS = (0, 16, 32, 64)


def mosaic(size):
    """A size x size image and its labels, tiled from the held-out shapes images."""
    images, masks = segzoo.datasets.shapes(**SHAPES).arrays["validation"]
    per_side = -(-size // 96)
    order = np.arange(per_side**2) % len(images)
    grid = [np.concatenate([images[i] for i in row], axis=1) for row in order.reshape(per_side, per_side)]
    labels = [np.concatenate([masks[i] for i in row], axis=1) for row in order.reshape(per_side, per_side)]
    return np.concatenate(grid)[:size, :size], np.concatenate(labels)[:size, :size]


def any_size_checkpoint():
    """The zoo checkpoint's weights in the same model built for any input size."""
    fixed = segzoo.from_pretrained(str(CHECKPOINT))
    config = {**fixed.get_config(), "input_shape": [None, None, 3]}
    model = segzoo.SegmentationModel.from_config(config)
    model.set_weights(fixed.get_weights())
    return model


def volume_model():
    import keras

    keras.utils.set_random_seed(0)
    return segzoo.build("unet", backbone="none", num_classes=3, input_shape=(None, None, None, 1), depth=3,
                        encoder_filters=8)


def child(kind, mode, size, tile, out):
    """One prediction in this process; writes the probabilities to `out` and prints JSON."""
    if kind == "image":
        model, data = any_size_checkpoint(), mosaic(size)[0].astype(np.float32)
    else:
        model = volume_model()
        data = np.random.default_rng(0).uniform(0, 255, (size,) * 3 + (1,)).astype(np.float32)
    tile = (tile,) * (data.ndim - 1)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    segzoo.predict(model, data[tuple(slice(0, t) for t in tile)], tile=tile)  # warm up: one tile
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    _, probabilities = segzoo.predict(model, data, tile=tile if mode == "tiled" else None, batch_size=4,
                                      return_probabilities=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    np.save(out, probabilities)
    print(json.dumps({"loaded_mb": loaded / 1024, "base_mb": base / 1024, "peak_mb": peak / 1024, "seconds": seconds,
                      "input_mb": data.nbytes / 2**20, "probabilities_mb": probabilities.nbytes / 2**20}))


def run_child(kind, mode, size, tile, folder):
    out = os.path.join(folder, f"{kind}-{mode}.npy")
    command = [sys.executable, "-m", "benchmarks.tiled_memory", "--child", kind, mode, str(size), str(tile), out]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if result.returncode:
        sys.exit(f"{kind} {mode} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), np.load(out)


def seam_distance(size, tile, overlap=0.25, multiple=16):
    """Per pixel along one axis: the distance to the nearest tile edge inside the image."""
    starts = segzoo.inference.tile_starts(size, tile, overlap, multiple)
    edges = [s for s in starts if s > 0] + [s + tile for s in starts if s + tile < size]
    index = np.arange(size)
    if not edges:
        return np.full(size, size)
    return np.min(np.abs(index[:, None] - np.asarray(edges)[None, :]), axis=1)


def report(kind, size, tile, multiple, folder, labels=None):
    whole_stats, whole = run_child(kind, "whole", size, tile, folder)
    tiled_stats, tiled = run_child(kind, "tiled", size, tile, folder)
    spatial = whole.shape[:-1]
    distance = np.full(spatial, size)
    for axis, side in enumerate(spatial):
        shape = [1] * len(spatial)
        shape[axis] = side
        distance = np.minimum(distance, seam_distance(side, tile, multiple=multiple).reshape(shape))
    shape = "x".join(map(str, spatial))
    print(f"\n{kind} {shape}, tile {tile}, overlap 0.25, gaussian blend, batch 4")
    print("| run | RSS after loading MB | base: after one tile MB | peak MB | peak - base MB | seconds |")
    print("|---|---|---|---|---|---|")
    for name, stats in (("whole", whole_stats), ("tiled", tiled_stats)):
        print(f"| {name} | {stats['loaded_mb']:.0f} | {stats['base_mb']:.0f} | {stats['peak_mb']:.0f} | "
              f"{stats['peak_mb'] - stats['base_mb']:.0f} | {stats['seconds']:.1f} |")
    print(f"input float32 {whole_stats['input_mb']:.0f} MB, probabilities float32 "
          f"{whole_stats['probabilities_mb']:.0f} MB")
    difference = np.abs(tiled - whole).max(axis=-1)
    agree = tiled.argmax(-1) == whole.argmax(-1)
    for margin in MARGINS:
        away = distance >= margin
        if not away.any():
            continue
        print(f"pixels >= {margin} from a seam ({away.mean():.1%}): max |p_tiled - p_whole| "
              f"{difference[away].max():.2e}, labels agree {agree[away].mean():.4%}")
    if labels is not None:
        for name, probabilities in (("whole", whole), ("tiled", tiled)):
            print(f"{name}: mean IoU against the mosaic's labels {mean_iou(labels, probabilities.argmax(-1)):.4f}")


def mean_iou(labels, predicted, classes=4):
    matrix = np.bincount(labels.ravel() * classes + predicted.ravel(), minlength=classes**2).reshape(classes, -1)
    tp = np.diag(matrix)
    union = matrix.sum(0) + matrix.sum(1) - tp
    return float(np.mean([tp[c] / union[c] for c in range(classes) if union[c] > 0]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--volume", type=int, default=128, help="0: skip the volume")
    parser.add_argument("--volume-tile", type=int, default=64)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, mode, size, tile, out = args.child
        return child(kind, mode, int(size), int(tile), out)
    print(f"# {machine()}; load {load()}")
    with tempfile.TemporaryDirectory() as folder:
        report("image", args.size, args.tile, 16, folder, labels=mosaic(args.size)[1].astype(int))
        if args.volume:
            report("volume", args.volume, args.volume_tile, 8, folder)


if __name__ == "__main__":
    main()
