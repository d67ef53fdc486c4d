"""segzoo's models, losses, metrics and from_pretrained under the JAX and PyTorch Keras
backends: tests/backend_probe.py runs in a fresh interpreter with KERAS_BACKEND set, and
its numbers must equal those of the same probe run here under TensorFlow (the suite's
backend). A backend that is not installed is skipped; .ci/run installs both."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import backend_probe

HERE = Path(__file__).resolve().parent
BACKENDS = {"jax": "jax", "torch": "torch"}  # backend -> module it needs
# Float32 kernels differ between backends (summation order, oneDNN vs XLA vs ATen):
# single evaluations agree to ~1e-6; four SGD steps drift a little more.
VALUE_TOLERANCE = 1e-5
TRAINING_TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    assert keras.backend.backend() == "tensorflow"
    folder = tmp_path_factory.mktemp("probe")
    inputs = folder / "inputs.npz"
    backend_probe.make_inputs(inputs)
    checkpoint = backend_probe.make_checkpoint(folder / "checkpoint")
    return inputs, checkpoint, backend_probe.probe(inputs, checkpoint)


def run_probe(backend, inputs, checkpoint, out):
    environment = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, str(HERE / "backend_probe.py"), str(inputs), str(checkpoint), str(out)],
                            capture_output=True, text=True, timeout=600, env=environment, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_backend_computes_what_tensorflow_computes(backend, reference, tmp_path):
    if importlib.util.find_spec(BACKENDS[backend]) is None:
        pytest.skip(f"{backend} is not installed")
    inputs, checkpoint, expected = reference
    got = run_probe(backend, inputs, checkpoint, tmp_path / "out.json")
    assert got["backend"] == backend

    assert got["losses"].keys() == expected["losses"].keys()
    for name, value in expected["losses"].items():
        assert np.isfinite(got["losses"][name]), name
        np.testing.assert_allclose(got["losses"][name], value, rtol=VALUE_TOLERANCE, atol=VALUE_TOLERANCE,
                                   err_msg=name)
    for name, value in expected["metrics"].items():
        np.testing.assert_allclose(got["metrics"][name], value, atol=VALUE_TOLERANCE, err_msg=name)

    np.testing.assert_allclose(got["pretrained"]["prediction"], expected["pretrained"]["prediction"], atol=1e-5)
    assert got["pretrained"]["new_head_shape"] == [4, 32, 32, 1]

    training = got["training"]
    np.testing.assert_allclose(training["loss"], expected["training"]["loss"], rtol=TRAINING_TOLERANCE)
    np.testing.assert_allclose(training["iou"], expected["training"]["iou"], atol=TRAINING_TOLERANCE)
    assert training["reload_difference"] < 1e-6
    assert training["reloaded_loss"] == "Combo"
    np.testing.assert_allclose(training["evaluate_iou"], expected["training"]["evaluate_iou"], atol=0.01)


def test_reference_values_are_not_degenerate(reference):
    """The comparison means something only if the probe's numbers vary and move."""
    _, _, expected = reference
    values = list(expected["losses"].values())
    assert all(0 < value < 5 for value in values) and len(set(np.round(values, 4))) > 10
    assert expected["training"]["loss"][1] < expected["training"]["loss"][0]
    assert expected["training"]["reload_difference"] < 1e-6
