"""from_pretrained and push_to_hub against a stand-in hub on 127.0.0.1 (tests/hf_server.py)."""

import hashlib
import os
import re
import types
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from huggingface_hub import file_download

import segzoo
from segzoo.errors import (
    AccessDeniedError,
    DownloadError,
    HubError,
    HubFileNotFoundError,
    IntegrityError,
    NotCachedError,
    RepoNotFoundError,
    RevisionNotFoundError,
    UnpinnedRevisionWarning,
)
from segzoo.hub import load

REPO = "segzoo/tiny-unet"
WEIGHTS = "model.weights.h5"


def tiny_model():
    """Random weights everywhere (BatchNorm statistics too): a model that did not load
    its weights cannot match the saved predictions."""
    model = segzoo.build("unet", backbone="none", num_classes=3, activation="softmax",
                         input_shape=(32, 32, 3), encoder_filters=4, depth=3)
    rng = np.random.default_rng(5)
    for weight in model.weights:
        positive = weight.path.endswith(("gamma", "moving_variance"))
        low, high = (0.5, 1.5) if positive else (-0.5, 0.5)
        weight.assign(rng.uniform(low, high, tuple(weight.shape)).astype("float32"))
    return model


def predict(model):
    x = np.random.default_rng(11).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    model = tiny_model()
    folder = segzoo.save_pretrained(model, tmp_path_factory.mktemp("ckpt"), class_names=["a", "b", "c"])
    return {"folder": folder, "y": predict(model), "model": model}


@pytest.fixture
def hub(checkpoint, local_hub, tmp_path, monkeypatch):
    """The local hub holding REPO, an empty cache, and a manifest naming the checkpoint
    "tiny" (hashes computed here with hashlib)."""
    commit = local_hub.add_folder(REPO, checkpoint["folder"])
    manifest = tmp_path / "weights_manifest.json"
    monkeypatch.setenv("SEGZOO_MANIFEST", str(manifest))
    files = {
        path.name: {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": path.stat().st_size}
        for path in checkpoint["folder"].iterdir()
    }
    entry = {**segzoo.hub.manifest_entry(checkpoint["folder"], REPO, commit), "files": files}
    segzoo.hub.write_manifest({"tiny": entry})
    return types.SimpleNamespace(server=local_hub, commit=commit, cache=tmp_path / "cache", good=checkpoint)


@pytest.fixture
def loads(monkeypatch):
    """How many times a model was built from downloaded files."""
    calls = []
    original = load.rebuild

    def counting(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(load, "rebuild", counting)
    return calls


def snapshot(hub, filename):
    return hub.cache / "models--segzoo--tiny-unet" / "snapshots" / hub.commit / filename


def blobs(hub):
    folder = hub.cache / "models--segzoo--tiny-unet" / "blobs"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_load_by_name_then_from_cache_then_offline(hub, monkeypatch):
    model = segzoo.from_pretrained("tiny", cache_dir=hub.cache)
    np.testing.assert_allclose(predict(model), hub.good["y"], atol=1e-6)
    assert model.class_names == ("a", "b", "c")
    resolved = [path for method, path in hub.server.requests if "/resolve/" in path]
    assert all(f"/resolve/{hub.commit}/" in path for path in resolved)  # the pinned commit only

    before = hub.server.request_count()
    segzoo.from_pretrained("tiny", cache_dir=hub.cache)
    assert hub.server.request_count() == before  # cached: no request at all

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = segzoo.from_pretrained("tiny", cache_dir=hub.cache)
    np.testing.assert_allclose(predict(model), hub.good["y"], atol=1e-6)
    assert hub.server.request_count() == before


def test_load_by_repo_id_and_commit(hub):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnpinnedRevisionWarning)
        model = segzoo.from_pretrained(REPO, revision=hub.commit, cache_dir=hub.cache)
    np.testing.assert_allclose(predict(model), hub.good["y"], atol=1e-6)


def test_branch_revision_warns_with_the_commit(hub, monkeypatch):
    with pytest.warns(UnpinnedRevisionWarning, match=hub.commit):
        segzoo.from_pretrained(REPO, revision="main", cache_dir=hub.cache)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the branch resolves from the cache offline
    with pytest.warns(UnpinnedRevisionWarning):
        model = segzoo.from_pretrained(REPO, cache_dir=hub.cache)
    np.testing.assert_allclose(predict(model), hub.good["y"], atol=1e-6)


def test_offline_without_cache(hub, monkeypatch):
    with pytest.raises(NotCachedError, match="local_files_only"):
        segzoo.from_pretrained("tiny", cache_dir=hub.cache, local_files_only=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(NotCachedError, match="HF_HUB_OFFLINE"):
        segzoo.from_pretrained(REPO, revision=hub.commit, cache_dir=hub.cache)
    assert hub.server.request_count() == 0


@pytest.mark.parametrize("tamper", [
    lambda data: data[:100] + bytes([data[100] ^ 1]) + data[101:],  # same size, other sha256
    lambda data: data[:-10],  # truncated
])
def test_tampered_file_is_removed_and_retry_succeeds(hub, loads, tamper):
    good = (hub.good["folder"] / WEIGHTS).read_bytes()
    hub.server.set_file(REPO, hub.commit, WEIGHTS, tamper(good))
    with pytest.raises(IntegrityError, match="removed from the cache"):
        segzoo.from_pretrained("tiny", cache_dir=hub.cache)
    assert loads == []  # checked before anything was loaded
    assert not snapshot(hub, WEIGHTS).exists()
    tampered_etag = hashlib.sha1(b"blob %d\0" % len(tamper(good)) + tamper(good)).hexdigest()
    assert tampered_etag not in blobs(hub)

    hub.server.set_file(REPO, hub.commit, WEIGHTS, good)
    model = segzoo.from_pretrained("tiny", cache_dir=hub.cache)
    np.testing.assert_allclose(predict(model), hub.good["y"], atol=1e-6)


def test_corrupted_cache_is_detected_and_downloaded_again(hub):
    segzoo.from_pretrained("tiny", cache_dir=hub.cache)
    blob = Path(os.path.realpath(snapshot(hub, WEIGHTS)))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256"):
        segzoo.from_pretrained("tiny", cache_dir=hub.cache)
    model = segzoo.from_pretrained("tiny", cache_dir=hub.cache)
    np.testing.assert_allclose(predict(model), hub.good["y"], atol=1e-6)


def test_missing_repo_revision_and_file(hub):
    with pytest.raises(RepoNotFoundError, match="not found"):
        segzoo.from_pretrained("segzoo/nope", revision=hub.commit, cache_dir=hub.cache)
    with pytest.raises(RevisionNotFoundError, match="0" * 40):
        segzoo.from_pretrained(REPO, revision="0" * 40, cache_dir=hub.cache)
    with pytest.raises(RevisionNotFoundError, match="no-such-branch"):
        segzoo.from_pretrained(REPO, revision="no-such-branch", cache_dir=hub.cache)
    config_only = hub.server.add_commit("segzoo/config-only", {"config.json": b'{"architecture": "unet"}'})
    with pytest.raises(HubFileNotFoundError, match=WEIGHTS):
        segzoo.from_pretrained("segzoo/config-only", revision=config_only, cache_dir=hub.cache)


def test_gated_repo_needs_a_token(hub):
    hub.server.repos[REPO].token = "secret"
    with pytest.raises(AccessDeniedError, match="token"):
        segzoo.from_pretrained(REPO, revision=hub.commit, cache_dir=hub.cache)
    with pytest.raises(AccessDeniedError):
        segzoo.from_pretrained(REPO, revision=hub.commit, cache_dir=hub.cache, token="wrong")
    model = segzoo.from_pretrained(REPO, revision=hub.commit, cache_dir=hub.cache, token="secret")
    np.testing.assert_allclose(predict(model), hub.good["y"], atol=1e-6)


def test_private_repo_refusals_ask_for_a_token(hub):
    hub.server.repos[REPO].token = "secret"
    hub.server.repos[REPO].gated = False
    with pytest.raises((RepoNotFoundError, AccessDeniedError), match="token"):
        segzoo.from_pretrained(REPO, revision=hub.commit, cache_dir=hub.cache)
    with pytest.raises(AccessDeniedError, match="HTTP 403"):
        segzoo.from_pretrained(REPO, revision=hub.commit, cache_dir=hub.cache, token="wrong")


def test_connection_dropped_mid_file(hub, loads, monkeypatch):
    # huggingface_hub resumes a broken download 5 times, sleeping 1 s each: skip the sleeps.
    monkeypatch.setattr(file_download, "time", types.SimpleNamespace(sleep=lambda seconds: None))
    hub.server.broken.add(WEIGHTS)
    with pytest.raises(DownloadError, match="retry"):
        segzoo.from_pretrained("tiny", cache_dir=hub.cache)
    assert loads == []
    assert not snapshot(hub, WEIGHTS).exists()
    assert not list(hub.cache.rglob("*.incomplete"))

    hub.server.broken.clear()
    model = segzoo.from_pretrained("tiny", cache_dir=hub.cache)
    np.testing.assert_allclose(predict(model), hub.good["y"], atol=1e-6)


def test_push_model_then_load_the_returned_commit(hub):
    commit = segzoo.push_to_hub(hub.good["model"], "me/pushed", commit_message="first")
    assert re.fullmatch("[0-9a-f]{40}", commit)
    assert hub.server.repos["me/pushed"].refs["main"] == commit
    pushed = hub.server.repos["me/pushed"].commits[commit]
    assert {"config.json", WEIGHTS, "README.md", "input.npz", "output.npz"} <= set(pushed)
    model = segzoo.from_pretrained("me/pushed", revision=commit, cache_dir=hub.cache)
    np.testing.assert_allclose(predict(model), hub.good["y"], atol=1e-6)


def test_push_folder_to_a_branch_and_name_it_in_the_manifest(hub):
    folder = hub.good["folder"]
    main_before = hub.server.repos[REPO].refs["main"]
    commit = segzoo.push_to_hub(folder, REPO, branch="dev")
    assert hub.server.repos[REPO].refs == {"main": main_before, "dev": commit}
    assert hub.server.repos[REPO].commits[commit][WEIGHTS] == (folder / WEIGHTS).read_bytes()
    # The zoo flow: a manifest entry generated for the pushed commit, then load by name.
    segzoo.hub.write_manifest({"tiny-dev": segzoo.hub.manifest_entry(folder, REPO, commit)})
    model = segzoo.from_pretrained("tiny-dev", cache_dir=hub.cache)
    np.testing.assert_allclose(predict(model), hub.good["y"], atol=1e-6)


def test_push_errors(hub, tmp_path, monkeypatch):
    with pytest.raises(segzoo.errors.CheckpointError, match="save_pretrained"):
        segzoo.push_to_hub(tmp_path, "me/empty")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubError, match="HF_HUB_OFFLINE"):
        segzoo.push_to_hub(hub.good["folder"], "me/offline")
