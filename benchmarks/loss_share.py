"""Each segzoo loss's share of one training step of UNet-MobileNetV2 (256x256, batch 8,
4 classes): the loss's forward + backward time on the model's output, over the time of a
whole training step. Run: python -m benchmarks.loss_share [--steps 10] [--only Lovasz]."""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import segzoo  # noqa: E402
from segzoo import losses  # noqa: E402

LOSSES = {
    "Dice": losses.Dice(), "Jaccard": losses.Jaccard(), "Tversky": losses.Tversky(),
    "FocalTversky": losses.FocalTversky(), "GeneralizedDice": losses.GeneralizedDice(),
    "Lovasz": losses.Lovasz(), "Lovasz(per_image=True)": losses.Lovasz(per_image=True),
    "Lovasz(exact=True)": losses.Lovasz(exact=True),
    "CrossEntropy": losses.CrossEntropy(), "Focal": losses.Focal(),
    "Dice+CrossEntropy": losses.Dice() + losses.CrossEntropy(),
    "keras SparseCategoricalCrossentropy": keras.losses.SparseCategoricalCrossentropy(),
}


def median_seconds(function, steps, warmup=3):
    times = []
    for index in range(warmup + steps):
        start = time.perf_counter()
        function()
        if index >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--only", default="", help="time only the losses whose name contains this")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-1, 1, (args.batch, args.size, args.size, 3)), "float32")
    y = tf.constant(rng.integers(0, 4, (args.batch, args.size, args.size)), "int32")
    w = tf.constant(rng.uniform(0, 2, (args.batch, args.size, args.size)), "float32")
    model = segzoo.build("unet", backbone="mobilenetv2", num_classes=4, activation="softmax",
                         input_shape=(args.size, args.size, 3))
    optimizer = keras.optimizers.Adam()
    loss_fn = losses.Dice()

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True), w)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    step, step_times = median_seconds(lambda: train_step().numpy(), args.steps)
    print(f"training step (Dice): median {step * 1000:.0f} ms; every step (ms): "
          + " ".join(f"{t * 1000:.0f}" for t in step_times))
    probs = tf.Variable(model(x, training=False))
    print(f"{'loss':<38}{'fwd+bwd ms':>12}{'share of step':>15}")
    for name, loss in LOSSES.items():
        if args.only not in name:
            continue

        @tf.function
        def loss_step(loss=loss):
            with tf.GradientTape() as tape:
                value = loss(y, probs, w)
            return tape.gradient(value, probs)

        seconds, _ = median_seconds(lambda: loss_step().numpy(), args.steps)
        print(f"{name:<38}{seconds * 1000:>12.1f}{seconds / step:>14.1%}")


if __name__ == "__main__":
    main()
