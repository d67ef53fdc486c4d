"""A 3-class logits head over a frozen MobileNetV2 encoder, with per-pixel sample weights.

    python examples/pets_like_logits.py                       # about 1-1.5 minutes on 2 CPU cores
    python examples/pets_like_logits.py --encoder-weights PATH   # a pretrained encoder, offline

An Oxford-pets-like task made offline: segzoo.datasets.shapes objects become trimaps with
0 background, 1 object interior and 2 a thin border ring (2 pixels, straddling each
object's outline), the way the pets masks mark the uncertain edge of each animal. The
model is a U-Net whose head has no activation (logits); the losses and metrics are told
so with from_logits=True. The encoder is frozen, so only the decoder and head learn, and
the border class, a small share of the pixels, is made to count with per-pixel sample
weights from segzoo.class_weights. The held-out images are scored per class.

keras.applications' ImageNet weights cannot be downloaded on an offline machine: pass the
no-top weights file (mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5)
with --encoder-weights; without it the frozen encoder is random.
"""

import argparse
import math
import os
import time

# Quiets part of TensorFlow's C++ start-up logging; only read if set before the import.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from scipy import ndimage  # noqa: E402

import segzoo  # noqa: E402

CLASS_NAMES = ("background", "object", "border")
IMAGE_SIZE = 96
BATCH_SIZE = 8


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=400, help="images in total (a fifth held out)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (40 steps each by default)")
    parser.add_argument("--encoder-weights", metavar="PATH",
                        help="a keras.applications MobileNetV2 no-top weights file for alpha 0.35 "
                             "(default: none, a random frozen encoder)")
    parser.add_argument("--method", default="median_frequency", choices=segzoo.data.weights.METHODS,
                        help="how segzoo.class_weights turns pixel counts into per-pixel weights")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def trimaps(masks, border=1):
    """(N, H, W) object masks to trimaps: a ring `border` pixels out and `border` in
    (2 pixels wide for border=1) becomes class 2, the rest of the object class 1."""
    objects = masks > 0
    # Per image: a 3-D structure would also erode across neighbouring images.
    structure = ndimage.generate_binary_structure(2, 1)[None]
    outer = ndimage.binary_dilation(objects, structure, iterations=border)
    inner = ndimage.binary_erosion(objects, structure, iterations=border)
    labels = np.zeros(masks.shape, np.int32)
    labels[inner] = 1
    labels[outer & ~inner] = 2
    return labels


def load_data(images, seed):
    """(x, y) datasets of MobileNetV2-scaled images ([-1, 1]) and trimaps."""
    split = segzoo.datasets.shapes(images, image_size=IMAGE_SIZE, num_classes=2, foreground_fraction=0.3,
                                   seed=seed, batch_size=BATCH_SIZE)
    prepare = segzoo.data.preprocessing_function("mobilenetv2")
    datasets = {}
    for name, (x, y) in split.arrays.items():
        data = tf.data.Dataset.from_tensor_slices((x.astype(np.float32), trimaps(y)))
        if name == "train":
            data = data.shuffle(len(x), seed=seed)
        datasets[name] = data.batch(BATCH_SIZE).map(lambda x, y: (prepare(x), y)).prefetch(tf.data.AUTOTUNE)
    return datasets["train"], datasets["validation"], len(split.arrays["train"][0])


def print_class_weights(train, method):
    weights = segzoo.class_weights(train, len(CLASS_NAMES), method=method)
    counts = np.zeros(len(CLASS_NAMES), np.int64)
    for _, y in train.as_numpy_iterator():
        counts += np.bincount(y.ravel(), minlength=len(CLASS_NAMES))
    print(f"{'class':<12}{'share':>8}{'weight':>9}   ({method})")
    for index, name in enumerate(CLASS_NAMES):
        print(f"{name:<12}{counts[index] / counts.sum():>8.2%}{weights[index]:>9.3f}")
    return weights


def build_model(encoder_weights, steps):
    model = segzoo.build("unet", backbone="mobilenetv2", num_classes=len(CLASS_NAMES), activation=None,
                         input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3), encoder_weights=encoder_weights, alpha=0.35)
    # Frozen, the encoder's BatchNorm layers run in inference mode: their 0.999 momentum,
    # which leaves from-scratch statistics far behind the weights, never comes into play.
    segzoo.freeze_encoder(model)
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=steps)
    model.compile(  # after freezing: Keras reads `trainable` when compiling
        optimizer=keras.optimizers.Adam(schedule),
        # The head gives logits: the losses apply a stable log-softmax / softmax themselves.
        loss=segzoo.losses.CrossEntropy(from_logits=True) + segzoo.losses.Dice(from_logits=True),
        metrics=[segzoo.metrics.IoU(len(CLASS_NAMES), from_logits=True, name="iou")],
    )
    return model


def main():
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    if args.encoder_weights is None:
        print("note: no --encoder-weights, so the frozen encoder is random; a real run freezes a\n"
              "pretrained one (encoder_weights='imagenet', or the no-top weights file offline)\n")
    train, validation, train_images = load_data(args.images, args.seed)
    weights = print_class_weights(train, args.method)
    # Per-pixel weights w = weights[label]: Keras' class_weight refuses (B, H, W) targets.
    weighted_train = segzoo.data.with_sample_weights(train, weights)

    model = build_model(args.encoder_weights, args.epochs * math.ceil(train_images / BATCH_SIZE))
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    print(f"\n{model.count_params():,} parameters, {trainable:,} trainable (decoder and head); "
          f"{train_images} training images")
    start = time.perf_counter()
    # Training metrics are weighted too; the validation set carries no weights.
    model.fit(weighted_train, validation_data=validation, epochs=args.epochs, verbose=2)
    print(f"training took {time.perf_counter() - start:.0f} s\n")

    # evaluate reads activation=None from the model and takes the argmax of the logits.
    report = segzoo.evaluate(model, validation, class_names=CLASS_NAMES, print_table=True)
    border = report["classes"]["border"]
    # The border weight trades precision for recall: the ring comes out thicker than 2 pixels.
    print(f"\nborder: recall {border['recall'] or 0:.2f}, precision {border['precision'] or 0:.2f} "
          f"with weight {weights[2]:.1f} per border pixel")
    if (border["iou"] or 0.0) < 0.5:
        print("the decoder struggles with the 2-pixel border: features at stride 2 and coarser, "
              "from a random frozen encoder, place edges only roughly")


if __name__ == "__main__":
    main()
