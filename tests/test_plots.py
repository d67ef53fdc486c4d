"""Pictures: pixel facts of the panel pictures (layout, class colours, legend, error map)
with and without matplotlib, and the evaluate figures. Expected values are written out by
hand or computed here in NumPy, not taken from segzoo.plots."""

import sys

import numpy as np
import pytest

from segzoo import plots
from segzoo._quiet import without_noise

GREY = 100
NAMES = ["background", "disk", "square", "line"]
# tab10's blue, orange and green: the colours of classes 1, 2, 3.
CLASS_RGB = {1: (31, 119, 180), 2: (255, 127, 14), 3: (44, 160, 44)}


def hide_matplotlib(monkeypatch):
    for name in ["matplotlib", *[n for n in sys.modules if n.startswith("matplotlib.")]]:
        monkeypatch.setitem(sys.modules, name, None)


def scene():
    """A 32x32 grey image; truth: disk rows 4-11 cols 4-11, square rows 20-27 cols 20-27;
    prediction: the disk one column too wide (col 12: a false alarm), its row 4 missed,
    the square called a line, and one stray disk pixel at (0, 31)."""
    image = np.full((32, 32, 3), GREY, np.uint8)
    truth = np.zeros((32, 32), np.int64)
    truth[4:12, 4:12] = 1
    truth[20:28, 20:28] = 2
    prediction = np.zeros_like(truth)
    prediction[5:12, 4:13] = 1
    prediction[20:28, 20:28] = 3
    prediction[0, 31] = 1
    return image, truth, prediction


DIMMED = [GREY // 2 + 64] * 3  # the image in grey at half contrast, under the classes


def box(picture, name):
    top, left, height, width = picture.boxes[name]
    return picture.pixels[top:top + height, left:left + width]


def test_panels_lay_out_titled_enlarged_panels_left_to_right():
    image, truth, prediction = scene()
    picture = plots.panels(image, prediction, 4, truth=truth, class_names=NAMES)
    assert list(picture.boxes)[:3] == ["image", "ground truth", "prediction"]
    tops = {picture.boxes[name][0] for name in ("image", "ground truth", "prediction")}
    lefts = [picture.boxes[name][1] for name in ("image", "ground truth", "prediction")]
    assert len(tops) == 1 and lefts == sorted(lefts) and tops.pop() > 0  # room for titles above
    for name in ("image", "ground truth", "prediction"):
        assert box(picture, name).shape == (256, 256, 3)  # 32 px enlarged 8x, nearest neighbour
    np.testing.assert_array_equal(box(picture, "image"), np.full((256, 256, 3), GREY))
    truth_panel, predicted_panel = box(picture, "ground truth"), box(picture, "prediction")
    # Pixel (r, c) of the 32x32 mask is the 8x8 block at (8r, 8c).
    assert truth_panel[8 * 4, 8 * 4].tolist() == list(CLASS_RGB[1])
    assert truth_panel[8 * 27 + 7, 8 * 27 + 7].tolist() == list(CLASS_RGB[2])
    assert truth_panel[8 * 15, 8 * 15].tolist() == DIMMED  # background unpainted
    assert predicted_panel[8 * 20, 8 * 20].tolist() == list(CLASS_RGB[3])
    assert predicted_panel[0, 8 * 31].tolist() == list(CLASS_RGB[1])
    assert [title for title, *_ in picture.texts[:3]] == ["image", "ground truth", "prediction"]


def test_predict_panels_are_image_and_prediction_and_keep_large_images():
    image = np.full((300, 420, 3), 7, np.uint8)
    labels = np.zeros((300, 420), np.int64)
    picture = plots.panels(image, labels, 2)
    assert [name for name in picture.boxes if not name.startswith("legend")] == ["image", "prediction"]
    assert box(picture, "prediction").shape == (300, 420, 3)  # tall enough already: not enlarged
    assert [text for text, *_ in picture.texts] == ["image", "prediction", "class 1"]  # default names


def test_large_images_are_shrunk_by_an_integer_step():
    labels = np.zeros((2500, 900), np.int64)
    labels[::3, ::3] = 1  # every third pixel, so a step of 3 keeps only class-1 pixels
    picture = plots.panels(np.zeros((2500, 900, 3), np.uint8), labels, 2, max_size=1000)
    predicted = box(picture, "prediction")
    assert predicted.shape == (834, 300, 3)  # ceil(2500 / 3), ceil(900 / 3)
    assert (predicted == CLASS_RGB[1]).all()


def test_legend_swatches_have_the_class_colours_and_names():
    image, truth, prediction = scene()
    picture = plots.panels(image, prediction, 4, truth=truth, class_names=NAMES)
    legend = [name for name in picture.boxes if name.startswith("legend: ")]
    assert legend == ["legend: disk", "legend: square", "legend: line"]  # no swatch for the background
    for label, name in enumerate(NAMES[1:], start=1):
        swatch = box(picture, f"legend: {name}")
        assert swatch.shape[:2] == (14, 14)
        assert (swatch == CLASS_RGB[label]).all()
        top = picture.boxes[f"legend: {name}"][0]
        assert top > max(t + h for t, _, h, _ in (picture.boxes[p] for p in ("image", "prediction")))
    assert [text for text, *_ in picture.texts[3:]] == NAMES[1:]


def test_error_map_colours_false_negatives_false_positives_and_wrong_classes():
    image, truth, prediction = scene()
    picture = plots.panels(image, prediction, 4, truth=truth, class_names=NAMES, errors=True)
    errors = box(picture, "errors")[::8, ::8]  # back to one pixel per mask pixel
    assert errors.shape == (32, 32, 3)
    white, magenta, amber, cyan = (255, 255, 255), (255, 0, 255), (255, 190, 0), (0, 190, 255)
    assert errors[4, 4].tolist() == list(magenta)  # disk row 4 predicted background: missed
    assert errors[6, 12].tolist() == list(amber)  # background called disk: false alarm
    assert errors[0, 31].tolist() == list(amber)
    assert errors[6, 6].tolist() == list(white)  # disk called disk
    assert errors[22, 22].tolist() == list(cyan)  # square called line: wrong class
    assert errors[16, 2].tolist() == DIMMED  # correct background
    counts = {colour: int((errors == colour).all(axis=-1).sum()) for colour in (white, magenta, amber, cyan)}
    assert counts == {white: 7 * 8, magenta: 8, amber: 7 + 1, cyan: 64}
    entries = [name[len("legend: "):] for name in picture.boxes if name.startswith("legend: ")]
    assert entries[3:] == ["correct", "missed (false negative)", "false alarm (false positive)", "wrong class"]
    assert (box(picture, "legend: missed (false negative)") == magenta).all()
    assert picture.boxes["legend: correct"][0] > picture.boxes["legend: disk"][0]  # a row of their own


def test_error_map_leaves_ignored_pixels_grey():
    image, truth, prediction = scene()
    truth[0, 31] = 255  # unlabelled: the stray prediction there is no false alarm
    painted = plots.error_map(image, truth, prediction, 4)
    assert painted[0, 31].tolist() == DIMMED


def test_text_goes_into_the_bands_and_leaves_the_pixels(monkeypatch):
    pytest.importorskip("matplotlib")
    image, truth, prediction = scene()
    picture = plots.panels(image, prediction, 4, truth=truth, class_names=NAMES, errors=True)
    drawn = plots.with_text(picture)
    assert drawn.shape == picture.pixels.shape
    for name in picture.boxes:  # every panel and swatch copied one to one
        top, left, height, width = picture.boxes[name]
        np.testing.assert_array_equal(drawn[top:top + height, left:left + width], box(picture, name))
    top = picture.boxes["image"][0]
    title_band = drawn[:top, picture.boxes["ground truth"][1]:][:, :256]
    assert (title_band.max(axis=-1) < 128).sum() > 20  # dark text pixels: the title
    hide_matplotlib(monkeypatch)
    np.testing.assert_array_equal(plots.with_text(picture), picture.pixels)  # no text, same pixels


def test_row_shares_normalise_each_true_class():
    shares = plots.row_shares([[6, 2], [0, 0]])
    np.testing.assert_allclose(shares, [[0.75, 0.25], [0.0, 0.0]])


def test_evaluate_figures_are_written(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    report = {"classes": {"background": {"iou": 0.9, "support": 90}, "line": {"iou": None, "support": 10}},
              "mean": {"iou": 0.9}}
    assert plots.iou_bars(report, tmp_path / "bars.png")
    assert plots.confusion_matrix([[80, 10], [5, 5]], ["background", "line"], tmp_path / "cm.png")
    for name in ("bars.png", "cm.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    hide_matplotlib(monkeypatch)
    assert not plots.iou_bars(report, tmp_path / "none.png") and not (tmp_path / "none.png").exists()


def test_start_up_noise_filter_keeps_other_lines():
    text = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1 12 port.cc:153] oneDNN custom operations are on. You may see\n"
            "a real warning\n"
            "I0000 00:00:1 12 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\n"
            "To enable the following instructions: AVX2 AVX512F, in other operations, rebuild\n")
    assert without_noise(text) == ["a real warning\n"]
