"""Rebuilds the pictures of docs/predict.md with `segzoo predict` (about a minute on 2 cores).

    python docs/images/make_predict_pictures.py

- predict_overlay.png: a 150x250 image (held-out `shapes` images of the zoo's
  resunet-shapes-imbalanced recipe, pasted together), the overlay `segzoo predict`
  writes for it by default (letterboxed into the model's 96x96) and with `--tile 96`
  (at the image's resolution), side by side, enlarged 2x.
- predict_tiled.png: a 1024x1024 mosaic of them with the tile starts drawn, its ground
  truth, and the class ids `segzoo predict --tile 96 --overlap 0.25` writes (background
  light grey, disk blue, square orange, triangle green); shown at half size.
PNGs are written with a 128-colour palette to stay small.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from PIL import Image

import segzoo
from segzoo import cli

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "images"
CHECKPOINT = "resunet-shapes-imbalanced"  # bundled with the package
SHAPES = {"n": 480, "image_size": 96, "num_classes": 4, "foreground_fraction": 0.05, "seed": 12, "colours": "random"}
GRID = (255, 255, 0)


CLASS_COLOURS = np.array([(235, 235, 235), (31, 119, 180), (255, 127, 14), (44, 160, 44)], np.uint8)


def mosaic(height, width, masks=False):
    """Held-out images (or their masks) pasted together and cut to height x width."""
    arrays = segzoo.datasets.shapes(**SHAPES).arrays["validation"][int(masks)]
    rows, cols = -(-height // 96), -(-width // 96)
    order = np.arange(rows * cols).reshape(rows, cols) % len(arrays)
    return np.concatenate([np.concatenate(list(arrays[row]), axis=1) for row in order])[:height, :width]


def predict(image, folder, *options):
    path = Path(folder) / "input.png"
    Image.fromarray(image).save(path)
    assert cli.main(["predict", str(CHECKPOINT), str(path), "--out", str(folder), *options]) == 0
    labels = np.asarray(Image.open(Path(folder) / "masks" / "input.png"))
    return np.asarray(Image.open(Path(folder) / "overlays" / "input.png").convert("RGB")), labels


def tile_grid(image, tile, overlap):
    """The image with each tile's top and left edge drawn."""
    drawn = image.copy()
    for axis in (0, 1):
        for start in segzoo.inference.tile_starts(image.shape[axis], tile, overlap, multiple=16):
            index = (slice(start, start + 2), slice(None)) if axis == 0 else (slice(None), slice(start, start + 2))
            drawn[index] = GRID
    return drawn


def save(path, *panels, scale=1.0):
    gap = np.full((panels[0].shape[0], 8, 3), 255, np.uint8)
    joined = [part for panel in panels for part in (panel, gap)][:-1]
    picture = Image.fromarray(np.concatenate(joined, axis=1))
    size = (round(picture.width * scale), round(picture.height * scale))
    resample = Image.NEAREST if scale > 1 else Image.BILINEAR
    picture.resize(size, resample).quantize(128).save(path, optimize=True)
    print(f"{path}: {size[0]}x{size[1]}, {path.stat().st_size / 1024:.0f} KB")


def main():
    with tempfile.TemporaryDirectory() as folder:
        small = mosaic(150, 250)
        letterboxed, _ = predict(small, folder)
        tiled, _ = predict(small, folder, "--tile", "96")
        save(OUT / "predict_overlay.png", small, letterboxed, tiled, scale=2)
    with tempfile.TemporaryDirectory() as folder:
        large = mosaic(1024, 1024)
        _, labels = predict(large, folder, "--tile", "96", "--overlap", "0.25")
        truth = CLASS_COLOURS[mosaic(1024, 1024, masks=True)]
        save(OUT / "predict_tiled.png", tile_grid(large, 96, 0.25), truth, CLASS_COLOURS[labels], scale=0.5)


if __name__ == "__main__":
    main()
