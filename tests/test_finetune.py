import keras
import numpy as np
import pytest

import segzoo
from segzoo.errors import ConfigError


def _model(**kwargs):
    return segzoo.build("unet", backbone="mobilenetv2", num_classes=3, activation="softmax",
                        input_shape=(64, 64, 3), **kwargs)


def _fit_once(model, rng):
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(), run_eagerly=True)
    x = rng.uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    model.train_on_batch(x, rng.integers(0, 3, (2, 64, 64)))


def _snapshot(layers):
    return [np.array(w) for layer in layers for w in layer.get_weights()]


def _changed(before, after):
    return [not np.array_equal(a, b) for a, b in zip(before, after, strict=True)]


def test_frozen_encoder_keeps_weights_and_batchnorm_statistics(rng):
    model = _model(encoder_freeze=True)
    assert model.encoder.trainable_weights == []
    encoder_before = _snapshot(model.encoder.layers)  # includes moving mean / variance
    decoder_before = _snapshot([model.get_layer("decoder_stage1_block1_conv")])
    _fit_once(model, rng)
    assert not any(_changed(encoder_before, _snapshot(model.encoder.layers)))
    assert all(_changed(decoder_before, _snapshot([model.get_layer("decoder_stage1_block1_conv")])))


def test_freeze_then_unfreeze_from_a_layer(rng):
    model = segzoo.freeze_encoder(_model())
    assert model.get_config()["encoder_freeze"] is True
    segzoo.unfreeze_encoder(model, from_layer="block_13_expand")
    layers = model.encoder.layers
    start = [layer.name for layer in layers].index("block_13_expand")
    assert not any(layer.trainable for layer in layers[:start] if layer.weights)
    assert layers[start].trainable
    batchnorms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert not any(layer.trainable for layer in batchnorms)  # kept in inference mode
    before = _snapshot([model.encoder.get_layer("block_14_expand"), model.encoder.get_layer("block_1_expand")])
    _fit_once(model, rng)
    after = _snapshot([model.encoder.get_layer("block_14_expand"), model.encoder.get_layer("block_1_expand")])
    assert _changed(before, after) == [True, False]


def test_unfreeze_everything_including_batchnorm():
    model = segzoo.unfreeze_encoder(_model(encoder_freeze=True), freeze_batchnorm=False)
    assert all(layer.trainable for layer in model.encoder.layers)


def test_replace_head_keeps_every_other_weight(rng):
    model = _model()
    _fit_once(model, rng)
    new = segzoo.replace_head(model, num_classes=5, activation="softmax")
    assert new.output_shape == (None, 64, 64, 5)
    for layer in model.layers:
        if layer.name in ("head_conv", "input") or not layer.weights:
            continue
        for got, want in zip(_snapshot([new.get_layer(layer.name)]), _snapshot([layer]), strict=True):
            np.testing.assert_array_equal(got, want)
    assert new.get_layer("head_conv").get_weights()[0].shape[-1] == 5


def test_config_rebuilds_the_same_model():
    model = _model(decoder_filters=(64, 32, 16, 8, 4), upsampling="transpose")
    config = model.get_config()
    rebuilt = segzoo.build(**{k: v for k, v in config.items() if k not in ("name", "trainable")})
    assert rebuilt.count_params() == model.count_params()
    assert rebuilt.get_config() == config


def test_from_config_never_downloads(monkeypatch):
    from keras.src.applications import mobilenet_v2

    def refuse(*args, **kwargs):
        raise AssertionError("from_config tried to download weights")

    monkeypatch.setattr(mobilenet_v2.file_utils, "get_file", refuse)
    config = {**_model().get_config(), "encoder_weights": "imagenet"}
    model = segzoo.SegmentationModel.from_config(config)
    # The config still names the weights' source, so the pretrained encoder keeps its own
    # BatchNorm momentum (keras.applications' MobileNetV2: 0.999) and the decoder gets 0.9.
    assert model.get_config()["encoder_weights"] == "imagenet"
    assert model.encoder.get_layer("bn_Conv1").momentum == 0.999
    assert model.get_layer("decoder_stage1_block1_bn").momentum == 0.9


def test_unfreeze_from_unknown_layer():
    with pytest.raises(ConfigError, match="no layer named 'nope'"):
        segzoo.unfreeze_encoder(_model(), from_layer="nope")


def test_helpers_reject_foreign_models():
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ConfigError, match="segzoo.build"):
        segzoo.freeze_encoder(plain)
