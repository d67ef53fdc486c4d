"""`segzoo predict`: a class-id mask and an overlay PNG per image, at the image's size
(segzoo.predict does the work)."""

from pathlib import Path

import numpy as np

from segzoo._plots import overlay, write_png
from segzoo.cli import arguments
from segzoo.cli.common import add_model_argument, command, load_model
from segzoo.data.files import IMAGE_EXTENSIONS
from segzoo.errors import DataError
from segzoo.inference import predict, read_image


def add_predict(commands):
    parser = command(commands, "predict", run_predict, "Write mask and overlay PNGs for images.")
    add_model_argument(parser)
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or folders of them")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="writes DIR/masks and DIR/overlays")
    parser.add_argument("--image-size", type=arguments.image_size, metavar="N|HxW",
                        help="for a model that takes any size (default: the image's, rounded up)")


def run_predict(args):
    paths = _image_paths(args.images)
    model = load_model(args)
    labels = max(2, model.num_classes)
    masks, overlays = args.out / "masks", args.out / "overlays"
    masks.mkdir(parents=True, exist_ok=True)
    overlays.mkdir(parents=True, exist_ok=True)
    for path in paths:  # one at a time: a folder of photos need not fit in memory
        image = read_image(path)
        predicted = predict(model, image, input_size=args.image_size)
        write_png(masks / f"{path.stem}.png", predicted.astype(np.uint8 if labels <= 256 else np.uint16))
        write_png(overlays / f"{path.stem}.png", overlay(image, predicted, labels))
    print(f"{len(paths)} image(s): class-id masks in {masks}, overlays in {overlays}")


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
