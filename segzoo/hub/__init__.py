"""Checkpoints on the Hugging Face Hub: save, push, load (by zoo name, repo id or folder),
the pinned weights manifest, and the zoo checkpoints bundled with the package. See docs/hub.md."""

from segzoo.hub.checkpoint import KERAS_FLOOR
from segzoo.hub.bundled import zoo_root
from segzoo.hub.golden import check_golden
from segzoo.hub.load import download_checkpoint, from_pretrained, source_of
from segzoo.hub.manifest import (
    MANIFEST_ENV,
    content_revision,
    load_manifest,
    manifest_entry,
    write_manifest,
)
from segzoo.hub.push import push_to_hub
from segzoo.hub.save import save_pretrained


def list_pretrained(manifest=None):
    """Names of the zoo checkpoints in the manifest."""
    return sorted(load_manifest(manifest))


__all__ = [
    "KERAS_FLOOR",
    "MANIFEST_ENV",
    "check_golden",
    "content_revision",
    "download_checkpoint",
    "from_pretrained",
    "list_pretrained",
    "load_manifest",
    "manifest_entry",
    "push_to_hub",
    "save_pretrained",
    "source_of",
    "write_manifest",
    "zoo_root",
]
