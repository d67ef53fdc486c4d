"""Encoders built from keras.applications models: weights, channel adaptation, skips."""

import os
import re
import warnings

import keras
import numpy as np

from segzoo import blocks
from segzoo._layers import set_layer_weights
from segzoo.errors import ConfigError, WeightsError

_URL = re.compile(r"https?://\S+?\.h5")


def build_application_encoder(
    application, skip_names, input_shape, weights, max_stride, imagenet_std=None, **kwargs
):
    """The application's layers as a model returning {stride: feature} up to `max_stride`.

    imagenet_std: EfficientNet B0-B7 only. With weights="imagenet" Keras inserts an extra
    Rescaling(1 / sqrt(std)) after its Normalization layer, and only then; a model rebuilt
    from its config (weights=None) would lack it. segzoo always builds the plain network and
    folds that scaling into the Normalization variance instead: the same function, one
    architecture whatever the weights' source (a file path gets the correction too).
    """
    _check_weights_argument(weights)
    channels = input_shape[-1]
    if weights is None or (channels == 3 and imagenet_std is None):
        app = _instantiate(application, input_shape, weights, **kwargs)
    else:
        app = _instantiate(application, input_shape, None, **kwargs)
        donor = _instantiate(application, input_shape[:-1] + (3,), weights, **kwargs)
        _copy_adapting_channels(donor, app, channels)
        if imagenet_std is not None:
            _fold_into_normalization(app, imagenet_std)
    _use_fused_batch_norm(app)
    outputs = {
        stride: app.get_layer(name).output
        for stride, name in skip_names.items()
        if stride <= max_stride
    }
    return keras.Model(app.inputs, outputs, name="encoder")


def _use_fused_batch_norm(app):
    # The subclass adds no state, only a faster call: switching the class in place keeps
    # the built graph, the weights and the names (clone_model would rename the input).
    for layer in app.layers:
        if type(layer) is keras.layers.BatchNormalization:
            layer.__class__ = blocks.BatchNormalization


def _check_weights_argument(weights):
    if weights in (None, "imagenet"):
        return
    if not isinstance(weights, (str, os.PathLike)):
        raise ConfigError(
            f"encoder_weights must be None, 'imagenet' or a path to a weights file, got {weights!r}."
        )
    if not os.path.isfile(weights):
        raise WeightsError(
            f"encoder_weights file {os.fspath(weights)!r} does not exist. Pass the path of the "
            "keras.applications weights file for this backbone (include_top=False), "
            "'imagenet' to download it, or None for random weights."
        )


def _instantiate(application, input_shape, weights, **kwargs):
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # segzoo supports any channel count on purpose (see _copy_adapting_channels).
            warnings.filterwarnings("ignore", message="This model usually expects 1 or 3 input channels")
            model = application(include_top=False, weights=weights, input_shape=input_shape, **kwargs)
    except Exception as error:
        if weights == "imagenet" and _is_download_failure(error):
            raise WeightsError(_download_message(application, error)) from error
        if weights not in (None, "imagenet"):
            raise WeightsError(
                f"Could not load encoder_weights {os.fspath(weights)!r} into {application.__name__}: "
                f"{error}. The file must hold the weights of {application.__name__}"
                "(include_top=False), as keras.applications writes or downloads them."
            ) from error
        raise
    # Only on success: a file of another network makes Keras warn once per layer
    # ("Skipping nested container ...") before it fails, and the WeightsError says it all.
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return model


def _is_download_failure(error):
    while error is not None:
        if "URL fetch failure" in str(error) or isinstance(error, OSError):
            return True
        error = error.__cause__ or error.__context__
    return False


def _download_message(application, error):
    url = _URL.search(str(error))
    where = url.group(0) if url else "Google storage"
    filename = url.group(0).rsplit("/", 1)[-1] if url else "the no-top weights file"
    return (
        f"Could not download the ImageNet weights of {application.__name__} from {where} "
        "(no network?). Download that file on a machine with internet access and pass its path: "
        f"encoder_weights='/path/to/{filename}'. Or pass encoder_weights=None to train from scratch."
    )


def _copy_adapting_channels(donor, target, channels):
    """Copy weights layer by layer; tensors that touch the input channels are adapted
    the way segmentation_models.pytorch adapts its first convolution."""
    donor_layers = [layer for layer in donor.layers if layer.weights]
    target_layers = [layer for layer in target.layers if layer.weights]
    for source, dest in zip(donor_layers, target_layers, strict=True):
        values = [
            _adapt(value, dest_var.shape, channels)
            for value, dest_var in zip(source.get_weights(), dest.weights, strict=True)
        ]
        set_layer_weights(dest, values)


def _fold_into_normalization(app, std):
    # (x - m) / sqrt(var) * 1 / sqrt(s) == (x - m) / sqrt(var * s)
    norm = next(layer for layer in app.layers if isinstance(layer, keras.layers.Normalization))
    mean, variance, count = norm.get_weights()
    factors = _adapt(np.asarray(std, variance.dtype), variance.shape, variance.shape[0])
    set_layer_weights(norm, [mean, variance * factors, count])


def _adapt(value, shape, channels):
    if tuple(value.shape) == tuple(shape):
        return value
    if value.ndim == 4:  # first conv kernel (kh, kw, 3, out)
        if channels == 1:
            return value.sum(axis=2, keepdims=True)
        repeated = value[:, :, np.arange(channels) % 3, :]
        return repeated * (3.0 / channels)
    if value.ndim == 1:  # per-channel input statistics (EfficientNet's Normalization)
        return value[np.arange(channels) % 3] if channels > 1 else value.mean(keepdims=True)
    raise WeightsError(f"Cannot adapt a weight of shape {value.shape} to {tuple(shape)}.")
