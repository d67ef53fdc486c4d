"""Runs segzoo's models, losses, metrics and from_pretrained under whatever Keras backend
KERAS_BACKEND names, and writes what they computed as JSON.

    KERAS_BACKEND=jax python tests/backend_probe.py INPUTS.npz CHECKPOINT_DIR OUT.json

tests/test_backends.py runs it under jax and torch and compares with the same probe run
in-process under TensorFlow: the same numbers, whatever the backend.
"""

import json
import sys
import tempfile

import keras
import numpy as np

import segzoo
from segzoo import losses, metrics

NUM_CLASSES = 3


def loss_cases():
    """name -> (loss, which prediction it takes, with the sample weights or not)."""
    return {
        "dice": (losses.Dice(), "probs", False),
        "dice_per_image": (losses.Dice(per_image=True), "probs", False),
        "dice_logits_ignore": (losses.Dice(from_logits=True, ignore_index=2), "logits", False),
        "jaccard_weighted": (losses.Jaccard(class_weights=[0.2, 1.0, 2.0]), "probs", True),
        "tversky": (losses.Tversky(alpha=0.3, beta=0.7), "probs", False),
        "focal_tversky": (losses.FocalTversky(), "probs", False),
        "generalized_dice": (losses.GeneralizedDice(per_image=True), "probs", False),
        "lovasz": (losses.Lovasz(), "probs", False),
        "lovasz_per_image": (losses.Lovasz(per_image=True), "logits_as_probs", False),
        "cross_entropy": (losses.CrossEntropy(), "probs", True),
        "cross_entropy_logits": (losses.CrossEntropy(from_logits=True, label_smoothing=0.1), "logits", False),
        "balanced_ce": (losses.BalancedCrossEntropy(), "binary", False),
        "focal": (losses.Focal(gamma=2.0), "probs", False),
        "binary_dice": (losses.Dice(), "binary", False),
        "combo": (losses.Dice() + 2 * losses.Focal(), "probs", True),
    }


def metric_cases():
    return {
        "iou": metrics.IoU(NUM_CLASSES),
        "dice_per_class": metrics.Dice(NUM_CLASSES, average=None),
        "precision": metrics.Precision(NUM_CLASSES),
        "recall": metrics.Recall(NUM_CLASSES),
        "pixel_accuracy": metrics.PixelAccuracy(NUM_CLASSES),
    }


def make_inputs(path, seed=0):
    """Fixed test data: labels with class 2 absent from the second image, softmax
    probabilities, logits, per-pixel weights, binary labels and probabilities, images."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, (2, 8, 8))
    labels[1][labels[1] == 2] = 0
    logits = rng.normal(size=(2, 8, 8, NUM_CLASSES)).astype("float32") * 2
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.savez(
        path, labels=labels, logits=logits, probs=probs.astype("float32"),
        weights=rng.uniform(0.1, 2.0, (2, 8, 8)).astype("float32"),
        binary_labels=(labels > 0).astype("int32"),
        binary=rng.uniform(0.01, 0.99, (2, 8, 8, 1)).astype("float32"),
        images=rng.uniform(0, 1, (4, 32, 32, 3)).astype("float32"),
    )


def probe(inputs_path, checkpoint):
    data = dict(np.load(inputs_path))
    return {
        "backend": keras.backend.backend(),
        "losses": _loss_values(data),
        "metrics": _metric_values(data),
        "pretrained": _pretrained(checkpoint, data["images"]),
        "training": _training(checkpoint, data["images"]),
    }


def _loss_values(data):
    values = {}
    for name, (loss, prediction, weighted) in loss_cases().items():
        truth = data["binary_labels"] if prediction == "binary" else data["labels"]
        predicted = data["probs"] if prediction == "logits_as_probs" else data[prediction]
        weight = data["weights"] if weighted else None
        values[name] = float(keras.ops.convert_to_numpy(loss(truth, predicted, sample_weight=weight)))
    return values


def _metric_values(data):
    values = {}
    for name, metric in metric_cases().items():
        metric.update_state(data["labels"], data["probs"], data["weights"])
        values[name] = np.asarray(keras.ops.convert_to_numpy(metric.result())).tolist()
    return values


def _pretrained(checkpoint, images):
    """A checkpoint saved under TensorFlow: its predictions, and with a new 1-channel sigmoid head."""
    model = segzoo.from_pretrained(checkpoint)
    new_head = segzoo.from_pretrained(checkpoint, num_classes=1, activation="sigmoid")
    return {
        "prediction": model.predict(images, verbose=0).tolist(),
        "new_head_shape": list(new_head.predict(images, verbose=0).shape),
    }


def _training(checkpoint, images):
    """Two epochs of fit from the checkpoint's weights (the same start on every backend);
    then save, reload and compare predictions."""
    model = segzoo.from_pretrained(checkpoint)
    labels = training_labels(images)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=losses.Dice() + losses.CrossEntropy(),
                  metrics=[metrics.IoU(NUM_CLASSES)])
    history = model.fit(images, labels, batch_size=2, epochs=2, shuffle=False, verbose=0).history
    with tempfile.TemporaryDirectory() as folder:
        model.save(f"{folder}/model.keras")
        reloaded = keras.saving.load_model(f"{folder}/model.keras")
        difference = np.abs(reloaded.predict(images, verbose=0) - model.predict(images, verbose=0)).max()
        report = segzoo.evaluate(reloaded, (images, labels))
    return {"loss": history["loss"], "iou": history["iou"], "reload_difference": float(difference),
            "evaluate_iou": report["mean"]["iou"], "reloaded_loss": type(reloaded.loss).__name__}


def training_labels(images):
    return (images[..., 0] * NUM_CLASSES).astype("int32").clip(0, NUM_CLASSES - 1)


def make_checkpoint(folder):
    """The small model every backend starts from (built and saved under TensorFlow)."""
    keras.utils.set_random_seed(0)
    model = segzoo.build("resunet", backbone="none", num_classes=NUM_CLASSES, activation="softmax",
                         input_shape=(32, 32, 3), depth=3, encoder_filters=4)
    return segzoo.save_pretrained(model, folder, class_names=["background", "a", "b"])


if __name__ == "__main__":
    inputs_path, checkpoint, out = sys.argv[1:]
    with open(out, "w") as file:
        json.dump(probe(inputs_path, checkpoint), file)
