"""`SegmentationModel`: a functional keras.Model whose config is the builder's arguments."""

import difflib
import inspect
import re

import keras

from segzoo.backbones import get_backbone_spec
from segzoo.errors import ConfigError, InputShapeError, UnknownNameError
from segzoo.models._spec import ARCHITECTURES
from segzoo.models.heads import check_from_logits, check_head, segmentation_head

DEPTHS = (3, 4, 5)
_MIN_PRETRAINED_SIZE = 32  # keras.applications refuse smaller inputs
_COMPILE_SIGNATURE = inspect.signature(keras.Model.compile)
_NOT_LOCATED = re.compile(r"Could not locate (?:class|function) '([^']+)'")


@keras.saving.register_keras_serializable(package="segzoo")
class SegmentationModel(keras.Model):
    """An encoder (`backbone`), a decoder (`architecture`) and a head.

    Built from plain arguments, and `get_config()` returns exactly them, so a `.keras`
    file, a hub `config.json` and `segzoo.build(**config)` describe the same model.
    Rebuilding from a config never downloads encoder weights: they come from the file.
    """

    def __init__(
        self,
        architecture,
        backbone="mobilenetv2",
        num_classes=1,
        activation="sigmoid",
        input_shape=(None, None, 3),
        encoder_weights=None,
        encoder_freeze=False,
        depth=5,
        decoder_filters=None,
        name=None,
        **options,
    ):
        trainable = options.pop("trainable", True)
        arch = ARCHITECTURES.get(architecture)
        spec = get_backbone_spec(backbone)
        _check_depth(depth)
        input_shape = _check_input_shape(input_shape, depth, spec)
        check_head(num_classes, activation)
        arch_options, backbone_options = _split_options(options, arch, spec)
        if spec.name == "none":
            backbone_options.setdefault("encoder_block", arch.encoder_block)
        _check_decoder_filters(decoder_filters, arch, depth)

        encoder = spec.build(input_shape, encoder_weights, 2**depth, **backbone_options)
        if decoder_filters is None:
            decoder_filters = _default_decoder_filters(arch, depth, spec, encoder)
        encoder.trainable = not encoder_freeze
        inputs = keras.Input(shape=input_shape, name="input")
        features = encoder(inputs)
        x = arch.decode(features, depth, decoder_filters, **arch_options)
        outputs = segmentation_head(x, num_classes, activation, arch.head_upsamples)
        super().__init__(
            inputs=inputs,
            outputs=outputs,
            name=name or f"{arch.name}_{spec.name}",
            trainable=trainable,
        )
        self.architecture = arch.name
        self.backbone = spec.name
        self.num_classes = num_classes
        self.activation = activation
        self.model_input_shape = input_shape
        self.encoder_weights = None if encoder_weights is None else str(encoder_weights)
        self.encoder_freeze = bool(encoder_freeze)
        self.depth = depth
        self.decoder_filters = list(decoder_filters)
        self.options = dict(options)

    @property
    def encoder(self):
        return self.get_layer("encoder")

    def get_config(self):
        return {
            "architecture": self.architecture,
            "backbone": self.backbone,
            "num_classes": self.num_classes,
            "activation": self.activation,
            "input_shape": list(self.model_input_shape),
            "encoder_weights": self.encoder_weights,
            "encoder_freeze": self.encoder_freeze,
            "depth": self.depth,
            "decoder_filters": list(self.decoder_filters),
            **self.options,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        # The weights come from the saved file; never fetch ImageNet weights again.
        return cls(**{**config, "encoder_weights": None})

    def compile(self, *args, **kwargs):
        """`keras.Model.compile`, refusing a loss or metric whose `from_logits` does not fit
        the head: True on a sigmoid/softmax head, False on a logits head (activation=None)."""
        arguments = _COMPILE_SIGNATURE.bind(self, *args, **kwargs).arguments
        for key in ("loss", "metrics", "weighted_metrics"):
            for user, from_logits in _from_logits_flags(arguments.get(key)):
                check_from_logits(self.activation, from_logits, user)
        super().compile(*args, **kwargs)

    def compile_from_config(self, config):
        """What `keras.Model.compile_from_config` does (it skips a custom `compile`), and a
        loss or metric the file names but nothing defines is an UnknownNameError."""
        try:
            config = keras.saving.deserialize_keras_object(config)
        except TypeError as error:
            unknown = unknown_object_error(error, "The model's compile config")
            if unknown is None:
                raise
            raise unknown from error
        self.compile(**config)
        if hasattr(self, "optimizer") and self.built:
            self.optimizer.build(self.trainable_variables)


def _from_logits_flags(objects):
    """(description, from_logits) of every loss or metric object in a compile argument
    (nested lists and dicts, and the parts of a Combo) that has a from_logits flag."""
    if isinstance(objects, dict):
        objects = list(objects.values())
    if isinstance(objects, (list, tuple)):
        return [flag for item in objects for flag in _from_logits_flags(item)]
    parts = getattr(objects, "losses", None)  # segzoo.losses.Combo
    if isinstance(parts, list) and isinstance(objects, keras.losses.Loss):
        return _from_logits_flags(parts)
    from_logits = getattr(objects, "from_logits", None)
    if not isinstance(from_logits, bool):
        return []
    kind = "Metric" if isinstance(objects, keras.metrics.Metric) else "Loss"
    return [(f"{kind} {type(objects).__name__}", from_logits)]


def unknown_object_error(error, where, fix=None):
    """An UnknownNameError for Keras' "Could not locate class 'X'" TypeError (a loss or
    metric name that neither Keras nor this segzoo defines), else None."""
    found = _NOT_LOCATED.search(str(error))
    if not found:
        return None
    name = found.group(1)
    segzoo_names = sorted(
        key.split(">", 1)[1]
        for key, value in keras.saving.get_custom_objects().items()
        if key.startswith("segzoo>") and isinstance(value, type)
        and issubclass(value, (keras.losses.Loss, keras.metrics.Metric))
    )
    close = difflib.get_close_matches(name, segzoo_names, n=3)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    fix = fix or (
        "Load the file without compiling (keras.saving.load_model(path, compile=False)) and call "
        "model.compile(...) with an existing loss, or install the segzoo version that saved it."
    )
    return UnknownNameError(
        f"{where} names {name!r}, which neither Keras nor this segzoo defines.{hint} segzoo's "
        f"losses and metrics: {', '.join(segzoo_names)}. {fix}"
    )


def _split_options(options, arch, spec):
    unknown = sorted(set(options) - set(arch.options) - set(spec.options))
    if unknown:
        valid = sorted(set(arch.options) | set(spec.options)) or ["none"]
        raise ConfigError(
            f"Unknown option(s) {', '.join(unknown)} for architecture {arch.name!r} with "
            f"backbone {spec.name!r}. Valid options: {', '.join(valid)}."
        )
    arch_options = {key: options[key] for key in arch.options if key in options}
    backbone_options = {key: options[key] for key in spec.options if key in options}
    return arch_options, backbone_options


def _check_decoder_filters(decoder_filters, arch, depth):
    if decoder_filters is None:
        return
    stages = arch.stages(depth)
    filters = list(decoder_filters) if isinstance(decoder_filters, (list, tuple)) else []
    if len(filters) != stages or not all(isinstance(f, int) and f > 0 for f in filters):
        raise ConfigError(
            f"decoder_filters must be {stages} positive integers for {arch.name!r} with "
            f"depth={depth} (one per decoder stage), got {decoder_filters!r}."
        )


def _default_decoder_filters(arch, depth, spec, encoder):
    """A plain encoder is mirrored (the classic U-Net); pretrained ones get the
    architecture's defaults, as segmentation_models.pytorch does."""
    stages = arch.stages(depth)
    if spec.pretrained:
        return list(arch.default_filters[:stages])
    return [encoder.output[2 ** (depth - stage)].shape[-1] for stage in range(1, stages + 1)]


def _check_depth(depth):
    if not isinstance(depth, int) or depth not in DEPTHS:
        raise ConfigError(
            f"depth must be one of {DEPTHS} (how many times the encoder halves the input), "
            f"got {depth!r}."
        )


def _check_input_shape(input_shape, depth, spec):
    shape = tuple(input_shape)
    if len(shape) not in (3, 4):
        raise InputShapeError(
            f"input_shape must be (height, width, channels) or, with backbone='none', "
            f"(depth, height, width, channels) for volumes; got {input_shape!r}."
        )
    if len(shape) == 4 and spec.pretrained:
        raise InputShapeError(
            f"Backbone {spec.name!r} is 2-D: it takes input_shape (height, width, channels), "
            f"got {input_shape!r}. For 3-D volumes use backbone='none'."
        )
    if not isinstance(shape[-1], int) or shape[-1] < 1:
        raise InputShapeError(f"The channel count (last of input_shape) must be known, got {input_shape!r}.")
    for size in shape[:-1]:
        _check_spatial_size(size, depth, spec, input_shape)
    return shape


def _check_spatial_size(size, depth, spec, input_shape):
    if size is None:
        return
    multiple = 2**depth
    smallest = max(multiple, _MIN_PRETRAINED_SIZE) if spec.pretrained else multiple
    if isinstance(size, int) and size >= smallest and size % multiple == 0:
        return
    lower = (size // multiple) * multiple if isinstance(size, int) else 0
    nearest = sorted({max(n, smallest) for n in (lower, lower + multiple)})
    why = (f"not a multiple of {multiple} (2**depth with depth={depth})" if not isinstance(size, int)
           or size % multiple else f"below {smallest}, the smallest input backbone {spec.name!r} takes")
    raise InputShapeError(
        f"input_shape {tuple(input_shape)}: spatial size {size!r} is {why}. Nearest valid sizes: "
        f"{' or '.join(map(str, nearest))}. Resize or pad the input, change depth, or pass None "
        "for a variable size."
    )


def build(
    architecture,
    backbone="mobilenetv2",
    num_classes=1,
    activation="sigmoid",
    input_shape=(None, None, 3),
    encoder_weights=None,
    encoder_freeze=False,
    depth=5,
    decoder_filters=None,
    **architecture_options,
):
    """Build a segmentation model. See `SegmentationModel` and docs/architectures.md."""
    return SegmentationModel(
        architecture,
        backbone=backbone,
        num_classes=num_classes,
        activation=activation,
        input_shape=input_shape,
        encoder_weights=encoder_weights,
        encoder_freeze=encoder_freeze,
        depth=depth,
        decoder_filters=decoder_filters,
        **architecture_options,
    )


def list_architectures():
    return ARCHITECTURES.names()
