"""`segzoo train`: a model, data, a loss and a schedule from the options; then fit (best
epoch kept), recalibrate BatchNorm, score, save, and draw curves and overlays."""

import dataclasses
import sys
from pathlib import Path

import keras
import tensorflow as tf

from segzoo.backbones import get_backbone_spec
from segzoo.batchnorm import recalibrate_batchnorm
from segzoo.callbacks import InferenceModeCheck
from segzoo.cli import arguments
from segzoo.cli.common import command, input_size, label_names, write_overlays
from segzoo.data import augment, class_weights, from_folders, with_sample_weights
from segzoo.data.weights import METHODS as WEIGHT_METHODS
from segzoo.datasets import digits, shapes
from segzoo.datasets.shapes import COLOURS, EXTRA_SHAPES, SHAPES, shape_kinds
from segzoo.errors import ConfigError, DataError
from segzoo.evaluation import evaluate
from segzoo.hub import from_pretrained, save_pretrained
from segzoo.losses import LOSS_NAMES, from_spec
from segzoo.metrics import IoU
from segzoo.models import build, get_architecture_spec
from segzoo.plots import MATPLOTLIB_HINT, training_curves
from segzoo.training import best_epoch, cosine_schedule, fit_best, with_preprocessing

DATASETS = ("shapes", "digits")
DIGITS_CLASSES = 11
DEFAULT_IMAGE_SIZE = 128
SPLITS = {"train": ("train",), "validation": ("validation", "val")}


def add_train(commands):
    parser = command(commands, "train", run_train, "Train a model on folders or a built-in dataset.")
    source = parser.add_argument_group("data (one of --data or --dataset)")
    data = source.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", type=arguments.existing_folder, metavar="DIR",
                      help="DIR/train/{images,masks} and DIR/validation/{images,masks} (or val/)")
    data.add_argument("--dataset", choices=DATASETS, help="a built-in dataset, made on the spot")
    source.add_argument("--images", type=int, default=512, metavar="N",
                        help="--dataset: images in all, a fifth held out (512)")
    source.add_argument("--mask-suffix", default="", metavar="SUFFIX",
                        help="--data: masks named <stem><suffix>.png")
    source.add_argument("--ignore-index", type=int, metavar="N", help="mask value of unlabelled pixels (e.g. 255)")
    arguments.add_mask_options(source)
    source.add_argument("--augment", nargs="?", const={"flip": "horizontal"}, type=arguments.augmentation,
                        metavar="OPTIONS", help="augment training batches; bare: random horizontal flips; "
                                                + arguments.AUGMENT_HELP)
    source.add_argument("--shapes", type=arguments.names, metavar="KIND,...",
                        help=f"--dataset shapes: the shape of class 1, 2, ... ({', '.join(SHAPES + EXTRA_SHAPES)})")
    source.add_argument("--foreground-fraction", type=float, default=0.25, metavar="F",
                        help="--dataset shapes: share of pixels covered by shapes (0.25)")
    source.add_argument("--colours", choices=COLOURS, default="by_class",
                        help="--dataset shapes: by_class (colour gives the class away) or random (read the shape)")
    model = parser.add_argument_group("model")
    model.add_argument("--arch", metavar="NAME", help="architecture (unet); segzoo list shows them")
    model.add_argument("--backbone", metavar="NAME", help="encoder (none: a plain encoder trained from scratch)")
    model.add_argument("--encoder-weights", metavar="WEIGHTS",
                       help="imagenet or a weights file, for pretrained backbones")
    model.add_argument("--encoder-filters", type=arguments.filters, metavar="N[,N...]",
                       help="backbone none: base width or every width")
    model.add_argument("--depth", type=int, metavar="N", help="downsampling steps, 3-5 (5)")
    model.add_argument("--classes", type=int, metavar="N", help="classes incl. background; 1 = binary sigmoid")
    model.add_argument("--class-names", type=arguments.names, metavar="A,B,...", help="comma-separated, background first")
    model.add_argument("--from-pretrained", metavar="NAME",
                       help="start from a checkpoint (zoo name, org/name or folder); a new head if --classes differs")
    fit = parser.add_argument_group("training")
    fit.add_argument("--loss", type=arguments.loss, default="dice+ce", metavar="LOSS",
                     help=f"'+'-joined, optionally weighted (dice+2*focal); names: {', '.join(LOSS_NAMES)}")
    fit.add_argument("--class-weights", default="none", choices=("none", "auto", *WEIGHT_METHODS),
                     metavar="METHOD", help="per-pixel weights from label counts (none): auto "
                                            f"(= median_frequency), {', '.join(WEIGHT_METHODS)}")
    fit.add_argument("--epochs", type=int, default=10, metavar="N", help="(10)")
    fit.add_argument("--batch-size", type=int, default=8, metavar="N", help="(8)")
    fit.add_argument("--image-size", type=arguments.image_size, metavar="N|HxW", help=f"N or HxW ({DEFAULT_IMAGE_SIZE})")
    fit.add_argument("--lr", type=float, default=3e-3, metavar="RATE",
                     help="Adam learning rate, cosine-decayed to 0 (3e-3)")
    fit.add_argument("--seed", type=int, default=0, metavar="N", help="weights, shuffling, built-in data (0)")
    fit.add_argument("--out", type=Path, default=Path("segzoo-run"), metavar="DIR", help="output folder (segzoo-run)")
    fit.add_argument("--overlays", type=int, default=4, metavar="N",
                     help="validation images drawn into --out/overlays (4)")
    fit.add_argument("--error-map", action="store_true",
                     help="overlays get a fourth panel: missed, false-alarm and wrong-class pixels")


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
    size = input_size(model, args.image_size)
    labels = max(2, model.num_classes)  # a 1-channel sigmoid model reads 0/1 masks
    data = _training_data(args, folders, size, labels)
    names = label_names(args.class_names, data.class_names, model, labels)
    print(f"{model.name}: {model.count_params():,} parameters, {size[0]}x{size[1]} images, "
          f"{labels} classes ({', '.join(names)}); writing to {args.out}")
    train = with_preprocessing(_training_batches(args, data.train, labels), model)
    validation = with_preprocessing(data.validation, model)
    _compile(model, args, train)
    args.out.mkdir(parents=True, exist_ok=True)
    history = _fit(model, args, train, validation)
    recalibrate_batchnorm(model, train)
    print("BatchNorm moving statistics recomputed over one pass of the training data "
          "(segzoo.recalibrate_batchnorm)")
    report = evaluate(model, validation, class_names=names, ignore_index=args.ignore_index, print_table=True)
    _save_best(model, args.out / "best", names, report, data.name)
    _write_curves(history, args.out / "training_curves.png")
    write_overlays(model, data.validation, names, args.out / "overlays", args.overlays, args.error_map)


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
    if args.shapes and args.dataset != "shapes":
        raise ConfigError("--shapes is an option of --dataset shapes.")
    if args.shapes:
        shape_kinds(len(args.shapes) + 1, args.shapes)  # unknown kinds fail before the model is built
    if args.shapes and args.classes not in (None, len(args.shapes) + 1):
        raise ConfigError(f"--shapes names {len(args.shapes)} shapes: that is --classes {len(args.shapes) + 1}, "
                          f"not {args.classes} (or drop --classes).")


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
        num_classes = DIGITS_CLASSES if args.dataset == "digits" else len(args.shapes or SHAPES[:3]) + 1
    if args.from_pretrained:
        return from_pretrained(args.from_pretrained, num_classes=num_classes, activation="auto")
    backbone = args.backbone or "none"
    spec = get_backbone_spec(backbone)  # unknown names fail here, with close matches
    get_architecture_spec(args.arch or "unet")
    if spec.pretrained and args.encoder_weights is None:
        print(f"note: backbone {spec.name} starts from random weights; --encoder-weights imagenet "
              "starts from ImageNet's")
    options = {key: value for key, value in (("encoder_filters", args.encoder_filters), ("depth", args.depth))
               if value is not None}
    size = args.image_size or (DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE)
    return build(args.arch or "unet", backbone=backbone, num_classes=num_classes,
                 activation="sigmoid" if num_classes == 1 else "softmax", input_shape=(*size, 3),
                 encoder_weights=args.encoder_weights, **options)


def _training_data(args, folders, size, labels):
    if folders:
        def read(split, shuffle):
            return from_folders(
                *folders[split], image_size=size, num_classes=labels, mask_suffix=args.mask_suffix,
                batch_size=args.batch_size, shuffle=shuffle, seed=args.seed, ignore_index=args.ignore_index,
                **arguments.mask_options(args))

        return TrainingData(read("train", True), read("validation", False), None, args.data.resolve().name)
    if size[0] != size[1]:
        raise ConfigError(f"--dataset {args.dataset} draws square images: give one --image-size, not {size}.")
    if args.dataset == "digits":
        if labels != DIGITS_CLASSES:
            raise ConfigError(f"--dataset digits has {DIGITS_CLASSES} classes (background and 0-9), not {labels}.")
        split = digits(args.images, image_size=size[0], seed=args.seed, batch_size=args.batch_size)
        names = ["background"] + [f"digit {d}" for d in range(10)]
    else:
        kinds = shape_kinds(labels, args.shapes)
        split = shapes(args.images, image_size=size[0], num_classes=labels, seed=args.seed,
                       batch_size=args.batch_size, foreground_fraction=args.foreground_fraction, kinds=args.shapes,
                       colours=args.colours)
        names = ["background"] + _shape_names(kinds)
    return TrainingData(split.train, split.validation, names, f"segzoo-{args.dataset}")


def _shape_names(kinds):
    """A kind drawn by several classes is named with the label: 'disk', ..., 'disk 6'."""
    return [kind if kinds.count(kind) == 1 or kinds.index(kind) == label else f"{kind} {label + 1}"
            for label, kind in enumerate(kinds)]


def _training_batches(args, data, labels):
    """Augmented (optional) and weighted per pixel (optional) training batches."""
    weights = None
    if args.class_weights != "none":  # counted once, on the masks as they are on disk
        method = "median_frequency" if args.class_weights == "auto" else args.class_weights
        weights = class_weights(data, labels, method=method, ignore_index=args.ignore_index)
        print(f"class weights ({method}): " + ", ".join(f"{w:.3g}" for w in weights))
    if args.augment:
        data = data.map(augment(**args.augment, seed=args.seed), num_parallel_calls=tf.data.AUTOTUNE)
    if weights is not None:
        data = with_sample_weights(data, weights, ignore_index=args.ignore_index)
    return data


def _compile(model, args, train):
    from_logits = model.activation is None
    model.compile(
        optimizer=keras.optimizers.Adam(cosine_schedule(args.lr, train, args.epochs)),
        loss=from_spec(args.loss, from_logits=from_logits, ignore_index=args.ignore_index),
        metrics=[IoU(model.num_classes, from_logits=from_logits, ignore_index=args.ignore_index, name="iou")],
    )


def _fit(model, args, train, validation):
    """Fit; the model ends with the weights of its best epoch by validation mean IoU."""
    callbacks = [keras.callbacks.CSVLogger(str(args.out / "history.csv")),
                 InferenceModeCheck(validation, ignore_index=args.ignore_index)]
    history = fit_best(model, train, validation, epochs=args.epochs, monitor="val_iou", mode="max",
                       callbacks=callbacks, verbose=1 if sys.stdout.isatty() else 2)
    best = best_epoch(history, "val_iou")
    if best is not None:
        epoch, score = best
        print(f"\nbest epoch {epoch + 1}/{len(history['val_iou'])}: validation mean IoU {score:.4f}")
    return history


def _save_best(model, folder, names, report, dataset):
    metrics = {"mean_iou": report["mean"]["iou"], "pixel_accuracy": report["pixel_accuracy"]}
    metrics = {key: round(value, 4) for key, value in metrics.items() if value is not None}
    save_pretrained(model, folder, class_names=names, metrics=metrics, dataset=dataset)
    print(f"\nbest checkpoint: {folder} (load with segzoo.from_pretrained({str(folder)!r}))")


def _write_curves(history, path):
    if training_curves(history, path):
        print(f"training curves: {path}")
    else:
        print(f"skipped {path.name}: {MATPLOTLIB_HINT}")
