"""segzoo.predict, segzoo.models.valid_input_size and segzoo.training (the library
functions behind `segzoo predict` and `segzoo train`), against hand-written references."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import segzoo
from segzoo.errors import ConfigError, InputShapeError
from segzoo.models import MIN_PRETRAINED_SIZE, valid_input_size
from segzoo.training import best_epoch, cosine_schedule, with_preprocessing

ODD_SIZES = ((45, 70), (17, 9), (33, 31))


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


def bilinear(image, size):
    """tf.image.resize's bilinear (half-pixel centres, no antialiasing), in NumPy."""
    out = image.astype(np.float32)
    for axis, new in enumerate(size):
        old = out.shape[axis]
        source = np.clip((np.arange(new) + 0.5) * old / new - 0.5, 0, old - 1)
        low = np.floor(source).astype(int)
        high = np.minimum(low + 1, old - 1)
        shape = [1] * out.ndim
        shape[axis] = new
        t = (source - low).astype(np.float32).reshape(shape)
        out = np.take(out, low, axis) * (1 - t) + np.take(out, high, axis) * t
    return out


def nearest(labels, size):
    """tf.image.resize's nearest neighbour (half-pixel centres), in NumPy."""
    rows = np.minimum(np.floor((np.arange(size[0]) + 0.5) * labels.shape[0] / size[0]).astype(int), labels.shape[0] - 1)
    cols = np.minimum(np.floor((np.arange(size[1]) + 0.5) * labels.shape[1] / size[1]).astype(int), labels.shape[1] - 1)
    return labels[rows][:, cols]


def reference_predict(model, image, model_size, prepare=lambda x: x):
    x = prepare(bilinear(image, model_size))
    output = np.asarray(model.predict_on_batch(x[None]))[0]
    labels = (output[..., 0] > 0.5).astype(np.int32) if output.shape[-1] == 1 else output.argmax(-1)
    return nearest(labels, image.shape[:2])


@pytest.fixture(scope="module")
def any_size_model():
    keras.utils.set_random_seed(1)
    return segzoo.build("unet", backbone="none", num_classes=3, input_shape=(None, None, 3), depth=3,
                        encoder_filters=4)


def images(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 255, (*size, 3)).astype(np.float32) for size in sizes]


def test_predict_matches_resize_predict_resize_at_each_images_size(any_size_model):
    inputs = images(ODD_SIZES)
    masks = segzoo.predict(any_size_model, inputs, batch_size=4)
    for image, mask in zip(inputs, masks):
        height, width = image.shape[:2]
        rounded = (8 * math.ceil(height / 8), 8 * math.ceil(width / 8))
        assert mask.shape == (height, width) and mask.dtype == np.int32
        np.testing.assert_array_equal(mask, reference_predict(any_size_model, image, rounded))


def test_predict_batches_same_sizes_and_takes_files(any_size_model, tmp_path):
    inputs = images([(45, 70), (45, 70), (17, 9)], seed=1)
    one_by_one = [segzoo.predict(any_size_model, image) for image in inputs]
    for together, alone in zip(segzoo.predict(any_size_model, inputs, batch_size=2), one_by_one):
        np.testing.assert_array_equal(together, alone)
    path = tmp_path / "photo.png"
    tf.io.write_file(str(path), tf.io.encode_png(inputs[0].round().astype(np.uint8)))
    np.testing.assert_array_equal(segzoo.predict(any_size_model, path),
                                  segzoo.predict(any_size_model, inputs[0].round()))
    batch = tf.constant(np.stack(inputs[:2]))  # a 4-D tensor is a list of images, a 3-D one an image
    for got, want in zip(segzoo.predict(any_size_model, batch), one_by_one):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(segzoo.predict(any_size_model, batch[0]), one_by_one[0])


def test_predict_fixed_size_pretrained_convention_and_probabilities():
    """A 32x32 MobileNetV2 sigmoid model: images go in at 32x32 scaled to [-1, 1]."""
    keras.utils.set_random_seed(2)
    model = segzoo.build("unet", backbone="mobilenetv2", num_classes=1, input_shape=(32, 32, 3), alpha=0.35)
    inputs = images(ODD_SIZES, seed=2)
    masks, probabilities = segzoo.predict(model, inputs, return_probabilities=True)
    for image, mask, probability in zip(inputs, masks, probabilities):
        expected = reference_predict(model, image, (32, 32), prepare=lambda x: x / 127.5 - 1.0)
        np.testing.assert_array_equal(mask, expected)
        assert probability.shape == (*image.shape[:2], 1) and 0.0 <= probability.min() <= probability.max() <= 1.0


def test_predict_threshold_on_a_logits_head_is_a_probability():
    keras.utils.set_random_seed(3)
    model = segzoo.build("unet", backbone="none", num_classes=1, activation=None, input_shape=(16, 16, 3),
                         depth=3, encoder_filters=4)
    image = images([(16, 16)], seed=3)[0]
    logits = np.asarray(model.predict_on_batch(image[None]))[0, ..., 0]
    for threshold in (0.3, 0.5, 0.7):
        expected = (1 / (1 + np.exp(-logits)) > threshold).astype(np.int32)
        np.testing.assert_array_equal(segzoo.predict(model, image, threshold=threshold), expected)
    with pytest.raises(ConfigError, match="threshold must be a probability"):
        segzoo.predict(model, image, threshold=1.0)


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
