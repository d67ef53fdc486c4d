"""The zoo checkpoints that ship inside the package (segzoo/zoo/<name>/), read in place.

Nothing is written next to them: a bundled file is checked against the manifest's size and
sha256 on every load and used where it lies. A copy that does not match raises
IntegrityError (a broken install), it is never replaced by a download.
"""

import importlib.resources
from pathlib import Path

from segzoo.errors import IntegrityError
from segzoo.hub.manifest import DEFAULT_MANIFEST, digest_mismatch, load_manifest


def zoo_root():
    """The folder of the bundled checkpoints, or None when the package is not a plain
    folder on disk (a zip import), where they cannot be read in place."""
    root = importlib.resources.files("segzoo") / "zoo"
    return Path(root) if isinstance(root, Path) and root.is_dir() else None


def bundled_folder(name, entry, files):
    """The bundled folder of checkpoint `name` if it holds every file of `files` and
    `entry` pins the commit it was bundled at (another manifest may pin a newer one), else None."""
    root = zoo_root()
    if root is None or not _same_pin(entry, load_manifest(DEFAULT_MANIFEST).get(name)):
        return None
    folder = root / name
    return folder if all((folder / filename).is_file() for filename in files) else None


def _same_pin(entry, bundled_entry):
    return bundled_entry is not None and all(entry[key] == bundled_entry[key] for key in ("repo_id", "revision"))


def check_bundled(folder, name, entry, files):
    """Check each of `files` in `folder` against the manifest entry; IntegrityError naming
    the first file whose size or sha256 differs."""
    for filename in files:
        path = Path(folder) / filename
        mismatch = digest_mismatch(path, entry["files"][filename])
        if mismatch is None:
            continue
        raise IntegrityError(
            f"{path} (the copy of {name!r} bundled with segzoo) {mismatch}. The installed "
            "package is damaged or was edited: reinstall segzoo (pip install --force-reinstall "
            "segzoo), or download the checkpoint from the hub with force_download=True."
        )
    return Path(folder)
