"""`SegmentationModel`: a functional keras.Model whose config is the builder's arguments."""

import inspect
import re

import keras

from segzoo._names import did_you_mean
from segzoo.backbones import get_backbone_spec
from segzoo.errors import ConfigError, InputShapeError, UnknownNameError
from segzoo.models._spec import ARCHITECTURES
from segzoo.models.heads import check_from_logits, check_head, check_mode, segmentation_head
from segzoo.models.preprocessing import Preprocessing, preprocess
from segzoo.models.sizes import smallest_input_side

DEPTHS = (3, 4, 5)
# PyTorch's default (its momentum 0.1 is Keras' 0.9): moving statistics follow the batch
# statistics within a few dozen steps. Keras' 0.99 still holds 22 % of the initial values
# after 150 steps, and a model trained from scratch that well then predicts only
# background in inference mode (docs/getting_started.md).
BATCHNORM_MOMENTUM = 0.9
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
        activation="auto",
        input_shape=(None, None, 3),
        encoder_weights=None,
        encoder_freeze=False,
        depth=5,
        decoder_filters=None,
        batchnorm_momentum=None,
        include_preprocessing=False,
        name=None,
        _fetch_encoder_weights=True,
        **options,
    ):
        trainable = options.pop("trainable", True)
        arch = ARCHITECTURES.get(architecture)
        spec = get_backbone_spec(backbone)
        _check_depth(depth)
        input_shape = _check_input_shape(input_shape, depth, spec)
        activation = resolve_activation(num_classes, activation)
        check_head(num_classes, activation)
        _check_momentum(batchnorm_momentum)
        arch_options, backbone_options = _split_options(options, arch, spec)
        if spec.name == "none":
            backbone_options.setdefault("encoder_block", arch.encoder_block)
        _check_decoder_filters(decoder_filters, arch, depth)

        encoder = spec.build(input_shape, encoder_weights if _fetch_encoder_weights else None, 2**depth,
                             **backbone_options)
        if decoder_filters is None:
            decoder_filters = _default_decoder_filters(arch, depth, spec, encoder)
        encoder.trainable = not encoder_freeze
        inputs = keras.Input(shape=input_shape, name="input")
        features = encoder(Preprocessing(spec.preprocessing, name="preprocessing")(inputs)
                           if include_preprocessing else inputs)
        x = arch.decode(features, depth, decoder_filters, **arch_options)
        outputs = segmentation_head(x, num_classes, activation, arch.head_upsamples, arch.output_stride(depth))
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
        self.batchnorm_momentum = None if batchnorm_momentum is None else float(batchnorm_momentum)
        self.include_preprocessing = bool(include_preprocessing)
        self.options = dict(options)
        pretrained = spec.pretrained and encoder_weights is not None
        set_batchnorm_momentum(self, self.batchnorm_momentum, keep_encoder=pretrained)

    @property
    def encoder(self):
        return self.get_layer("encoder")

    @property
    def preprocessing(self):
        """The backbone's input convention: "caffe", "tf" or "none" (raw [0, 255] pixels)."""
        return get_backbone_spec(self.backbone).preprocessing

    @property
    def input_preprocessing(self):
        """What to apply to [0, 255] images before they enter the model: a callable, or
        None when the model preprocesses them itself (include_preprocessing=True) or its
        convention is "none"."""
        if self.include_preprocessing or self.preprocessing == "none":
            return None
        convention = self.preprocessing
        return lambda x: preprocess(x, convention)

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
            "batchnorm_momentum": self.batchnorm_momentum,
            "include_preprocessing": self.include_preprocessing,
            **self.options,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        # The weights come from the saved file; never fetch ImageNet weights again. The
        # config keeps naming their source, which sets the encoder's BatchNorm momentum.
        return cls(**config, _fetch_encoder_weights=False)

    def compile(self, *args, **kwargs):
        """`keras.Model.compile`, refusing a loss or metric that does not fit the head:
        `from_logits=True` on a sigmoid/softmax head or False on a logits head
        (activation=None), a multiclass (softmax) reading of a multi-channel sigmoid head,
        a multilabel reading of a softmax head."""
        arguments = _COMPILE_SIGNATURE.bind(self, *args, **kwargs).arguments
        for key in ("loss", "metrics", "weighted_metrics"):
            for user, item in _losses_and_metrics(arguments.get(key)):
                from_logits = getattr(item, "from_logits", None)
                if isinstance(from_logits, bool):
                    check_from_logits(self.activation, from_logits, user)
                mode = _reading_mode(item)
                if mode is not _UNKNOWN:
                    check_mode(self.activation, self.num_classes, mode, user)
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


def check_model(model):
    """Refuse anything but a SegmentationModel: the hub and the fine-tuning helpers read
    its build arguments and named layers."""
    if not isinstance(model, SegmentationModel):
        raise ConfigError(
            f"Expected a model built by segzoo.build (a SegmentationModel), got {type(model).__name__}."
        )


def resolve_activation(num_classes, activation):
    """activation="auto": sigmoid for one class (binary), softmax for two or more (one
    class per pixel); multi-label outputs ask for "sigmoid" explicitly."""
    if isinstance(activation, str) and activation == "auto":
        return "sigmoid" if num_classes == 1 else "softmax"
    return activation


def set_batchnorm_momentum(model, momentum, keep_encoder):
    """Every BatchNormalization layer of `model` gets `momentum` (None: BATCHNORM_MOMENTUM),
    except, with `keep_encoder` and no momentum given, a pretrained encoder's own layers,
    whose moving statistics start from the data its weights were trained on."""
    value = BATCHNORM_MOMENTUM if momentum is None else momentum
    for layer in model.layers:
        if layer.name == "encoder" and keep_encoder and momentum is None:
            continue
        for inner in layer._flatten_layers(include_self=True):
            if isinstance(inner, keras.layers.BatchNormalization):
                inner.momentum = value


def _check_momentum(momentum):
    if momentum is None:
        return
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0.0 <= momentum < 1.0:
        raise ConfigError(
            f"batchnorm_momentum must be a number in [0, 1) or None (0.9 for layers trained from "
            f"scratch, a pretrained encoder's own), got {momentum!r}. Keras' default is 0.99; "
            "PyTorch's momentum 0.1 is Keras' 0.9."
        )


# Keras losses that read the channels as one distribution, by class and by compile string.
_KERAS_MULTICLASS = ("CategoricalCrossentropy", "SparseCategoricalCrossentropy", "CategoricalFocalCrossentropy")
_KERAS_MULTICLASS_NAMES = ("categorical_crossentropy", "sparse_categorical_crossentropy",
                           "categorical_focal_crossentropy")
_UNKNOWN = object()


def _losses_and_metrics(objects):
    """(description, object) of every loss or metric in a compile argument: nested lists
    and dicts, and the parts of a Combo."""
    if isinstance(objects, dict):
        objects = list(objects.values())
    if isinstance(objects, (list, tuple)):
        return [pair for item in objects for pair in _losses_and_metrics(item)]
    parts = getattr(objects, "losses", None)  # segzoo.losses.Combo
    if isinstance(parts, list) and isinstance(objects, keras.losses.Loss):
        return _losses_and_metrics(parts)
    if isinstance(objects, str):
        return [(f"Loss {objects!r}", objects)]
    kind = "Metric" if isinstance(objects, keras.metrics.Metric) else "Loss"
    return [(f"{kind} {type(objects).__name__}", objects)]


def _reading_mode(item):
    """How a loss or metric reads the channels: a segzoo mode (None: from the channel
    count), "multiclass" for Keras' categorical losses, else _UNKNOWN."""
    if isinstance(item, str):
        return "multiclass" if item in _KERAS_MULTICLASS_NAMES else _UNKNOWN
    if type(item).__module__.startswith("segzoo.") and hasattr(item, "mode"):
        return item.mode
    if isinstance(item, keras.losses.Loss) and type(item).__name__ in _KERAS_MULTICLASS:
        return "multiclass"
    return _UNKNOWN


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
    hint = did_you_mean(name, segzoo_names)
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
        count = f"{stages} positive integer{'s' if stages > 1 else ''}"
        why = f"with depth={depth} (one per decoder stage)" if arch.filter_count is None else "(docs/architectures.md)"
        raise ConfigError(f"decoder_filters must be {count} for {arch.name!r} {why}, got {decoder_filters!r}.")


def _default_decoder_filters(arch, depth, spec, encoder):
    """A plain encoder is mirrored (the classic U-Net); pretrained ones get the
    architecture's defaults, as segmentation_models.pytorch does."""
    stages = arch.stages(depth)
    if spec.pretrained or not arch.mirror_encoder:
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
    smallest = smallest_input_side(depth, spec.name)
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


def build(architecture, *args, **options):
    """Build a segmentation model: `SegmentationModel(architecture, ...)`, whose arguments
    (and signature, below) it takes. See docs/architectures.md.

    activation: "auto" (sigmoid for num_classes=1, softmax for more), "sigmoid" (binary or
    multi-label), "softmax" or None (logits). batchnorm_momentum: None gives 0.9 to every
    BatchNormalization layer trained from scratch and leaves a pretrained encoder's own
    (MobileNetV2 0.999, ResNet 0.99); a number sets every layer, the encoder's too.
    include_preprocessing: start with a `Preprocessing` layer applying the backbone's input
    convention (`model.preprocessing`), so the model takes raw [0, 255] pixels (uint8 or
    float); it has no weights, so checkpoints load either way (docs/export.md).
    """
    return SegmentationModel(architecture, *args, **options)


# help(build) and IDEs show the model's arguments, written once in SegmentationModel.
build.__signature__ = inspect.signature(SegmentationModel.__init__).replace(parameters=[
    parameter for name, parameter in inspect.signature(SegmentationModel.__init__).parameters.items()
    if name not in ("self", "_fetch_encoder_weights")
])


def list_architectures():
    return ARCHITECTURES.names()


def get_architecture_spec(name):
    """The registered ArchitectureSpec (decoder, defaults); an unknown name is an
    UnknownNameError with close matches."""
    return ARCHITECTURES.get(name)
