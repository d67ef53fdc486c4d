"""A model as a file other runtimes read, through Keras' own `model.export`: a TensorFlow
SavedModel, ONNX, OpenVINO IR or LiteRT (TFLite). docs/export.md has what each needs."""

import importlib
import warnings
from pathlib import Path

import tensorflow as tf

from segzoo.errors import ConfigError
from segzoo.models.segmentation_model import SegmentationModel, check_model

# Keras' format name -> what `segzoo export` appends to the model's name for the default path.
EXPORT_FORMATS = {"tf_saved_model": "-savedmodel", "onnx": ".onnx", "openvino": ".xml", "litert": ".tflite"}
# segzoo's earlier names, still accepted.
FORMAT_ALIASES = {"savedmodel": "tf_saved_model", "tflite": "litert"}
# format -> (the module Keras imports to write it, the pip package that provides it)
_CONVERTERS = {"onnx": ("tf2onnx", "tf2onnx"), "openvino": ("openvino", "openvino")}
# Keras refuses other endings for these formats.
_SUFFIXES = {"openvino": ".xml", "litert": ".tflite"}


def check_export_format(format):
    """Keras' name of `format` (an alias is mapped); a ConfigError for an unknown format or
    one whose converter is not installed, naming the pip package."""
    name = _format_name(format)
    if name in _CONVERTERS:
        module, package = _CONVERTERS[name]
        try:
            importlib.import_module(module)
        except ImportError:
            raise ConfigError(
                f"{name} export needs {package}: pip install {package} (or use another format: "
                f"{', '.join(f for f in EXPORT_FORMATS if f != name)})."
            ) from None
    return name


def _format_name(format):
    name = FORMAT_ALIASES.get(format, format)
    if name not in EXPORT_FORMATS:
        names = ", ".join([*EXPORT_FORMATS, *FORMAT_ALIASES])
        raise ConfigError(f"unknown export format {format!r}; use one of {names}.")
    return name


def export_model(model, path, format, include_preprocessing=None):
    """Write `model` to `path` with `model.export(path, format=...)`; returns the path.

    format: "tf_saved_model" (a folder), "onnx", "openvino" (PATH.xml and PATH.bin) or
    "litert" (PATH.tflite); "savedmodel" and "tflite" are the same as the first and last.
    The artefact takes float32 (batch, *model_input_shape). include_preprocessing: True
    puts the backbone's input convention inside it, so it takes raw [0, 255] pixels; False
    leaves it out (inputs preprocessed as `model.preprocessing` says); None keeps the
    model's own choice.
    """
    check_model(model)
    name = check_export_format(format)
    path = Path(path)
    if name in _SUFFIXES and path.suffix != _SUFFIXES[name]:
        raise ConfigError(f"{name} export writes a {_SUFFIXES[name]} file: give a path ending in it, got {str(path)!r}.")
    if include_preprocessing is not None and bool(include_preprocessing) != model.include_preprocessing:
        model = with_preprocessing(model, bool(include_preprocessing))
    path.parent.mkdir(parents=True, exist_ok=True)
    # An explicit signature: Keras' ONNX export refuses a model never called on data, as a
    # freshly loaded checkpoint is; the same one for every format keeps their inputs alike.
    signature = [tf.TensorSpec((None, *model.model_input_shape), tf.float32, name="input")]
    model.export(str(path), format=name, verbose=False, input_signature=signature)
    return path


def with_preprocessing(model, include):
    """The same model (same weights) with or without its Preprocessing layer."""
    config = {**model.get_config(), "include_preprocessing": include}
    rebuilt = SegmentationModel.from_config(config)
    rebuilt.set_weights(model.get_weights())  # the layer has no weights: the lists match
    return rebuilt


def run_exported(path, format, x):
    """The output of an exported model on the float32 batch `x`, computed by the format's own
    runtime (TensorFlow, onnxruntime, OpenVINO, LiteRT): to check an export against Keras'
    predictions before shipping it."""
    format = _format_name(format)
    if format == "tf_saved_model":
        loaded = tf.saved_model.load(str(path))  # keep it referenced while serving
        return loaded.serve(x).numpy()
    if format == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path))
        return session.run(None, {session.get_inputs()[0].name: x})[0]
    if format == "openvino":
        import openvino

        return openvino.Core().compile_model(str(path), "CPU")(x)[0]
    return _run_litert(path, x)


def _run_litert(path, x):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # TensorFlow's own, deprecated in favour of ai-edge-litert
        warnings.filterwarnings("ignore", ".*tf.lite.Interpreter is deprecated")
        Interpreter = tf.lite.Interpreter
    interpreter = Interpreter(model_path=str(path))
    entry = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(entry["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(entry["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
