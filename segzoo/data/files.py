"""Finding image and mask files and pairing them by file stem, never by listing order."""

import os

from segzoo.data.decode import PILLOW_NEEDED, PNG_SIGNATURE
from segzoo.errors import DataError

NATIVE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
TIFF_EXTENSIONS = (".tif", ".tiff")
IMAGE_EXTENSIONS = NATIVE_EXTENSIONS + TIFF_EXTENSIONS


def match_files(images_dir, masks_dir, mask_suffix=""):
    """(pairs, images without a mask, masks without an image): pairs [(image, mask)] sorted
    by stem, the lonely ones as sorted file paths. A mask's stem may end in `mask_suffix`."""
    images = _by_stem(images_dir, "")
    masks = _by_stem(masks_dir, mask_suffix)
    pairs = [(images[stem], masks[stem]) for stem in sorted(set(images) & set(masks))]
    lonely_images = [images[stem] for stem in sorted(set(images) - set(masks))]
    lonely_masks = [masks[stem] for stem in sorted(set(masks) - set(images))]
    return pairs, lonely_images, lonely_masks


def pair_files(images_dir, masks_dir, mask_suffix=""):
    """[(image_path, mask_path)] sorted by stem; raises DataError naming unpaired files."""
    pairs, lonely_images, lonely_masks = match_files(images_dir, masks_dir, mask_suffix)
    if lonely_images or lonely_masks:
        unreadable = (_unsupported(images_dir, _stems(lonely_masks, mask_suffix))
                      + _unsupported(masks_dir, _stems(lonely_images, ""), mask_suffix))
        hint = f". Masks named like 'x{mask_suffix or '_mask'}.png'? Pass mask_suffix." if lonely_masks else "."
        if unreadable:
            hint = (f". Their namesakes {', '.join(unreadable[:5])} are of a type segzoo does not read: "
                    f"convert them to PNG (or {', '.join(IMAGE_EXTENSIONS[1:])}).")
        raise DataError(
            "Images and masks do not pair up by file name"
            + _listing(" images without a mask", lonely_images)
            + _listing(" masks without an image", lonely_masks)
            + hint
        )
    check_tiff_support([path for pair in pairs for path in pair])
    return pairs


def check_tiff_support(paths):
    """TIFF decoding needs the optional tifffile package: say so before reading anything."""
    tiffs = [p for p in paths if os.path.splitext(p)[1].lower() in TIFF_EXTENSIONS]
    if not tiffs:
        return
    try:
        import tifffile  # noqa: F401
    except ImportError:
        raise DataError(
            f"{os.path.basename(tiffs[0])} (and {len(tiffs) - 1} more) are TIFF files, which need the "
            "tifffile package: pip install tifffile (or pip install 'segzoo[tiff]')."
        ) from None


def check_indexed_png_support(mask_paths, mask_format):
    """Class ids read from an indexed PNG need the optional Pillow package: say so before
    reading anything. Only the first 26 bytes of each PNG are read, and only without Pillow."""
    if mask_format == "palette":  # colours: TensorFlow expands the palette itself
        return
    try:
        import PIL  # noqa: F401
    except ImportError:
        indexed = [path for path in mask_paths if _is_indexed_png(path)]
        if indexed:
            more = f" (and {len(indexed) - 1} more)" if len(indexed) > 1 else ""
            raise DataError(f"{os.path.basename(indexed[0])}{more} {PILLOW_NEEDED}") from None


def _is_indexed_png(path):
    if os.path.splitext(path)[1].lower() != ".png":
        return False
    with open(path, "rb") as file:
        header = file.read(26)
    return header[:8] == PNG_SIGNATURE and header[25:26] == b"\x03"  # IHDR colour type 3


def _by_stem(directory, suffix):
    if not os.path.isdir(directory):
        raise DataError(f"{str(directory)!r} is not a directory.")
    files = {}
    for name in os.listdir(directory):
        stem, extension = os.path.splitext(name)
        if extension.lower() not in IMAGE_EXTENSIONS:
            continue
        if suffix and stem.endswith(suffix):
            stem = stem[: -len(suffix)]
        if stem in files:
            raise DataError(f"Two files in {str(directory)!r} share the stem {stem!r}: "
                            f"{os.path.basename(files[stem])}, {name}. Keep one of them.")
        files[stem] = os.path.join(directory, name)
    if not files:
        raise DataError(
            f"No image files ({', '.join(IMAGE_EXTENSIONS)}) in {str(directory)!r}.{_what_is_there(directory)}"
        )
    return files


def _what_is_there(directory):
    names = sorted(name for name in os.listdir(directory) if not name.startswith("."))
    others = [name for name in names if os.path.isfile(os.path.join(directory, name))]
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        files = "1 other file" if len(others) == 1 else f"{len(others)} other files"
        return f" It holds {files} ({shown}): convert images and masks to one of those types (e.g. PNG)."
    if names:
        return f" It holds only folders ({', '.join(names[:3])}): pass the folder that holds the files."
    return " It is empty."


def _stems(paths, suffix):
    stems = {os.path.splitext(os.path.basename(path))[0] for path in paths}
    return {stem[: -len(suffix)] if suffix and stem.endswith(suffix) else stem for stem in stems}


def _unsupported(directory, stems, suffix=""):
    """Files in `directory` named like one of `stems` whose type segzoo cannot read."""
    found = []
    for name in sorted(os.listdir(directory)):
        stem, extension = os.path.splitext(name)
        if suffix and stem.endswith(suffix):
            stem = stem[: -len(suffix)]
        if stem in stems and extension.lower() not in IMAGE_EXTENSIONS:
            found.append(name)
    return found


def _listing(label, paths):
    if not paths:
        return ""
    shown = ", ".join(os.path.basename(p) for p in paths[:10])
    more = f" and {len(paths) - 10} more" if len(paths) > 10 else ""
    return f";{label}: {shown}{more}"
