"""segzoo: a Keras 3 model zoo for semantic image segmentation."""

from segzoo._quiet import import_tensorflow_quietly

import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines

from segzoo._version import __version__
from segzoo import backbones, callbacks, data, datasets, errors, losses, metrics
from segzoo.batchnorm import recalibrate_batchnorm
from segzoo.data import class_weights
from segzoo.evaluation import evaluate
from segzoo.backbones import list_backbones
from segzoo.finetune import freeze_encoder, replace_head, unfreeze_encoder
from segzoo.inference import predict
from segzoo.models import SegmentationModel, build, list_architectures
from segzoo import hub
from segzoo.hub import from_pretrained, push_to_hub, save_pretrained
from segzoo.training import fit_best

__all__ = [
    "__version__",
    "SegmentationModel",
    "backbones",
    "build",
    "callbacks",
    "class_weights",
    "data",
    "datasets",
    "errors",
    "evaluate",
    "fit_best",
    "freeze_encoder",
    "from_pretrained",
    "hub",
    "list_architectures",
    "list_backbones",
    "losses",
    "metrics",
    "predict",
    "push_to_hub",
    "recalibrate_batchnorm",
    "replace_head",
    "save_pretrained",
    "unfreeze_encoder",
]
