"""Soak: 300 training steps under the mixed_float16 policy on a heavily imbalanced set
(about 1 % foreground): no NaN or inf anywhere, and the checkpoint reloads to the same
predictions."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import segzoo

STEPS = 300
SIZE = 32
BATCH = 8


class StepLosses(keras.callbacks.Callback):
    """The loss Keras reports after every step (the running mean of its epoch)."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


@pytest.fixture
def mixed_precision():
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def imbalanced_data():
    data = segzoo.datasets.shapes(64, image_size=SIZE, num_classes=4, foreground_fraction=0.01,
                                  colours="random", seed=3, batch_size=BATCH)
    images, masks = data.arrays["train"]
    return images.astype("float32") / 127.5 - 1.0, masks, data


def test_mixed_float16_soak(mixed_precision, tmp_path):
    images, masks, data = imbalanced_data()
    foreground = float(np.mean(masks > 0))
    assert foreground < 0.03  # heavily imbalanced indeed
    keras.utils.set_random_seed(0)
    model = segzoo.build("resunet", backbone="none", num_classes=4, activation="softmax",
                         input_shape=(SIZE, SIZE, 3), depth=3, encoder_filters=4)
    assert model.compute_dtype == "float16" and model.output.dtype == "float32"
    # A high learning rate and a loss with log terms: where float16 overflow would show.
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=segzoo.losses.Dice(per_image=False) + segzoo.losses.Focal()
                  + segzoo.losses.GeneralizedDice(per_image=True),
                  metrics=[segzoo.metrics.IoU(4)])
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    steps = StepLosses()
    epochs = 30
    batches = tf.data.Dataset.from_tensor_slices((images, masks)).shuffle(64, seed=0).repeat().batch(BATCH)
    history = model.fit(batches, epochs=epochs, steps_per_epoch=STEPS // epochs, shuffle=False,
                        callbacks=[steps, keras.callbacks.TerminateOnNaN()], verbose=0).history

    assert len(steps.losses) >= STEPS
    assert np.all(np.isfinite(steps.losses))
    assert history["loss"][-1] < 0.8 * history["loss"][0]  # it learned, not just survived
    assert all(np.all(np.isfinite(keras.ops.convert_to_numpy(w))) for w in model.weights)

    held_out = data.arrays["validation"][0].astype("float32") / 127.5 - 1.0
    predicted = model.predict(held_out, verbose=0)
    assert np.all(np.isfinite(predicted))
    model.save(tmp_path / "soak.keras")
    folder = segzoo.save_pretrained(model, tmp_path / "soak", class_names=["background", "a", "b", "c"])
    for reloaded in (keras.saving.load_model(tmp_path / "soak.keras"), segzoo.from_pretrained(folder)):
        np.testing.assert_array_equal(reloaded.predict(held_out, verbose=0), predicted)
