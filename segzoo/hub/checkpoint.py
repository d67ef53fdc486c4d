"""What a checkpoint folder holds and how its config.json is read.

config.json is the model's `get_config()` (exactly the `segzoo.build` arguments) plus a
few metadata keys; `split_config` separates the two.
"""

import json
from pathlib import Path

import keras
from packaging.version import Version

from segzoo.errors import CheckpointError, KerasVersionError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
CARD_FILE = "README.md"
GOLDEN_INPUT = "input.npz"
GOLDEN_OUTPUT = "output.npz"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE)

# Keys of config.json that describe the checkpoint rather than the model's arguments.
METADATA_KEYS = (
    "class_names",
    "preprocessing",
    "segzoo_version",
    "keras_version",
    "compile",
    "dataset",
    "metrics",
    "license",
)

KERAS_FLOOR = "3.15"


def check_keras_version(version=None):
    """Weights files and configs are read and written with Keras 3.15 semantics."""
    version = version or keras.__version__
    if Version(version) < Version(KERAS_FLOOR):
        raise KerasVersionError(
            f"segzoo checkpoints need keras>={KERAS_FLOOR}, but Keras {version} is installed. "
            f"Upgrade it: pip install -U 'keras>={KERAS_FLOOR}'."
        )


def check_folder(folder, files=REQUIRED_FILES):
    """The folder as a Path, if it holds `files`; else a CheckpointError naming what lacks."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{str(folder)!r} is not a folder. Pass the folder save_pretrained wrote.")
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(
            f"{str(folder)!r} lacks {', '.join(missing)}: it is not a complete segzoo checkpoint. "
            "Write one with segzoo.save_pretrained(model, folder)."
        )
    return folder


def read_config(path):
    path = Path(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CheckpointError(
            f"Cannot read {str(path)!r} ({error}). It should be the config.json that "
            "segzoo.save_pretrained wrote; download or save the checkpoint again."
        ) from error
    if not isinstance(config, dict) or "architecture" not in config:
        raise CheckpointError(
            f"{str(path)!r} is not a segzoo config: it has no 'architecture'. "
            "Write checkpoints with segzoo.save_pretrained."
        )
    return config


def split_config(config):
    """(the segzoo.build arguments, the metadata)."""
    build_args = {key: value for key, value in config.items() if key not in METADATA_KEYS}
    metadata = {key: config[key] for key in METADATA_KEYS if key in config}
    return build_args, metadata
