"""Binary segmentation with a 1-channel sigmoid U-Net (a Carvana-like task), BCE + Dice.

    python examples/binary_sigmoid_unet.py              # about 30 s on 2 CPU cores
    python examples/binary_sigmoid_unet.py --epochs 20 --images 512 --seed 1

The object is whatever shape segzoo.datasets.shapes draws with num_classes=2 (class 1),
in a random colour, so the model has to find it by its outline and texture. It shows:
a sigmoid head with num_classes=1 (not a 2-channel softmax), the loss
CrossEntropy(mode="binary") + Dice(mode="binary"), IoU and Dice metrics thresholded at
0.5, a per-class report from segzoo.evaluate, and how the held-out IoU moves when the
threshold is 0.3, 0.5 or 0.7.
"""

import argparse
import math
import os
import time

# Quiets part of TensorFlow's C++ start-up logging; only read if set before the import.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import segzoo  # noqa: E402

IMAGE_SIZE = 64
BATCH_SIZE = 8
THRESHOLDS = (0.3, 0.5, 0.7)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=12, help="training epochs")
    parser.add_argument("--images", type=int, default=320, help="images in total (a fifth held out)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def build_model(epochs, steps_per_epoch):
    """One output channel with a sigmoid: p(object) per pixel. A 2-channel softmax would
    work too, but one sigmoid channel is the usual binary setup (Carvana, most medical)."""
    model = segzoo.build("unet", backbone="none", num_classes=1, activation="sigmoid",
                         input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3), depth=3, encoder_filters=8)
    # Decaying to zero lets the BatchNorm running statistics catch up with the weights.
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=epochs * steps_per_epoch)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        # BCE gives smooth gradients from the first step; Dice scores the overlap itself.
        loss=segzoo.losses.CrossEntropy(mode="binary") + segzoo.losses.Dice(mode="binary"),
        # Metrics threshold the probabilities; num_classes is the number of output channels.
        metrics=[segzoo.metrics.IoU(1, mode="binary", threshold=0.5, name="iou"),
                 segzoo.metrics.Dice(1, mode="binary", threshold=0.5, name="dice")],
    )
    return model


def preprocess(images, masks):
    """0-255 pixels to [-1, 1]; masks stay 0/1 labels, which a 1-channel loss reads as is."""
    return images / 127.5 - 1.0, masks


def iou_by_threshold(model, dataset):
    """Predict the held-out split once, then score it at each threshold."""
    counters = {t: segzoo.metrics.IoU(1, mode="binary", threshold=t) for t in THRESHOLDS}
    for x, y in dataset:
        probabilities = model.predict_on_batch(x)
        for counter in counters.values():
            counter.update_state(y, probabilities)
    return {t: float(counter.result()) for t, counter in counters.items()}


def main():
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    data = segzoo.datasets.shapes(args.images, image_size=IMAGE_SIZE, num_classes=2,
                                  foreground_fraction=0.3, colours="random", seed=args.seed,
                                  batch_size=BATCH_SIZE)
    train, validation = data.train.map(preprocess), data.validation.map(preprocess)
    train_masks = data.arrays["train"][1]
    print(f"{len(train_masks)} training and {len(data.arrays['validation'][1])} held-out images; "
          f"object pixels: {train_masks.mean():.1%}")

    model = build_model(args.epochs, steps_per_epoch=math.ceil(len(train_masks) / BATCH_SIZE))
    print(f"{model.name}: {model.count_params():,} parameters, output {model.output_shape}")
    start = time.perf_counter()
    model.fit(train, validation_data=validation, epochs=args.epochs, verbose=2)
    print(f"training took {time.perf_counter() - start:.0f} s\n")

    # A 1-channel model is reported as two classes: background and the object.
    segzoo.evaluate(model, validation, class_names=("background", "object"), threshold=0.5,
                    print_table=True)

    print("\nheld-out object IoU by threshold:")
    for threshold, iou in iou_by_threshold(model, validation).items():
        print(f"  threshold {threshold:.1f}: IoU {iou:.4f}")


if __name__ == "__main__":
    main()
