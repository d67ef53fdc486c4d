"""argparse types: each turns one option's text into a value or an argparse error."""

import argparse
import os
from pathlib import Path

from segzoo.errors import SegzooError
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
