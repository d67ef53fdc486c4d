"""The `segzoo` command: list, info, train, evaluate, predict, pull, export, hub manifest.

    segzoo list
    segzoo train --dataset shapes --image-size 64 --epochs 10 --out runs/shapes
    segzoo evaluate runs/shapes/best --data data/ --out runs/eval
    segzoo predict runs/shapes/best photo.png --out predictions/

docs/cli.md describes every subcommand. A mistake of the user's (a bad option, a missing
file, any segzoo.errors.SegzooError) ends with one line on stderr and exit status 2 for
bad arguments, 1 for the rest; no traceback.
"""

import argparse
import dataclasses
import functools
import inspect
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import segzoo
from segzoo._version import __version__
from segzoo import _plots
from segzoo._names import did_you_mean
from segzoo.backbones import get_backbone_spec, list_backbones
from segzoo.data.decode import decode_image
from segzoo.data.files import IMAGE_EXTENSIONS
from segzoo.data.weights import METHODS as WEIGHT_METHODS
from segzoo.datasets.shapes import SHAPES
from segzoo.errors import ConfigError, DataError, SegzooError, UnknownNameError
from segzoo.hub import manifest as hub_manifest
from segzoo.hub.checkpoint import CARD_FILE, CONFIG_FILE, REQUIRED_FILES, read_config, split_config
from segzoo.models._spec import ARCHITECTURES

# --loss names -> segzoo.losses classes; combine with '+', weigh with '*': "dice+2*focal".
LOSSES = {
    "dice": "Dice",
    "jaccard": "Jaccard",
    "tversky": "Tversky",
    "focal_tversky": "FocalTversky",
    "generalized_dice": "GeneralizedDice",
    "lovasz": "Lovasz",
    "ce": "CrossEntropy",
    "cross_entropy": "CrossEntropy",
    "balanced_ce": "BalancedCrossEntropy",
    "focal": "Focal",
}
DATASETS = ("shapes", "digits")
DIGITS_CLASSES = 11
DEFAULT_IMAGE_SIZE = 128
SPLITS = {"train": ("train",), "validation": ("validation", "val")}
CONVENTIONS = {
    "tf": "pixels scaled to [-1, 1]",
    "caffe": "BGR, ImageNet mean subtracted",
    "none": "raw [0, 255] pixels, the model normalises them",
}
EXPORT_FORMATS = ("savedmodel", "tflite", "onnx")
REPO_FILES = (*REQUIRED_FILES, CARD_FILE)  # what `pull org/name` fetches


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except (SegzooError, OSError) as error:
        print(f"{args.prog}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{args.prog}: interrupted", file=sys.stderr)
        return 130


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error: '<prog>: error: <what> (see <prog> --help)'."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(prog="segzoo", description="A Keras 3 model zoo for semantic segmentation.")
    parser.add_argument("--version", action="version", version=f"segzoo {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_list, _add_info, _add_train, _add_evaluate, _add_predict, _add_pull,
                _add_export, _add_hub):
        add(commands)
    return parser


def _command(commands, name, run, help, **options):
    parser = commands.add_parser(name, help=help, description=help, **options)
    parser.set_defaults(run=run, prog=parser.prog)
    return parser


# ---------------------------------------------------------------- argument types


def _existing_folder(text):
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"no such folder: {text!r}")
    return Path(text)


def _image_size(text):
    """'64' or '64x96' (height x width) -> (height, width)."""
    parts = text.lower().split("x")
    if len(parts) > 2 or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"image size must be N or HxW in pixels (e.g. 64 or 64x96), got {text!r}")
    sizes = [int(part) for part in parts]
    return (sizes[0], sizes[-1])


def _filters(text):
    """'16' (base width, doubled per level) or '16,32,64,128' (every width)."""
    parts = text.split(",")
    if not all(part.strip().isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"encoder filters must be N or N,N,... positive integers, got {text!r}")
    widths = [int(part) for part in parts]
    return widths[0] if len(widths) == 1 else widths


def _names(text):
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"class names must be comma-separated and not empty, got {text!r}")
    return names


def _loss(text):
    """'dice+2*focal' -> ((1.0, 'dice'), (2.0, 'focal'))."""
    terms = []
    for part in text.lower().replace("-", "_").split("+"):
        weight, _, name = part.strip().rpartition("*")
        name = name.strip()
        if name not in LOSSES:
            raise argparse.ArgumentTypeError(_unknown_message("loss", name, LOSSES))
        try:
            terms.append((float(weight) if weight.strip() else 1.0, name))
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad weight {weight!r} in {text!r}; write e.g. dice+2*focal") from None
    return tuple(terms)


def _unknown_message(kind, name, known):
    hint = did_you_mean(name, known)
    return f"unknown {kind} {name!r}.{hint} Available: {', '.join(sorted(known))}."


# ---------------------------------------------------------------- list and info


def _add_list(commands):
    parser = _command(commands, "list", run_list, "List architectures and backbones, or pretrained checkpoints.")
    parser.add_argument("--pretrained", action="store_true",
                        help="list the zoo checkpoints of the weights manifest instead")
    parser.add_argument("--manifest", help="manifest to read (default: $SEGZOO_MANIFEST or segzoo's own)")


def run_list(args):
    if not args.pretrained:
        print("architectures: " + ", ".join(segzoo.list_architectures()))
        print("backbones:     " + ", ".join(list_backbones()))
        print("(pretrained checkpoints: segzoo list --pretrained)")
        return
    entries = segzoo.hub.load_manifest(args.manifest)
    if not entries:
        print(f"no checkpoints in {hub_manifest.manifest_path(args.manifest)}")
        return
    rows = [("name", "model", "classes", "input", "mean IoU", "repo")]
    for name, entry in sorted(entries.items()):
        mean_iou = (entry.get("metrics") or {}).get("mean_iou")
        rows.append((name, f"{entry['architecture']}/{entry['backbone']}", str(entry["num_classes"]),
                     _shape_text(entry["input_size"]), "-" if mean_iou is None else f"{mean_iou:.4f}",
                     entry["repo_id"]))
    print(_table(rows))


def _table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)
    return "\n".join(lines)


def _shape_text(shape):
    """(96, 96, 3) -> '96x96x3'; (None, None, 3) -> 'any size, 3 channels'."""
    if not shape:
        return "-"
    if None in shape[:-1]:
        return f"any size, {shape[-1]} channels"
    return "x".join(map(str, shape))


def _add_info(commands):
    parser = _command(commands, "info", run_info,
                      "Describe architectures, backbones, pretrained checkpoints or checkpoint folders.")
    parser.add_argument("names", nargs="+", metavar="NAME")
    parser.add_argument("--manifest", help="manifest to read (default: $SEGZOO_MANIFEST or segzoo's own)")


def run_info(args):
    entries = segzoo.hub.load_manifest(args.manifest)
    for index, name in enumerate(args.names):
        if index:
            print()
        print(_describe(name, entries))


def _describe(name, entries):
    if name in entries:
        return _describe_pretrained(name, entries[name])
    if name.lower() in ARCHITECTURES.names():
        return _describe_architecture(ARCHITECTURES.get(name))
    if name.lower() in list_backbones():
        return _describe_backbone(get_backbone_spec(name))
    if os.path.isfile(os.path.join(name, CONFIG_FILE)):
        return _describe_folder(Path(name))
    known = [*entries, *ARCHITECTURES.names(), *list_backbones()]
    hint = did_you_mean(name, known)
    raise UnknownNameError(
        f"{name!r} is not an architecture, backbone, pretrained checkpoint or checkpoint folder.{hint} "
        "See segzoo list and segzoo list --pretrained."
    )


def _first_paragraph(obj):
    doc = inspect.getdoc(inspect.getmodule(obj)) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _describe_architecture(spec):
    return "\n".join([
        f"architecture {spec.name}: {_first_paragraph(spec.decode)}",
        f"  default decoder filters (pretrained backbones): {', '.join(map(str, spec.default_filters))}",
        f"  with backbone 'none': a plain '{spec.encoder_block}' encoder, mirrored by the decoder",
        f"  options: {', '.join(spec.options) or 'none'}",
    ])


def _describe_backbone(spec):
    return "\n".join([
        f"backbone {spec.name}: {_backbone_summary(spec)}",
        f"  pretrained weights: {'imagenet (keras.applications)' if spec.pretrained else 'none, from scratch'}",
        f"  feature strides: {', '.join(map(str, spec.strides))}",
        f"  input convention: {spec.preprocessing} ({CONVENTIONS.get(spec.preprocessing, '?')})",
        f"  options: {', '.join(spec.options) or 'none'}",
    ])


def _backbone_summary(spec):
    """The keras.applications constructor a shared builder wraps, else the module's docstring."""
    if isinstance(spec.build, functools.partial) and callable(spec.build.args[0]):
        return f"{spec.build.args[0].__name__} (keras.applications)"
    return _first_paragraph(spec.build)


def _describe_pretrained(name, entry):
    metrics = entry.get("metrics") or {}
    size = sum(info["size"] for info in entry["files"].values())
    lines = [
        f"pretrained {name}: {entry['architecture']} / {entry['backbone']}",
        f"  repo:     {entry['repo_id']} @ {entry['revision']}",
        f"  classes:  {entry['num_classes']} ({', '.join(entry.get('class_names') or [])})",
        f"  input:    {_shape_text(entry['input_size'])}",
        f"  dataset:  {entry.get('dataset') or '-'}",
        f"  metrics:  {', '.join(f'{k} {v:.4f}' for k, v in metrics.items()) or '-'}",
        f"  license:  {entry.get('license') or '-'}",
        f"  files:    {', '.join(sorted(entry['files']))} ({size / 1e6:.1f} MB)",
    ]
    return "\n".join(lines)


def _describe_folder(folder):
    build_args, metadata = split_config(read_config(folder / CONFIG_FILE))
    metrics = metadata.get("metrics") or {}
    return "\n".join([
        f"checkpoint folder {folder}: {build_args['architecture']} / {build_args.get('backbone')}",
        f"  classes:  {build_args.get('num_classes')} ({', '.join(metadata.get('class_names') or [])})",
        f"  head:     {build_args.get('activation') or 'logits'}",
        f"  input:    {_shape_text(build_args.get('input_shape'))}",
        f"  metrics:  {', '.join(f'{k} {v:.4f}' for k, v in metrics.items()) or '-'}",
    ])


# ---------------------------------------------------------------- train


def _add_train(commands):
    parser = _command(commands, "train", run_train, "Train a model on folders or a built-in dataset.")
    source = parser.add_argument_group("data (one of --data or --dataset)")
    data = source.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", type=_existing_folder, metavar="DIR",
                      help="DIR/train/{images,masks} and DIR/validation/{images,masks} (or val/)")
    data.add_argument("--dataset", choices=DATASETS, help="a built-in dataset, made on the spot")
    source.add_argument("--images", type=int, default=512, metavar="N",
                        help="--dataset: images in all, a fifth held out (512)")
    source.add_argument("--mask-suffix", default="", metavar="SUFFIX",
                        help="--data: masks named <stem><suffix>.png")
    source.add_argument("--ignore-index", type=int, metavar="N", help="mask value of unlabelled pixels (e.g. 255)")
    source.add_argument("--augment", action="store_true", help="random horizontal flips while training")
    model = parser.add_argument_group("model")
    model.add_argument("--arch", metavar="NAME", help="architecture (unet); segzoo list shows them")
    model.add_argument("--backbone", metavar="NAME", help="encoder (none: a plain encoder trained from scratch)")
    model.add_argument("--encoder-weights", metavar="WEIGHTS",
                       help="imagenet or a weights file, for pretrained backbones")
    model.add_argument("--encoder-filters", type=_filters, metavar="N[,N...]",
                       help="backbone none: base width or every width")
    model.add_argument("--depth", type=int, metavar="N", help="downsampling steps, 3-5 (5)")
    model.add_argument("--classes", type=int, metavar="N", help="classes incl. background; 1 = binary sigmoid")
    model.add_argument("--class-names", type=_names, metavar="A,B,...", help="comma-separated, background first")
    model.add_argument("--from-pretrained", metavar="NAME",
                       help="start from a checkpoint (zoo name, org/name or folder); a new head if --classes differs")
    fit = parser.add_argument_group("training")
    fit.add_argument("--loss", type=_loss, default="dice+ce", metavar="LOSS",
                     help=f"'+'-joined, optionally weighted (dice+2*focal); names: {', '.join(LOSSES)}")
    fit.add_argument("--class-weights", default="none", choices=("none", "auto", *WEIGHT_METHODS),
                     metavar="METHOD", help="per-pixel weights from label counts (none): auto "
                                            f"(= median_frequency), {', '.join(WEIGHT_METHODS)}")
    fit.add_argument("--epochs", type=int, default=10, metavar="N", help="(10)")
    fit.add_argument("--batch-size", type=int, default=8, metavar="N", help="(8)")
    fit.add_argument("--image-size", type=_image_size, metavar="N|HxW", help=f"N or HxW ({DEFAULT_IMAGE_SIZE})")
    fit.add_argument("--lr", type=float, default=3e-3, metavar="RATE",
                     help="Adam learning rate, cosine-decayed to 0 (3e-3)")
    fit.add_argument("--seed", type=int, default=0, metavar="N", help="weights, shuffling, built-in data (0)")
    fit.add_argument("--out", type=Path, default=Path("segzoo-run"), metavar="DIR", help="output folder (segzoo-run)")
    fit.add_argument("--overlays", type=int, default=4, metavar="N",
                     help="validation images drawn into --out/overlays (4)")


@dataclasses.dataclass
class TrainingData:
    train: tf.data.Dataset  # (images in [0, 255], masks) batches
    validation: tf.data.Dataset  # same, fixed order
    class_names: list  # one per label, background first; None for folders
    name: str  # the dataset, for the model card


def run_train(args):
    _check_training_args(args)
    keras.utils.set_random_seed(args.seed)
    folders = _split_folders(args.data) if args.data else None  # layout errors before anything heavy
    model = _training_model(args)
    size = _input_size(model, args.image_size)
    labels = max(2, model.num_classes)  # a 1-channel sigmoid model reads 0/1 masks
    data = _training_data(args, folders, size, labels)
    names = _label_names(args.class_names, data.class_names, model, labels)
    print(f"{model.name}: {model.count_params():,} parameters, {size[0]}x{size[1]} images, "
          f"{labels} classes ({', '.join(names)}); writing to {args.out}")
    prepare = segzoo.data.preprocessing_function(model.backbone)
    train = _training_batches(args, data.train, labels, prepare)
    validation = _prepared(data.validation, prepare)
    _compile(model, args, train)
    args.out.mkdir(parents=True, exist_ok=True)
    history = _fit(model, args, train, validation)
    segzoo.recalibrate_batchnorm(model, train)
    print("BatchNorm moving statistics recomputed over one pass of the training data "
          "(segzoo.recalibrate_batchnorm)")
    report = segzoo.evaluate(model, validation, class_names=names, ignore_index=args.ignore_index,
                             print_table=True)
    _save_best(model, args.out / "best", names, report, data.name)
    _write_curves(history, args.out / "training_curves.png")
    count = _write_training_overlays(model, data.validation, prepare, labels, args.out / "overlays", args.overlays)
    print(f"overlays (image | ground truth | prediction): {count} in {args.out / 'overlays'}")


def _check_training_args(args):
    for flag, value, low in (("--epochs", args.epochs, 1), ("--batch-size", args.batch_size, 1),
                             ("--images", args.images, 2), ("--overlays", args.overlays, 0),
                             ("--classes", 1 if args.classes is None else args.classes, 1)):
        if value < low:
            raise ConfigError(f"{flag} must be >= {low}, got {value}.")
    if args.from_pretrained:
        given = [flag for flag, value in (("--arch", args.arch), ("--backbone", args.backbone),
                                          ("--encoder-weights", args.encoder_weights),
                                          ("--encoder-filters", args.encoder_filters), ("--depth", args.depth))
                 if value is not None]
        if given:
            raise ConfigError(f"--from-pretrained takes the model from the checkpoint: drop {', '.join(given)}.")
    elif args.data and args.classes is None:
        raise ConfigError("--data needs --classes (the number of classes, background included).")


def _split_folders(root):
    """{'train': (images, masks), 'validation': (images, masks)} under root."""
    found = {}
    for split, names in SPLITS.items():
        for name in names:
            images, masks = root / name / "images", root / name / "masks"
            if images.is_dir() and masks.is_dir():
                found[split] = (str(images), str(masks))
                break
        else:
            flat = (root / "images").is_dir() and (root / "masks").is_dir()
            raise DataError(
                f"{str(root)!r} has no {split}/images and {split}/masks folders"
                + (" (it holds images/ and masks/ directly: split them into train/ and validation/)" if flat else "")
                + ". segzoo train reads DIR/train/{images,masks} and DIR/validation/{images,masks}."
            )
    return found


def _training_model(args):
    num_classes = args.classes
    if num_classes is None and args.dataset:
        num_classes = DIGITS_CLASSES if args.dataset == "digits" else 4
    if args.from_pretrained:
        return segzoo.from_pretrained(args.from_pretrained, num_classes=num_classes, activation="auto")
    backbone = args.backbone or "none"
    spec = get_backbone_spec(backbone)  # unknown names fail here, with close matches
    ARCHITECTURES.get(args.arch or "unet")
    if spec.pretrained and args.encoder_weights is None:
        print(f"note: backbone {spec.name} starts from random weights; --encoder-weights imagenet "
              "starts from ImageNet's")
    options = {key: value for key, value in (("encoder_filters", args.encoder_filters), ("depth", args.depth))
               if value is not None}
    size = args.image_size or (DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE)
    return segzoo.build(args.arch or "unet", backbone=backbone, num_classes=num_classes,
                        activation="sigmoid" if num_classes == 1 else "softmax", input_shape=(*size, 3),
                        encoder_weights=args.encoder_weights, **options)


def _input_size(model, requested):
    """The model's fixed (height, width), or `requested` for a model that takes any size."""
    fixed = tuple(model.model_input_shape[:2])
    if None not in fixed:
        if requested is not None and tuple(requested) != fixed:
            raise ConfigError(
                f"the model takes {fixed[0]}x{fixed[1]} images; drop --image-size {requested[0]}x{requested[1]} "
                "(images are resized to the model's size)."
            )
        return fixed
    if requested is None:
        raise ConfigError("the model takes images of any size: pass --image-size (e.g. 256).")
    return tuple(requested)


def _training_data(args, folders, size, labels):
    if folders:
        def read(split, shuffle):
            return segzoo.data.from_folders(
                *folders[split], image_size=size, num_classes=labels, mask_suffix=args.mask_suffix,
                batch_size=args.batch_size, shuffle=shuffle, seed=args.seed, ignore_index=args.ignore_index)

        return TrainingData(read("train", True), read("validation", False), None, args.data.resolve().name)
    if size[0] != size[1]:
        raise ConfigError(f"--dataset {args.dataset} draws square images: give one --image-size, not {size}.")
    if args.dataset == "digits":
        if labels != DIGITS_CLASSES:
            raise ConfigError(f"--dataset digits has {DIGITS_CLASSES} classes (background and 0-9), not {labels}.")
        split = segzoo.datasets.digits(args.images, image_size=size[0], seed=args.seed, batch_size=args.batch_size)
        names = ["background"] + [f"digit {d}" for d in range(10)]
    else:
        split = segzoo.datasets.shapes(args.images, image_size=size[0], num_classes=labels, seed=args.seed,
                                       batch_size=args.batch_size)
        names = ["background"] + [_shape_name(k) for k in range(1, labels)]
    return TrainingData(split.train, split.validation, names, f"segzoo-{args.dataset}")


def _shape_name(label):
    name = SHAPES[(label - 1) % len(SHAPES)]
    return name if label <= len(SHAPES) else f"{name} {label}"


def _label_names(requested, dataset_names, model, labels):
    """One name per label, background first (a 1-channel model's labels: background, foreground)."""
    names = requested or dataset_names or list(getattr(model, "class_names", ()) or ())
    if model.num_classes == 1 and len(names) == 1:
        names = ["background", *names]
    if len(names) == labels:
        return list(names)
    if requested:
        raise ConfigError(f"--class-names gives {len(requested)} names for {labels} classes.")
    return [f"class_{i}" for i in range(labels)]


def _training_batches(args, data, labels, prepare):
    """Augmented (optional), weighted per pixel (optional), prepared training batches."""
    weights = None
    if args.class_weights != "none":  # counted once, on the masks as they are on disk
        method = "median_frequency" if args.class_weights == "auto" else args.class_weights
        weights = segzoo.class_weights(data, labels, method=method, ignore_index=args.ignore_index)
        print(f"class weights ({method}): " + ", ".join(f"{w:.3g}" for w in weights))
    if args.augment:
        data = data.map(segzoo.data.augment(flip="horizontal", seed=args.seed), num_parallel_calls=tf.data.AUTOTUNE)
    if weights is not None:
        data = segzoo.data.with_sample_weights(data, weights, ignore_index=args.ignore_index)
    return _prepared(data, prepare)


def _prepared(data, prepare):
    """Apply the backbone's input convention to the images of (x, y[, w]) batches."""
    if prepare is None:
        return data
    return data.map(lambda x, *rest: (prepare(x), *rest), num_parallel_calls=tf.data.AUTOTUNE)


def _compile(model, args, train):
    from_logits = model.activation is None
    steps = int(train.cardinality())
    rate = (keras.optimizers.schedules.CosineDecay(args.lr, decay_steps=steps * args.epochs)
            if steps > 0 else args.lr)
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss=_make_loss(args.loss, from_logits, args.ignore_index),
        metrics=[segzoo.metrics.IoU(model.num_classes, from_logits=from_logits, ignore_index=args.ignore_index,
                                    name="iou")],
    )


def _make_loss(terms, from_logits, ignore_index):
    losses = [getattr(segzoo.losses, LOSSES[name])(from_logits=from_logits, ignore_index=ignore_index)
              for _, name in terms]
    weights = [weight for weight, _ in terms]
    if len(losses) == 1 and weights[0] == 1.0:
        return losses[0]
    return segzoo.losses.Combo(losses, weights)


def _fit(model, args, train, validation):
    """Fit; the model ends with the weights of its best epoch by validation mean IoU."""
    verbose = 1 if sys.stdout.isatty() else 2
    with tempfile.TemporaryDirectory(prefix="segzoo-train-") as scratch:
        best = Path(scratch) / "best.weights.h5"
        callbacks = [
            keras.callbacks.CSVLogger(str(args.out / "history.csv")),
            keras.callbacks.ModelCheckpoint(str(best), monitor="val_iou", mode="max", save_best_only=True,
                                            save_weights_only=True),
            segzoo.callbacks.InferenceModeCheck(validation, ignore_index=args.ignore_index),
        ]
        history = model.fit(train, validation_data=validation, epochs=args.epochs, verbose=verbose,
                            callbacks=callbacks, shuffle=False).history  # tf.data shuffles
        if best.exists():
            model.load_weights(best)
    scores = history.get("val_iou", [])
    if scores and not np.all(np.isnan(scores)):
        epoch = int(np.nanargmax(scores))
        print(f"\nbest epoch {epoch + 1}/{len(scores)}: validation mean IoU {scores[epoch]:.4f}")
    return history


def _save_best(model, folder, names, report, dataset):
    metrics = {"mean_iou": report["mean"]["iou"], "pixel_accuracy": report["pixel_accuracy"]}
    metrics = {key: round(value, 4) for key, value in metrics.items() if value is not None}
    segzoo.save_pretrained(model, folder, class_names=names, metrics=metrics, dataset=dataset)
    print(f"\nbest checkpoint: {folder} (load with segzoo.from_pretrained({str(folder)!r}))")


def _write_curves(history, path):
    if _plots.training_curves(history, path):
        print(f"training curves: {path}")
    else:
        print(f"skipped {path.name}: {_plots.MATPLOTLIB_HINT}")


def _write_training_overlays(model, validation, prepare, labels, folder, limit):
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for images, masks, *_ in validation:
        if written >= limit:
            break
        x = prepare(images) if prepare is not None else images
        predicted = _to_labels(model.predict_on_batch(x), model.activation)
        for image, truth, guess in zip(images.numpy(), masks.numpy(), predicted):
            if written >= limit:
                break
            panel = _plots.side_by_side(image.astype(np.uint8), _plots.overlay(image, truth, labels),
                                        _plots.overlay(image, guess, labels))
            _plots.write_png(folder / f"{written:04d}.png", _plots.enlarge(panel))
            written += 1
    return written


def _to_labels(prediction, activation):
    """Class ids (B, H, W) from a batch of model outputs."""
    prediction = np.asarray(prediction)
    if prediction.shape[-1] == 1:
        threshold = 0.0 if activation is None else 0.5
        return (prediction[..., 0] > threshold).astype(np.int32)
    return np.argmax(prediction, axis=-1).astype(np.int32)


# ---------------------------------------------------------------- evaluate


def _add_model_argument(parser):
    parser.add_argument("model", metavar="MODEL", help="a checkpoint folder, zoo name or hub repo id org/name")
    parser.add_argument("--revision", help="with a repo id: a branch, tag or commit")


def _load_model(args):
    return segzoo.from_pretrained(args.model, revision=args.revision)


def _add_evaluate(commands):
    parser = _command(commands, "evaluate", run_evaluate, "Score a model on a folder of images and masks.")
    _add_model_argument(parser)
    parser.add_argument("--data", type=_existing_folder, required=True, metavar="DIR",
                        help="DIR/images and DIR/masks, else DIR/validation/{images,masks}")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write report.json and confusion_matrix.png here")
    parser.add_argument("--image-size", type=_image_size, metavar="N|HxW", help="for a model that takes any size")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N", help="(8)")
    parser.add_argument("--mask-suffix", default="", metavar="SUFFIX", help="masks named <stem><suffix>.png")
    parser.add_argument("--ignore-index", type=int, metavar="N", help="mask value of unlabelled pixels")


def run_evaluate(args):
    images, masks = _evaluation_folders(args.data)
    model = _load_model(args)
    labels = max(2, model.num_classes)
    data = segzoo.data.from_folders(
        images, masks, image_size=_input_size(model, args.image_size), num_classes=labels,
        mask_suffix=args.mask_suffix, batch_size=args.batch_size, shuffle=False, preprocessing=model.backbone,
        ignore_index=args.ignore_index)
    names = _label_names(None, None, model, labels)
    report = segzoo.evaluate(model, data, class_names=names, ignore_index=args.ignore_index, print_table=True)
    if args.out:
        _write_report(report, names, args.out)


def _evaluation_folders(root):
    for folder in (root, root / "validation", root / "val"):
        if (folder / "images").is_dir() and (folder / "masks").is_dir():
            return str(folder / "images"), str(folder / "masks")
    raise DataError(f"{str(root)!r} has neither images/ and masks/ nor validation/images and validation/masks.")


def _write_report(report, names, out):
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nreport: {out / 'report.json'}")
    path = out / "confusion_matrix.png"
    if _plots.confusion_matrix(report["confusion_matrix"], names, path):
        print(f"confusion matrix: {path}")
    else:
        print(f"skipped {path.name}: {_plots.MATPLOTLIB_HINT}")


# ---------------------------------------------------------------- predict


def _add_predict(commands):
    parser = _command(commands, "predict", run_predict, "Write mask and overlay PNGs for images.")
    _add_model_argument(parser)
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or folders of them")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="writes DIR/masks and DIR/overlays")
    parser.add_argument("--image-size", type=_image_size, metavar="N|HxW",
                        help="for a model that takes any size (default: the image's, rounded up)")


def run_predict(args):
    paths = _image_paths(args.images)
    model = _load_model(args)
    prepare = segzoo.data.preprocessing_function(model.backbone)
    labels = max(2, model.num_classes)
    masks, overlays = args.out / "masks", args.out / "overlays"
    masks.mkdir(parents=True, exist_ok=True)
    overlays.mkdir(parents=True, exist_ok=True)
    for path in paths:
        image = _read_image(path)
        predicted = _predict_image(model, image, prepare, args.image_size)
        _plots.write_png(masks / f"{path.stem}.png", predicted.astype(np.uint8 if labels <= 256 else np.uint16))
        _plots.write_png(overlays / f"{path.stem}.png", _plots.overlay(image, predicted, labels))
    print(f"{len(paths)} image(s): class-id masks in {masks}, overlays in {overlays}")


def _image_paths(arguments):
    paths = []
    for argument in map(Path, arguments):
        if argument.is_dir():
            paths.extend(sorted(p for p in argument.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS))
        elif argument.is_file():
            paths.append(argument)
        else:
            raise DataError(f"no such image or folder: {str(argument)!r}")
    if not paths:
        raise DataError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {', '.join(arguments)}")
    stems = [p.stem for p in paths]
    twice = sorted({stem for stem in stems if stems.count(stem) > 1})
    if twice:
        raise DataError(f"several images named {', '.join(twice)}: their outputs would overwrite each other.")
    return paths


def _read_image(path):
    try:
        return decode_image(tf.constant(str(path))).numpy()
    except tf.errors.OpError as error:
        raise DataError(f"{str(path)!r} cannot be decoded as an image ({_one_line(error.message)}).") from None


def _predict_image(model, image, prepare, requested):
    """Class ids at the image's own size: run at the model's size (or a valid one for a
    model that takes any size), resize the labels back with nearest neighbour."""
    height, width = image.shape[:2]
    size = tuple(model.model_input_shape[:2])
    if None in size:
        size = requested or _valid_size((height, width), model)
    x = tf.image.resize(image[None], size)
    x = prepare(x) if prepare is not None else x
    labels = _to_labels(model.predict_on_batch(x), model.activation)[0]
    return tf.image.resize(labels[..., None], (height, width), method="nearest").numpy()[..., 0]


def _valid_size(size, model):
    """Each side rounded up to a multiple of 2**depth (at least 32 for pretrained backbones)."""
    multiple = 2**model.depth
    smallest = max(multiple, 32) if get_backbone_spec(model.backbone).pretrained else multiple
    return tuple(max(smallest, math.ceil(side / multiple) * multiple) for side in size)


# ---------------------------------------------------------------- pull and export


def _add_pull(commands):
    parser = _command(commands, "pull", run_pull,
                      "Download a zoo checkpoint (every file, sha256-checked) into the hub cache.")
    parser.add_argument("name", metavar="NAME", help="a zoo name (segzoo list --pretrained) or a repo id org/name")
    parser.add_argument("--revision", help="with a repo id: a branch, tag or commit")
    parser.add_argument("--cache-dir", metavar="DIR", help="default: huggingface_hub's cache (HF_HUB_CACHE)")
    parser.add_argument("--force", action="store_true", help="download again even if cached")


def run_pull(args):
    entries = segzoo.hub.load_manifest()
    files = REPO_FILES
    if args.name in entries:
        files = (*REQUIRED_FILES, *sorted(set(entries[args.name]["files"]) - set(REQUIRED_FILES)))
    folder = segzoo.hub.download_checkpoint(args.name, revision=args.revision, files=files,
                                            cache_dir=args.cache_dir, force_download=args.force)
    print(folder)


def _add_export(commands):
    parser = _command(commands, "export", run_export, "Export a model as a SavedModel, TFLite or ONNX file.")
    _add_model_argument(parser)
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    parser.add_argument("--out", type=Path, metavar="PATH",
                        help="default: <model name>-savedmodel, <model name>.tflite or <model name>.onnx")


def run_export(args):
    if args.format == "onnx" and not _has_module("tf2onnx"):
        raise ConfigError("ONNX export needs tf2onnx: pip install tf2onnx (or use --format savedmodel or tflite).")
    model = _load_model(args)
    suffix = {"savedmodel": "-savedmodel", "tflite": ".tflite", "onnx": ".onnx"}[args.format]
    out = args.out or Path(Path(args.model.rstrip("/")).name + suffix)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "tflite":
        with tempfile.TemporaryDirectory(prefix="segzoo-export-") as scratch:
            model.export(scratch, format="tf_saved_model", verbose=False)
            out.write_bytes(tf.lite.TFLiteConverter.from_saved_model(scratch).convert())
    else:
        model.export(str(out), format="tf_saved_model" if args.format == "savedmodel" else "onnx", verbose=False)
    print(out)


def _has_module(name):
    try:
        __import__(name)
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------- hub


def _add_hub(commands):
    hub = _command(commands, "hub", None, "Maintain the weights manifest.")
    hub_commands = hub.add_subparsers(dest="hub_command", required=True, metavar="COMMAND")
    parser = _command(hub_commands, "manifest", run_hub_manifest,
                      "Add (or replace) a named checkpoint in the weights manifest from its folder "
                      "(python -m segzoo.hub.manifest).")
    parser.add_argument("name")
    parser.add_argument("folder", help="the folder save_pretrained wrote and push_to_hub uploaded")
    parser.add_argument("repo_id")
    parser.add_argument("revision", help="the 40-hex commit hash push_to_hub returned")
    parser.add_argument("--manifest", help="default: $SEGZOO_MANIFEST or segzoo's own")


def run_hub_manifest(args):
    argv = [args.name, args.folder, args.repo_id, args.revision]
    hub_manifest.main(argv + (["--manifest", args.manifest] if args.manifest else []))


if __name__ == "__main__":
    sys.exit(main())
