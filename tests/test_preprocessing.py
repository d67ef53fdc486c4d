"""The backbones' input conventions (segzoo.models.preprocessing), the Preprocessing layer
and models that include it: against values worked out by hand and NumPy re-implementations,
under TensorFlow here and under JAX and PyTorch in one fresh interpreter each."""

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import segzoo
from segzoo.backbones._spec import BACKBONES
from segzoo.data import preprocessing_function
from segzoo.errors import ConfigError
from segzoo.models import Preprocessing, SegmentationModel, preprocess

# Two RGB pixels and, worked out by hand, what each convention makes of them.
PIXELS = np.array([[[[10, 20, 30], [0, 128, 255]]]], dtype="uint8")  # (1, 1, 2, 3)
BY_HAND = {
    # BGR order (30, 20, 10) and (255, 128, 0), minus the BGR means (103.939, 116.779, 123.68).
    "caffe": [[[[-73.939, -96.779, -113.68], [151.061, 11.221, -123.68]]]],
    # x / 127.5 - 1
    "tf": [[[[-0.92156863, -0.84313725, -0.76470588], [-1.0, 0.00392157, 1.0]]]],
    "none": PIXELS.tolist(),
}


def numpy_reference(x, convention):
    """The conventions as keras.applications documents them, in NumPy (float64)."""
    x = np.asarray(x, dtype="float64")
    if convention == "caffe":
        return x[..., ::-1] - np.array([103.939, 116.779, 123.68])
    if convention == "tf":
        return x / 127.5 - 1.0
    return x


@pytest.mark.parametrize("convention", sorted(BY_HAND))
def test_each_convention_by_hand(convention):
    got = keras.ops.convert_to_numpy(preprocess(PIXELS, convention))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, BY_HAND[convention], atol=1e-5)


@pytest.mark.parametrize("convention", sorted(BY_HAND))
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_random_images_match_numpy_and_the_layer(convention, dtype, rng):
    x = rng.integers(0, 256, (2, 5, 7, 3)).astype(dtype)
    expected = numpy_reference(x, convention)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(preprocess(x, convention)), expected, atol=1e-4)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(Preprocessing(convention)(x)), expected, atol=1e-4)


@pytest.mark.parametrize("backbone, keras_function", [
    ("resnet50", keras.applications.resnet.preprocess_input),
    ("mobilenetv2", keras.applications.mobilenet_v2.preprocess_input),
])
def test_conventions_equal_keras_applications(backbone, keras_function, rng):
    """The same numbers as the keras.applications function the weights were trained with."""
    x = rng.uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    convention = segzoo.backbones.get_backbone_spec(backbone).preprocessing
    expected = keras_function(x.copy())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(preprocess(x, convention)), expected, atol=1e-4)
    np.testing.assert_allclose(preprocessing_function(backbone)(tf.constant(x)).numpy(), expected, atol=1e-4)


def test_each_backbone_names_its_convention():
    expected = {"mobilenetv2": "tf", "resnet50": "caffe", "resnet101": "caffe", "resnet50v2": "tf",
                "efficientnetb0": "none", "efficientnetv2b0": "none", "none": "none"}
    for backbone, convention in expected.items():
        assert segzoo.backbones.get_backbone_spec(backbone).preprocessing == convention, backbone


def test_layer_config_round_trip_and_bad_input():
    layer = Preprocessing("caffe", name="prep")
    assert layer.get_config()["convention"] == "caffe"
    again = Preprocessing.from_config(layer.get_config())
    assert (again.name, again.convention) == ("prep", "caffe")
    assert keras.saving.get_registered_name(Preprocessing) == "segzoo>Preprocessing"
    with pytest.raises(ConfigError, match="Unknown preprocessing convention 'torch'"):
        Preprocessing("torch")
    with pytest.raises(ConfigError, match="1 channel"):
        Preprocessing("caffe")(np.zeros((1, 2, 2, 1), "float32"))


def test_data_pipeline_uses_the_models_convention(rng):
    """from_folders/preprocessing_function given a model: its convention, or nothing when
    the model includes it (never twice)."""
    x = rng.integers(0, 256, (1, 4, 4, 3)).astype("float32")
    for backbone in ("resnet50", "mobilenetv2"):
        convention = segzoo.backbones.get_backbone_spec(backbone).preprocessing
        mapped = tf.data.Dataset.from_tensors(x).map(preprocessing_function(backbone))
        np.testing.assert_allclose(next(iter(mapped)).numpy(), numpy_reference(x, convention), atol=1e-4)
    assert preprocessing_function("efficientnetb0") is None


# ---------------------------------------------------------------- models that include it


@pytest.fixture
def plain_as(monkeypatch):
    """Give the plain encoder another convention, so that a tiny model exercises it (the
    wiring does not depend on the backbone; the conventions are checked above)."""
    def use(convention):
        spec = BACKBONES.get("none")
        monkeypatch.setitem(BACKBONES._items, "none", dataclasses.replace(spec, preprocessing=convention))
    return use


def tiny(include_preprocessing=False):
    return segzoo.build("unet", backbone="none", num_classes=3, input_shape=(32, 32, 3), depth=3,
                        encoder_filters=4, include_preprocessing=include_preprocessing)


def predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.mark.parametrize("convention", ["caffe", "tf"])
def test_included_preprocessing_on_uint8_equals_manual_preprocessing(convention, plain_as, rng):
    """The model with the layer on raw uint8 pixels gives what the model without it gives
    on hand-preprocessed input (same weights)."""
    plain_as(convention)
    plain = tiny()
    with_layer = SegmentationModel.from_config({**plain.get_config(), "include_preprocessing": True})
    with_layer.set_weights(plain.get_weights())
    x = rng.integers(0, 256, (2, 32, 32, 3)).astype("uint8")
    expected = predict(plain, numpy_reference(x, convention).astype("float32"))
    np.testing.assert_allclose(with_layer.predict(x, verbose=0), expected, atol=1e-5)
    assert np.abs(predict(plain, x.astype("float32")) - expected).max() > 1e-3  # it matters
    assert (plain.preprocessing, with_layer.preprocessing) == (convention, convention)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(plain.input_preprocessing(x)),
                               numpy_reference(x, convention), atol=1e-4)
    assert with_layer.input_preprocessing is None
    assert preprocessing_function(with_layer) is None
    np.testing.assert_allclose(preprocessing_function(plain)(tf.constant(x)).numpy(),
                               numpy_reference(x, convention), atol=1e-4)


def test_a_convention_none_model_needs_nothing_outside():
    model = tiny()
    assert model.preprocessing == "none" and model.input_preprocessing is None
    assert model.get_config()["include_preprocessing"] is False


def test_keras_file_round_trip(plain_as, tmp_path, rng):
    plain_as("caffe")
    model = tiny(include_preprocessing=True)
    assert model.get_layer("preprocessing").convention == "caffe"
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.include_preprocessing and loaded.get_layer("preprocessing").convention == "caffe"
    x = rng.integers(0, 256, (2, 32, 32, 3)).astype("uint8")
    np.testing.assert_array_equal(predict(loaded, x), predict(model, x))


def test_pretrained_round_trip_and_adding_the_layer_on_load(plain_as, tmp_path, rng):
    plain_as("caffe")
    plain = tiny()
    folder = segzoo.save_pretrained(plain, tmp_path / "ckpt", golden=False)
    x = rng.integers(0, 256, (2, 32, 32, 3)).astype("uint8")
    expected = predict(plain, numpy_reference(x, "caffe").astype("float32"))

    added = segzoo.from_pretrained(folder, include_preprocessing=True)
    assert added.include_preprocessing
    np.testing.assert_allclose(predict(added, x), expected, atol=1e-5)

    saved_with = segzoo.save_pretrained(added, tmp_path / "with")
    assert json.loads((saved_with / "config.json").read_text())["include_preprocessing"] is True
    assert "inside the model (include_preprocessing): give it raw [0, 255] pixels" in (saved_with / "README.md").read_text()
    reloaded = segzoo.from_pretrained(saved_with)
    assert reloaded.include_preprocessing
    np.testing.assert_allclose(predict(reloaded, x), expected, atol=1e-5)
    assert segzoo.hub.check_golden(reloaded, saved_with) < 1e-5
    with np.load(saved_with / "input.npz") as golden:  # raw pixels, as the model takes them
        assert golden["input"].min() >= 0 and golden["input"].max() > 200
    assert not segzoo.from_pretrained(saved_with, include_preprocessing=False).include_preprocessing


def test_old_configs_without_the_key_still_load(tmp_path):
    folder = segzoo.save_pretrained(tiny(), tmp_path / "old", golden=False)
    config = json.loads((folder / "config.json").read_text())
    del config["include_preprocessing"]
    (folder / "config.json").write_text(json.dumps(config))
    assert segzoo.from_pretrained(folder).include_preprocessing is False


# ---------------------------------------------------------------- other backends

_PROBE = """
import json, numpy as np, keras
from segzoo.models import Preprocessing, preprocess
x = np.array(json.loads(input()), dtype="uint8")
print(json.dumps({"backend": keras.backend.backend(), **{
    c: [keras.ops.convert_to_numpy(preprocess(x, c)).tolist(),
        keras.ops.convert_to_numpy(Preprocessing(c)(x.astype("float32"))).tolist()]
    for c in ("caffe", "tf", "none")}}))
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_conventions_on_other_backends(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", _PROBE], input=json.dumps(PIXELS.tolist()), capture_output=True,
                            text=True, timeout=300, env=env, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got["backend"] == backend
    for convention, expected in BY_HAND.items():
        for values in got[convention]:  # the function on uint8, the layer on float32
            np.testing.assert_allclose(values, expected, atol=1e-5, err_msg=convention)
