"""save_pretrained and from_pretrained on a local folder: files, card, golden, compile, new head."""

import json

import h5py
import huggingface_hub
import keras
import numpy as np
import pytest
import yaml

import segzoo
from segzoo.errors import CheckpointError, ConfigError, KerasVersionError, UnknownNameError

CLASS_NAMES = ["background", "circle", "square"]
METRICS = {"mean_iou": 0.8125, "dice": 0.875}


def tiny_model(seed=3):
    """A small U-Net whose every weight (BatchNorm statistics too) is random, so a model
    that failed to load its weights cannot give the same predictions by chance."""
    model = segzoo.build("unet", backbone="none", num_classes=3, activation="softmax",
                         input_shape=(32, 32, 3), encoder_filters=4, depth=3)
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        positive = weight.path.endswith(("gamma", "moving_variance"))
        low, high = (0.5, 1.5) if positive else (-0.5, 0.5)
        weight.assign(rng.uniform(low, high, tuple(weight.shape)).astype("float32"))
    return model


def probe():
    return np.random.default_rng(11).uniform(0, 255, (2, 32, 32, 3)).astype("float32")


def predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = tiny_model()
    model.compile(optimizer="adam", loss=segzoo.losses.Dice() + segzoo.losses.CrossEntropy(),
                  metrics=[segzoo.metrics.IoU(3)])
    folder = segzoo.save_pretrained(model, tmp_path_factory.mktemp("ckpt"), class_names=CLASS_NAMES,
                                    metrics=METRICS, dataset="shapes", license="apache-2.0")
    return {
        "folder": folder,
        "loss": keras.saving.serialize_keras_object(model.loss),
        "y": predict(model, probe()),
        "weights": [(w.path, keras.ops.convert_to_numpy(w)) for w in model.weights],
    }


def test_writes_the_checkpoint_files(saved):
    names = sorted(p.name for p in saved["folder"].iterdir())
    assert names == ["README.md", "config.json", "input.npz", "model.weights.h5", "output.npz"]


def test_config_is_the_build_arguments_plus_metadata(saved):
    config = json.loads((saved["folder"] / "config.json").read_text())
    compile_record = config.pop("compile")
    assert config == {
        # What tiny_model passed to segzoo.build ...
        "architecture": "unet",
        "backbone": "none",
        "num_classes": 3,
        "activation": "softmax",
        "input_shape": [32, 32, 3],
        "encoder_filters": 4,
        "depth": 3,
        # ... build's documented defaults (decoder: the encoder widths 4, 8, 16 mirrored) ...
        "encoder_weights": None,
        "encoder_freeze": False,
        "decoder_filters": [16, 8, 4],
        "batchnorm_momentum": None,
        "include_preprocessing": False,
        "name": "unet_none",
        "trainable": True,
        # ... and what save_pretrained was given or measured.
        "class_names": CLASS_NAMES,
        "preprocessing": "none",
        "segzoo_version": segzoo.__version__,
        "keras_version": keras.__version__,
        "dataset": "shapes",
        "metrics": METRICS,
        "license": "apache-2.0",
    }
    assert compile_record["loss"] == saved["loss"]
    metrics = compile_record["metrics"]
    assert [metric["registered_name"] for metric in metrics] == ["segzoo>IoUMetric"]


def test_card_front_matter_parses(saved):
    text = (saved["folder"] / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["library_name"] == "segzoo"
    assert meta["pipeline_tag"] == "image-segmentation"
    assert meta["license"] == "apache-2.0"
    assert meta["datasets"] == ["shapes"]
    # huggingface_hub's own reader sees the same metadata and the measured metrics.
    card = huggingface_hub.ModelCard(text)
    results = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert results == METRICS
    body = text.split("---\n", 2)[2]
    for expected in [*CLASS_NAMES, "32 x 32 x 3", "0.8125", "from_pretrained"]:
        assert expected in body


def test_golden_output_is_reproduced(saved):
    model = segzoo.from_pretrained(saved["folder"])
    with np.load(saved["folder"] / "input.npz") as inputs, np.load(saved["folder"] / "output.npz") as outputs:
        x, y = inputs["input"], outputs["output"]
    assert x.shape == (1, 32, 32, 3)
    assert 0 <= x.min() and x.max() <= 255  # backbone "none" takes pixels in [0, 255]
    np.testing.assert_allclose(predict(tiny_model(), x), y, atol=1e-5)  # what the saved model gives
    np.testing.assert_allclose(predict(model, x), y, atol=1e-4)
    assert segzoo.hub.check_golden(model, saved["folder"]) <= 1e-4


def test_golden_mismatch_is_reported(saved):
    other = tiny_model(seed=4)
    with pytest.raises(CheckpointError, match="golden output"):
        segzoo.hub.check_golden(other, saved["folder"])


def test_load_from_folder_gives_the_saved_predictions(saved):
    model = segzoo.from_pretrained(saved["folder"])
    np.testing.assert_allclose(predict(model, probe()), saved["y"], atol=1e-6)
    assert model.class_names == tuple(CLASS_NAMES)
    assert not model.compiled


def test_compile_restores_loss_and_trains_one_step(saved):
    model = segzoo.from_pretrained(saved["folder"], compile=True)
    assert keras.saving.serialize_keras_object(model.loss) == saved["loss"]
    assert [type(loss).__name__ for loss in model.loss.losses] == ["Dice", "CrossEntropy"]
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    model.run_eagerly = True  # a graph trace costs ~20 s here; the step is the same
    labels = np.random.default_rng(0).integers(0, 3, (2, 32, 32))
    history = model.fit(probe(), labels, epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert "iou" in history.history


def test_new_num_classes_keeps_every_weight_but_the_head(saved):
    model = segzoo.from_pretrained(saved["folder"], num_classes=5)
    assert model.output.shape[-1] == 5
    assert model.activation == "softmax"
    pairs = list(zip(saved["weights"], model.weights, strict=True))
    for (path, before), weight in pairs:
        after = keras.ops.convert_to_numpy(weight)
        if path.startswith("head_conv"):
            assert after.shape != before.shape
        else:
            np.testing.assert_array_equal(after, before, err_msg=path)
    assert sum(path.startswith("head_conv") for (path, _), _ in pairs) == 2  # kernel and bias
    assert model.class_names == ()


def test_new_activation_only_keeps_the_head_weights(saved):
    model = segzoo.from_pretrained(saved["folder"], activation="logits")
    logits = predict(model, probe())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.softmax(logits)), saved["y"], atol=1e-5)


def test_fine_tuning_load_compiles_metrics_for_the_new_head(saved):
    model = segzoo.from_pretrained(saved["folder"], num_classes=4, compile=True)
    model.run_eagerly = True
    labels = np.random.default_rng(0).integers(0, 4, (2, 32, 32))
    history = model.fit(probe(), labels, epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_uncompiled_checkpoint_cannot_compile(tmp_path):
    folder = segzoo.save_pretrained(tiny_model(), tmp_path, golden=False)
    assert not (folder / "input.npz").exists()
    with pytest.raises(CheckpointError, match="records no loss"):
        segzoo.from_pretrained(folder, compile=True)


def test_class_names_must_match_the_channels(tmp_path):
    with pytest.raises(ConfigError, match="one name per channel"):
        segzoo.save_pretrained(tiny_model(), tmp_path, class_names=["a", "b"])


def test_a_binary_model_names_foreground_or_both_classes(tmp_path):
    binary = segzoo.build("unet", backbone="none", num_classes=1, activation="sigmoid",
                          input_shape=(32, 32, 3), encoder_filters=4, depth=3)
    for names in (["car"], ["background", "car"]):
        folder = segzoo.save_pretrained(binary, tmp_path / str(len(names)), class_names=names, golden=False)
        assert segzoo.from_pretrained(folder).class_names == tuple(names)
    with pytest.raises(ConfigError, match="background and foreground"):
        segzoo.save_pretrained(binary, tmp_path / "3", class_names=["a", "b", "c"])


def test_incomplete_folder_and_unknown_name(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="model.weights.h5"):
        segzoo.from_pretrained(tmp_path)
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"format_version": 1, "checkpoints": {}}')
    with pytest.raises(UnknownNameError, match="not a local folder"):
        segzoo.from_pretrained("no-such-checkpoint", manifest=manifest)


def test_keras_older_than_the_floor(saved, tmp_path, monkeypatch):
    monkeypatch.setattr(keras, "__version__", "3.14.2")
    with pytest.raises(KerasVersionError, match="keras>=3.15"):
        segzoo.from_pretrained(saved["folder"])
    with pytest.raises(KerasVersionError, match="pip install"):
        segzoo.save_pretrained(tiny_model(), tmp_path)


def test_weights_file_holds_the_model_not_the_optimizer(tmp_path):
    model = tiny_model()
    model.compile(optimizer="adam", loss=segzoo.losses.Dice(), run_eagerly=True)
    model.fit(probe(), np.zeros((2, 32, 32), "int32"), epochs=1, verbose=0)  # Adam's moments now exist
    folder = segzoo.save_pretrained(model, tmp_path / "ckpt", golden=False)
    model.save_weights(tmp_path / "with_optimizer.weights.h5")
    with h5py.File(tmp_path / "with_optimizer.weights.h5") as plain, h5py.File(folder / "model.weights.h5") as saved:
        assert "optimizer" in plain and "optimizer" not in saved
        assert sorted(saved["layers"]) == sorted(plain["layers"])
    np.testing.assert_allclose(predict(segzoo.from_pretrained(folder), probe()), predict(model, probe()), atol=1e-5)
