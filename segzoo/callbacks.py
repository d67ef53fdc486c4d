"""Keras callbacks against the failure "it learns in training, predicts nonsense at
inference": BatchNormalization moving statistics that lag behind the weights.

- `RecalibrateBatchNorm` recomputes them from the training data (see
  `segzoo.recalibrate_batchnorm`) at the end of training, or before every validation pass.
- `InferenceModeCheck` scores one validation batch in inference mode (what
  `model.predict` does) and in training mode (what the training loss sees) after every
  epoch, and says in one line, with the fix, when inference mode is far worse.
"""

import keras
import numpy as np

from segzoo import metrics
from segzoo.batchnorm import recalibrate_batchnorm
from segzoo.errors import ConfigError
from segzoo.models.heads import head_reading


class RecalibrateBatchNorm(keras.callbacks.Callback):
    """Recalibrate the model's BatchNormalization statistics over `data` (the training
    data, as `fit` gets it) when training ends; with `every_epoch=True` also before each
    validation pass (or at each epoch's end without validation), so that validation
    metrics, and checkpoints chosen by them, see the model as `predict` will."""

    def __init__(self, data, steps=None, every_epoch=False):
        super().__init__()
        self.data = data
        self.steps = steps
        self.every_epoch = bool(every_epoch)
        self._fitting = False
        self._current = False  # recalibrated since the last training batch

    def on_train_begin(self, logs=None):
        self._fitting = True

    def on_train_batch_end(self, batch, logs=None):
        self._current = False

    def on_test_begin(self, logs=None):
        if self._fitting and self.every_epoch:
            self._recalibrate()

    def on_epoch_end(self, epoch, logs=None):
        if self.every_epoch and not self._current:
            self._recalibrate()

    def on_train_end(self, logs=None):
        self._fitting = False
        if not self._current:
            self._recalibrate()

    def _recalibrate(self):
        recalibrate_batchnorm(self.model, self.data, steps=self.steps)
        self._current = True


class InferenceModeCheck(keras.callbacks.Callback):
    """After each epoch, the mean IoU of one validation batch in inference mode and in
    training mode; when inference mode is lower by more than `max_gap` for `patience`
    epochs in a row, or in the last epoch, one line says so with the fix (once per
    training). Early epochs, whose weights move faster than any moving average, may show
    a gap that closes by itself: hence the patience. `gaps` keeps every epoch's
    (training - inference).

    validation_data: a dataset or iterable of (x, y[, w]) batches, whose first batch is
    used, or a tuple (x, y) of arrays, whose first `batch_size` images are. The training
    mode pass does not change the model: no moving statistic is updated.
    """

    def __init__(self, validation_data, max_gap=0.2, patience=3, batch_size=16, ignore_index=None):
        super().__init__()
        if not 0.0 < max_gap < 1.0:
            raise ConfigError(f"max_gap must be in (0, 1) (a difference of mean IoU), got {max_gap!r}.")
        if not isinstance(patience, int) or patience < 1:
            raise ConfigError(f"patience must be a positive number of epochs, got {patience!r}.")
        self.validation_data = validation_data
        self.max_gap = float(max_gap)
        self.patience = patience
        self.batch_size = batch_size
        self.ignore_index = ignore_index
        self.gaps = []
        self.warned = False
        self._last = None  # (epoch, inference, training) of the last scored epoch

    def on_train_begin(self, logs=None):
        self.gaps, self.warned, self._last = [], False, None

    def on_epoch_end(self, epoch, logs=None):
        x, y = self._batch()
        inference = self._mean_iou(y, self.model(x, training=False))
        training = self._mean_iou(y, _training_mode_outputs(self.model, x))
        if np.isnan(inference) or np.isnan(training):
            return
        self.gaps.append(training - inference)
        self._last = (epoch + 1, inference, training)
        recent = self.gaps[-self.patience:]
        if len(recent) == self.patience and min(recent) > self.max_gap:
            self._warn()

    def on_train_end(self, logs=None):
        if self.gaps and self.gaps[-1] > self.max_gap:
            self._warn()

    def _warn(self):
        if not self.warned:
            self.warned = True
            print(inference_gap_message(*self._last), flush=True)

    def _batch(self):
        data = self.validation_data
        if isinstance(data, tuple) and len(data) in (2, 3) and hasattr(data[0], "shape"):
            return data[0][: self.batch_size], data[1][: self.batch_size]
        batch = next(iter(data))
        return batch[0], batch[1]

    def _mean_iou(self, y, prediction):
        channels = prediction.shape[-1]
        mode, from_logits = head_reading(getattr(self.model, "activation", "softmax"), channels)
        metric = metrics.IoU(channels, mode=mode, from_logits=from_logits, ignore_index=self.ignore_index)
        metric.update_state(y, prediction)
        return float(keras.ops.convert_to_numpy(metric.result()))


def _training_mode_outputs(model, x):
    """The model's outputs in training mode, without updating its state."""
    outputs, _ = model.stateless_call(
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        x,
        training=True,
    )
    return outputs


def inference_gap_message(epoch, inference, training):
    return (
        f"segzoo: epoch {epoch}: validation mean IoU {inference:.3f} in inference mode (model.predict) "
        f"against {training:.3f} in training mode on the same batch: the BatchNormalization moving "
        "statistics lag behind the weights, and predictions will look this bad. Fix: "
        "segzoo.recalibrate_batchnorm(model, training_data) after fit (or the callback "
        "segzoo.callbacks.RecalibrateBatchNorm), or build with a lower batchnorm_momentum (0.9)."
    )
