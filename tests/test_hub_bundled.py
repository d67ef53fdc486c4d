"""The zoo checkpoints bundled in the package: found with importlib.resources, used in
place with no network, checked against the manifest (a damaged copy raises
IntegrityError and is never replaced by a download), listed with where each loads from,
and shipped in the wheel. The hub path stays reachable (force_download, another pin)."""

import hashlib
import importlib.resources
import json
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import huggingface_hub
import pytest

import segzoo
from segzoo import cli
from segzoo.errors import IntegrityError
from segzoo.hub import bundled

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ZOO = Path(importlib.resources.files("segzoo") / "zoo")
NAME = "unet-digits"
ENTRIES = json.loads((ROOT / "segzoo" / "weights_manifest.json").read_text())["checkpoints"]


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def flip_middle_byte(data):
    data = bytearray(data)
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


@pytest.fixture
def no_network(monkeypatch):
    """HF_ENDPOINT at a closed port, and any call to huggingface_hub's download a failure."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.delenv(segzoo.hub.MANIFEST_ENV, raising=False)

    def refuse(*args, **kwargs):
        raise AssertionError(f"a download was attempted: {args}")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)


@pytest.fixture
def damaged_copy(tmp_path, monkeypatch):
    """A copy of the package's zoo folder that bundled.zoo_root() now points at; the
    real files are never touched."""
    copy = tmp_path / "zoo"
    shutil.copytree(PACKAGE_ZOO / NAME, copy / NAME)
    monkeypatch.setattr(bundled, "zoo_root", lambda: copy)
    return copy / NAME


def test_the_bundle_is_the_packages_zoo_folder():
    assert segzoo.hub.zoo_root() == PACKAGE_ZOO
    assert sorted(p.name for p in PACKAGE_ZOO.iterdir()) == sorted(ENTRIES)


def test_a_zoo_name_is_read_in_place_without_any_request(no_network, tmp_path):
    cache = tmp_path / "cache"
    folder = segzoo.hub.download_checkpoint(NAME, cache_dir=cache)
    assert folder == PACKAGE_ZOO / NAME
    assert not cache.exists()  # nothing copied, nothing downloaded
    assert segzoo.hub.download_checkpoint(NAME, cache_dir=cache, local_files_only=True) == folder


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda path: path.write_bytes(flip_middle_byte(path.read_bytes())), "has sha256"),
        (lambda path: path.write_bytes(path.read_bytes()[:-10]), "has size"),
    ],
    ids=["same size, other bytes", "truncated"],
)
@pytest.mark.parametrize("filename", ["config.json", "model.weights.h5"])
def test_a_damaged_bundled_file_raises_integrity_error_naming_it(no_network, damaged_copy, damage,
                                                                 message, filename):
    damage(damaged_copy / filename)
    with pytest.raises(IntegrityError, match=message) as caught:
        segzoo.from_pretrained(NAME, local_files_only=True)
    assert str(damaged_copy / filename) in str(caught.value) and "reinstall segzoo" in str(caught.value)
    real = ENTRIES[NAME]["files"][filename]
    assert sha256(PACKAGE_ZOO / NAME / filename) == real["sha256"]  # the package is untouched
    assert (damaged_copy / filename).exists()  # and the damaged copy is not deleted either


def test_without_a_bundle_a_zoo_name_comes_from_the_hub(local_hub, tmp_path, monkeypatch):
    monkeypatch.delenv(segzoo.hub.MANIFEST_ENV, raising=False)
    monkeypatch.setattr(bundled, "zoo_root", lambda: None)  # e.g. a zip import
    entry = ENTRIES[NAME]
    local_hub.add_folder(entry["repo_id"], PACKAGE_ZOO / NAME, sha=entry["revision"])
    folder = segzoo.hub.download_checkpoint(NAME, cache_dir=tmp_path)
    assert folder.name == entry["revision"] and folder.is_relative_to(tmp_path)
    assert local_hub.request_count() > 0
    assert sha256(folder / "model.weights.h5") == entry["files"]["model.weights.h5"]["sha256"]


def test_force_download_and_another_pin_skip_the_bundle(local_hub, tmp_path, monkeypatch):
    monkeypatch.delenv(segzoo.hub.MANIFEST_ENV, raising=False)
    entry = ENTRIES[NAME]
    local_hub.add_folder(entry["repo_id"], PACKAGE_ZOO / NAME, sha=entry["revision"])
    forced = segzoo.hub.download_checkpoint(NAME, cache_dir=tmp_path / "a", force_download=True)
    assert forced.name == entry["revision"] and forced.is_relative_to(tmp_path)
    # A manifest that pins another commit of the same repo is not served by the bundle.
    other = "c" * 40
    local_hub.add_folder(entry["repo_id"], PACKAGE_ZOO / NAME, sha=other, branch="other")
    manifest = tmp_path / "weights_manifest.json"
    segzoo.hub.write_manifest({NAME: {**entry, "revision": other}}, manifest)
    folder = segzoo.hub.download_checkpoint(NAME, cache_dir=tmp_path / "b", manifest=manifest)
    assert folder.name == other and folder.is_relative_to(tmp_path)


def test_list_pretrained_says_where_each_checkpoint_loads_from(local_hub, tmp_path, monkeypatch, capsys):
    entry = ENTRIES[NAME]
    copy_entry = {**entry, "repo_id": "org/digits-copy", "revision": "d" * 40}
    manifest = tmp_path / "weights_manifest.json"
    segzoo.hub.write_manifest({NAME: entry, "digits-copy": copy_entry}, manifest)
    arguments = ["list", "--pretrained", "--manifest", str(manifest), "--cache-dir", str(tmp_path / "cache")]

    def rows():
        assert cli.main(arguments) == 0
        out = capsys.readouterr().out
        return {line.split()[0]: line.split() for line in out.splitlines()[1:3]}, out

    table, out = rows()
    assert table[NAME][6] == "package" and table["digits-copy"][6] == "hub"
    assert "0.8106" in table[NAME] and "0.9899" in table[NAME]  # mean IoU, pixel accuracy
    assert f"segzoo/unet-digits @ {entry['revision'][:12]}" in out
    assert f"package: bundled with segzoo in {PACKAGE_ZOO}" in out
    local_hub.add_folder("org/digits-copy", PACKAGE_ZOO / NAME, sha="d" * 40)
    segzoo.hub.download_checkpoint("digits-copy", cache_dir=tmp_path / "cache", manifest=manifest)
    table, out = rows()
    assert table["digits-copy"][6] == "cache" and "cache: downloaded before" in out


def test_pull_of_a_bundled_name_checks_it_in_place(no_network, capsys):
    assert cli.main(["pull", NAME]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == str(PACKAGE_ZOO / NAME)
    assert "bundled with segzoo" in captured.err and "nothing was downloaded" in captured.err


def test_the_wheel_ships_every_zoo_file(tmp_path):
    """Builds the wheel from a copy of the sources (about 5 s here; no build isolation, so
    no download) and compares each zoo file in it with the manifest."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "segzoo", source / "segzoo", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("segzoo-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = json.loads(archive.read("segzoo/weights_manifest.json"))["checkpoints"]
        assert shipped == ENTRIES
        for name, entry in ENTRIES.items():
            for filename, expected in entry["files"].items():
                data = archive.read(f"segzoo/zoo/{name}/{filename}")
                assert (hashlib.sha256(data).hexdigest(), len(data)) == (expected["sha256"], expected["size"])


def test_info_says_a_bundled_name_loads_from_the_package(capsys):
    assert cli.main(["info", NAME]) == 0
    assert f"from:     bundled with segzoo in {PACKAGE_ZOO}" in capsys.readouterr().out
