"""argparse types: each turns one option's text into a value or an argparse error."""

import argparse
import os
from pathlib import Path

from segzoo.data.decode import MASK_FORMATS
from segzoo.data.folders import RESIZE_MODES
from segzoo.errors import ConfigError, SegzooError
from segzoo.losses import parse_spec


def existing_folder(text):
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"no such folder: {text!r}")
    return Path(text)


def image_size(text):
    """'64' or '64x96' (height x width) -> (height, width)."""
    parts = text.lower().split("x")
    if len(parts) > 2 or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"image size must be N or HxW in pixels (e.g. 64 or 64x96), got {text!r}")
    sizes = [int(part) for part in parts]
    return (sizes[0], sizes[-1])


def filters(text):
    """'16' (base width, doubled per level) or '16,32,64,128' (every width)."""
    parts = text.split(",")
    if not all(part.strip().isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"encoder filters must be N or N,N,... positive integers, got {text!r}")
    widths = [int(part) for part in parts]
    return widths[0] if len(widths) == 1 else widths


def names(text):
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"class names must be comma-separated and not empty, got {text!r}")
    return names


def loss(text):
    """A loss spec ('dice+2*focal', see segzoo.losses.from_spec), checked now so that a
    typo is an argument error; the text itself is kept."""
    try:
        parse_spec(text)
    except SegzooError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def palette(text):
    """'0,0,0 128,0,0 0,128,0' or '#000000;#800000;...': one RGB colour per class, class 0 first."""
    items = text.replace(";", " ").split()
    colours = [_colour(item) for item in items]
    if not colours or None in colours:
        raise argparse.ArgumentTypeError(
            f"palette must list one colour per class as R,G,B or #rrggbb, separated by spaces or ';' "
            f"(e.g. '0,0,0 128,0,0'), got {text!r}")
    return colours


def _colour(item):
    if item.startswith("#") and len(item) == 7:
        try:
            return tuple(int(item[i:i + 2], 16) for i in (1, 3, 5))
        except ValueError:
            return None
    parts = item.split(",")
    if len(parts) == 3 and all(part.isdigit() and int(part) <= 255 for part in parts):
        return tuple(int(part) for part in parts)
    return None


AUGMENT_FLAGS = {"rotate90": True}
AUGMENT_NUMBERS = ("rotation", "zoom", "translation", "brightness", "contrast", "noise")
AUGMENT_HELP = ("comma-separated options of segzoo.data.augment: flip=horizontal|vertical|horizontal_and_vertical|none, "
                "rotate90, rotation=F, zoom=F, translation=F, crop=HxW, brightness=F, contrast=F, noise=F")


def augmentation(text):
    """'flip=vertical,rotate90,zoom=0.1' -> keyword arguments of segzoo.data.augment.
    A bare --augment (the const 'flip=horizontal') keeps the old meaning."""
    options = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = item.partition("=")
        options[key] = _augment_value(key, value, text)
    return options


def _augment_value(key, value, text):
    def bad(why):
        return argparse.ArgumentTypeError(f"--augment {text!r}: {why}; options: {AUGMENT_HELP}")

    if key in AUGMENT_FLAGS:
        if value:
            raise bad(f"{key} takes no value")
        return True
    if key == "flip":
        return None if value == "none" else (value or "horizontal")
    if key == "crop":
        return image_size(value)
    if key in AUGMENT_NUMBERS:
        try:
            return float(value)
        except ValueError:
            raise bad(f"{key} needs a number, as {key}=0.1") from None
    raise bad(f"unknown option {key!r}")


def add_mask_options(group):
    """--mask-format, --palette and --resize: segzoo.data.from_folders' arguments."""
    group.add_argument("--mask-format", choices=MASK_FORMATS,
                       help="--data: index (pixel = class id), palette (colours, with --palette) or binary (0/1, "
                            "0/255); default: palette with --palette, else index")
    group.add_argument("--palette", type=palette, metavar="COLOURS",
                       help="--data: the colour of class 0, 1, ... as 'R,G,B R,G,B ...' or '#rrggbb;...'")
    group.add_argument("--resize", choices=RESIZE_MODES, default="stretch",
                       help="--data: stretch to --image-size, or keep the aspect ratio and pad (needs "
                            "--ignore-index) or crop (stretch)")


def mask_options(args):
    """The from_folders keyword arguments of add_mask_options' options."""
    mask_format = args.mask_format or ("palette" if args.palette else "index")
    if mask_format == "palette" and args.palette is None:
        raise ConfigError("--mask-format palette needs --palette (the colour of each class, class 0 first).")
    if args.palette is not None and mask_format != "palette":
        raise ConfigError(f"--palette reads colour masks: drop --mask-format {mask_format} or --palette.")
    return {"mask_format": mask_format, "palette": args.palette, "resize": args.resize}
