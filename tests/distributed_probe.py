"""Trains the same tiny U-Net on one device and data-parallel on two, for every segzoo
loss, and writes per-step losses, IoU values and final weights' differences as JSON.

    python tests/distributed_probe.py tensorflow OUT.json   # tf.distribute.MirroredStrategy
    python tests/distributed_probe.py jax OUT.json          # keras.distribution.DataParallel

Two logical CPU devices stand for two GPUs: TensorFlow splits its CPU in two logical
devices, JAX gets --xla_force_host_platform_device_count=2. Both must be set before the
framework initialises, so tests/test_distributed.py runs this in a fresh process.

The data is built so that a wrong reduction shows: class 2 never appears in the first
half of a batch (replica 0's slice), the second half's sample weights are three times
larger, and the binary foreground is rarer in the first half.
"""

import json
import os
import sys
import time

BACKEND = sys.argv[1] if len(sys.argv) > 1 else "tensorflow"
os.environ["KERAS_BACKEND"] = BACKEND
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if BACKEND == "jax":
    # Two CPU devices; optimisation level 0 halves XLA's compile time on CPU, for both runs alike.
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + " --xla_force_host_platform_device_count=2 --xla_backend_optimization_level=0"
    ).strip()
    os.environ["JAX_PLATFORMS"] = "cpu"
else:
    import tensorflow as tf

    _cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(_cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
import numpy as np

import segzoo
from segzoo import losses, metrics

BATCH, SIZE, CLASSES, STEPS = 8, 16, 3, 2
# TensorFlow: 11 images, each epoch a batch of 8 (4 + 4 per replica), then one of 3 (2 + 1).
# (Keras cannot start on an uneven batch under MirroredStrategy: its first, symbolic build
# averages the replicas' batches, which fails on different shapes.) JAX: 12, as DataParallel
# needs every batch to split evenly over the devices (IndivisibleError otherwise).
TWO_STEPS = BATCH + 3 if BACKEND == "tensorflow" else BATCH + 4
# TensorFlow runs eagerly (a trace costs seconds per loss and strategy), JAX compiled (op by
# op it is slower still); a case named "name@graph" runs TensorFlow compiled too.
EAGER = BACKEND == "tensorflow"


def cases():
    """name -> (loss factory, model kind, with per-pixel sample weights, images). Every
    loss; the region losses pooled over the batch (per_image=False, the default) and one per
    image, trained on TWO_STEPS images."""
    return {
        "dice": (lambda: losses.Dice(), "multiclass", False, BATCH),
        "dice_per_image": (lambda: losses.Dice(per_image=True), "multiclass", True, TWO_STEPS),
        "jaccard": (lambda: losses.Jaccard(class_weights=[0.2, 1.0, 2.0]), "multiclass", True, BATCH),
        "tversky": (lambda: losses.Tversky(alpha=0.3, beta=0.7), "multiclass", False, BATCH),
        "focal_tversky": (lambda: losses.FocalTversky(), "multiclass", False, BATCH),
        "generalized_dice": (lambda: losses.GeneralizedDice(), "multiclass", False, BATCH),
        "lovasz": (lambda: losses.Lovasz(), "multiclass", False, BATCH),
        "lovasz_hinge": (lambda: losses.Lovasz(), "binary", True, BATCH),
        "lovasz_exact": (lambda: losses.Lovasz(exact=True), "multiclass", False, BATCH),
        "cross_entropy": (lambda: losses.CrossEntropy(class_weights=[1.0, 2.0, 4.0]), "multiclass", True, BATCH),
        "balanced_cross_entropy": (lambda: losses.BalancedCrossEntropy(), "binary", False, BATCH),
        "focal": (lambda: losses.Focal(), "multiclass", True, BATCH),
        "combo": (lambda: losses.Dice() + 2 * losses.Focal(), "multiclass", True, BATCH),
    }


def make_data(seed=0, count=BATCH + 4):
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (count, SIZE, SIZE, 3)).astype("float32")
    labels = (images[..., 0] > 0.2).astype("int32") + (images[..., 1] > 0.6).astype("int32")
    first_half = np.arange(count) % BATCH < BATCH // 2  # replica 0's share of each batch
    labels[first_half] = np.minimum(labels[first_half], 1)  # no class 2 there
    weights = rng.uniform(0.1, 2.0, (count, SIZE, SIZE)).astype("float32")
    weights[~first_half] *= 3.0
    binary = (labels == 2).astype("int32") | (images[..., 2] > 0.7).astype("int32")
    return {"images": images, "multiclass": labels, "binary": binary, "weights": weights}


def build(kind):
    """The smallest U-Net segzoo builds: fewer layers make each trace or compile cheaper."""
    classes, activation = (1, "sigmoid") if kind == "binary" else (CLASSES, "softmax")
    return segzoo.build(
        "unet", backbone="none", num_classes=classes, activation=activation, input_shape=(SIZE, SIZE, 3),
        depth=3, encoder_filters=4, encoder_convs=1, decoder_filters=[4, 4, 4],
    )


def sync_batchnorm(model):
    """TensorFlow: batch statistics over the global batch, as one device computes them."""
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True


def _all_layers(layer):
    for child in getattr(layer, "layers", []):
        yield child
        yield from _all_layers(child)


def _scope(distributed):
    if distributed and BACKEND == "tensorflow":
        return _strategy().scope()
    if distributed:
        devices = keras.distribution.list_devices("cpu")
        assert len(devices) == 2, devices
        return keras.distribution.DataParallel(devices=devices).scope()
    return _no_scope()


def recalibrate(data, initial):
    """segzoo.recalibrate_batchnorm on a model whose variables live on two devices gives
    the moving statistics and predictions it gives on one device."""
    runs = []
    for distributed in (False, True):
        with _scope(distributed):
            model = build("multiclass")
            model.set_weights(initial["multiclass"])
            segzoo.recalibrate_batchnorm(model, data["images"], batch_size=4)
            layers = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
            stats = [np.asarray(v) for layer in layers for v in (layer.moving_mean, layer.moving_variance)]
            runs.append((stats, np.asarray(model.predict(data["images"], batch_size=BATCH, verbose=0))))
    (single, single_prediction), (parallel, parallel_prediction) = runs
    return {
        "stats_diff": max(float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a)))) for a, b in zip(single, parallel)),
        "prediction_diff": float(np.max(np.abs(single_prediction - parallel_prediction))),
        # moving statistics start at mean 0 and variance 1: the data did set them
        "stats_moved": max(float(np.max(np.abs(a - (1.0 if i % 2 else 0.0)))) for i, a in enumerate(single)),
    }


def train(loss_factory, kind, weighted, images, data, initial, distributed, eager):
    """Per-step (epoch of one step) loss and IoU, evaluate()'s, and the final weights."""
    keras.utils.set_random_seed(0)
    with _scope(distributed):
        model = build(kind)
        model.set_weights(initial[kind])
        if distributed and BACKEND == "tensorflow":
            sync_batchnorm(model)
        classes = 1 if kind == "binary" else CLASSES
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=0.1),
            loss=loss_factory(),
            metrics=[metrics.IoU(classes)],
            run_eagerly=eager,
        )
        x, y = data["images"][:images], data[kind][:images]
        sample_weight = data["weights"][:images] if weighted else None
        batch_logs = _BatchLogs()
        history = model.fit(
            x, y, sample_weight=sample_weight,
            batch_size=BATCH, epochs=STEPS, shuffle=False, verbose=0, callbacks=[batch_logs],
        )
        evaluated = model.evaluate(x, y, sample_weight=sample_weight, batch_size=BATCH, verbose=0)
        loss = model.loss
        weights = [np.asarray(w) for w in model.get_weights()]
        trainable = [w.trainable for w in model.weights]
        devices = _devices(model) if distributed else 1
    return {
        "devices": devices,
        "losses": _loss_names(loss),
        "loss": [float(v) for v in history.history["loss"]] + [float(evaluated[0])],
        "iou": [float(v) for v in history.history["iou"]] + [float(evaluated[1])],
        "weights": weights,
        "trainable": trainable,
        "batch_loss": [logs["loss"] for logs in batch_logs.logs],
        "batch_iou": [logs["iou"] for logs in batch_logs.logs],
    }


def _loss_names(loss):
    parts = loss.losses if isinstance(loss, losses.Combo) else []
    return [type(loss).__name__] + [name for part in parts for name in _loss_names(part)]


def _devices(model):
    """How many devices the training ran on: replicas, or devices a variable lives on."""
    if BACKEND == "tensorflow":
        return _strategy().num_replicas_in_sync
    return len(model.weights[0].value.sharding.device_set)


class _BatchLogs(keras.callbacks.Callback):
    """What on_train_batch_end (the progress bar) sees after each step."""

    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append({key: float(value) for key, value in logs.items()})


_STRATEGY = []


def _strategy():
    """One MirroredStrategy for the process: a second one reuses collective keys and hangs
    or mixes up its all-reduces with the first one's."""
    if not _STRATEGY:
        import tensorflow as tf

        _STRATEGY.append(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
        assert _STRATEGY[0].num_replicas_in_sync == 2
    return _STRATEGY[0]


class _no_scope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def compare(single, parallel, initial):
    def rel(a, b):
        a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
        return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a))))

    moved = max(
        float(np.max(np.abs(w - w0)))
        for w, w0, trainable in zip(single["weights"], initial, single["trainable"])
        if trainable
    )
    return {
        "devices": parallel["devices"],
        "losses": single["losses"],
        "loss_single": single["loss"],
        "loss_distributed": parallel["loss"],
        "iou_single": single["iou"],
        "iou_distributed": parallel["iou"],
        "loss_diff": rel(single["loss"], parallel["loss"]),
        "iou_diff": rel(single["iou"], parallel["iou"]),
        "batch_loss_diff": rel(single["batch_loss"], parallel["batch_loss"]),
        "batch_iou_diff": rel(single["batch_iou"], parallel["batch_iou"]),
        "weight_diff": max(rel(a, b) for a, b in zip(single["weights"], parallel["weights"])),
        "weights_moved": moved,  # largest change of a trainable weight: training did move them
    }


def main():
    out_path = sys.argv[2]
    default = list(cases()) + (["lovasz@graph", "lovasz_exact@graph"] if BACKEND == "tensorflow" else [])
    names = sys.argv[3].split(",") if len(sys.argv) > 3 else default
    data = make_data()
    keras.utils.set_random_seed(0)
    initial = {kind: build(kind).get_weights() for kind in ("multiclass", "binary")}
    results = {"backend": keras.backend.backend(), "cases": {}}
    for name in names:
        factory, kind, weighted, images = cases()[name.split("@")[0]]
        eager = EAGER and not name.endswith("@graph")
        start = time.perf_counter()
        run = (factory, kind, weighted, images, data, initial)
        single = train(*run, distributed=False, eager=eager)
        parallel = train(*run, distributed=True, eager=eager)
        results["cases"][name] = {
            **compare(single, parallel, initial[kind]),
            "uneven": images % BATCH % 2 == 1,  # a batch that splits unevenly over the two replicas
            "seconds": time.perf_counter() - start,
        }
    results["recalibrate"] = recalibrate(data, initial)
    with open(out_path, "w") as handle:
        json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
