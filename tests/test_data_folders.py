import os
import random

import numpy as np
import pytest
import tensorflow as tf

from segzoo.data import augment, files, from_folders, pair_files
from segzoo.errors import ConfigError, DataError


def _write(path, array, dtype=tf.uint8):
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[..., None]
    extension = os.path.splitext(str(path))[1]
    tensor = tf.constant(array, dtype)
    data = {".png": tf.io.encode_png, ".jpg": tf.io.encode_jpeg, ".bmp": None}[extension]
    if data is None:  # tf cannot write BMP: a minimal 24-bit BMP by hand
        path.write_bytes(_bmp(array))
        return
    tf.io.write_file(str(path), data(tensor))


def _bmp(rgb):
    height, width, _ = rgb.shape
    row = width * 3 + (-width * 3) % 4
    pixels = b"".join(rgb[y, :, ::-1].astype(np.uint8).tobytes() + b"\0" * (row - width * 3)
                      for y in range(height - 1, -1, -1))
    header = b"BM" + (54 + len(pixels)).to_bytes(4, "little") + b"\0\0\0\0" + (54).to_bytes(4, "little")
    info = (40).to_bytes(4, "little") + width.to_bytes(4, "little") + height.to_bytes(4, "little")
    info += (1).to_bytes(2, "little") + (24).to_bytes(2, "little") + b"\0" * 24
    return header + info + pixels


def _folders(tmp_path, count=6, size=(20, 30), suffix=""):
    """Image i is filled with value 10 * i, its mask with label i % 4."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(exist_ok=True)
    masks.mkdir(exist_ok=True)
    for i in range(count):
        _write(images / f"img{i:02d}.png", np.full((*size, 3), 10 * i))
        _write(masks / f"img{i:02d}{suffix}.png", np.full(size, i % 4))
    return images, masks


def _all(dataset):
    xs, ys = zip(*dataset.as_numpy_iterator())
    return np.concatenate(xs), np.concatenate(ys)


def test_pairs_by_stem_whatever_the_listing_order(tmp_path, monkeypatch):
    images, masks = _folders(tmp_path, suffix="_mask")
    listdir = os.listdir
    shuffled = {d: random.Random(str(d)).sample(sorted(listdir(d)), 6) for d in (images, masks)}
    assert shuffled[images] != sorted(shuffled[images]) and shuffled[masks] != sorted(shuffled[masks])
    monkeypatch.setattr(files.os, "listdir", lambda d: shuffled[d])
    x, y = _all(from_folders(images, masks, 16, 4, mask_suffix="_mask", shuffle=True, seed=1, batch_size=4))
    assert len(x) == 6
    np.testing.assert_array_equal(np.round(x[:, 0, 0, 0] / 10).astype(int) % 4, y[:, 0, 0])


def test_unmatched_files_are_named(tmp_path):
    images, masks = _folders(tmp_path, count=3)
    os.remove(masks / "img01.png")
    _write(masks / "stray.png", np.zeros((20, 30)))
    with pytest.raises(DataError, match=r"images without a mask: img01.png; masks without an image: stray.png"):
        pair_files(images, masks)


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="No image files"):
        pair_files(tmp_path / "empty", tmp_path / "empty")
    with pytest.raises(DataError, match="is not a directory"):
        pair_files(tmp_path / "nope", tmp_path / "empty")


def test_resized_masks_hold_only_original_labels(tmp_path, rng):
    (tmp_path / "i").mkdir()
    (tmp_path / "m").mkdir()
    labels = rng.choice([0, 3, 7], size=(50, 70))
    _write(tmp_path / "i" / "a.jpg", rng.integers(0, 255, (50, 70, 3)))
    _write(tmp_path / "m" / "a.png", labels)
    for resize, extra in (("stretch", {}), ("crop", {}), ("pad", {"ignore_index": 255})):
        x, y = _all(from_folders(tmp_path / "i", tmp_path / "m", (32, 48), 8, resize=resize, **extra))
        assert x.shape == (1, 32, 48, 3) and y.shape == (1, 32, 48) and y.dtype == np.int32
        assert set(np.unique(y)) <= {0, 3, 7, 255}


def test_pad_fills_masks_with_ignore_index(tmp_path):
    (tmp_path / "i").mkdir()
    (tmp_path / "m").mkdir()
    _write(tmp_path / "i" / "a.png", np.full((20, 40, 3), 200))
    _write(tmp_path / "m" / "a.png", np.ones((20, 40)))
    x, y = _all(from_folders(tmp_path / "i", tmp_path / "m", 40, 2, resize="pad", ignore_index=255))
    assert (y[0, :10] == 255).all() and (y[0, 10:30] == 1).all() and (y[0, 30:] == 255).all()
    assert (x[0, :10] == 0).all() and np.allclose(x[0, 10:30], 200)


def test_sixteen_bit_palette_and_binary_masks(tmp_path):
    for name in ("i", "m16", "mp", "mb"):
        (tmp_path / name).mkdir()
    _write(tmp_path / "i" / "a.bmp", np.full((4, 6, 3), 50))
    _write(tmp_path / "m16" / "a.png", np.array([[0, 300, 511] * 2] * 4), dtype=tf.uint16)
    palette = [(0, 0, 0), (255, 0, 0), (0, 255, 0)]
    _write(tmp_path / "mp" / "a.png", np.array([[palette[i % 3] for i in range(6)]] * 4))
    _write(tmp_path / "mb" / "a.png", np.array([[0, 255, 0, 255, 0, 255]] * 4))
    x, y = _all(from_folders(tmp_path / "i", tmp_path / "m16", (4, 6), 512))
    assert np.allclose(x, 50) and y[0, 0].tolist() == [0, 300, 511, 0, 300, 511]
    _, y = _all(from_folders(tmp_path / "i", tmp_path / "mp", (4, 6), 3, mask_format="palette", palette=palette))
    assert y[0, 0].tolist() == [0, 1, 2, 0, 1, 2]
    _, y = _all(from_folders(tmp_path / "i", tmp_path / "mb", (4, 6), 2, mask_format="binary"))
    assert y[0, 0].tolist() == [0, 1, 0, 1, 0, 1]


def test_out_of_range_label_is_named_before_training(tmp_path):
    images, masks = _folders(tmp_path, count=2)
    _write(masks / "img01.png", np.full((20, 30), 255))
    with pytest.raises(DataError, match=r"img01.png holds labels 255 outside 0..3 .*ignore_index"):
        from_folders(images, masks, 16, 4)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"img01.png holds labels that are not class ids 0..3: .*ignore_index.* \[255\] \[255\]"):
        _all(from_folders(images, masks, 16, 4, check=False))
    x, y = _all(from_folders(images, masks, 16, 4, ignore_index=255, shuffle=False))
    assert set(np.unique(y)) == {0, 255}


def test_size_mismatch_is_named_with_both_sizes(tmp_path):
    images, masks = _folders(tmp_path, count=2)
    _write(masks / "img00.png", np.zeros((21, 30)))
    with pytest.raises(DataError, match=r"img00.png is 20x30 but its mask .*img00.png is 21x30"):
        from_folders(images, masks, 16, 4)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"sizes differ: .*img00.png vs .*img00.png"):
        _all(from_folders(images, masks, 16, 4, check=False))


def test_corrupt_file_is_named(tmp_path):
    images, masks = _folders(tmp_path, count=3)
    (images / "img02.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DataError, match=r"images/img02.png: cannot be decoded"):
        from_folders(images, masks, 16, 4)


def test_unknown_palette_colour_is_named(tmp_path):
    images, masks = _folders(tmp_path, count=1)
    palette = [(0, 0, 0), (255, 0, 0)]
    _write(masks / "img00.png", np.array([[palette[0], (9, 9, 9)]] * 20))
    _write(images / "img00.png", np.zeros((20, 2, 3)))
    with pytest.raises(DataError, match=r"img00.png holds colours that are not in the palette"):
        from_folders(images, masks, 16, 2, mask_format="palette", palette=palette)


def test_augment_inside_from_folders_keeps_image_and_mask_aligned(tmp_path, rng):
    """Images whose value encodes the class (100 x label) still read as their masks
    after a flip and a 90-degree turn, which move pixels without resampling them."""
    (tmp_path / "i").mkdir()
    (tmp_path / "m").mkdir()
    for i in range(6):
        labels = np.zeros((32, 32), np.uint8)
        labels[rng.integers(0, 16):, rng.integers(0, 8):20] = 1
        labels[:10, 20:] = 2
        _write(tmp_path / "i" / f"{i}.png", np.stack([labels * 100] * 3, axis=-1))
        _write(tmp_path / "m" / f"{i}.png", labels)
    aug = augment(flip="horizontal_and_vertical", rotate90=True, seed=0)
    data = from_folders(tmp_path / "i", tmp_path / "m", 32, 3, batch_size=3, augment=aug, seed=0, shuffle=False)
    first, second = list(data.repeat(2).as_numpy_iterator())[::2]
    assert not np.array_equal(first[1], second[1])  # a new draw each epoch
    for x, y in (first, second):
        np.testing.assert_array_equal(np.round(x[..., 0] / 100).astype(int), y)
    with pytest.raises(ConfigError, match="augment must be a callable"):
        from_folders(tmp_path / "i", tmp_path / "m", 32, 3, augment="flip")


def test_preprocessing_by_backbone_name(tmp_path):
    images, masks = _folders(tmp_path, count=2)
    x, _ = _all(from_folders(images, masks, 16, 4, preprocessing="mobilenetv2", shuffle=False))
    np.testing.assert_allclose(x[:, 0, 0, 0], [-1.0, 10 / 127.5 - 1.0], atol=1e-6)
    x, _ = _all(from_folders(images, masks, 16, 4, preprocessing="efficientnetb0", shuffle=False))
    assert x.max() == pytest.approx(10.0)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"mask_format": "rgb"}, "mask_format must be one of"),
        ({"mask_format": "palette"}, "needs palette"),
        ({"resize": "pad"}, "pads masks with ignore_index"),
        ({"interpolation": "nearest"}, "masks always use nearest"),
        ({"image_size": (16,)}, "image_size must be"),
        ({"preprocessing": "resnet5"}, "Did you mean"),
    ],
)
def test_bad_options(tmp_path, options, message):
    images, masks = _folders(tmp_path, count=1)
    with pytest.raises(ValueError, match=message):
        from_folders(images, masks, **{"image_size": 16, "num_classes": 4, **options})
