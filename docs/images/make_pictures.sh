#!/usr/bin/env bash
# Rebuilds the pictures in docs/images from the segzoo command (about 2 minutes on 2 cores).
# Run from the repository root with segzoo installed with its plots extra.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

segzoo train --dataset shapes --image-size 64 --depth 3 --encoder-filters 8 --epochs 20 --out "$work/shapes"
cp "$work/shapes/training_curves.png" docs/images/shapes_training_curves.png
cp "$work/shapes/overlays/0000.png" docs/images/shapes_overlay_0.png
cp "$work/shapes/overlays/0001.png" docs/images/shapes_overlay_1.png

python -c "import segzoo; segzoo.datasets.digits(40, image_size=64, seed=7).to_folders('$work/digits')"
segzoo evaluate unet-digits --data "$work/digits/validation" --out "$work/digits_eval"
cp "$work/digits_eval/confusion_matrix.png" docs/images/digits_confusion_matrix.png
