"""weights_manifest.json: the zoo's named checkpoints, each pinned to a hub commit with the
sha256 and size of every file.

Entries are generated from checkpoint folders (`manifest_entry`, `write_manifest`, or
`python -m segzoo.hub.manifest`), never typed by hand. The manifest read is
`$SEGZOO_MANIFEST` when set, else segzoo/weights_manifest.json, which ships with the package
(the repository's top-level weights_manifest.json is a link to it).
"""

import argparse
import hashlib
import json
import os
import re
from pathlib import Path

from segzoo.errors import ManifestError
from segzoo.hub.checkpoint import CONFIG_FILE, REQUIRED_FILES, read_config, split_config

MANIFEST_ENV = "SEGZOO_MANIFEST"
DEFAULT_MANIFEST = Path(__file__).resolve().parents[1] / "weights_manifest.json"  # shipped in the wheel
FORMAT_VERSION = 1
COMMIT_HASH = re.compile(r"[0-9a-f]{40}")
SHA256 = re.compile(r"[0-9a-f]{64}")
ENTRY_FIELDS = (
    "repo_id",
    "revision",
    "files",
    "architecture",
    "backbone",
    "num_classes",
    "class_names",
    "input_size",
    "dataset",
    "metrics",
    "license",
)


def manifest_path(path=None):
    return Path(path or os.environ.get(MANIFEST_ENV) or DEFAULT_MANIFEST)


def load_manifest(path=None):
    """{name: entry}, every entry validated."""
    path = manifest_path(path)
    if not path.exists():
        raise ManifestError(f"No manifest at {str(path)!r} (from the argument, ${MANIFEST_ENV} or the package).")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ManifestError(
            f"{str(path)!r} is not valid JSON ({error}). Regenerate it with write_manifest."
        ) from error
    checkpoints = data.get("checkpoints") if isinstance(data, dict) else None
    if not isinstance(checkpoints, dict):
        raise ManifestError(
            f"{str(path)!r} must be {{'format_version': {FORMAT_VERSION}, 'checkpoints': {{name: entry}}}}."
        )
    for name, entry in checkpoints.items():
        check_entry(name, entry, source=str(path))
    return checkpoints


def check_entry(name, entry, source="the manifest"):
    where = f"Checkpoint {name!r} in {source}"
    if not isinstance(entry, dict):
        raise ManifestError(f"{where} must be a JSON object, got {type(entry).__name__}.")
    missing = [field for field in ENTRY_FIELDS if field not in entry]
    if missing:
        raise ManifestError(
            f"{where} lacks {', '.join(missing)}. Regenerate it with segzoo.hub.manifest_entry."
        )
    repo_id = entry["repo_id"]
    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise ManifestError(f"{where}: repo_id must be 'org/name', got {repo_id!r}.")
    revision = entry["revision"]
    if not is_commit_hash(revision):
        raise ManifestError(
            f"{where}: revision {revision!r} is not a 40-character lowercase commit hash. A branch or "
            "tag can move; pin the commit push_to_hub returned and regenerate the entry with "
            "segzoo.hub.manifest_entry(folder, repo_id, revision)."
        )
    _check_files(where, entry["files"])


def _check_files(where, files):
    if not isinstance(files, dict) or not files:
        raise ManifestError(f"{where}: files must map each path to {{'sha256', 'size'}}.")
    for required in REQUIRED_FILES:
        if required not in files:
            raise ManifestError(f"{where}: files lacks {required}, which every checkpoint needs.")
    for path, info in files.items():
        sha256 = info.get("sha256") if isinstance(info, dict) else None
        size = info.get("size") if isinstance(info, dict) else None
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
            raise ManifestError(f"{where}: {path} needs a 64-hex lowercase sha256, got {sha256!r}.")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError(f"{where}: {path} needs a size in bytes (an integer >= 0), got {size!r}.")


def is_commit_hash(revision):
    return isinstance(revision, str) and COMMIT_HASH.fullmatch(revision) is not None


def file_digest(path):
    """{'sha256': hex digest, 'size': bytes} of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "size": os.path.getsize(path)}


def digest_mismatch(path, expected):
    """None if the file has the size and sha256 of `expected` (a manifest file entry), else
    the difference in words: "has size 10, but the manifest says 12"."""
    actual = file_digest(path)
    if actual == {"sha256": expected["sha256"], "size": expected["size"]}:
        return None
    what = "size" if actual["size"] != expected["size"] else "sha256"
    return f"has {what} {actual[what]}, but the manifest says {expected[what]}"


def folder_files(folder):
    """Every file of a checkpoint folder, by its path in the repo (posix), hidden ones left out."""
    folder = Path(folder)
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    relative = [p.relative_to(folder) for p in paths]
    visible = [r for r in relative if not any(part.startswith(".") for part in r.parts)]
    return {r.as_posix(): file_digest(folder / r) for r in visible}


def content_revision(folder):
    """A 40-hex id derived from the folder's files (sha1 over their paths and sha256).
    The revision of a checkpoint that is not on the public hub yet: the local test hub
    serves the zoo folders at it. Publishing replaces it with push_to_hub's commit."""
    listing = "".join(f"{path}\0{info['sha256']}\n" for path, info in folder_files(folder).items())
    return hashlib.sha1(listing.encode()).hexdigest()


def manifest_entry(folder, repo_id, revision):
    """The manifest entry of the checkpoint in `folder`, as pushed to `repo_id` at commit
    `revision` (what push_to_hub returned). Hashes every file in the folder."""
    config = read_config(Path(folder) / CONFIG_FILE)
    build_args, metadata = split_config(config)
    entry = {
        "repo_id": repo_id,
        "revision": revision,
        "files": folder_files(folder),
        "architecture": build_args["architecture"],
        "backbone": build_args.get("backbone"),
        "num_classes": build_args.get("num_classes"),
        "class_names": metadata.get("class_names"),
        "input_size": build_args.get("input_shape"),
        "dataset": metadata.get("dataset"),
        "metrics": metadata.get("metrics"),
        "license": metadata.get("license"),
    }
    check_entry(repo_id, entry, source=str(folder))
    return entry


def write_manifest(entries, path=None):
    """Write exactly `entries` ({name: entry}) to the manifest, validated, names sorted.
    To add one: write_manifest({**load_manifest(), name: manifest_entry(...)})."""
    for name, entry in entries.items():
        check_entry(name, entry)
    data = {"format_version": FORMAT_VERSION, "checkpoints": dict(sorted(entries.items()))}
    path = manifest_path(path)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m segzoo.hub.manifest",
        description="Add (or replace) a named checkpoint in weights_manifest.json from its folder.",
    )
    parser.add_argument("name")
    parser.add_argument("folder", help="the folder save_pretrained wrote and push_to_hub uploaded")
    parser.add_argument("repo_id")
    parser.add_argument("revision", help="the 40-hex commit hash push_to_hub returned")
    parser.add_argument("--manifest", default=None, help=f"default: ${MANIFEST_ENV} or {DEFAULT_MANIFEST}")
    args = parser.parse_args(argv)
    path = manifest_path(args.manifest)
    entries = load_manifest(path) if path.exists() else {}  # the first entry starts the file
    entries[args.name] = manifest_entry(args.folder, args.repo_id, args.revision)
    print(write_manifest(entries, path))


if __name__ == "__main__":
    main()
