"""Masks as people store them: 0/1 and 0/255 binary PNGs, 16-bit ids, and indexed (VOC-style)
PNGs whose palette indices are the class ids. The files are written by a small PNG writer
here (zlib + struct, after the PNG specification), not by TensorFlow or Pillow, and every
decoded mask is compared with the array that was written."""

import struct
import sys
import zlib

import numpy as np
import pytest
import tensorflow as tf

from segzoo.data import from_folders, inspect
from segzoo.data.decode import UNKNOWN_COLOUR, decode_mask
from segzoo.errors import DataError

GREY, RGB, INDEXED = 0, 2, 3  # PNG colour types
# Pascal VOC's first colours, and its void colour at index 255.
VOC = [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]
VOID = (224, 224, 192)
IDS = np.array([[0, 1, 2, 3, 255, 0, 1, 2]] * 8, np.uint8)


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _write_png(path, array, colour_type=GREY, bit_depth=8, palette=None):
    """A PNG of `array` ((H, W) or (H, W, 3)), every row with filter 0 (none)."""
    array = np.asarray(array)
    height, width = array.shape[:2]
    if bit_depth == 16:
        rows = array.astype(">u2").reshape(height, -1).view(np.uint8)
    elif bit_depth == 8:
        rows = array.astype(np.uint8).reshape(height, -1)
    else:  # 1, 2 or 4 bits: pixels packed into bytes, most significant bits first
        per_byte = 8 // bit_depth
        padded = np.zeros((height, -(-width // per_byte) * per_byte), np.uint8)
        padded[:, :width] = array
        shifts = bit_depth * np.arange(per_byte - 1, -1, -1)
        rows = (padded.reshape(height, -1, per_byte) << shifts).sum(-1).astype(np.uint8)
    raw = b"".join(b"\0" + row.tobytes() for row in rows)
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))
    if palette is not None:
        png += _chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).ravel()))
    path.write_bytes(png + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))


def _voc_palette():
    palette = VOC + [(0, 0, 0)] * (255 - len(VOC)) + [VOID]
    assert len(palette) == 256
    return palette


def _decode(path, mask_format="index", palette=None):
    return decode_mask(tf.constant(str(path)), mask_format, palette).numpy()[..., 0]


def _folders(tmp_path, masks):
    """images/<name>.png (grey RGB) and masks/<name>.png written by `masks[name](path)`."""
    images, mask_dir = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    mask_dir.mkdir()
    for name, write in masks.items():
        write(mask_dir / f"{name}.png")
        _write_png(images / f"{name}.png", np.full((8, 8, 3), 90), RGB)
    return images, mask_dir


def _by_name(dataset):
    """from_folders(shuffle=False) sorts pairs by stem: a list of (H, W) masks in that order."""
    return [y for _, batch in dataset.as_numpy_iterator() for y in batch]


def _binary_case(seed):
    return np.random.default_rng(seed).integers(0, 2, (8, 8))


@pytest.mark.parametrize("scale, bit_depth", [(1, 8), (255, 8), (1, 16), (65535, 16)])
def test_binary_masks_decode_by_their_content(tmp_path, scale, bit_depth):
    truth = _binary_case(scale)
    _write_png(tmp_path / "m.png", truth * scale, GREY, bit_depth)
    assert (_decode(tmp_path / "m.png", "binary") == truth).all()


def test_binary_0_255_with_jpeg_like_noise_and_all_zero_masks(tmp_path):
    truth = _binary_case(7)
    noise = np.random.default_rng(1).integers(0, 30, truth.shape)
    _write_png(tmp_path / "noisy.png", np.where(truth == 1, 255 - noise, noise))
    assert (_decode(tmp_path / "noisy.png", "binary") == truth).all()
    _write_png(tmp_path / "empty.png", np.zeros((8, 8)))
    assert (_decode(tmp_path / "empty.png", "binary") == 0).all()


def test_binary_masks_in_one_folder_may_differ(tmp_path):
    zero_one, zero_255 = _binary_case(2), _binary_case(3)
    images, masks = _folders(tmp_path, {
        "a": lambda path: _write_png(path, zero_one),
        "b": lambda path: _write_png(path, zero_255 * 255),
        "c": lambda path: _write_png(path, zero_one * 65535, bit_depth=16),
    })
    a, b, c = _by_name(from_folders(images, masks, 8, 2, mask_format="binary", shuffle=False))
    assert (a == zero_one).all() and (b == zero_255).all() and (c == zero_one).all()
    report = inspect(images, masks, 2, mask_format="binary")
    assert report.ok
    assert dict(report.mask_encodings) == {"binary 0/1": 1, "binary 0/255": 1, "binary 0/65535": 1}
    assert "binary 0/1 (1)" in str(report)


def test_indexed_png_gives_its_palette_indices_as_class_ids(tmp_path):
    pytest.importorskip("PIL")
    _write_png(tmp_path / "m.png", IDS, INDEXED, 8, _voc_palette())
    assert (_decode(tmp_path / "m.png") == IDS).all()
    images, masks = _folders(tmp_path, {"a": lambda path: _write_png(path, IDS, INDEXED, 8, _voc_palette())})
    (y,) = _by_name(from_folders(images, masks, 8, 4, ignore_index=255, shuffle=False))
    assert (y == IDS).all()


@pytest.mark.parametrize("bit_depth", [1, 2, 4])
def test_indexed_png_of_fewer_bits_per_pixel(tmp_path, bit_depth):
    pytest.importorskip("PIL")
    top = 2 ** bit_depth - 1
    ids = np.array([[0, 1, top, 0, top, 1, 0]] * 5)  # width 7: the last byte of a row is part used
    palette = (VOC[:2] + [(9, 9, 9)] * 14)[:top] + [VOID]
    _write_png(tmp_path / "m.png", ids, INDEXED, bit_depth, palette)
    assert (_decode(tmp_path / "m.png") == ids).all()


def test_indexed_png_with_palette_format_maps_its_colours(tmp_path):
    _write_png(tmp_path / "m.png", IDS, INDEXED, 8, _voc_palette())
    # Classes listed in another order than the file's palette: each colour gives its class.
    classes = [VOC[2], VOC[0], VOC[3], VOC[1]]
    expected = np.vectorize({0: 1, 1: 3, 2: 0, 3: 2, 255: UNKNOWN_COLOUR}.get)(IDS)
    assert (_decode(tmp_path / "m.png", "palette", classes) == expected).all()
    assert (_decode(tmp_path / "m.png", "palette", classes + [VOID])[IDS == 255] == 4).all()


def test_sixteen_bit_ids_above_255_and_grey_index_masks(tmp_path):
    ids16 = np.arange(64).reshape(8, 8) * 1000  # up to 63000
    ids8 = np.arange(64).reshape(8, 8) % 5
    _write_png(tmp_path / "m16.png", ids16, GREY, 16)
    _write_png(tmp_path / "m8.png", ids8)
    assert (_decode(tmp_path / "m16.png") == ids16).all()
    assert (_decode(tmp_path / "m8.png") == ids8).all()
    images, masks = _folders(tmp_path, {"a": lambda path: _write_png(path, ids16, GREY, 16)})
    (y,) = _by_name(from_folders(images, masks, 8, 63001, shuffle=False))
    assert (y == ids16).all()


def test_inspect_names_the_encodings_it_found(tmp_path):
    pytest.importorskip("PIL")
    ids8 = np.arange(64).reshape(8, 8) % 4
    images, masks = _folders(tmp_path, {
        "a": lambda path: _write_png(path, ids8),
        "b": lambda path: _write_png(path, ids8, GREY, 16),
        "c": lambda path: _write_png(path, IDS, INDEXED, 8, _voc_palette()),
        "d": lambda path: _write_png(path, IDS, INDEXED, 8, _voc_palette()),
    })
    report = inspect(images, masks, 4, ignore_index=255)
    assert report.ok, report.problems
    assert dict(report.mask_encodings) == {"index: 8-bit": 1, "index: 16-bit": 1, "index: palette PNG indices": 2}
    assert report.ignored_pixels == 2 * 8  # one column of 255 (void) in each indexed mask
    assert "index: palette PNG indices (2)" in str(report)


def test_indexed_png_without_pillow_says_how_to_get_it(tmp_path, monkeypatch):
    images, masks = _folders(tmp_path, {"voc": lambda path: _write_png(path, IDS, INDEXED, 8, _voc_palette())})
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now raises ImportError
    for read in (lambda: from_folders(images, masks, 8, 4, ignore_index=255),
                 lambda: from_folders(images, masks, 8, 4, ignore_index=255, check=False),
                 lambda: inspect(images, masks, 4, ignore_index=255),
                 lambda: _decode(masks / "voc.png")):
        with pytest.raises(DataError, match=r"voc.png .*indexed \(palette\) PNG.*pip install pillow"):
            read()
    # Colours need no Pillow: TensorFlow expands the palette.
    palette = VOC + [VOID]
    (y,) = _by_name(from_folders(images, masks, 8, 5, mask_format="palette", palette=palette, shuffle=False))
    assert (y == np.where(IDS == 255, 4, IDS)).all()
