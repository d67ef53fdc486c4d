"""segzoo.models.valid_input_size and segzoo.training (the library functions behind
`segzoo train`), against hand-written references; segzoo.predict is tested in
tests/test_predict.py, test_tiling.py and test_predict_tta.py."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import segzoo
from segzoo.errors import ConfigError, InputShapeError
from segzoo.models import MIN_PRETRAINED_SIZE, valid_input_size
from segzoo.training import best_epoch, cosine_schedule, with_preprocessing


@pytest.mark.parametrize("size, depth, backbone, expected", [
    ((45, 70), 3, "none", (48, 72)),  # up to multiples of 8
    ((5, 8), 3, "none", (8, 8)),  # never below 2**depth
    ((20, 33), 3, "mobilenetv2", (32, 40)),  # a pretrained backbone: at least 32
    ((64, 64), 5, "resnet50", (64, 64)),
    ((1, 100), 5, "efficientnetb0", (32, 128)),
])
def test_valid_input_size_hand_values(size, depth, backbone, expected):
    assert valid_input_size(size, depth, backbone) == expected


def test_the_model_refuses_what_valid_input_size_rounds_up():
    assert MIN_PRETRAINED_SIZE == 32
    with pytest.raises(InputShapeError, match="below 32, the smallest input backbone 'mobilenetv2' takes"):
        segzoo.build("unet", backbone="mobilenetv2", input_shape=(16, 16, 3), depth=3)


def test_cosine_schedule_and_best_epoch():
    data = tf.data.Dataset.range(10).batch(2)  # 5 batches
    schedule = cosine_schedule(1e-2, data, epochs=4)
    assert schedule.decay_steps == 20 and float(schedule(0)) == pytest.approx(1e-2)
    assert float(schedule(10)) == pytest.approx(5e-3) and float(schedule(20)) == pytest.approx(0.0)
    assert cosine_schedule(1e-2, data.repeat(), epochs=4) == 1e-2  # infinite: a constant rate
    assert best_epoch({"val_iou": [0.2, float("nan"), 0.7, 0.5]}) == (2, 0.7)
    assert best_epoch({"val_loss": [0.9, 0.3, 0.4]}, "val_loss", mode="min") == (1, 0.3)
    assert best_epoch({"loss": [1.0]}) is None and best_epoch({"val_iou": [float("nan")]}) is None


def test_fit_best_keeps_the_best_epochs_weights():
    """A learning rate that first helps and then wrecks the model: the weights that come
    back are those of the epoch with the highest val_iou, not the last."""
    keras.utils.set_random_seed(4)
    model = segzoo.build("unet", backbone="none", num_classes=3, input_shape=(16, 16, 3), depth=3,
                         encoder_filters=4)
    x = np.random.default_rng(4).uniform(0, 255, (8, 16, 16, 3)).astype(np.float32)
    y = (x[..., 0] > 128).astype(np.int32) + (x[..., 1] > 200).astype(np.int32)
    data = with_preprocessing(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), "none")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=segzoo.losses.from_spec("ce"),
                  metrics=[segzoo.metrics.IoU(3, name="iou")])
    saved = {}

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved[epoch] = [w.copy() for w in self.model.get_weights()]

    history = segzoo.fit_best(model, data, data, epochs=4, callbacks=[Snapshot()], verbose=0)
    epoch, _ = best_epoch(history)
    for got, want in zip(model.get_weights(), saved[epoch]):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ConfigError, match="mode must be one of"):
        segzoo.fit_best(model, data, data, epochs=1, mode="best")
