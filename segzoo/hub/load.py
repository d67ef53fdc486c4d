"""from_pretrained: find a checkpoint (local folder, manifest name or hub repo id), fetch
its files, and rebuild the model from config.json and the weights. Nothing is unpickled.
"""

import warnings
from pathlib import Path

from segzoo._names import did_you_mean
from segzoo.errors import CheckpointError, ConfigError, UnknownNameError, UnpinnedRevisionWarning
from segzoo.finetune import replace_head
from segzoo.hub.checkpoint import (
    CONFIG_FILE,
    REQUIRED_FILES,
    WEIGHTS_FILE,
    check_folder,
    check_keras_version,
    read_config,
    split_config,
)
from segzoo.hub.bundled import bundled_folder, check_bundled
from segzoo.hub.compile_record import compile_from_record
from segzoo.hub.download import commit_of, download_file, is_cached, verify_file
from segzoo.hub.manifest import is_commit_hash, load_manifest
from segzoo.models.segmentation_model import SegmentationModel, resolve_activation

LOGITS = "logits"  # from_pretrained(activation="logits"): None already means "keep the checkpoint's"


def from_pretrained(
    name_or_repo_or_dir,
    revision=None,
    num_classes=None,
    activation=None,
    compile=False,
    cache_dir=None,
    local_files_only=False,
    force_download=False,
    token=None,
    manifest=None,
    include_preprocessing=None,
):
    """Load a checkpoint: a local folder, a name in weights_manifest.json, or a hub repo
    id "org/name" (at `revision`). A zoo name loads the copy bundled with segzoo (no
    network) when there is one, else the pinned commit from the hub; either way every
    file's sha256 and size are checked first. force_download=True skips the bundled copy.

    num_classes / activation: a different head for fine-tuning; every other weight is
    loaded. num_classes=None keeps the checkpoint's classes. activation=None keeps its
    activation (refused from a 1-class sigmoid to several classes: say which you mean),
    "auto" keeps it for the same classes and picks as `build` does for new ones (sigmoid
    for 1, softmax for more), "logits" asks for no activation.
    compile: compile with the recorded loss and metrics and an Adam optimizer.
    include_preprocessing: True adds the backbone's input convention as the first layer
    (the model then takes raw [0, 255] pixels), False removes it, None keeps the
    checkpoint's choice. The layer has no weights: every checkpoint loads either way.
    """
    check_keras_version()
    folder = download_checkpoint(
        name_or_repo_or_dir, revision=revision, files=REQUIRED_FILES, cache_dir=cache_dir,
        local_files_only=local_files_only, force_download=force_download, token=token, manifest=manifest,
    )
    config = read_config(folder / CONFIG_FILE)
    build_args, metadata = split_config(config)
    if include_preprocessing is not None:
        build_args["include_preprocessing"] = bool(include_preprocessing)
    model = rebuild(build_args, folder / WEIGHTS_FILE)
    model.class_names = tuple(metadata.get("class_names") or ())
    model = _with_head(model, num_classes, activation)
    if compile:
        compile_from_record(model, metadata)
    return model


# ---------------------------------------------------------------- finding the files


def download_checkpoint(
    name_or_repo_or_dir,
    revision=None,
    files=REQUIRED_FILES,
    cache_dir=None,
    local_files_only=False,
    force_download=False,
    token=None,
    manifest=None,
):
    """The local folder holding `files` of a checkpoint: the folder given, the bundled copy
    of a zoo name (unless force_download), or the hub cache (downloading if needed).
    Files of a manifest checkpoint are checked against their sha256 and size first."""
    source = str(name_or_repo_or_dir)
    options = {
        "cache_dir": cache_dir, "local_files_only": local_files_only,
        "force_download": force_download, "token": token,
    }
    if Path(source).is_dir():
        return check_folder(source, files)
    if Path(source).is_file():  # before the hub: "runs/model.keras" looks like a repo id
        raise CheckpointError(
            f"{source!r} is a file, not a checkpoint folder: pass the folder save_pretrained wrote "
            "(config.json and model.weights.h5), a manifest name or a hub repo id. Load a .keras "
            "file with keras.saving.load_model(path)."
        )
    entries = load_manifest(manifest)
    if source in entries:
        return _manifest_checkpoint(source, entries[source], revision, files, options)
    if source.count("/") == 1 and not source.startswith((".", "/")):
        return _repo_checkpoint(source, revision, files, options)
    raise UnknownNameError(_unknown_source_message(source, entries))


def _manifest_checkpoint(name, entry, revision, files, options):
    if revision is not None and revision != entry["revision"]:
        raise ConfigError(
            f"{name!r} is pinned to revision {entry['revision']} in the manifest. To load another "
            "revision, pass the repo id instead: "
            f"from_pretrained({entry['repo_id']!r}, revision={revision!r})."
        )
    unknown = [filename for filename in files if filename not in entry["files"]]
    if unknown:
        raise CheckpointError(f"Checkpoint {name!r} has no {', '.join(unknown)} in the manifest.")
    bundled = None if options["force_download"] else bundled_folder(name, entry, files)
    if bundled is not None:
        return check_bundled(bundled, name, entry, files)
    repo_id, pinned = entry["repo_id"], entry["revision"]
    paths = {filename: download_file(repo_id, filename, pinned, **options) for filename in files}
    for filename, path in paths.items():  # all checked before anything is read
        verify_file(path, entry["files"][filename], repo_id, filename)
    return Path(paths[files[0]]).parent


def source_of(name, entry, cache_dir=None):
    """Where from_pretrained(name) takes a zoo checkpoint from: "package" (the bundled
    copy), "cache" (downloaded before) or "hub" (downloaded on first use)."""
    if bundled_folder(name, entry, REQUIRED_FILES) is not None:
        return "package"
    cached = all(is_cached(entry["repo_id"], f, entry["revision"], cache_dir) for f in REQUIRED_FILES)
    return "cache" if cached else "hub"


def _repo_checkpoint(repo_id, revision, files, options):
    first = download_file(repo_id, files[0], revision, **options)
    commit = commit_of(first) or revision
    if not is_commit_hash(revision):
        warnings.warn(
            f"revision={revision!r} for {repo_id} is not a commit hash, so what it loads can change; "
            f"it resolved to {commit}. Pass revision={commit!r} to load exactly this checkpoint again.",
            UnpinnedRevisionWarning,
            stacklevel=4,
        )
    # The rest at the same commit, even if the branch moves meanwhile.
    for filename in files[1:]:
        download_file(repo_id, filename, commit, **options)
    return Path(first).parent


def _unknown_source_message(source, entries):
    hint = did_you_mean(source, entries)
    names = ", ".join(sorted(entries)) or "none"
    return (
        f"{source!r} is not a local folder, not a name in the manifest (names: {names}), and not a "
        f"hub repo id 'org/name'.{hint}"
    )


# ---------------------------------------------------------------- building the model


def rebuild(build_args, weights_path):
    """The model config.json describes, with the weights read from `weights_path`."""
    try:
        model = SegmentationModel.from_config(build_args)  # encoder_weights=None: no ImageNet fetch
    except TypeError as error:
        raise CheckpointError(
            f"config.json does not describe a model this segzoo can build ({error}). "
            "Upgrade segzoo, or re-save the checkpoint with this version."
        ) from error
    try:
        model.load_weights(weights_path)
    except OSError as error:  # h5py: not an HDF5 file, truncated, unreadable
        raise CheckpointError(
            f"Cannot read {str(weights_path)!r}: it is not a complete HDF5 weights file "
            f"({_first_line(error)}). It is corrupt or was cut short (an interrupted download or "
            "copy?): save the checkpoint again, or for a hub checkpoint download it again with "
            "from_pretrained(..., force_download=True)."
        ) from error
    except ValueError as error:
        raise CheckpointError(
            f"{str(weights_path)!r} does not fit the model {CONFIG_FILE} describes "
            f"({error}). The checkpoint's files are from different saves; save or "
            "download it again."
        ) from error
    return model


def _first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _with_head(model, num_classes, activation):
    """The checkpoint's model, or one with a new head and every other weight kept."""
    num_classes = model.num_classes if num_classes is None else num_classes
    if activation is None:
        _check_kept_activation(model, num_classes)
        activation = model.activation
    elif activation == "auto":
        activation = model.activation if num_classes == model.num_classes else resolve_activation(num_classes, "auto")
    elif activation == LOGITS:
        activation = None
    if (num_classes, activation) == (model.num_classes, model.activation):
        return model
    class_names = model.class_names if num_classes == model.num_classes else ()
    model = replace_head(model, num_classes, activation)
    model.class_names = class_names
    return model


def _check_kept_activation(model, num_classes):
    if model.activation == "sigmoid" and model.num_classes == 1 and num_classes > 1:
        raise ConfigError(
            f"The checkpoint's head is one sigmoid channel (binary); kept for num_classes={num_classes} "
            f"it would make {num_classes} independent yes/no outputs (multi-label), which losses in "
            "multiclass mode would read as one distribution. Pass activation='softmax' for one class "
            f"per pixel (labels 0..{num_classes - 1}), or activation='sigmoid' for multi-label targets."
        )
