"""save_pretrained: write a model as a checkpoint folder.

The folder holds config.json (the `segzoo.build` arguments plus metadata), the weights
(`model.weights.h5`), a README.md model card and, by default, a golden input/output pair.
"""

import json
import math
from pathlib import Path

import keras

from segzoo._version import __version__
from segzoo.backbones import get_backbone_spec
from segzoo.errors import ConfigError
from segzoo.hub import card
from segzoo.hub.checkpoint import (
    CARD_FILE,
    CONFIG_FILE,
    WEIGHTS_FILE,
    check_keras_version,
    split_config,
)
from segzoo.hub.compile_record import compile_record
from segzoo.hub.golden import write_golden
from segzoo.models.segmentation_model import SegmentationModel, check_model


def save_pretrained(
    model, directory, class_names=None, metrics=None, dataset=None, license=None, golden=True
):
    """Write `model` as a checkpoint folder: config.json, model.weights.h5, README.md and,
    with `golden=True`, input.npz / output.npz. Returns the folder's Path.

    class_names: one name per output channel (default: the loaded model's, else class_0, ...).
    metrics: {name: value} measured on `dataset`; they go to the card and config.json.
    """
    check_keras_version()
    check_model(model)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {**model.get_config(), **_metadata(model, class_names, metrics, dataset, license)}
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    _save_model_weights(model, directory / WEIGHTS_FILE)
    build_args, metadata = split_config(config)
    (directory / CARD_FILE).write_text(card.model_card(build_args, metadata), encoding="utf-8")
    if golden:
        # The golden input in the range the model takes: raw pixels if it preprocesses them.
        write_golden(model, directory, "none" if model.include_preprocessing else metadata["preprocessing"])
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
    record = compile_record(model)
    if record:
        metadata["compile"] = record
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
