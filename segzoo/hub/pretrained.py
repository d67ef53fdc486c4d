"""save_pretrained / push_to_hub / from_pretrained: a checkpoint folder on disk or on the hub.

The folder holds config.json (the `segzoo.build` arguments plus metadata), the weights
(`model.weights.h5`), a README.md model card and a golden input/output pair. Loading
rebuilds the model from config.json and reads the weights: nothing is unpickled.
"""

import json
import math
import os
import tempfile
import warnings
from pathlib import Path

import huggingface_hub
import keras
import numpy as np

from segzoo._names import did_you_mean
from segzoo._version import __version__
from segzoo.backbones import get_backbone_spec
from segzoo.errors import (
    AccessDeniedError,
    CheckpointError,
    ConfigError,
    HubError,
    UnknownNameError,
    UnpinnedRevisionWarning,
)
from segzoo.finetune import replace_head
from segzoo.hub import card
from segzoo.hub.checkpoint import (
    CARD_FILE,
    CONFIG_FILE,
    GOLDEN_INPUT,
    GOLDEN_OUTPUT,
    REQUIRED_FILES,
    WEIGHTS_FILE,
    check_folder,
    check_keras_version,
    read_config,
    split_config,
)
from segzoo.hub.download import (
    commit_of,
    download_file,
    hub_endpoint,
    hub_error,
    is_commit_hash,
    is_offline,
    verify_file,
)
from segzoo.hub.manifest import load_manifest
from segzoo.models.segmentation_model import SegmentationModel, resolve_activation, unknown_object_error

GOLDEN_SIZE = 64  # spatial size of the golden input where the model takes any size
GOLDEN_FILES = (GOLDEN_INPUT, GOLDEN_OUTPUT)
LOGITS = "logits"  # from_pretrained(activation="logits"): None already means "keep the checkpoint's"


# ---------------------------------------------------------------- saving


def save_pretrained(
    model, directory, class_names=None, metrics=None, dataset=None, license=None, golden=True
):
    """Write `model` as a checkpoint folder: config.json, model.weights.h5, README.md and,
    with `golden=True`, input.npz / output.npz. Returns the folder's Path.

    class_names: one name per output channel (default: the loaded model's, else class_0, ...).
    metrics: {name: value} measured on `dataset`; they go to the card and config.json.
    """
    check_keras_version()
    _check_model(model)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {**model.get_config(), **_metadata(model, class_names, metrics, dataset, license)}
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    _save_model_weights(model, directory / WEIGHTS_FILE)
    build_args, metadata = split_config(config)
    (directory / CARD_FILE).write_text(card.model_card(build_args, metadata), encoding="utf-8")
    if golden:
        _write_golden(model, directory, metadata["preprocessing"])
    return directory


def _save_model_weights(model, path):
    """The model's variables only: a compiled model's save_weights also writes its optimizer
    state (Adam: twice the weights again), which a checkpoint has no use for."""
    bare = SegmentationModel.from_config(model.get_config())
    bare.set_weights(model.get_weights())
    bare.save_weights(path)


def _metadata(model, class_names, metrics, dataset, license):
    metadata = {
        "class_names": _class_names(model, class_names),
        "preprocessing": get_backbone_spec(model.backbone).preprocessing,
        "segzoo_version": __version__,
        "keras_version": keras.__version__,
        "dataset": dataset,
        "metrics": _metrics(metrics),
        "license": license,
    }
    compile_record = _compile_record(model)
    if compile_record:
        metadata["compile"] = compile_record
    return metadata


def _class_names(model, class_names):
    if class_names is None:
        class_names = getattr(model, "class_names", None) or [f"class_{i}" for i in range(model.num_classes)]
    names = [str(name) for name in class_names]
    # A 1-channel model scores background and foreground, as segzoo.evaluate reports them.
    allowed = (1, 2) if model.num_classes == 1 else (model.num_classes,)
    if len(names) not in allowed:
        raise ConfigError(
            f"class_names has {len(names)} names but the model has {model.num_classes} output "
            "channel(s): give one name per channel (for a 1-channel model: the foreground, or "
            "background and foreground)."
        )
    return names


def _metrics(metrics):
    if metrics is None:
        return None
    if not isinstance(metrics, dict):
        raise ConfigError(f"metrics must be a dict {{name: value}}, got {type(metrics).__name__}.")
    values = {}
    for name, value in metrics.items():
        try:
            values[str(name)] = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"metrics[{name!r}] must be a number, got {value!r}.") from None
        if not math.isfinite(values[str(name)]):
            raise ConfigError(f"metrics[{name!r}] is {value}: record only finite measured values.")
    return values


def _compile_record(model):
    """The loss and metrics the model was compiled with, serialized, where a fresh
    `import segzoo` can rebuild them (Keras built-ins and segzoo's registered objects)."""
    compile_config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if not compile_config:
        return None
    record = {}
    loss = compile_config.get("loss")
    if loss is not None and _portable(loss):
        record["loss"] = loss
    elif loss is not None:
        warnings.warn("The model's loss is not a Keras or segzoo object: config.json does not record it.")
    metrics = compile_config.get("metrics")
    if isinstance(metrics, list):
        kept = [metric for metric in metrics if _portable(metric)]
        if len(kept) < len(metrics):
            warnings.warn("Some metrics are not Keras or segzoo objects: config.json leaves them out.")
        record["metrics"] = kept
    return record


def _portable(serialized):
    if isinstance(serialized, str):
        return True
    if not isinstance(serialized, dict):
        return False
    registered = serialized.get("registered_name")
    if registered:
        return registered.startswith("segzoo>")
    return str(serialized.get("module", "")).startswith("keras")


def _write_golden(model, directory, preprocessing):
    """A small deterministic input in the backbone's input range, and the model's output."""
    shape = [GOLDEN_SIZE if side is None else side for side in model.model_input_shape]
    low, high = (-1.0, 1.0) if preprocessing == "tf" else (0.0, 255.0)
    x = np.random.default_rng(0).uniform(low, high, size=(1, *shape)).astype("float32")
    y = keras.ops.convert_to_numpy(model(x, training=False))
    np.savez(directory / GOLDEN_INPUT, input=x)
    np.savez(directory / GOLDEN_OUTPUT, output=y)


def _check_model(model):
    if not isinstance(model, SegmentationModel):
        raise ConfigError(
            f"Expected a model built by segzoo.build (a SegmentationModel), got {type(model).__name__}."
        )


# ---------------------------------------------------------------- pushing


def push_to_hub(model_or_directory, repo_id, branch=None, private=False, token=None, commit_message=None):
    """Upload a model (saved with save_pretrained defaults first) or a checkpoint folder to
    `repo_id`, creating the repo and branch if needed. Returns the 40-hex commit hash: pin it
    in from_pretrained(revision=...) and in the manifest."""
    if is_offline():
        raise HubError("HF_HUB_OFFLINE is set: pushing needs the network. Unset HF_HUB_OFFLINE and retry.")
    if isinstance(model_or_directory, (str, os.PathLike)):
        return _push_folder(check_folder(model_or_directory), repo_id, branch, private, token, commit_message)
    with tempfile.TemporaryDirectory(prefix="segzoo-push-") as folder:
        save_pretrained(model_or_directory, folder)
        return _push_folder(Path(folder), repo_id, branch, private, token, commit_message)


def _push_folder(folder, repo_id, branch, private, token, commit_message):
    api = huggingface_hub.HfApi(endpoint=hub_endpoint(), token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if branch:
            api.create_branch(repo_id, branch=branch, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            revision=branch,
            commit_message=commit_message or "Upload segzoo checkpoint",
        )
    except Exception as error:
        mapped = _push_error(error, repo_id, branch)
        if mapped is None:
            raise
        raise mapped from error
    return info.oid


def _push_error(error, repo_id, branch):
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, huggingface_hub.errors.HfHubHTTPError) and status in (401, 403):
        return AccessDeniedError(
            f"The hub refused to let you write to {repo_id} (HTTP {status}). Pass token=... (or set "
            "HF_TOKEN) with write access to that namespace."
        )
    return hub_error(error, repo_id, "the checkpoint", branch, offline=False)


# ---------------------------------------------------------------- loading


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
):
    """Load a checkpoint: a name in weights_manifest.json (pinned commit, sha256-checked),
    a hub repo id "org/name" (at `revision`), or a local folder.

    num_classes / activation: a different head for fine-tuning; every other weight is
    loaded. num_classes=None keeps the checkpoint's classes. activation=None keeps its
    activation (refused from a 1-class sigmoid to several classes: say which you mean),
    "auto" keeps it for the same classes and picks as `build` does for new ones (sigmoid
    for 1, softmax for more), "logits" asks for no activation.
    compile: compile with the recorded loss and metrics and an Adam optimizer.
    """
    check_keras_version()
    folder = download_checkpoint(
        name_or_repo_or_dir, revision=revision, files=REQUIRED_FILES, cache_dir=cache_dir,
        local_files_only=local_files_only, force_download=force_download, token=token, manifest=manifest,
    )
    config = read_config(folder / CONFIG_FILE)
    build_args, metadata = split_config(config)
    model = _load(build_args, folder / WEIGHTS_FILE)
    model.class_names = tuple(metadata.get("class_names") or ())
    model = _with_head(model, num_classes, activation)
    if compile:
        _compile(model, metadata)
    return model


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
    """The local folder holding `files` of a checkpoint (downloading them if needed).
    Files of a manifest checkpoint are checked against their sha256 and size first."""
    source = str(name_or_repo_or_dir)
    options = dict(
        cache_dir=cache_dir, local_files_only=local_files_only, force_download=force_download, token=token
    )
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
    repo_id, pinned = entry["repo_id"], entry["revision"]
    paths = {filename: download_file(repo_id, filename, pinned, **options) for filename in files}
    for filename, path in paths.items():  # all checked before anything is read
        verify_file(path, entry["files"][filename], repo_id, filename)
    return Path(paths[files[0]]).parent


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


def _load(build_args, weights_path):
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


def _compile(model, metadata):
    record = metadata.get("compile") or {}
    if "loss" not in record:
        raise CheckpointError(
            "compile=True, but this checkpoint records no loss (it was saved uncompiled or with a "
            "loss segzoo cannot rebuild). Load with compile=False and call model.compile(...)."
        )
    metrics = [_follow_head(metric, model) for metric in record.get("metrics", [])]
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss=_deserialize(_follow_head(record["loss"], model)),
        metrics=[_deserialize(metric) for metric in metrics],
    )


def _follow_head(serialized, model):
    """A recorded loss or metric made to fit a new head: confusion-matrix metrics count
    its classes, and from_logits follows its activation (the parts of a Combo too)."""
    if not isinstance(serialized, dict) or not isinstance(serialized.get("config"), dict):
        return serialized
    config = dict(serialized["config"])
    if "num_classes" in config:
        config["num_classes"] = model.num_classes
    if "from_logits" in config:
        config["from_logits"] = model.activation is None
    if isinstance(config.get("losses"), list):
        config["losses"] = [_follow_head(loss, model) for loss in config["losses"]]
    return {**serialized, "config": config}


def _deserialize(serialized):
    if isinstance(serialized, str):
        return serialized
    try:
        return keras.saving.deserialize_keras_object(serialized)
    except TypeError as error:
        unknown = unknown_object_error(
            error, f"{CONFIG_FILE}'s compile record", "Load with from_pretrained(..., compile=False) "
            "and call model.compile(...), or install the segzoo version that saved the checkpoint."
        )
        if unknown is None:
            raise
        raise unknown from error


# ---------------------------------------------------------------- golden check


def check_golden(model, folder, atol=1e-4):
    """Run `model` on the folder's input.npz and compare with output.npz; returns the
    largest absolute difference, raises CheckpointError above `atol`."""
    folder = Path(folder)
    check_folder(folder, GOLDEN_FILES)
    with np.load(folder / GOLDEN_INPUT) as inputs, np.load(folder / GOLDEN_OUTPUT) as outputs:
        x, expected = inputs["input"], outputs["output"]
    got = keras.ops.convert_to_numpy(model(x, training=False))
    if got.shape != expected.shape:
        raise CheckpointError(f"The model outputs shape {got.shape}, the golden output is {expected.shape}.")
    difference = float(np.max(np.abs(got - expected)))
    if difference > atol:
        raise CheckpointError(
            f"The model's output differs from the golden output by up to {difference:.3g} (> {atol}). "
            "The weights or the code that builds the model changed since the checkpoint was saved."
        )
    return difference
