"""Fine-tuning helpers: freeze or unfreeze the encoder, swap the head.

Keras reads `trainable` when a model is compiled: call `model.compile(...)` again after
freezing or unfreezing.
"""

from keras import layers

from segzoo._layers import set_layer_weights
from segzoo.errors import ConfigError
from segzoo.models.segmentation_model import SegmentationModel, check_model, resolve_activation

HEAD_LAYERS = ("head_conv", "head_activation")


def freeze_encoder(model):
    """Make the encoder non-trainable; its BatchNorm layers then run in inference mode."""
    check_model(model)
    model.encoder.trainable = False
    model.encoder_freeze = True
    return model


def unfreeze_encoder(model, from_layer=None, freeze_batchnorm=True):
    """Make the encoder trainable again.

    from_layer: a layer name or index inside the encoder; layers before it stay frozen.
    freeze_batchnorm: keep BatchNorm layers frozen (inference mode), as Keras recommends
    when fine-tuning a pretrained encoder on small batches.
    """
    check_model(model)
    encoder = model.encoder
    encoder.trainable = True
    start = _layer_index(encoder, from_layer)
    for index, layer in enumerate(encoder.layers):
        frozen = index < start or (freeze_batchnorm and isinstance(layer, layers.BatchNormalization))
        layer.trainable = not frozen
    model.encoder_freeze = False
    return model


def replace_head(model, num_classes, activation="auto"):
    """A new model for `num_classes` / `activation` with every other weight (and
    trainable flag) copied from `model`. The head conv is fresh when the class count
    changes and kept when only the activation does. activation="auto" picks as `build`
    does: sigmoid for one class, softmax for more; pass "sigmoid" for multi-label."""
    check_model(model)
    activation = resolve_activation(num_classes, activation)
    config = {**model.get_config(), "num_classes": num_classes, "activation": activation}
    new_model = SegmentationModel.from_config(config)
    transfer_weights(model, new_model, fresh=HEAD_LAYERS)
    return new_model


def transfer_weights(source, target, fresh=()):
    """Copy weights between same-named layers (the nested encoder layer by layer).
    Layers named in `fresh` keep their new weights where the shapes differ."""
    for layer in target.layers:
        if not layer.weights:
            continue
        donor = source.get_layer(layer.name)
        if layer.name in fresh and _shapes(layer) != _shapes(donor):
            continue
        if layer.name == "encoder":
            for inner, inner_donor in zip(layer.layers, donor.layers, strict=True):
                set_layer_weights(inner, inner_donor.get_weights())
                inner.trainable = inner_donor.trainable
        else:
            set_layer_weights(layer, donor.get_weights())
        layer.trainable = donor.trainable


def _shapes(layer):
    return [tuple(weight.shape) for weight in layer.weights]


def _layer_index(encoder, from_layer):
    if from_layer is None:
        return 0
    if isinstance(from_layer, int):
        if not 0 <= from_layer < len(encoder.layers):
            raise ConfigError(
                f"from_layer={from_layer} is out of range: the encoder has {len(encoder.layers)} layers."
            )
        return from_layer
    names = [layer.name for layer in encoder.layers]
    if from_layer not in names:
        raise ConfigError(
            f"The encoder has no layer named {from_layer!r}. "
            "See [layer.name for layer in model.encoder.layers]."
        )
    return names.index(from_layer)
