"""`segzoo predict`: a class-id mask and an overlay PNG per image (and optionally its
probabilities), at the image's size; segzoo.predict does the work."""

import argparse
from pathlib import Path

import numpy as np

from segzoo.plots import panels, save_picture, write_png
from segzoo.cli import arguments
from segzoo.cli.common import add_model_argument, command, load_model
from segzoo.data.files import IMAGE_EXTENSIONS
from segzoo.errors import DataError
from segzoo.inference import predict, read_image
from segzoo.inference.tiling import BLENDS
from segzoo.inference.tta import TTA_SETS


def add_predict(commands):
    parser = command(commands, "predict", run_predict, "Write mask and overlay PNGs for images.")
    add_model_argument(parser)
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or folders of them")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="writes DIR/masks and DIR/overlays")
    parser.add_argument("--image-size", type=arguments.image_size, metavar="N|HxW",
                        help="resize into this size (a model that takes any size; default: pad to the next "
                             "valid size, no resizing)")
    parser.add_argument("--tile", type=arguments.image_size, metavar="N|HxW",
                        help="predict in overlapping tiles of this size at the image's resolution")
    parser.add_argument("--overlap", type=fraction, default=0.25, metavar="F",
                        help="share of a tile's side that neighbouring tiles overlap (default 0.25)")
    parser.add_argument("--blend", choices=BLENDS, default="gaussian",
                        help="weights of overlapping tiles (default gaussian)")
    parser.add_argument("--tta", choices=tuple(TTA_SETS), help="average flipped (flip) or also rotated (d4) predictions")
    parser.add_argument("--threshold", type=probability, default=0.5, metavar="P",
                        help="a one-channel model's foreground cut-off (default 0.5)")
    parser.add_argument("--probabilities", action="store_true",
                        help="also write DIR/probabilities/<stem>.npy, (H, W, classes) float16")
    parser.add_argument("--progress", action="store_true", help="a progress bar over the tiles of each image")


def run_predict(args):
    paths = _image_paths(args.images)
    model = load_model(args)
    labels = max(2, model.num_classes)
    folders = {name: args.out / name for name in ("masks", "overlays", "probabilities")}
    for name, folder in folders.items():
        if name != "probabilities" or args.probabilities:
            folder.mkdir(parents=True, exist_ok=True)
    options = {"tile": args.tile, "overlap": args.overlap, "blend": args.blend, "tta": args.tta,
               "threshold": args.threshold, "input_size": args.image_size, "progress": args.progress,
               "return_probabilities": args.probabilities}
    names = list(getattr(model, "class_names", ()) or ())
    names = names if len(names) == labels else None  # e.g. one name for a sigmoid head: "class i" instead
    for path in paths:  # one at a time: a folder of photos need not fit in memory
        image = read_image(path)
        result = predict(model, image, **options)
        predicted, probabilities = result if args.probabilities else (result, None)
        write_png(folders["masks"] / f"{path.stem}.png", predicted.astype(np.uint8 if labels <= 256 else np.uint16))
        save_picture(panels(image, predicted, labels, class_names=names), folders["overlays"] / f"{path.stem}.png")
        if args.probabilities:
            np.save(folders["probabilities"] / f"{path.stem}.npy", probabilities.astype(np.float16))
    written = "class-id masks in {masks}, overlays in {overlays}".format(**folders)
    if args.probabilities:
        written += f", probabilities in {folders['probabilities']}"
    print(f"{len(paths)} image(s): {written}")


def fraction(text):
    """An overlap: a number in [0, 1)."""
    value = _number(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"overlap must be a fraction in [0, 1) (e.g. 0.25), got {text!r}")
    return value


def probability(text):
    value = _number(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"threshold must be a probability strictly between 0 and 1, got {text!r}")
    return value


def _number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _image_paths(given):
    paths = []
    for argument in map(Path, given):
        if argument.is_dir():
            paths.extend(sorted(p for p in argument.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS))
        elif argument.is_file():
            paths.append(argument)
        else:
            raise DataError(f"no such image or folder: {str(argument)!r}")
    if not paths:
        raise DataError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {', '.join(given)}")
    stems = [p.stem for p in paths]
    twice = sorted({stem for stem in stems if stems.count(stem) > 1})
    if twice:
        raise DataError(f"several images named {', '.join(twice)}: their outputs would overwrite each other.")
    return paths
