"""Train a segzoo U-Net on the built-in shapes dataset, score it, save it and reload it.

    python examples/quickstart.py                  # about 1.5-2 minutes on 2 CPU cores
    python examples/quickstart.py --epochs 30 --seed 1 --out runs/quickstart

segzoo.datasets.shapes draws its images on the spot (no download): textured backgrounds
with disks, squares and triangles, one class each, 0 being the background.
"""

import argparse
import math
import os
import tempfile
import time

# Quiets part of TensorFlow's C++ start-up logging; only read if set before the import.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import segzoo  # noqa: E402  (importing segzoo also registers its classes for load_model)

CLASS_NAMES = ("background", "disk", "square", "triangle")
IMAGE_SIZE = 64
BATCH_SIZE = 8


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="training epochs")
    parser.add_argument("--images", type=int, default=512, help="images in total (a fifth held out)")
    parser.add_argument("--out", help="directory for model.keras (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def build_model(epochs, steps_per_epoch):
    """A small from-scratch U-Net: backbone="none" is the plain U-Net encoder, which
    learns 64x64 toy images in about a minute and a half on a CPU. With real images,
    start from a pretrained backbone (encoder_weights="imagenet") instead."""
    model = segzoo.build(
        "unet",
        backbone="none",
        num_classes=len(CLASS_NAMES),
        activation="softmax",
        input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
        depth=3,  # strides 1..8: the receptive field still spans the largest shape
        encoder_filters=8,  # encoder widths 8, 16, 32, 64; the decoder mirrors them
    )
    # Decaying the learning rate to zero lets the BatchNorm running statistics, which
    # inference uses, catch up with the weights.
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=epochs * steps_per_epoch)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        # Per-class Dice keeps small classes from drowning in background; CE smooths the start.
        loss=segzoo.losses.Dice() + segzoo.losses.CrossEntropy(),
        metrics=[segzoo.metrics.IoU(len(CLASS_NAMES), class_indexes=[1, 2, 3], name="shape_iou")],
    )
    return model


def preprocess(images, masks):
    """0-255 pixels to [-1, 1]. A from-scratch encoder takes any fixed scaling; pretrained
    backbones need their own convention (see docs/architectures.md)."""
    return images / 127.5 - 1.0, masks


def main():
    args = parse_args()
    keras.utils.set_random_seed(args.seed)  # reproducible weights and shuffling
    data = segzoo.datasets.shapes(args.images, image_size=IMAGE_SIZE, num_classes=len(CLASS_NAMES),
                                  foreground_fraction=0.25, seed=args.seed, batch_size=BATCH_SIZE)
    train, validation = data.train.map(preprocess), data.validation.map(preprocess)
    train_images = len(data.arrays["train"][0])
    model = build_model(args.epochs, steps_per_epoch=math.ceil(train_images / BATCH_SIZE))
    print(f"{model.name}: {model.count_params():,} parameters; "
          f"{train_images} training and {len(data.arrays['validation'][0])} held-out images")
    start = time.perf_counter()
    model.fit(train, validation_data=validation, epochs=args.epochs, verbose=2)
    print(f"training took {time.perf_counter() - start:.0f} s\n")

    # Per-class IoU, Dice, precision and recall on the held-out images.
    segzoo.evaluate(model, validation, class_names=CLASS_NAMES, print_table=True)

    out_dir = args.out or tempfile.mkdtemp(prefix="segzoo-quickstart-")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.keras")
    model.save(path)
    # Plain Keras loading: no custom_objects needed, `import segzoo` registered the classes.
    reloaded = keras.saving.load_model(path)
    difference = max(
        float(np.abs(reloaded.predict_on_batch(x) - model.predict_on_batch(x)).max()) for x, _ in validation
    )
    print(f"\nsaved {path}; reloaded with keras.saving.load_model, "
          f"max abs difference of predictions: {difference:.2e}")


if __name__ == "__main__":
    main()
