import numpy as np
import pytest
import tensorflow as tf

from segzoo.datasets import shapes
from segzoo.errors import ConfigError


def test_deterministic_by_seed():
    a, b, c = (shapes(6, image_size=32, seed=s).arrays["train"] for s in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("fraction", [0.03, 0.25])
def test_foreground_fraction_is_controlled(fraction):
    masks = shapes(60, image_size=64, num_classes=4, foreground_fraction=fraction).arrays["train"][1]
    measured = (masks > 0).mean()
    assert 0.6 * fraction < measured < 1.3 * fraction, measured
    assert set(np.unique(masks)) == {0, 1, 2, 3}


def test_shapes_are_drawn_in_their_class_colours():
    # Every pixel of class k is far from the background grey in colour more often than not.
    images, masks = shapes(10, image_size=64, num_classes=3).arrays["train"]
    for label in (1, 2):
        colours = images[masks == label].astype(float)
        assert colours.std(axis=1).mean() > 20  # saturated, unlike the grey background


def _class_colour_spread(images, masks, label):
    """Across images, the spread of one class's mean colour (0-255 units)."""
    means = [images[i][masks[i] == label].mean(axis=0) for i in range(len(images)) if (masks[i] == label).any()]
    return np.std(means, axis=0).mean()


def test_random_colours_make_colour_useless_for_the_class():
    by_class = shapes(40, image_size=48, num_classes=3, seed=3).arrays["train"]
    random = shapes(40, image_size=48, num_classes=3, seed=3, colours="random").arrays["train"]
    for label in (1, 2):
        assert _class_colour_spread(*by_class, label) < 15
        assert _class_colour_spread(*random, label) > 30


def test_datasets_batch_and_split():
    split = shapes(10, image_size=32, num_classes=3, validation_fraction=0.2, batch_size=4)
    x, y = next(iter(split.train))
    assert x.shape == (4, 32, 32, 3) and x.dtype == tf.float32 and y.dtype == tf.int32
    assert sum(int(b[0].shape[0]) for b in split.validation) == 2
    assert len(split.arrays["train"][0]) == 8


def test_to_folders_writes_png_pairs(tmp_path):
    split = shapes(5, image_size=32, num_classes=4, validation_fraction=0.4)
    split.to_folders(tmp_path)
    images, masks = split.arrays["validation"]
    for index in range(2):
        decoded = tf.io.decode_png(tf.io.read_file(str(tmp_path / "validation" / "masks" / f"{index:05d}.png")))
        np.testing.assert_array_equal(decoded.numpy()[..., 0], masks[index])
        image = tf.io.decode_png(tf.io.read_file(str(tmp_path / "validation" / "images" / f"{index:05d}.png")))
        np.testing.assert_array_equal(image.numpy(), images[index])
    assert len(list((tmp_path / "train" / "images").iterdir())) == 3


@pytest.mark.parametrize(
    "options, message",
    [({"n": 1}, "n must be"), ({"num_classes": 1}, "num_classes must be >= 2"),
     ({"foreground_fraction": 0.9}, "foreground_fraction"), ({"image_size": 8}, "image_size"),
     ({"colours": "rainbow"}, "colours must be one of")],
)
def test_bad_arguments(options, message):
    with pytest.raises(ConfigError, match=message):
        shapes(**{"n": 4, **options})


def test_default_masks_are_unchanged_by_the_kinds_option():
    """The zoo checkpoints were trained on the defaults: the masks of 7 classes (the five
    shapes repeating) hash as before kinds= and the line kind existed (sha256 measured on
    the earlier code)."""
    import hashlib

    split = shapes(10, image_size=32, seed=1, num_classes=7)
    digest = hashlib.sha256()
    for part in ("train", "validation"):
        digest.update(np.ascontiguousarray(split.arrays[part][1]).tobytes())
    assert digest.hexdigest() == "70a0bed4881193f8e5ae015b16cbb71391ee175828de804b00affb11b7aa7d99"


def test_line_kind_is_a_thin_rare_class():
    masks = shapes(40, image_size=64, num_classes=3, kinds=("disk", "line"), seed=3).arrays["train"][1]
    disk, line = (masks == 1).mean(), (masks == 2).mean()
    assert 0 < line < disk / 4
    for mask in masks:  # a 2-pixel-wide segment: no line pixel has its 5x5 block all line
        inside = mask == 2
        if inside.any():
            padded = np.pad(inside, 2)
            full = np.ones_like(inside)
            for dy in range(5):
                for dx in range(5):
                    full &= padded[dy:dy + 64, dx:dx + 64]
            assert not full.any()
    with pytest.raises(ConfigError, match="'blob'"):
        shapes(4, image_size=32, num_classes=3, kinds=("disk", "blob"))
