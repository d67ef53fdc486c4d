"""The catalogue of bad inputs (issue 8): for each, the exception segzoo raises and the
words of its message that name the problem and the fix.

One table per area: build, losses, metrics, class weights, data, evaluate, hub, CLI.
Many cases are also tested where their code is tested (test_errors.py, test_losses.py,
test_data_*.py, test_hub_*.py, test_cli.py); here they stand together, one line each.
Every case is cheap: 32x32 inputs, backbone="none", 2 filters, no training, no network
(hub cases replace hf_hub_download by a mock raising huggingface_hub's own errors).
Every error class segzoo raises has at least one case (test_every_error_segzoo_raises_has_a_case).
"""

import ast
import functools
import inspect as pyinspect
import json
import os
import shutil
import zipfile
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf
from huggingface_hub import errors as hf_errors

import segzoo
from segzoo import cli, errors, losses, metrics
from segzoo.data import from_folders, inspect, with_sample_weights
from segzoo.errors import (
    AccessDeniedError,
    CheckpointError,
    ConfigError,
    DataError,
    DownloadError,
    HubError,
    HubFileNotFoundError,
    InputShapeError,
    IntegrityError,
    KerasVersionError,
    ManifestError,
    NotCachedError,
    RepoNotFoundError,
    RevisionNotFoundError,
    UnknownNameError,
    WeightsError,
)
from segzoo.hub.download import download_file, verify_file
from segzoo.hub.manifest import check_entry, load_manifest

try:  # the HTTP client huggingface_hub's errors carry a response of
    import httpx2 as httpx
except ImportError:  # older huggingface_hub
    import httpx

SIZE = 32


@pytest.fixture(autouse=True)
def _seed():
    """Overrides conftest's: a clear_session after each of these many small cases costs more
    than the cases; one at the end of the module is enough."""
    yield


@pytest.fixture(scope="module", autouse=True)
def _clear_session_once():
    yield
    keras.backend.clear_session()


def tiny(activation="softmax", num_classes=4):
    return segzoo.build("unet", backbone="none", num_classes=num_classes, activation=activation,
                        input_shape=(SIZE, SIZE, 3), depth=3, encoder_filters=2)


def write_png(path, array):
    array = np.asarray(array, np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tf.io.write_file(str(path), tf.io.encode_png(array if array.ndim == 3 else array[..., None]))


class Inputs:
    """The files and models the cases read, each made on first use, once per module."""

    def __init__(self, root):
        self.root = root

    def folder(self, name, images, masks):
        """root/name/{images,masks}: {file name: array} for each."""
        base = self.root / name
        for sub, files in (("images", images), ("masks", masks)):
            (base / sub).mkdir(parents=True, exist_ok=True)
            for file_name, array in files.items():
                if isinstance(array, bytes):
                    (base / sub / file_name).write_bytes(array)
                else:
                    write_png(base / sub / file_name, array)
        return str(base / "images"), str(base / "masks")

    @functools.cached_property
    def image(self):
        return np.full((SIZE, SIZE, 3), 100)

    @functools.cached_property
    def label_255(self):
        mask = np.zeros((SIZE, SIZE), np.uint8)
        mask[:4, :4] = 255  # unlabelled pixels, but no ignore_index given
        return self.folder("label_255", {"a.png": self.image}, {"a.png": mask})

    @functools.cached_property
    def size_mismatch(self):
        return self.folder("size", {"a.png": self.image}, {"a.png": np.zeros((SIZE // 2, SIZE))})

    @functools.cached_property
    def empty(self):
        images = self.root / "empty" / "images"
        images.mkdir(parents=True)
        return str(images), self.label_255[1]

    @functools.cached_property
    def unpaired(self):
        return self.folder("unpaired", {"a.png": self.image, "b.png": self.image}, {"a.png": np.zeros((SIZE, SIZE))})

    @functools.cached_property
    def only_gif(self):
        return self.folder("gif", {"a.gif": b"GIF89a"}, {"a.png": np.zeros((SIZE, SIZE))})

    @functools.cached_property
    def webp_partner(self):
        return self.folder("webp", {"a.png": self.image, "b.webp": b"RIFF"},
                           {"a.png": np.zeros((SIZE, SIZE)), "b.png": np.zeros((SIZE, SIZE))})

    palette = ((0, 0, 0), (255, 0, 0))

    @functools.cached_property
    def unknown_colour(self):
        mask = np.zeros((SIZE, SIZE, 3))
        mask[0, 0] = (0, 0, 255)  # blue is in no palette entry
        return self.folder("palette", {"a.png": self.image}, {"a.png": mask})

    @functools.cached_property
    def softmax_model(self):
        return tiny("softmax")

    @functools.cached_property
    def logits_model(self):
        return tiny(None)

    @functools.cached_property
    def sigmoid_model(self):
        return tiny("sigmoid")

    @functools.cached_property
    def binary_checkpoint(self):
        return segzoo.save_pretrained(tiny("sigmoid", num_classes=1), self.root / "binary", golden=False)

    @functools.cached_property
    def checkpoint(self):
        return segzoo.save_pretrained(self.softmax_model, self.root / "checkpoint", golden=False)

    def checkpoint_copy(self, name, change):
        """A copy of the checkpoint folder with `change(folder)` applied."""
        folder = self.root / name
        if not folder.exists():
            shutil.copytree(self.checkpoint, folder)
            change(folder)
        return folder

    @functools.cached_property
    def keras_with_unknown_loss(self):
        """A .keras file whose compile config names segzoo>NoSuchLoss."""
        model = tiny("softmax")
        model.compile(optimizer="adam", loss=losses.Dice())
        good, bad = self.root / "good.keras", self.root / "unknown_loss.keras"
        model.save(good)
        with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as target:
            for name in source.namelist():
                data = source.read(name)
                if name == "config.json":
                    config = json.loads(data)
                    config["compile_config"]["loss"].update(class_name="NoSuchLoss", registered_name="segzoo>NoSuchLoss")
                    data = json.dumps(config)
                target.writestr(name, data)
        return str(bad)

    @functools.cached_property
    def manifest(self):
        path = self.root / "manifest.json"
        entry = segzoo.hub.manifest_entry(self.checkpoint, "segzoo/tiny", "a" * 40)
        segzoo.hub.write_manifest({"tiny-shapes": entry}, path)
        return path

    def entry(self, **change):
        return {**json.loads(self.manifest.read_text())["checkpoints"]["tiny-shapes"], **change}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return Inputs(tmp_path_factory.mktemp("bad_inputs"))


def labels(value=0, shape=(2, 8, 8)):
    return np.full(shape, value, "int32")


def probabilities(classes=4, shape=(2, 8, 8)):
    return np.full((*shape, classes), 1.0 / classes, "float32")


def corrupt_weights(folder):
    (folder / "model.weights.h5").write_bytes(b"not an HDF5 file")


def unknown_loss_record(folder):
    config = json.loads((folder / "config.json").read_text())
    config["compile"] = {"loss": {"module": "segzoo.losses.region", "class_name": "Dicee",
                                  "config": {}, "registered_name": "segzoo>Dicee"}}
    (folder / "config.json").write_text(json.dumps(config))


def old_keras(call):
    with mock.patch.object(keras, "__version__", "3.14.2"):
        return call()


def build(**arguments):
    arguments = {"architecture": "unet", "backbone": "none", "input_shape": (SIZE, SIZE, 3), "depth": 3, **arguments}
    if arguments["backbone"] == "none":
        arguments.setdefault("encoder_filters", 2)
    return lambda _: segzoo.build(**arguments)


def hub_refuses(error):
    """download_file when huggingface_hub raises `error` (no network: hf_hub_download is
    replaced; what is tested is segzoo's translation into its own error and message)."""
    with mock.patch("huggingface_hub.hf_hub_download", side_effect=error):
        return download_file("segzoo/tiny", "model.weights.h5", "a" * 40)


def http(error_class, status):
    response = httpx.Response(status, request=httpx.Request("GET", "https://hub.invalid/segzoo/tiny"))
    return error_class(f"HTTP {status}", response=response)


def offline(call):
    with mock.patch.dict(os.environ, {"HF_HUB_OFFLINE": "1"}):
        return call()


def tampered(root):
    """verify_file on a file whose bytes differ from the manifest's sha256 (same size)."""
    path = _write(root / "tampered.bin", "abcd")
    return verify_file(path, {"sha256": "0" * 64, "size": 4}, "segzoo/tiny", "tampered.bin")


# (id, call(inputs), exception, fragments of the message: what was wrong, and the fix)
CASES = [
    # ---------------------------------------------------------------- build
    ("build: unknown architecture", build(architecture="unte"), UnknownNameError,
     ["Unknown architecture 'unte'", "Did you mean 'unet'", "Available:"]),
    ("build: unknown backbone", build(backbone="resnet5"), UnknownNameError,
     ["Unknown backbone 'resnet5'", "Did you mean", "'resnet50'"]),
    ("build: num_classes 0", build(num_classes=0), ConfigError, ["num_classes must be a positive integer, got 0"]),
    ("build: unknown activation", build(activation="relu"), ConfigError,
     ["activation must be 'auto'", "'sigmoid', 'softmax' or None", "got 'relu'"]),
    ("build: softmax with 1 class", build(activation="softmax", num_classes=1), ConfigError,
     ["always outputs 1", "use activation='sigmoid'"]),
    ("build: depth 6", build(depth=6), ConfigError, ["depth must be one of (3, 4, 5)", "got 6"]),
    ("build: input too small for depth", build(input_shape=(16, 16, 3), depth=5), InputShapeError,
     ["spatial size 16 is not a multiple of 32", "Nearest valid sizes: 32", "Resize or pad the input"]),
    ("build: encoder_weights path missing", build(backbone="mobilenetv2", encoder_weights="/no/such/weights.h5"),
     WeightsError, ["'/no/such/weights.h5' does not exist", "'imagenet' to download it, or None"]),
    ("build: unknown option", build(colour="red"), ConfigError, ["Unknown option(s) colour", "Valid options:"]),
    # ---------------------------------------------------------------- losses
    ("loss: class_weights of the wrong length", lambda _: losses.Dice(class_weights=[1, 1, 1])(labels(), probabilities()),
     ConfigError, ["class_weights has 3 values but the predictions have 4 classes", "one weight per class"]),
    ("loss: negative class_weights", lambda _: losses.CrossEntropy(class_weights=[1, -1, 1, 1]), ConfigError,
     ["class_weights must be finite, non-negative", "use 0 to drop a class"]),
    ("loss: binary class_weights not a pair", lambda _: losses.CrossEntropy(class_weights=[1, 2, 3])(
        labels(), probabilities(1)), ConfigError, ["(background, foreground); got 3 values", "Pass two weights"]),
    ("loss: beta <= 0", lambda _: losses.Dice(beta=0), ConfigError, ["beta must be > 0, got 0"]),
    ("loss: smooth < 0", lambda _: losses.Jaccard(smooth=-1), ConfigError, ["smooth must be >= 0, got -1"]),
    ("loss: class_indexes beyond the classes", lambda _: losses.Dice(class_indexes=[1, 5])(labels(), probabilities()),
     ConfigError, ["class_indexes [1, 5] name a class >= 4", "keep the ids in 0..3"]),
    ("loss: negative class_indexes", lambda _: losses.Dice(class_indexes=[-1]), ConfigError,
     ["distinct non-negative class ids"]),
    ("loss: y_true and y_pred shapes differ", lambda _: losses.Dice()(labels(shape=(2, 4, 4)), probabilities()),
     ConfigError, ["y_true of shape (2, 4, 4) does not fit y_pred of shape (2, 8, 8, 4)", "expected sparse labels"]),
    ("loss: mode='binary' on 4 channels", lambda _: losses.Dice(mode="binary")(labels(), probabilities()),
     ConfigError, ["mode='binary' needs predictions with 1 channel, got 4", "Use mode='multiclass'"]),
    ("loss: sample_weight of the wrong shape", lambda _: losses.Dice()(labels(), probabilities(), np.ones((3, 3))),
     ConfigError, ["sample_weight of shape (3, 3) does not fit", "one weight per pixel"]),
    ("loss: a misspelt option", lambda _: losses.Dice(class_weight=[1, 2]), ConfigError,
     ["Dice has no option 'class_weight' (did you mean 'class_weights'?)", "Its options: beta, class_indexes"]),
    ("loss: an option of another loss", lambda _: losses.Lovasz(colour=1, gamma=2), ConfigError,
     ["Lovasz has no options 'colour', 'gamma'", "Its options: class_indexes, class_weights, dtype, exact,"]),
    ("loss: Combo with a misspelt option", lambda _: losses.Combo([losses.Dice()], weight=[2.0]), ConfigError,
     ["Combo has no option 'weight' (did you mean 'weights'?)", "Its options: dtype, losses, name, reduction, weights."]),
    ("loss: Tversky alpha = beta = 0", lambda _: losses.Tversky(alpha=0, beta=0), ConfigError,
     ["alpha and beta must be >= 0 and not both 0"]),
    ("loss: from_logits=True on a softmax head",
     lambda i: i.softmax_model.compile(loss=losses.Dice(from_logits=True)), ConfigError,
     ["Loss Dice has from_logits=True", "already applies 'softmax'", "Pass from_logits=False", "activation=None"]),
    ("loss: from_logits=True inside a Combo",
     lambda i: i.softmax_model.compile(loss=losses.Dice() + losses.Focal(from_logits=True)), ConfigError,
     ["Loss Focal has from_logits=True", "Pass from_logits=False"]),
    ("loss: probabilities expected from a logits head",
     lambda i: i.logits_model.compile(loss=keras.losses.SparseCategoricalCrossentropy()), ConfigError,
     ["from_logits=False", "no activation (activation=None)", "Pass from_logits=True"]),
    ("loss: a softmax reading of a 4-channel sigmoid head", lambda i: i.sigmoid_model.compile(
        loss=losses.Dice() + losses.CrossEntropy()), ConfigError,
     ["Loss Dice reads the 4 output channels as one softmax distribution", "applies 'sigmoid' to each channel",
      "activation='softmax'", "mode='multilabel'"]),
    ("loss: Keras' categorical loss on a sigmoid head", lambda i: i.sigmoid_model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy()), ConfigError,
     ["SparseCategoricalCrossentropy reads the 4 output channels as one softmax distribution",
      "activation='softmax'"]),
    ("loss: multilabel on a softmax head", lambda i: i.softmax_model.compile(loss=losses.Dice(mode="multilabel")),
     ConfigError, ["Loss Dice has mode='multilabel'", "applies 'softmax' across the 4 channels",
                   "activation='sigmoid'", "mode='multiclass'"]),
    ("loss: binary mask saved as 0/255", lambda _: losses.Dice()(labels(255, (2, 8, 8, 1)), probabilities(1)),
     DataError, ["labels 255 outside 0..1", "mask / 255", "ignore_index=255"]),
    ("loss: label 7 for 4 classes", lambda _: losses.Dice(mode="multiclass")(labels(7), probabilities()),
     DataError, ["labels 7 outside 0..3", "num_classes", "ignore_index=7"]),
    ("loss: labels resized with bilinear interpolation", lambda _: losses.CrossEntropy()(
        np.full((2, 8, 8), 1.5, "float32"), probabilities()), DataError,
     ["not class ids (e.g. 1.5)", "nearest-neighbour interpolation"]),
    ("loss: one-hot targets saved as 0/255", lambda _: losses.Dice(mode="multilabel")(
        np.full((2, 8, 8, 4), 255.0, "float32"), probabilities()), DataError, ["outside [0, 1]", "mask / 255"]),
    ("loss: unknown reduction", lambda _: losses.Dice(reduction="avg"), ConfigError,
     ["reduction must be one of Keras'", "'none' gives one loss per image", "got 'avg'"]),
    ("build: batchnorm_momentum 1", build(batchnorm_momentum=1.0), ConfigError,
     ["batchnorm_momentum must be a number in [0, 1) or None", "PyTorch's momentum 0.1 is Keras' 0.9"]),
    ("from_pretrained: 1-class sigmoid to 4 classes", lambda i: segzoo.from_pretrained(i.binary_checkpoint,
                                                                                      num_classes=4), ConfigError,
     ["head is one sigmoid channel (binary)", "4 independent yes/no outputs", "activation='softmax'",
      "activation='sigmoid' for multi-label"]),
    ("recalibrate_batchnorm: endless dataset", lambda i: segzoo.recalibrate_batchnorm(
        i.softmax_model, tf.data.Dataset.from_tensors(np.zeros((1, SIZE, SIZE, 3), "float32")).repeat()),
     ConfigError, ["repeats forever", "pass steps=N"]),
    # ---------------------------------------------------------------- metrics
    ("metric: multiclass on a sigmoid head", lambda i: i.sigmoid_model.compile(
        loss=losses.Dice(mode="multilabel"), metrics=[metrics.IoU(4)]), ConfigError,
     ["Metric IoU reads the 4 output channels as one softmax distribution", "mode='multilabel'"]),
    ("metric: label 7 for 4 classes", lambda _: metrics.IoU(4).update_state(labels(7), probabilities()),
     DataError, ["labels 7 outside 0..3"]),
    ("metric: num_classes differs from the predictions", lambda _: metrics.IoU(3).update_state(labels(), probabilities()),
     ConfigError, ["iou counts 3 classes but y_pred has 4 channels", "pass num_classes=4"]),
    ("metric: num_classes 0", lambda _: metrics.Dice(0), ConfigError, ["num_classes must be the number of output channels"]),
    ("metric: a misspelt option", lambda _: metrics.IoU(3, threshhold=0.4), ConfigError,
     ["IoU has no option 'threshhold' (did you mean 'threshold'?)", "num_classes, threshold."]),
    ("metric: threshold outside (0, 1)", lambda _: metrics.IoU(1, threshold=1.5), ConfigError,
     ["threshold must be in (0, 1), got 1.5"]),
    ("metric: y_true and y_pred shapes differ",
     lambda _: metrics.IoU(4).update_state(labels(shape=(2, 4, 4)), probabilities()), ConfigError,
     ["does not fit y_pred of shape (2, 8, 8, 4)"]),
    ("metric: from_logits=True on a softmax head",
     lambda i: i.softmax_model.compile(loss=losses.Dice(), metrics=[metrics.IoU(4, from_logits=True)]),
     ConfigError, ["Metric IoU has from_logits=True", "Pass from_logits=False"]),
    # ---------------------------------------------------------------- class weights
    ("class_weights: label 255 without ignore_index", lambda _: segzoo.class_weights(labels(255), 4), DataError,
     ["A mask of source holds labels 255 outside 0..3", "pass ignore_index=255"]),
    ("class_weights: num_classes 0", lambda _: segzoo.class_weights(labels(), 0), ConfigError,
     ["num_classes must be a positive integer", "got 0"]),
    ("class_weights: unknown method", lambda _: segzoo.class_weights(labels(), 4, method="inverse"), ConfigError,
     ["method must be one of", "'inverse_frequency'"]),
    ("with_sample_weights: negative weight",
     lambda _: with_sample_weights(tf.data.Dataset.from_tensors((probabilities(), labels())), [1.0, -2.0, 1.0, 1.0]),
     ConfigError, ["class_weights must be finite, non-negative", "got [1.0, -2.0, 1.0, 1.0]"]),
    # ---------------------------------------------------------------- data
    ("from_folders: label 255 in a 4-class dataset", lambda i: from_folders(*i.label_255, SIZE, 4), DataError,
     ["a.png holds labels 255 outside 0..3", "pass ignore_index"]),
    ("inspect: label 255 in a 4-class dataset", lambda i: inspect(*i.label_255, 4).raise_if_problems(), DataError,
     ["a.png holds labels 255 outside 0..3 (num_classes=4)", "Fix the masks or num_classes, or pass ignore_index=255"]),
    ("from_folders: image and mask sizes differ", lambda i: from_folders(*i.size_mismatch, SIZE, 4), DataError,
     ["a.png is 32x32 but its mask", "is 16x32", "masks must have their image's size"]),
    ("from_folders: empty folder", lambda i: from_folders(*i.empty, SIZE, 4), DataError,
     ["No image files (.png", "It is empty"]),
    ("from_folders: unpaired files", lambda i: from_folders(*i.unpaired, SIZE, 4), DataError,
     ["do not pair up by file name", "images without a mask: b.png"]),
    ("from_folders: only unsupported files", lambda i: from_folders(*i.only_gif, SIZE, 4), DataError,
     ["No image files", "It holds 1 other file (a.gif)", "convert images and masks to one of those types"]),
    ("from_folders: an image of an unsupported type", lambda i: from_folders(*i.webp_partner, SIZE, 4), DataError,
     ["masks without an image: b.png", "b.webp are of a type segzoo does not read", "convert them to PNG"]),
    ("from_folders: a colour not in the palette",
     lambda i: from_folders(*i.unknown_colour, SIZE, 2, mask_format="palette", palette=Inputs.palette), DataError,
     ["a.png holds colours that are not in the palette", "add them to palette"]),
    ("from_folders: palette shorter than the classes",
     lambda i: from_folders(*i.unknown_colour, SIZE, 3, mask_format="palette", palette=Inputs.palette), ConfigError,
     ["palette has 2 colours for 3 classes", "one (r, g, b) colour per class"]),
    ("from_folders: resize='pad' without ignore_index", lambda i: from_folders(*i.label_255, SIZE, 4, resize="pad"),
     ConfigError, ["resize='pad' pads masks with ignore_index", "pass one"]),
    # ---------------------------------------------------------------- evaluate
    ("evaluate: NaN in an input batch",
     lambda i: segzoo.evaluate(i.softmax_model, (np.full((2, SIZE, SIZE, 3), np.nan, "float32"), labels(0, (2, SIZE, SIZE)))),
     DataError, ["Batch 0 of the data holds 6144 NaN or infinite input values", "np.nan_to_num"]),
    ("evaluate: label 255 without ignore_index",
     lambda i: segzoo.evaluate(i.softmax_model, (np.zeros((2, SIZE, SIZE, 3), "float32"), labels(255, (2, SIZE, SIZE)))),
     DataError, ["holds labels 255 outside 0..3", "pass ignore_index=255"]),
    ("evaluate: from_logits=True on a softmax head",
     lambda i: segzoo.evaluate(i.softmax_model, (np.zeros((2, SIZE, SIZE, 3)), labels(0, (2, SIZE, SIZE))), from_logits=True),
     ConfigError, ["segzoo.evaluate has from_logits=True", "already applies 'softmax'"]),
    ("evaluate: no batch", lambda i: segzoo.evaluate(i.softmax_model, []), ConfigError, ["the data is empty"]),
    # ---------------------------------------------------------------- hub and saved models
    ("from_pretrained: corrupt model.weights.h5",
     lambda i: segzoo.from_pretrained(i.checkpoint_copy("corrupt", corrupt_weights)), CheckpointError,
     ["corrupt/model.weights.h5", "not a complete HDF5 weights file", "save the checkpoint again"]),
    ("from_pretrained: folder without config.json",
     lambda i: segzoo.from_pretrained(i.checkpoint_copy("no_config", lambda f: (f / "config.json").unlink())),
     CheckpointError, ["lacks config.json", "segzoo.save_pretrained(model, folder)"]),
    ("from_pretrained: config.json is not JSON",
     lambda i: segzoo.from_pretrained(i.checkpoint_copy("bad_json", lambda f: (f / "config.json").write_text("{"))),
     CheckpointError, ["Cannot read", "config.json", "save the checkpoint again"]),
    ("from_pretrained: a .keras file", lambda i: segzoo.from_pretrained(i.keras_with_unknown_loss), CheckpointError,
     ["is a file, not a checkpoint folder", "keras.saving.load_model(path)"]),
    ("from_pretrained: unknown loss in the compile record",
     lambda i: segzoo.from_pretrained(i.checkpoint_copy("unknown_loss", unknown_loss_record), compile=True),
     UnknownNameError, ["compile record names 'Dicee'", "Did you mean 'Dice'", "from_pretrained(..., compile=False)"]),
    ("from_pretrained: unknown zoo name", lambda i: segzoo.from_pretrained("tiny-shape", manifest=i.manifest),
     UnknownNameError, ["'tiny-shape' is not a local folder", "Did you mean 'tiny-shapes'"]),
    ("from_pretrained: Keras too old", lambda i: old_keras(lambda: segzoo.from_pretrained(i.checkpoint)),
     KerasVersionError, ["need keras>=3.15", "Keras 3.14.2 is installed", "pip install -U"]),
    ("load_model: unknown loss in a .keras file", lambda i: keras.saving.load_model(i.keras_with_unknown_loss),
     UnknownNameError, ["names 'NoSuchLoss'", "segzoo's losses and metrics: ", "load_model(path, compile=False)"]),
    # segzoo does not own reading a .keras zip: Keras' own ValueError says it is not one.
    ("load_model: corrupt .keras file", lambda i: keras.saving.load_model(_corrupt_keras(i.root)), ValueError,
     [".keras"]),
    ("manifest: revision is a branch", lambda i: check_entry("tiny", i.entry(revision="main")), ManifestError,
     ["revision 'main' is not a 40-character lowercase commit hash", "pin the commit push_to_hub returned"]),
    ("manifest: revision too short", lambda i: check_entry("tiny", i.entry(revision="a" * 39)), ManifestError,
     ["is not a 40-character lowercase commit hash"]),
    ("manifest: not JSON", lambda i: load_manifest(_write(i.root / "broken.json", "{")), ManifestError,
     ["is not valid JSON", "Regenerate it with write_manifest"]),
    ("manifest: entry without files", lambda i: check_entry("tiny", {k: v for k, v in i.entry().items() if k != "files"}),
     ManifestError, ["lacks files", "Regenerate it with segzoo.hub.manifest_entry"]),
    # ---------------------------------------------------------------- hub downloads and pushes
    ("hub: offline and not cached", lambda i: download_file(
        "segzoo/tiny", "model.weights.h5", "a" * 40, cache_dir=i.root / "empty_cache", local_files_only=True),
     NotCachedError, ["is not in the cache and downloads are off", "local_files_only=False"]),
    ("hub: repository not found", lambda _: hub_refuses(http(hf_errors.RepositoryNotFoundError, 404)),
     RepoNotFoundError, ["Repository 'segzoo/tiny' not found", "if it is private, pass token="]),
    ("hub: revision not found", lambda _: hub_refuses(http(hf_errors.RevisionNotFoundError, 404)),
     RevisionNotFoundError, [f"Revision {'a' * 40!r} not found in segzoo/tiny", "40-hex commit hash"]),
    ("hub: file not in the repository", lambda _: hub_refuses(http(hf_errors.RemoteEntryNotFoundError, 404)),
     HubFileNotFoundError, ["model.weights.h5 not found in segzoo/tiny", "Is this a segzoo checkpoint"]),
    ("hub: gated repository", lambda _: hub_refuses(http(hf_errors.GatedRepoError, 403)),
     AccessDeniedError, ["segzoo/tiny is gated", "accept its conditions", "token="]),
    ("hub: connection dropped", lambda _: hub_refuses(ConnectionError("reset by peer")),
     DownloadError, ["The connection failed while downloading model.weights.h5", "reset by peer", "retry"]),
    ("hub: downloaded file differs from the manifest", lambda i: tampered(i.root), IntegrityError,
     ["tampered.bin from segzoo/tiny has sha256", "but the manifest says 0000", "the copy was removed"]),
    ("hub: push while offline", lambda i: offline(lambda: segzoo.hub.push_to_hub(i.checkpoint, "segzoo/tiny")),
     HubError, ["HF_HUB_OFFLINE is set: pushing needs the network", "Unset HF_HUB_OFFLINE"]),
]


def _write(path, text):
    path.write_text(text)
    return path


def _corrupt_keras(root):
    return _write(root / "corrupt.keras", "not a zip file")


@pytest.mark.parametrize("call, error, fragments", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input(inputs, call, error, fragments):
    with pytest.raises(error) as raised:
        call(inputs)
    # The very class, not a subclass: test_every_error_segzoo_raises_has_a_case relies on it.
    assert type(raised.value) is error, f"{type(raised.value).__name__} raised, the case expects {error.__name__}"
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# ---------------------------------------------------------------- the command line
# Bad arguments: exit status 2 and one line "<prog>: error: <reason> (see <prog> --help)".
# Bad values found later (a SegzooError): status 1 and one line "<prog>: error: <reason>".

CLI_CASES = [
    ("unknown subcommand", ["trian"], 2, ["segzoo: error:", "invalid choice: 'trian'", "train"]),
    ("bad --loss spec", ["train", "--dataset", "shapes", "--loss", "dcie+ce"], 2,
     ["unknown loss 'dcie'", "Did you mean 'dice'"]),
    ("bad --loss weight", ["train", "--dataset", "shapes", "--loss", "x*dice"], 2, ["bad weight 'x'"]),
    ("train without --data or --dataset", ["train", "--classes", "3"], 2,
     ["one of the arguments --data --dataset is required"]),
    ("evaluate without --data", ["evaluate", "some-checkpoint"], 2,
     ["the following arguments are required: --data"]),
    ("--data folder missing", ["train", "--data", "no/such/folder", "--classes", "3"], 2,
     ["argument --data: no such folder: 'no/such/folder'"]),
    ("--image-size not a size", ["train", "--dataset", "shapes", "--image-size", "big"], 2,
     ["image size must be N or HxW"]),
    ("--data without --classes", ["train", "--data", "{root}"], 1, ["--data needs --classes"]),
    ("unknown architecture", ["train", "--dataset", "shapes", "--arch", "unte"], 1,
     ["Unknown architecture 'unte'", "Did you mean 'unet'"]),
]


@pytest.mark.parametrize("argv, status, fragments", [case[1:] for case in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_bad_command_line(argv, status, fragments, tmp_path, capsys):
    argv = [arg.format(root=tmp_path) for arg in argv]
    if status == 2:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2
    else:
        assert cli.main(argv) == status
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


def test_a_new_logits_head_gets_the_recorded_loss_with_from_logits(inputs):
    """The fitting counterpart of the from_logits check: from_pretrained(compile=True) with a
    new head sets from_logits on the recorded loss (a Combo's parts too) and metrics."""

    def record(folder):
        config = json.loads((folder / "config.json").read_text())
        config["compile"] = {
            "loss": keras.saving.serialize_keras_object(losses.Dice() + losses.CrossEntropy()),
            "metrics": [keras.saving.serialize_keras_object(metrics.IoU(4))],
        }
        (folder / "config.json").write_text(json.dumps(config))

    folder = inputs.checkpoint_copy("compiled", record)
    model = segzoo.from_pretrained(folder, activation="logits", compile=True)
    assert model.activation is None
    assert [loss.from_logits for loss in model.loss.losses] == [True, True]
    assert segzoo.from_pretrained(folder, compile=True).loss.losses[0].from_logits is False


def errors_segzoo_raises():
    """The classes of segzoo.errors that some module of segzoo instantiates (read from the
    source with ast: a call `SomeError(...)`), so a pure base class is left out and a new
    error type counts as soon as the code raises it."""
    classes = {name for name, value in vars(errors).items()
               if pyinspect.isclass(value) and issubclass(value, errors.SegzooError)}
    package = os.path.dirname(segzoo.__file__)
    raised = set()
    for folder, _, files in os.walk(package):
        for file_name in files:
            if file_name.endswith(".py"):
                with open(os.path.join(folder, file_name), encoding="utf-8") as handle:
                    tree = ast.parse(handle.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Call):
                        name = getattr(node.func, "id", getattr(node.func, "attr", None))
                        if name in classes:
                            raised.add(name)
    return raised


def test_every_error_segzoo_raises_has_a_case():
    """A new kind of user error (a new class in segzoo.errors that the code raises) must come
    with its bad-input case here; test_bad_input checks each case raises exactly its class."""
    raised = errors_segzoo_raises()
    assert {"ConfigError", "HubError", "DownloadError"} <= raised  # the scan itself finds calls
    covered = {case[2].__name__ for case in CASES}
    missing = sorted(raised - covered)
    assert not missing, f"segzoo raises {missing} but no case in CASES does"
