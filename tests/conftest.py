import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# Every backbone family the issue names; the full list is checked in test_backbones.py.
FAMILIES = ("mobilenetv2", "resnet50", "resnet50v2", "efficientnetb0", "efficientnetv2b0", "none")
ARCHITECTURES = ("unet", "resunet", "encoder_decoder", "fpn", "linknet", "unetplusplus", "attention_unet",
                 "segformer")


def small_options(backbone):
    """Keep the from-scratch encoder small: the tests check wiring, not capacity."""
    return {"encoder_filters": 4} if backbone == "none" else {}


def run_python(code, timeout=300):
    """Run `code` in a fresh interpreter (nothing imported yet) and return its stdout."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env
    )
    assert result.returncode == 0, f"subprocess failed:\n{result.stdout}\n{result.stderr[-4000:]}"
    return result.stdout


_LOADER = """
import sys, json
import numpy as np, keras, segzoo
for line in sys.stdin:
    request = json.loads(line)
    model = keras.saving.load_model(request["model"])
    got = model(np.load(request["x"]), training=False)
    np.save(request["out"], keras.ops.convert_to_numpy(got))
    print(json.dumps({"class": type(model).__name__}), flush=True)
"""


class FreshLoader:
    """A separate interpreter that has run nothing but `import segzoo` (and loads).

    It loads `.keras` files with plain `keras.saving.load_model`, no custom_objects;
    one process per test worker saves paying the TensorFlow import for every model.
    """

    def __init__(self):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _LOADER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, env=env,
        )

    def predict(self, model_path, x, workdir):
        np.save(workdir / "x.npy", x)
        request = {"model": str(model_path), "x": str(workdir / "x.npy"), "out": str(workdir / "got.npy")}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        assert reply, "the loader process died; run the load by hand to see why"
        return json.loads(reply)["class"], np.load(workdir / "got.npy")

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture(scope="session")
def fresh_loader():
    loader = FreshLoader()
    yield loader
    loader.close()


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def local_hub(monkeypatch):
    """A stand-in Hugging Face Hub on 127.0.0.1 (tests/hf_server.py) with HF_ENDPOINT
    pointing at it. huggingface_hub read HF_ENDPOINT at import (the real hub): whatever
    still uses that value goes to a trap on this machine, which must stay unasked."""
    import huggingface_hub
    from huggingface_hub.utils import _detect_agent

    from hf_server import HubServer

    with HubServer() as server, HubServer() as trap:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        template = trap.url + "/{repo_id}/resolve/{revision}/{filename}"
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", trap.url)
        monkeypatch.setattr(huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
        # Its first request looks up an agent registry on huggingface.co: answer it here.
        monkeypatch.setattr(_detect_agent, "_registry", {"standardEnvVars": [], "harnesses": {}})
        yield server
        assert trap.requests == [], "a request ignored HF_ENDPOINT"


def assert_image_panel(picture, image, margin=8, title=24, gap=8, min_size=256):
    """The overlay is image | prediction side by side, below a title band: the first panel
    is the image enlarged k times by nearest neighbour, k the least with k*h >= min_size."""
    k = -(-min_size // image.shape[0])
    height, width = k * image.shape[0], k * image.shape[1]
    assert picture.shape[1] == 2 * margin + 2 * width + gap
    top = margin + title
    np.testing.assert_array_equal(picture[top:top + height, margin:margin + width],
                                  np.repeat(np.repeat(image, k, axis=0), k, axis=1))
