"""A model as a file other runtimes read: a TensorFlow SavedModel, TFLite or ONNX."""

import tempfile
from pathlib import Path

import tensorflow as tf

from segzoo.errors import ConfigError

# format -> what `segzoo export` appends to the model's name for the default output path
EXPORT_FORMATS = {"savedmodel": "-savedmodel", "tflite": ".tflite", "onnx": ".onnx"}


def check_export_format(format):
    """A ConfigError for a format that is unknown or whose converter is not installed."""
    if format not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {format!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    if format == "onnx" and not _has_tf2onnx():
        raise ConfigError("ONNX export needs tf2onnx: pip install tf2onnx (or use --format savedmodel or tflite).")


def _has_tf2onnx():
    try:
        import tf2onnx  # noqa: F401
    except ImportError:
        return False
    return True


def export_model(model, path, format):
    """Write `model` to `path` as "savedmodel" (a folder), "tflite" or "onnx" (a file);
    returns the path. The input is float32 (batch, *model_input_shape), preprocessed as
    the backbone expects."""
    check_export_format(format)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "tflite":
        with tempfile.TemporaryDirectory(prefix="segzoo-export-") as scratch:
            model.export(scratch, format="tf_saved_model", verbose=False)
            path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(scratch).convert())
    elif format == "onnx":
        # An explicit signature: Keras' ONNX export refuses a model never called on data,
        # as a freshly loaded checkpoint is.
        signature = [tf.TensorSpec((None, *model.model_input_shape), tf.float32, name="input")]
        model.export(str(path), format="onnx", verbose=False, input_signature=signature)
    else:
        model.export(str(path), format="tf_saved_model", verbose=False)
    return path
