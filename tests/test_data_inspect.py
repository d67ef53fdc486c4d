import sys

import numpy as np
import pytest
import tensorflow as tf

from segzoo.data import from_folders, inspect
from segzoo.errors import DataError


def _png(path, array, dtype=tf.uint8):
    array = np.asarray(array)
    tf.io.write_file(str(path), tf.io.encode_png(tf.constant(array if array.ndim == 3 else array[..., None], dtype)))


def _dirs(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    return images, masks


def test_histogram_counts_pixels_and_images_per_class(tmp_path):
    images, masks = _dirs(tmp_path)
    a = np.zeros((4, 5), np.uint8)
    a[0, :3] = 2  # 3 pixels of class 2, 17 of class 0
    b = np.ones((6, 5), np.uint8)
    b[5] = 255  # 25 of class 1, 5 ignored
    for name, mask in (("a", a), ("b", b)):
        _png(images / f"{name}.png", np.zeros((*mask.shape, 3)))
        _png(masks / f"{name}.png", mask)
    report = inspect(images, masks, num_classes=3, ignore_index=255)
    assert report.ok and report.pairs == 2
    assert report.class_pixels.tolist() == [17, 25, 3]
    assert report.class_images.tolist() == [1, 1, 1]
    assert report.ignored_pixels == 5
    assert dict(report.image_sizes) == {(4, 5): 1, (6, 5): 1}
    table = str(report)
    assert "0 problems." in table and "37.78%" in table  # 17 / 45 labelled pixels


def test_every_problem_is_reported_with_its_file(tmp_path):
    images, masks = _dirs(tmp_path)
    for name in ("good", "wide", "bad_label", "broken", "alone"):
        _png(images / f"{name}.png", np.zeros((8, 8, 3)))
    for name in ("good", "bad_label", "broken", "stray"):
        _png(masks / f"{name}.png", np.zeros((8, 8)))
    _png(masks / "wide.png", np.zeros((8, 9)))
    _png(masks / "bad_label.png", np.array([[0, 7, 9, 7] * 2] * 8))
    (masks / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    report = inspect(images, masks, num_classes=4)
    assert not report.ok
    assert [p.rsplit("/", 1)[-1] for p in report.unpaired_images] == ["alone.png"]
    assert [p.rsplit("/", 1)[-1] for p in report.unpaired_masks] == ["stray.png"]
    assert [(p.rsplit("/", 1)[-1], labels) for p, labels in report.out_of_range] == [("bad_label.png", [7, 9])]
    assert [(i.rsplit("/", 1)[-1], a, b) for i, _, a, b in report.size_mismatches] == [("wide.png", (8, 8), (8, 9))]
    assert [p.rsplit("/", 1)[-1] for p, _ in report.unreadable] == ["broken.png"]
    problems = report.problems
    assert len(problems) == 5
    for name in ("alone.png", "stray.png", "bad_label.png holds labels 7, 9", "wide.png is 8x8", "broken.png: cannot"):
        assert sum(name in p for p in problems) == 1, (name, problems)
    assert "5 problems:" in str(report)
    with pytest.raises(DataError, match="4 more problems"):
        report.raise_if_problems()


def test_binary_and_sixteen_bit_masks(tmp_path):
    images, masks = _dirs(tmp_path)
    _png(images / "a.png", np.zeros((2, 3, 3)))
    _png(masks / "a.png", np.array([[0, 300, 299], [1, 0, 0]]), dtype=tf.uint16)
    assert inspect(images, masks, num_classes=301).class_pixels[[0, 1, 299, 300]].tolist() == [3, 1, 1, 1]
    _png(masks / "a.png", np.array([[0, 40000, 32768], [32767, 0, 0]]), dtype=tf.uint16)
    assert inspect(images, masks, num_classes=2, mask_format="binary").class_pixels.tolist() == [4, 2]


tifffile = pytest.importorskip("tifffile")


def test_tiff_images_and_masks(tmp_path):
    images, masks = _dirs(tmp_path)
    grey16 = np.array([[0, 65535], [13107, 65535]], np.uint16)  # 13107 = 65535 / 5
    tifffile.imwrite(images / "a.tif", grey16)
    tifffile.imwrite(masks / "a.tif", np.array([[0, 1000], [2, 1000]], np.uint16))
    tifffile.imwrite(images / "b.tiff", np.full((2, 2, 4), 20, np.uint8))  # RGBA: alpha dropped
    tifffile.imwrite(masks / "b.tiff", np.full((2, 2), 3, np.uint8))
    tifffile.imwrite(images / "c.tif", np.full((2, 2, 3), 12.5, np.float32))  # floats kept as they are
    _png(masks / "c.png", np.zeros((2, 2)))
    assert inspect(images, masks, num_classes=1001).ok
    x, y = (np.concatenate(part) for part in zip(*from_folders(images, masks, 2, 1001, shuffle=False).as_numpy_iterator()))
    np.testing.assert_allclose(x[0, ..., 0], [[0, 255], [51, 255]], atol=1e-3)
    assert x.shape == (3, 2, 2, 3) and np.allclose(x[1], 20) and np.allclose(x[2], 12.5)
    assert y.tolist() == [[[0, 1000], [2, 1000]], [[3, 3], [3, 3]], [[0, 0], [0, 0]]]


def test_tiff_palette_mask(tmp_path):
    images, masks = _dirs(tmp_path)
    palette = [(0, 0, 0), (200, 10, 10), (10, 200, 10)]
    tifffile.imwrite(images / "a.tif", np.zeros((1, 3, 3), np.uint8))
    tifffile.imwrite(masks / "a.tif", np.array([[palette[2], palette[0], palette[1]]], np.uint8))
    _, y = next(from_folders(images, masks, (1, 3), 3, mask_format="palette", palette=palette).as_numpy_iterator())
    assert y.tolist() == [[[2, 0, 1]]]


def test_tiff_without_tifffile_says_what_to_install(tmp_path, monkeypatch):
    images, masks = _dirs(tmp_path)
    tifffile.imwrite(images / "a.tif", np.zeros((2, 2), np.uint8))
    _png(masks / "a.png", np.zeros((2, 2)))
    monkeypatch.setitem(sys.modules, "tifffile", None)  # import tifffile now fails
    with pytest.raises(DataError, match=r"a.tif .*need the tifffile package: pip install tifffile"):
        from_folders(images, masks, 2, 1)
    with pytest.raises(DataError, match="pip install tifffile"):
        inspect(images, masks, 1)
