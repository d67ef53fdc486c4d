"""`segzoo evaluate`: the per-class table of a model on a folder, and optionally
report.json and a confusion-matrix picture."""

import json
from pathlib import Path

from segzoo._plots import MATPLOTLIB_HINT, confusion_matrix
from segzoo.cli import arguments
from segzoo.cli.common import add_model_argument, command, input_size, label_names, load_model
from segzoo.data import from_folders
from segzoo.errors import DataError
from segzoo.evaluation import evaluate


def add_evaluate(commands):
    parser = command(commands, "evaluate", run_evaluate, "Score a model on a folder of images and masks.")
    add_model_argument(parser)
    parser.add_argument("--data", type=arguments.existing_folder, required=True, metavar="DIR",
                        help="DIR/images and DIR/masks, else DIR/validation/{images,masks}")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write report.json and confusion_matrix.png here")
    parser.add_argument("--image-size", type=arguments.image_size, metavar="N|HxW",
                        help="for a model that takes any size")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N", help="(8)")
    parser.add_argument("--mask-suffix", default="", metavar="SUFFIX", help="masks named <stem><suffix>.png")
    parser.add_argument("--ignore-index", type=int, metavar="N", help="mask value of unlabelled pixels")


def run_evaluate(args):
    images, masks = _evaluation_folders(args.data)
    model = load_model(args)
    labels = max(2, model.num_classes)
    data = from_folders(
        images, masks, image_size=input_size(model, args.image_size), num_classes=labels,
        mask_suffix=args.mask_suffix, batch_size=args.batch_size, shuffle=False, preprocessing=model.backbone,
        ignore_index=args.ignore_index)
    names = label_names(None, None, model, labels)
    report = evaluate(model, data, class_names=names, ignore_index=args.ignore_index, print_table=True)
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
    if confusion_matrix(report["confusion_matrix"], names, path):
        print(f"confusion matrix: {path}")
    else:
        print(f"skipped {path.name}: {MATPLOTLIB_HINT}")
