"""The loss and metrics a checkpoint was compiled with: recorded in config.json by
save_pretrained, rebuilt by from_pretrained(compile=True).

Only objects a fresh `import segzoo` can rebuild are recorded: Keras built-ins and segzoo's
registered classes.
"""

import warnings

import keras

from segzoo.errors import CheckpointError
from segzoo.hub.checkpoint import CONFIG_FILE
from segzoo.models.segmentation_model import unknown_object_error


def compile_record(model):
    """{"loss": ..., "metrics": [...]} serialized, or None for an uncompiled model."""
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


def compile_from_record(model, metadata):
    """Compile `model` with the recorded loss and metrics and a fresh Adam optimizer."""
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
