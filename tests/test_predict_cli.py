"""`segzoo predict` with tiles, test-time augmentation, a threshold and probability files:
the files it writes hold what segzoo.predict returns for the same options."""

import keras
import numpy as np
import pytest
from conftest import assert_image_panel
import tensorflow as tf

import segzoo
from segzoo import cli


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = segzoo.build("unet", backbone="none", num_classes=1, input_shape=(None, None, 3), depth=3,
                         encoder_filters=4)
    return segzoo.save_pretrained(model, tmp_path_factory.mktemp("cli") / "binary", golden=False)


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "wide.png"
    pixels = np.random.default_rng(0).integers(0, 256, (50, 90, 3), dtype=np.uint8)
    tf.io.write_file(str(path), tf.io.encode_png(pixels))
    return path


def read_png(path):
    return tf.io.decode_png(tf.io.read_file(str(path))).numpy()


def test_tiles_tta_threshold_and_probabilities(checkpoint, photo, tmp_path, capsys):
    argv = ["predict", str(checkpoint), str(photo), "--out", str(tmp_path), "--tile", "32", "--overlap", "0.5",
            "--blend", "constant", "--tta", "flip", "--threshold", "0.3", "--probabilities"]
    assert cli.main(argv) == 0
    assert "1 image(s)" in capsys.readouterr().out
    model = segzoo.from_pretrained(checkpoint)
    mask, probabilities = segzoo.predict(model, read_png(photo).astype(np.float32), tile=32, overlap=0.5,
                                         blend="constant", tta="flip", threshold=0.3, return_probabilities=True)
    np.testing.assert_array_equal(read_png(tmp_path / "masks" / "wide.png")[..., 0], mask)
    saved = np.load(tmp_path / "probabilities" / "wide.npy")
    assert saved.dtype == np.float16 and saved.shape == (50, 90, 1)
    np.testing.assert_allclose(saved, probabilities, atol=1e-3)
    assert_image_panel(read_png(tmp_path / "overlays" / "wide.png"), read_png(photo))



def last_error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("option, value, message", [
    ("--overlap", "1.5", "overlap must be a fraction in [0, 1)"),
    ("--threshold", "0", "threshold must be a probability"),
    ("--tta", "spin", "invalid choice: 'spin'"),
    ("--blend", "linear", "invalid choice: 'linear'"),
])
def test_bad_option_values_exit_2(checkpoint, photo, tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit) as raised:
        cli.main(["predict", str(checkpoint), str(photo), "--out", str(tmp_path), option, value])
    assert raised.value.code == 2 and message in last_error_line(capsys)


def test_a_tile_the_model_refuses_names_the_nearest_sizes(checkpoint, photo, tmp_path, capsys):
    assert cli.main(["predict", str(checkpoint), str(photo), "--out", str(tmp_path), "--tile", "30"]) == 1
    assert last_error_line(capsys) == (
        "segzoo predict: error: tile side 30 is not a size the model takes (multiples of 8, at least 8); "
        "nearest valid sizes: 24 or 32.")
