"""Checkpoints on the Hugging Face Hub: save, push, load (by zoo name, repo id or folder),
and the pinned weights manifest. See docs/hub.md."""

from segzoo.hub.checkpoint import KERAS_FLOOR
from segzoo.hub.golden import check_golden
from segzoo.hub.load import download_checkpoint, from_pretrained
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
    "write_manifest",
]
