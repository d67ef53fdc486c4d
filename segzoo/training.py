"""Training helpers behind `segzoo train`: a cosine learning-rate schedule, a fit that
ends with the weights of its best epoch, and the backbone's input convention on batches."""

import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from segzoo.data import preprocessing_function
from segzoo.errors import ConfigError

MODES = ("max", "min")


def cosine_schedule(learning_rate, data, epochs):
    """Adam's learning rate cosine-decayed to 0 over `epochs` passes of `data` (a
    tf.data.Dataset of batches); a constant rate when the number of batches is unknown."""
    steps = int(data.cardinality())
    if steps <= 0:  # unknown (-2) or infinite (-1)
        return learning_rate
    return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps * epochs)


def fit_best(model, train, validation, *, epochs, monitor="val_iou", mode="max", callbacks=(), verbose="auto"):
    """model.fit(train, validation_data=validation, epochs=epochs); the model then holds
    the weights of the epoch with the best `monitor` (mode "max" or "min"), not those of
    the last. Returns the history dict. `train` is shuffled by tf.data, not by fit."""
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES} (is a higher {monitor} better?), got {mode!r}.")
    with tempfile.TemporaryDirectory(prefix="segzoo-train-") as scratch:
        best = Path(scratch) / "best.weights.h5"
        checkpoint = keras.callbacks.ModelCheckpoint(str(best), monitor=monitor, mode=mode, save_best_only=True,
                                                     save_weights_only=True)
        history = model.fit(train, validation_data=validation, epochs=epochs, verbose=verbose,
                            callbacks=[*callbacks, checkpoint], shuffle=False).history
        if best.exists():  # absent when `monitor` was never logged
            model.load_weights(best)
    return history


def best_epoch(history, monitor="val_iou", mode="max"):
    """(index, value) of the best epoch of a history dict by `monitor`, or None when it
    was never logged or always NaN."""
    scores = history.get(monitor, [])
    if not scores or np.all(np.isnan(scores)):
        return None
    index = int(np.nanargmax(scores) if mode == "max" else np.nanargmin(scores))
    return index, scores[index]


def with_preprocessing(data, model):
    """(x, y[, w]) batches of [0, 255] images with the input convention of `model` (a segzoo
    model, or a backbone name) applied to x; unchanged when the model normalises raw
    pixels itself or includes its preprocessing layer."""
    prepare = preprocessing_function(model)
    if prepare is None:
        return data
    return data.map(lambda x, *rest: (prepare(x), *rest), num_parallel_calls=tf.data.AUTOTUNE)
