"""A model that learns in training predicts the same at inference (issue 15): BatchNorm
momentum that converges in a short training, `recalibrate_batchnorm`, and the callbacks.

The scenario: a plain-encoder U-Net trained from scratch for 150 steps (160 images of
64x64, three small foreground classes, ~4.5 % of the pixels, scaled to [0, 1]). With
Keras' momentum 0.99 it scores a foreground mean IoU of ~1.0 in training mode and 0 with
`model.predict` (every pixel background); with segzoo's default, or after
`recalibrate_batchnorm`, inference mode scores what training mode does. The scores are
computed here in NumPy, apart from segzoo's metrics.
"""

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import segzoo
from segzoo import blocks
from segzoo.callbacks import InferenceModeCheck, RecalibrateBatchNorm
from segzoo.errors import ConfigError

FOREGROUND = (1, 2, 3)
STEPS = 150  # 15 epochs of 10 batches of 16


def foreground_miou(prediction, labels):
    """Mean IoU of the foreground classes from class scores (B, H, W, C), in NumPy."""
    predicted = np.asarray(prediction).argmax(-1)
    scores = []
    for c in FOREGROUND:
        union = ((predicted == c) | (labels == c)).sum()
        if union:
            scores.append(((predicted == c) & (labels == c)).sum() / union)
    return float(np.mean(scores))


def training_mode(model, x):
    return np.concatenate([keras.ops.convert_to_numpy(model(x[i:i + 16], training=True))
                           for i in range(0, len(x), 16)])


@pytest.fixture(scope="module")
def scenario():
    split = segzoo.datasets.shapes(200, image_size=64, num_classes=4, foreground_fraction=0.04, seed=0)
    (xt, yt), (xv, yv) = split.arrays["train"], split.arrays["validation"]
    assert 0.03 < (yt > 0).mean() < 0.06
    return xt.astype("float32") / 255.0, yt.astype("int32"), xv.astype("float32") / 255.0, yv.astype("int32")


def _train(scenario, momentum):
    xt, yt, xv, yv = scenario
    keras.utils.set_random_seed(0)
    model = segzoo.build("unet", backbone="none", num_classes=4, input_shape=(64, 64, 3), depth=3,
                         encoder_filters=16, batchnorm_momentum=momentum)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss=segzoo.losses.Dice() + segzoo.losses.CrossEntropy())
    check = InferenceModeCheck((xv, yv))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        model.fit(xt, yt, batch_size=16, epochs=STEPS // 10, verbose=0, callbacks=[check])
    return {"model": model, "check": check, "printed": printed.getvalue(),
            "training": foreground_miou(training_mode(model, xv), yv),
            "inference": foreground_miou(model.predict(xv, verbose=0), yv)}


@pytest.fixture(scope="module")
def trained(scenario):
    """The same training (same seed, same batches, so the same weights) twice: with
    segzoo's default momentum and with Keras' 0.99."""
    return {"default": _train(scenario, None), "keras": _train(scenario, 0.99)}


def test_default_momentum_predicts_what_training_learned(trained):
    run = trained["default"]
    assert run["training"] >= 0.8, run["training"]
    assert run["inference"] >= 0.8, run["inference"]  # measured 0.997 and 0.997
    assert abs(run["training"] - run["inference"]) <= 0.02


def test_keras_default_momentum_collapses_to_background(trained, scenario):
    run = trained["keras"]
    assert run["training"] >= 0.8, run["training"]  # it learned ...
    assert run["inference"] <= 0.2, run["inference"]  # ... and predicts nothing of it (measured 0.000)
    background = (run["model"].predict(scenario[2], verbose=0).argmax(-1) == 0).mean()
    assert background > 0.99


def test_the_two_runs_learned_the_same_weights(trained):
    # Momentum acts only on the moving statistics, so the collapse is theirs alone.
    for a, b in zip(trained["default"]["model"].trainable_weights, trained["keras"]["model"].trainable_weights):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-5)


def test_inference_mode_check_speaks_up_only_for_the_lagging_model(trained):
    lagging, healthy = trained["keras"], trained["default"]
    assert lagging["check"].warned and healthy["check"].warned is False
    lines = [line for line in lagging["printed"].splitlines() if line.startswith("segzoo:")]
    assert len(lines) == 1
    assert "in inference mode (model.predict)" in lines[0] and "in training mode" in lines[0]
    assert "segzoo.recalibrate_batchnorm(model, training_data)" in lines[0] and "batchnorm_momentum" in lines[0]
    assert max(lagging["check"].gaps[-3:]) > 0.5 and abs(healthy["check"].gaps[-1]) < 0.05


def _copy(model):
    copy = segzoo.SegmentationModel.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def test_recalibrate_recovers_a_model_trained_with_momentum_099(trained, scenario):
    xt, _, xv, yv = scenario
    run = trained["keras"]
    model = _copy(run["model"])
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    segzoo.recalibrate_batchnorm(model, xt)
    recovered = foreground_miou(model.predict(xv, verbose=0), yv)
    assert abs(recovered - run["training"]) <= 0.02, (recovered, run["training"])
    for old, new in zip(before, model.trainable_weights):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))  # weights untouched
    assert all(layer.momentum == 0.99 and type(layer) is blocks.BatchNormalization
               for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization))


_OTHER_BACKEND = """
import json, sys
import numpy as np, keras, segzoo
sys.path.insert(0, sys.argv[3])
from test_batchnorm import foreground_miou, training_mode
model = keras.saving.load_model(sys.argv[1])
data = np.load(sys.argv[2])
xt, xv, yv = data["xt"], data["xv"], data["yv"]
result = {"backend": keras.backend.backend(), "training": foreground_miou(training_mode(model, xv), yv),
          "before": foreground_miou(model.predict(xv, verbose=0), yv)}
segzoo.recalibrate_batchnorm(model, xt)
result["after"] = foreground_miou(model.predict(xv, verbose=0), yv)
print(json.dumps(result))
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_recalibrate_recovers_on_jax_and_torch(backend, trained, scenario, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    xt, _, xv, yv = scenario
    path = tmp_path / "lagging.keras"
    trained["keras"]["model"].save(path)
    np.savez(tmp_path / "data.npz", xt=xt, xv=xv, yv=yv)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", _OTHER_BACKEND, str(path), str(tmp_path / "data.npz"),
                           os.path.dirname(__file__)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == backend
    assert result["training"] >= 0.8 and result["before"] <= 0.2, result
    assert abs(result["after"] - result["training"]) <= 0.02, result


# ------------------------------------------------------------------ exact statistics


def _small_model(dropout=0.5):
    """conv -> Dropout -> BN (segzoo's) -> ReLU -> 1x1 conv -> BN (Keras')."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    x = blocks.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(3, 1, name="pointwise")(x)
    outputs = keras.layers.BatchNormalization(name="bn2")(x)
    model = keras.Model(inputs, outputs)
    for layer in ("bn1", "bn2"):  # statistics and affine terms far from their initial values
        bn = model.get_layer(layer)
        bn.set_weights([np.linspace(0.5, 2.0, bn.gamma.shape[0]), np.linspace(-1, 1, bn.beta.shape[0]),
                        np.full(bn.gamma.shape, 5.0), np.full(bn.gamma.shape, 9.0)])
    return model


def _expected_statistics(model, images, batch_size):
    """NumPy: each BN layer's moving statistics as the pixel-weighted mean of its batch
    statistics, every BN normalizing with its batch's own (and no dropout)."""
    conv = model.get_layer("conv")
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in conv.weights)
    pointwise, pointwise_bias = (keras.ops.convert_to_numpy(w) for w in model.get_layer("pointwise").weights)
    bn1 = model.get_layer("bn1")
    gamma, beta = keras.ops.convert_to_numpy(bn1.gamma), keras.ops.convert_to_numpy(bn1.beta)
    sums = {name: [0.0, 0.0] for name in ("bn1", "bn2")}
    pixels = 0
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size].astype(np.float64)
        padded = np.pad(batch, ((0, 0), (1, 1), (1, 1), (0, 0)))
        features = sum(np.einsum("bhwc,co->bhwo", padded[:, i:i + 8, j:j + 8], kernel[i, j])
                       for i in range(3) for j in range(3)) + bias
        mean1, var1 = features.mean((0, 1, 2)), features.var((0, 1, 2))
        hidden = np.maximum(gamma * (features - mean1) / np.sqrt(var1 + bn1.epsilon) + beta, 0.0)
        second = np.einsum("bhwc,co->bhwo", hidden, pointwise[0, 0]) + pointwise_bias
        count = batch.shape[0] * 64
        for name, values in (("bn1", features), ("bn2", second)):
            sums[name][0] = sums[name][0] + count * values.mean((0, 1, 2))
            sums[name][1] = sums[name][1] + count * values.var((0, 1, 2))
        pixels += count
    return {name: (mean / pixels, variance / pixels) for name, (mean, variance) in sums.items()}


def _moving(model, name):
    layer = model.get_layer(name)
    return keras.ops.convert_to_numpy(layer.moving_mean), keras.ops.convert_to_numpy(layer.moving_variance)


def test_recalibrate_sets_the_pixel_weighted_mean_of_batch_statistics(rng):
    model = _small_model()
    images = rng.normal(2.0, 3.0, (10, 8, 8, 3)).astype("float32")  # batches of 4, 4 and 2
    expected = _expected_statistics(model, images, batch_size=4)
    weights = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    segzoo.recalibrate_batchnorm(model, images, batch_size=4)
    for name in ("bn1", "bn2"):
        for got, want in zip(_moving(model, name), expected[name]):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    for old, new in zip(weights, model.trainable_weights):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))
    assert type(model.get_layer("bn1")) is blocks.BatchNormalization
    assert type(model.get_layer("bn2")) is keras.layers.BatchNormalization
    assert model.get_layer("bn2").momentum == 0.99


def test_recalibrate_leaves_frozen_layers_alone(rng):
    model = _small_model(dropout=0.0)
    model.get_layer("bn1").trainable = False  # frozen: normalizes with its moving statistics in training too
    frozen = _moving(model, "bn1")
    segzoo.recalibrate_batchnorm(model, rng.normal(size=(6, 8, 8, 3)).astype("float32"))
    for got, want in zip(_moving(model, "bn1"), frozen):
        np.testing.assert_array_equal(got, want)
    assert not np.allclose(_moving(model, "bn2")[1], 9.0)


def test_recalibrate_takes_datasets_of_tuples_and_steps(rng):
    images = rng.normal(size=(8, 8, 8, 3)).astype("float32")
    labels = np.zeros((8, 8, 8), "int32")
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    model = _small_model(dropout=0.0)
    expected = _expected_statistics(model, images[:4], batch_size=4)
    segzoo.recalibrate_batchnorm(model, dataset, steps=1)  # the first batch only
    np.testing.assert_allclose(_moving(model, "bn2")[0], expected["bn2"][0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("call, fragments", [
    (lambda m, x: segzoo.recalibrate_batchnorm(m, tf.data.Dataset.from_tensor_slices(x).batch(2).repeat()),
     ["repeats forever", "pass steps=N"]),
    (lambda m, x: segzoo.recalibrate_batchnorm(m, x[:0]), ["got no batch", "the data is empty"]),
    (lambda m, x: segzoo.recalibrate_batchnorm(m, x, steps=-1), ["steps must be a non-negative integer"]),
])
def test_recalibrate_refuses_data_it_cannot_use(call, fragments, rng):
    with pytest.raises(ConfigError) as caught:
        call(_small_model(), rng.normal(size=(4, 8, 8, 3)).astype("float32"))
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_recalibrate_callback_at_train_end_and_every_epoch(rng, monkeypatch):
    images = rng.normal(size=(8, 8, 8, 3)).astype("float32")
    targets = rng.normal(size=(8, 8, 8, 3)).astype("float32")
    model = _small_model(dropout=0.0)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(images, targets, batch_size=4, epochs=1, verbose=0, callbacks=[RecalibrateBatchNorm(images)])
    expected = _expected_statistics(model, images, batch_size=16)  # recalibrate's default batch
    np.testing.assert_allclose(_moving(model, "bn2")[0], expected["bn2"][0], rtol=1e-4, atol=1e-5)

    calls = []
    monkeypatch.setattr(segzoo.callbacks, "recalibrate_batchnorm", lambda *args, **kwargs: calls.append(1))
    fit = dict(x=images, y=targets, batch_size=4, epochs=2, verbose=0)
    model.fit(**fit, callbacks=[RecalibrateBatchNorm(images)])
    assert len(calls) == 1  # at the end only
    model.fit(**fit, validation_data=(images, targets), callbacks=[RecalibrateBatchNorm(images, every_epoch=True)])
    assert len(calls) == 3  # before each validation pass, and nothing left to do at the end
    model.fit(**fit, callbacks=[RecalibrateBatchNorm(images, every_epoch=True)])
    assert len(calls) == 5  # at each epoch's end without validation


def test_inference_mode_check_does_not_change_the_model(rng):
    model = segzoo.build("unet", backbone="none", num_classes=3, input_shape=(32, 32, 3), depth=3, encoder_filters=2)
    model.compile(optimizer="adam", loss=segzoo.losses.Dice())
    x = rng.uniform(size=(4, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 3, (4, 32, 32))
    check = InferenceModeCheck((x, y), patience=1)
    check.set_model(model)
    before = [keras.ops.convert_to_numpy(w) for w in model.weights]
    check.on_epoch_end(0)
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))
    assert len(check.gaps) == 1 and np.isfinite(check.gaps[0])


# ------------------------------------------------------------------ momentum


def _momenta(layers):
    return {layer.momentum for layer in layers if isinstance(layer, keras.layers.BatchNormalization)}


def _all_layers(model):
    return list(model._flatten_layers(include_self=False))


@pytest.mark.parametrize("backbone", ["none", "mobilenetv2", "resnet50"])
def test_layers_trained_from_scratch_get_momentum_09(backbone):
    model = segzoo.build("unet", backbone=backbone, num_classes=2, input_shape=(32, 32, 3),
                         **({"encoder_filters": 2, "depth": 3} if backbone == "none" else {}))
    assert _momenta(_all_layers(model.encoder)) == {0.9}
    assert _momenta(_all_layers(model)) == {0.9}


@pytest.fixture(scope="module")
def mobilenet_weights(tmp_path_factory):
    app = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v2.weights.h5"
    app.save_weights(path)
    return path


def test_pretrained_encoder_keeps_its_own_momentum_unless_asked(mobilenet_weights):
    model = segzoo.build("unet", backbone="mobilenetv2", num_classes=2, input_shape=(32, 32, 3),
                         encoder_weights=mobilenet_weights)
    assert _momenta(_all_layers(model.encoder)) == {0.999}  # keras.applications' MobileNetV2
    assert _momenta(layer for layer in _all_layers(model) if layer not in _all_layers(model.encoder)) == {0.9}
    reloaded = segzoo.SegmentationModel.from_config(model.get_config())
    assert _momenta(_all_layers(reloaded.encoder)) == {0.999}
    asked = segzoo.build("unet", backbone="mobilenetv2", num_classes=2, input_shape=(32, 32, 3),
                         encoder_weights=mobilenet_weights, batchnorm_momentum=0.95)
    assert _momenta(_all_layers(asked)) == {0.95}


def test_momentum_survives_a_keras_round_trip(tmp_path, rng):
    model = segzoo.build("unet", backbone="none", num_classes=3, input_shape=(32, 32, 3), depth=3,
                         encoder_filters=2, batchnorm_momentum=0.97)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.get_config()["batchnorm_momentum"] == 0.97
    assert _momenta(_all_layers(loaded)) == {0.97}


def test_a_checkpoint_saved_before_the_option_loads_and_predicts_as_before(rng):
    model = segzoo.build("unet", backbone="none", num_classes=3, input_shape=(32, 32, 3), depth=3, encoder_filters=2)
    x = rng.uniform(size=(2, 32, 32, 3)).astype("float32")
    old_config = model.get_config()
    del old_config["batchnorm_momentum"]
    old = segzoo.SegmentationModel.from_config(old_config)
    old.set_weights(model.get_weights())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(old(x)), keras.ops.convert_to_numpy(model(x)))
    assert old.get_config()["batchnorm_momentum"] is None


def test_activation_auto_picks_the_head_from_the_class_count():
    def head(classes, **kwargs):
        return segzoo.build("unet", backbone="none", num_classes=classes, input_shape=(32, 32, 3), depth=3,
                            encoder_filters=2, **kwargs)
    assert head(1).activation == "sigmoid"
    assert head(4).activation == "softmax" and head(4).get_config()["activation"] == "softmax"
    assert head(4, activation="sigmoid").activation == "sigmoid"  # multi-label, asked for
    assert segzoo.replace_head(head(1), 4).activation == "softmax"
