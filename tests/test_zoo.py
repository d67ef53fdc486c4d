"""Every zoo checkpoint in segzoo's own manifest: served by the local hub at its pinned
revision, loaded by name, golden output within 1e-4, held-out mIoU within 0.01 of its card."""

import hashlib
import importlib.util
from pathlib import Path

import pytest

import segzoo

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "zoo"
MAX_BYTES = 15 * 10**6


def _recipes():
    spec = importlib.util.spec_from_file_location("train_zoo", ROOT / "examples" / "train_zoo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ENTRIES = segzoo.hub.load_manifest(segzoo.hub.manifest.DEFAULT_MANIFEST)


def test_the_zoo_has_three_checkpoints_each_under_15_mb():
    assert len(ENTRIES) >= 3
    for name, entry in ENTRIES.items():
        sizes = {path: (ZOO / name / path).stat().st_size for path in entry["files"]}
        assert sum(sizes.values()) <= MAX_BYTES, (name, sizes)


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_zoo_folder_matches_its_manifest_entry(name):
    entry = ENTRIES[name]
    on_disk = sorted(p.name for p in (ZOO / name).iterdir())
    assert on_disk == sorted(entry["files"])
    for path, expected in entry["files"].items():
        data = (ZOO / name / path).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (expected["sha256"], expected["size"]), path


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_zoo_checkpoint_reproduces_its_card(name, local_hub, tmp_path, monkeypatch):
    monkeypatch.delenv(segzoo.hub.MANIFEST_ENV, raising=False)
    entry = ENTRIES[name]
    local_hub.add_folder(entry["repo_id"], ZOO / name, sha=entry["revision"])
    model = segzoo.from_pretrained(name, cache_dir=tmp_path)
    assert segzoo.hub.check_golden(model, ZOO / name, atol=1e-4) <= 1e-4
    _, validation, _ = _recipes().load_data(name)
    report = segzoo.evaluate(model, validation)
    assert abs(report["mean"]["iou"] - entry["metrics"]["mean_iou"]) <= 0.01
    card = (ZOO / name / "README.md").read_text()
    assert f"| mean_iou | {entry['metrics']['mean_iou']:.4f} |" in card
