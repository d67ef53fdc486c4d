"""weights_manifest.json: generated from checkpoint folders, validated on load."""

import copy
import hashlib
import json
from pathlib import Path

import pytest

import segzoo
from segzoo.errors import ManifestError
from segzoo.hub import manifest as manifest_module

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    model = segzoo.build("unet", backbone="none", num_classes=2, activation="softmax",
                         input_shape=(32, 32, 3), encoder_filters=4, depth=3)
    return segzoo.save_pretrained(model, tmp_path_factory.mktemp("ckpt"), class_names=["bg", "fg"],
                                  metrics={"mean_iou": 0.5}, dataset="shapes", license="mit")


def test_entry_hashes_every_file(folder):
    entry = segzoo.hub.manifest_entry(folder, "org/tiny", COMMIT)
    expected = {
        path.name: {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": len(path.read_bytes())}
        for path in folder.iterdir()
    }
    assert entry["files"] == expected
    assert entry["repo_id"] == "org/tiny" and entry["revision"] == COMMIT
    assert (entry["architecture"], entry["backbone"], entry["num_classes"]) == ("unet", "none", 2)
    assert entry["class_names"] == ["bg", "fg"]
    assert entry["input_size"] == [32, 32, 3]
    assert (entry["dataset"], entry["metrics"], entry["license"]) == ("shapes", {"mean_iou": 0.5}, "mit")


def test_write_then_load_round_trip(folder, tmp_path, monkeypatch):
    path = tmp_path / "weights_manifest.json"
    entry = segzoo.hub.manifest_entry(folder, "org/tiny", COMMIT)
    segzoo.hub.write_manifest({"tiny": entry}, path)
    data = json.loads(path.read_text())
    assert data == {"format_version": 1, "checkpoints": {"tiny": entry}}
    assert segzoo.hub.load_manifest(path) == {"tiny": entry}
    monkeypatch.setenv("SEGZOO_MANIFEST", str(path))
    assert segzoo.hub.list_pretrained() == ["tiny"]


def test_command_line_adds_an_entry(folder, tmp_path):
    path = tmp_path / "weights_manifest.json"
    manifest_module.main(["tiny", str(folder), "org/tiny", COMMIT, "--manifest", str(path)])
    manifest_module.main(["tiny2", str(folder), "org/tiny2", COMMIT, "--manifest", str(path)])
    assert sorted(segzoo.hub.load_manifest(path)) == ["tiny", "tiny2"]


def test_the_repository_manifest_is_valid_and_is_the_packages_one():
    """One source of pins: the top-level file is a link to the one that ships in the wheel."""
    top = REPO_ROOT / "weights_manifest.json"
    assert top.is_symlink() and top.resolve() == (REPO_ROOT / "segzoo" / "weights_manifest.json").resolve()
    assert top.resolve() == segzoo.hub.manifest.DEFAULT_MANIFEST.resolve()
    segzoo.hub.load_manifest(top)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda e: e.update(revision="main"), "not a 40-character"),
        (lambda e: e.update(revision=COMMIT.upper()), "not a 40-character"),
        (lambda e: e.update(repo_id="tiny"), "org/name"),
        (lambda e: e.pop("license"), "lacks license"),
        (lambda e: e["files"]["config.json"].update(sha256="abc"), "64-hex"),
        (lambda e: e["files"]["config.json"].update(size=-1), "size in bytes"),
        (lambda e: e["files"].pop("model.weights.h5"), "lacks model.weights.h5"),
    ],
)
def test_invalid_entries_are_rejected_on_load(folder, tmp_path, change, message):
    entry = copy.deepcopy(segzoo.hub.manifest_entry(folder, "org/tiny", COMMIT))
    change(entry)
    path = tmp_path / "weights_manifest.json"
    path.write_text(json.dumps({"format_version": 1, "checkpoints": {"tiny": entry}}))
    with pytest.raises(ManifestError, match=message):
        segzoo.hub.load_manifest(path)
    with pytest.raises(ManifestError, match=message):
        segzoo.from_pretrained("tiny", manifest=path)


def test_entry_refuses_a_branch_revision(folder):
    with pytest.raises(ManifestError, match="pin the commit"):
        segzoo.hub.manifest_entry(folder, "org/tiny", "main")


def test_malformed_and_missing_manifests(tmp_path):
    path = tmp_path / "weights_manifest.json"
    path.write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        segzoo.hub.load_manifest(path)
    path.write_text('{"tiny": {}}')
    with pytest.raises(ManifestError, match="checkpoints"):
        segzoo.hub.load_manifest(path)
    with pytest.raises(ManifestError, match="No manifest"):
        segzoo.hub.load_manifest(tmp_path / "absent.json")


def test_content_revision_hashes_paths_and_contents(tmp_path):
    (tmp_path / "b.txt").write_bytes(b"bee")
    (tmp_path / "a.txt").write_bytes(b"ay")
    lines = "".join(f"{name}\0{hashlib.sha256(data).hexdigest()}\n" for name, data in (("a.txt", b"ay"), ("b.txt", b"bee")))
    assert segzoo.hub.content_revision(tmp_path) == hashlib.sha1(lines.encode()).hexdigest()
    (tmp_path / "b.txt").write_bytes(b"bees")
    assert segzoo.hub.content_revision(tmp_path) != hashlib.sha1(lines.encode()).hexdigest()
