"""`segzoo evaluate`: the per-class table of a model on a folder, and optionally
report.json, a confusion matrix, IoU bars and overlays."""

import json
from pathlib import Path

from segzoo.cli import arguments
from segzoo.cli.common import (
    add_model_argument,
    command,
    input_size,
    label_names,
    load_model,
    write_overlays,
)
from segzoo.data import from_folders
from segzoo.errors import DataError
from segzoo.evaluation import evaluate
from segzoo.plots import MATPLOTLIB_HINT, confusion_matrix, iou_bars
from segzoo.training import with_preprocessing


def add_evaluate(commands):
    parser = command(commands, "evaluate", run_evaluate, "Score a model on a folder of images and masks.")
    add_model_argument(parser)
    parser.add_argument("--data", type=arguments.existing_folder, required=True, metavar="DIR",
                        help="DIR/images and DIR/masks, else DIR/validation/{images,masks}")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="write report.json, confusion_matrix.png, iou_per_class.png and overlays/ here")
    parser.add_argument("--image-size", type=arguments.image_size, metavar="N|HxW",
                        help="for a model that takes any size")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N", help="(8)")
    parser.add_argument("--mask-suffix", default="", metavar="SUFFIX", help="masks named <stem><suffix>.png")
    parser.add_argument("--ignore-index", type=int, metavar="N", help="mask value of unlabelled pixels")
    arguments.add_mask_options(parser)
    parser.add_argument("--overlays", type=int, default=4, metavar="N", help="with --out: images drawn (4)")
    parser.add_argument("--error-map", action="store_true",
                        help="overlays get a fourth panel: missed, false-alarm and wrong-class pixels")


def run_evaluate(args):
    images, masks = _evaluation_folders(args.data)
    options = arguments.mask_options(args)
    model = load_model(args)
    labels = max(2, model.num_classes)
    data = from_folders(
        images, masks, image_size=input_size(model, args.image_size), num_classes=labels,
        mask_suffix=args.mask_suffix, batch_size=args.batch_size, shuffle=False, ignore_index=args.ignore_index,
        **options)
    names = label_names(None, None, model, labels)
    report = evaluate(model, with_preprocessing(data, model), class_names=names,
                      ignore_index=args.ignore_index, print_table=True)
    if args.out:
        _write_report(report, names, args.out)
        write_overlays(model, data, names, args.out / "overlays", args.overlays, args.error_map)


def _evaluation_folders(root):
    for folder in (root, root / "validation", root / "val"):
        if (folder / "images").is_dir() and (folder / "masks").is_dir():
            return str(folder / "images"), str(folder / "masks")
    raise DataError(f"{str(root)!r} has neither images/ and masks/ nor validation/images and validation/masks.")


def _write_report(report, names, out):
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nreport: {out / 'report.json'}")
    for path, draw in ((out / "confusion_matrix.png", lambda p: confusion_matrix(report["confusion_matrix"], names, p)),
                       (out / "iou_per_class.png", lambda p: iou_bars(report, p))):
        if draw(path):
            print(f"{path.stem.replace('_', ' ')}: {path}")
        else:
            print(f"skipped {path.name}: {MATPLOTLIB_HINT}")
