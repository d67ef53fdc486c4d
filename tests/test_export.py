"""segzoo.export and `segzoo export`: each format Keras' model.export writes, run in its
own runtime (tf.saved_model, onnxruntime, OpenVINO, LiteRT) on the inputs Keras'
predictions were computed on.

Tolerance: 1e-4 on softmax probabilities. The runtimes compute in float32 with their own
kernels (oneDNN, MLAS, OpenVINO's CPU plugin, XNNPACK), which sum in other orders; on
these tiny models they differ from Keras by at most ~3e-6 (docs/export.md), and 1e-4 is
still far below a difference that would change a predicted class except at exact ties.
"""

import dataclasses
import importlib.util
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import segzoo
from segzoo import cli
from segzoo.backbones._spec import BACKBONES
from segzoo.errors import ConfigError
from segzoo.export import EXPORT_FORMATS, check_export_format, export_model, run_exported

ATOL = 1e-4
# format -> the module its runtime needs (None: TensorFlow's own)
RUNTIMES = {"tf_saved_model": None, "onnx": "onnxruntime", "openvino": "openvino", "litert": None}
CONVERTERS = {"onnx": "tf2onnx", "openvino": "openvino"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny 3-class checkpoint (backbone "none", 32x32) with its golden input/output."""
    keras.utils.set_random_seed(0)
    model = segzoo.build("unet", backbone="none", num_classes=3, input_shape=(32, 32, 3), depth=3,
                         encoder_filters=4)
    return segzoo.save_pretrained(model, tmp_path_factory.mktemp("export") / "tiny")


@pytest.fixture
def caffe_plain(monkeypatch):
    """The plain encoder given the caffe convention: a tiny model whose preprocessing
    (channel flip, mean subtraction) each runtime must reproduce."""
    spec = BACKBONES.get("none")
    monkeypatch.setitem(BACKBONES._items, "none", dataclasses.replace(spec, preprocessing="caffe"))


def needs(format):
    for module in (CONVERTERS.get(format), RUNTIMES[format]):
        if module and importlib.util.find_spec(module) is None:
            pytest.skip(f"{format} needs {module} (pip install {module}); see docs/export.md")


def user_error(err, fragment):
    """One line '<prog>: error: ...' on stderr, no traceback."""
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("segzoo export: error: ") and fragment in last, err


def predict(model, x):
    """Keras' prediction (eager: no graph to trace for one call)."""
    return keras.ops.convert_to_numpy(model(x, training=False))


def caffe(x):
    """The caffe convention in NumPy: RGB -> BGR, minus the ImageNet BGR means."""
    return (x[..., ::-1] - np.array([103.939, 116.779, 123.68])).astype("float32")


@pytest.mark.filterwarnings("ignore::FutureWarning")  # tf2onnx probes np.object
@pytest.mark.parametrize("format", sorted(EXPORT_FORMATS))
def test_exported_model_takes_raw_pixels_and_matches_keras(format, checkpoint, caffe_plain, tmp_path, monkeypatch,
                                                           capsys):
    """`segzoo export --include-preprocessing` (default path): the artefact, on uint8
    pixel values, gives Keras' predictions on the hand-preprocessed pixels."""
    needs(format)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["export", str(checkpoint), "--format", format, "--include-preprocessing"]) == 0
    path = tmp_path / f"tiny{EXPORT_FORMATS[format]}"
    assert capsys.readouterr().out.strip() == str(path.relative_to(tmp_path))
    x = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3)).astype("float32")
    model = segzoo.from_pretrained(checkpoint)
    assert model.preprocessing == "caffe" and not model.include_preprocessing
    expected = predict(model, caffe(x))
    np.testing.assert_allclose(run_exported(path, format, x), expected, atol=ATOL)
    assert np.abs(predict(model, x) - expected).max() > 1e-3  # the preprocessing mattered


def test_savedmodel_alias_in_a_fresh_process_reproduces_the_golden_output(checkpoint, tmp_path):
    """`python -m segzoo.cli export` as a user runs it, without preprocessing."""
    path = tmp_path / "sm"
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "segzoo.cli", "export", str(checkpoint), "--format", "savedmodel",
                             "--out", str(path)], check=False, capture_output=True, text=True, timeout=300,
                            env=environment)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip().endswith(str(path))
    with np.load(checkpoint / "input.npz") as x, np.load(checkpoint / "output.npz") as y:
        np.testing.assert_allclose(run_exported(path, "tf_saved_model", x["input"]), y["output"], atol=ATOL)


def test_format_names_and_aliases():
    assert [check_export_format(f) for f in ("savedmodel", "tflite", "litert")] == [
        "tf_saved_model", "litert", "litert"]
    with pytest.raises(ConfigError, match="unknown export format 'pt'; use one of tf_saved_model, onnx, openvino, "
                                          "litert, savedmodel, tflite"):
        check_export_format("pt")


@pytest.mark.parametrize("format, package", [("onnx", "tf2onnx"), ("openvino", "openvino")])
def test_a_missing_converter_names_its_pip_package(format, package, checkpoint, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, package, None)  # as if it were not installed
    assert cli.main(["export", str(checkpoint), "--format", format]) == 1
    user_error(capsys.readouterr().err, f"{format} export needs {package}: pip install {package}")


def test_a_path_without_the_formats_suffix_is_refused(checkpoint, tmp_path):
    model = segzoo.from_pretrained(checkpoint)
    with pytest.raises(ConfigError, match=r"litert export writes a \.tflite file"):
        export_model(model, tmp_path / "model.lite", "tflite")
    with pytest.raises(ConfigError, match=r"openvino export writes a \.xml file"):
        export_model(model, tmp_path / "model", "openvino")
    assert not list(tmp_path.iterdir())
