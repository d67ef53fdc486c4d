#!/usr/bin/env bash
# Rebuilds the pictures in docs/images from the segzoo command (about 5 minutes on 2 cores).
# Run from the repository root with segzoo installed with its plots extra.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
shapes="--shapes disk,square,line --foreground-fraction 0.04 --colours random"

# The README's main job.
segzoo train --dataset shapes $shapes --image-size 64 --depth 3 --encoder-filters 8 --epochs 15 --out "$work/shapes"
cp "$work/shapes/training_curves.png" docs/images/shapes_training_curves.png
cp "$work/shapes/overlays/0000.png" docs/images/shapes_overlay_0.png
cp "$work/shapes/overlays/0001.png" docs/images/shapes_overlay_1.png

# Its checkpoint on other images of the same kind (seed 1), with the error map.
python -c "import segzoo; segzoo.datasets.shapes(100, image_size=64, kinds=('disk', 'square', 'line'),
foreground_fraction=0.04, colours='random', seed=1).to_folders('$work/held_out')"
segzoo evaluate "$work/shapes/best" --data "$work/held_out/validation" --error-map --out "$work/shapes_eval"
cp "$work/shapes_eval/iou_per_class.png" docs/images/shapes_iou_per_class.png
cp "$work/shapes_eval/confusion_matrix.png" docs/images/shapes_confusion_matrix.png
cp "$work/shapes_eval/overlays/0000.png" docs/images/shapes_errors_0.png

python -c "import segzoo; segzoo.datasets.digits(40, image_size=64, seed=7).to_folders('$work/digits')"
segzoo evaluate unet-digits --data "$work/digits/validation" --out "$work/digits_eval"
cp "$work/digits_eval/confusion_matrix.png" docs/images/digits_confusion_matrix.png
