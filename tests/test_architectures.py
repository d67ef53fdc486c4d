"""One tester for every architecture x backbone family: shapes, a training step that
lowers the loss, and a `.keras` round trip in a fresh process."""

import keras
import numpy as np
import pytest
from conftest import ARCHITECTURES, FAMILIES, small_options

import segzoo

NUM_CLASSES = 3


def _batch(rng, shape, num_classes=NUM_CLASSES, batch=2):
    x = rng.uniform(-1, 1, size=(batch, *shape)).astype("float32")
    y = rng.integers(0, num_classes, size=(batch, *shape[:-1])).astype("int32")
    return x, y


# (learning rate, steps) where Adam's 1e-4 for one step does not fit. SegFormer's loss at
# initialisation is sharp along Adam's first (sign) step: over resnet50 and resnet50v2 one
# step of 1e-4 raised it (1.250 -> 1.294, 1.262 -> 1.443; 3 or 5 steps still raised it over
# resnet50v2), while 3 steps of 1e-5 lower it (1.250 -> 1.223, 1.262 -> 1.219).
TRAINING = {"segformer": (1e-5, 3)}


def _train_step_lowers_loss(model, x, y, learning_rate=1e-4, steps=1):
    """Dropout is off (`_no_dropout`): random masks would make the two losses incomparable."""
    loss = keras.losses.SparseCategoricalCrossentropy()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, run_eagerly=True)
    before = float(loss(y, model(x, training=True)))
    for _ in range(steps):
        model.train_on_batch(x, y)
    after = float(loss(y, model(x, training=True)))
    assert np.isfinite(before) and after < before, (before, after)


def _no_dropout(architecture):
    return {"dropout": 0.0} if "dropout" in segzoo.models.get_architecture_spec(architecture).options else {}


def _predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _round_trip_in_fresh_process(model, x, tmp_path, fresh_loader):
    expected = _predict(model, x)
    model.save(tmp_path / "model.keras")
    loaded_class, got = fresh_loader.predict(tmp_path / "model.keras", x, tmp_path)
    assert loaded_class == "SegmentationModel"
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("backbone", FAMILIES)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_2d_builds_trains_and_round_trips(architecture, backbone, rng, tmp_path, fresh_loader):
    model = segzoo.build(
        architecture,
        backbone=backbone,
        num_classes=NUM_CLASSES,
        activation="softmax",
        input_shape=(64, 64, 3),
        **small_options(backbone),
        **_no_dropout(architecture),
    )
    x, y = _batch(rng, (64, 64, 3))
    assert _predict(model, x).shape == (2, 64, 64, NUM_CLASSES)
    _train_step_lowers_loss(model, x, y, *TRAINING.get(architecture, (1e-4, 1)))
    _round_trip_in_fresh_process(model, x, tmp_path, fresh_loader)


@pytest.mark.parametrize("backbone", FAMILIES)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_2d_variable_size(architecture, backbone, rng):
    model = segzoo.build(
        architecture, backbone=backbone, num_classes=2, activation=None, **small_options(backbone)
    )
    assert model.input_shape == (None, None, None, 3)
    for size in (64, 96):
        x, _ = _batch(rng, (size, size, 3))
        assert _predict(model, x).shape == (2, size, size, 2)


@pytest.mark.parametrize("upsampling", ["nearest", "transpose"])
def test_unet_upsampling_modes_train_and_round_trip(upsampling, rng, tmp_path, fresh_loader):
    model = segzoo.build("unet", backbone="mobilenetv2", num_classes=NUM_CLASSES, activation="softmax",
                         input_shape=(64, 64, 3), upsampling=upsampling, **small_options("mobilenetv2"))
    x, y = _batch(rng, (64, 64, 3))
    _train_step_lowers_loss(model, x, y)
    _round_trip_in_fresh_process(model, x, tmp_path, fresh_loader)


def test_nearest_unet_variable_size_in_graph_mode(rng):
    model = segzoo.build("unet", backbone="mobilenetv2", num_classes=2, upsampling="nearest")
    x, _ = _batch(rng, (96, 64, 3))
    np.testing.assert_allclose(model.predict(x, verbose=0), _predict(model, x), atol=1e-5)


def test_variable_size_in_graph_mode(rng):
    """predict() runs a traced graph, where spatial sizes are unknown tensors."""
    model = segzoo.build("unet", backbone="mobilenetv2", num_classes=2)
    x, _ = _batch(rng, (96, 64, 3))
    assert model.predict(x, verbose=0).shape == (2, 96, 64, 2)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_3d_builds_trains_and_round_trips(architecture, rng, tmp_path, fresh_loader):
    model = segzoo.build(
        architecture,
        backbone="none",
        num_classes=NUM_CLASSES,
        activation="softmax",
        input_shape=(32, 32, 32, 1),
        encoder_filters=2,
        **_no_dropout(architecture),
    )
    assert any(isinstance(layer, keras.layers.Conv3D) for layer in model.encoder.layers)
    x, y = _batch(rng, (32, 32, 32, 1), batch=1)
    assert _predict(model, x).shape == (1, 32, 32, 32, NUM_CLASSES)
    _train_step_lowers_loss(model, x, y)
    _round_trip_in_fresh_process(model, x, tmp_path, fresh_loader)


def test_3d_variable_size(rng):
    model = segzoo.build(
        "unet", backbone="none", num_classes=2, input_shape=(None, None, None, 1), depth=3, encoder_filters=2
    )
    x, _ = _batch(rng, (16, 24, 8, 1), batch=1)
    assert model.predict(x, verbose=0).shape == (1, 16, 24, 8, 2)


@pytest.mark.parametrize("activation, low, high", [("sigmoid", 0, 1), ("softmax", 0, 1)])
def test_head_activation_ranges(activation, low, high, rng):
    model = segzoo.build("unet", backbone="none", num_classes=3, activation=activation,
                         input_shape=(32, 32, 3), encoder_filters=4)
    out = _predict(model, _batch(rng, (32, 32, 3))[0])
    assert out.min() >= low and out.max() <= high
    if activation == "softmax":
        np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-5)


def test_multilabel_sigmoid_and_logits_heads(rng):
    x = _batch(rng, (32, 32, 3))[0]
    logits = segzoo.build("unet", backbone="none", num_classes=3, activation=None,
                          input_shape=(32, 32, 3), encoder_filters=4)
    sigmoid = segzoo.replace_head(logits, num_classes=3, activation="sigmoid")
    # Same weights, different head activation: sigmoid(logits) == sigmoid head output.
    raw = _predict(logits, x)
    np.testing.assert_allclose(_predict(sigmoid, x), 1 / (1 + np.exp(-raw)), atol=1e-5)


def test_biomedical_resunet_is_one_call():
    model = segzoo.build("resunet", backbone="none", num_classes=4, activation="softmax",
                         input_shape=(224, 224, 3), depth=4, encoder_filters=(16, 32, 64, 128, 256))
    widths = [model.encoder.output[stride].shape[-1] for stride in (1, 2, 4, 8, 16)]
    assert widths == [16, 32, 64, 128, 256]
    assert list(model.decoder_filters) == [128, 64, 32, 16]  # mirrors the encoder
    assert model.output_shape == (None, 224, 224, 4)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_model_outputs_float32_and_trains(policy, rng):
    from segzoo import losses

    keras.mixed_precision.set_global_policy(policy)
    try:
        model = segzoo.build("unet", backbone="none", num_classes=3, activation="softmax",
                             input_shape=(32, 32, 3), depth=3, encoder_filters=4)
        x, y = _batch(rng, (32, 32, 3))
        assert model.get_layer("decoder_stage1_upsample").compute_dtype != "float32"
        assert model(x).dtype == "float32"
        model.compile(optimizer="adam", loss=losses.Dice() + losses.CrossEntropy(), run_eagerly=True)
        history = model.fit(x, y, epochs=2, verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
    finally:
        keras.mixed_precision.set_global_policy("float32")
