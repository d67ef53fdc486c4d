"""The `segzoo` command. Every subcommand runs once as `python -m segzoo.cli` in a fresh
interpreter (each pays the TensorFlow import, about 5 s); variants and argument errors
run in this process through `segzoo.cli.main`. Tiny models and images; no network (the
hub is tests/hf_server.py on 127.0.0.1, and HF_HUB_OFFLINE=1 everywhere else)."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import assert_image_panel
import tensorflow as tf

import segzoo
from segzoo import _plots, cli

import tomllib

ROOT = Path(__file__).resolve().parents[1]
CLASS_NAMES = ["background", "disk", "square"]
SIZE = 32
REPO = "segzoo/tiny-cli"
TINY = ["--backbone", "none", "--encoder-filters", "4", "--depth", "3", "--image-size", str(SIZE),
        "--epochs", "1", "--batch-size", "4"]


def has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def run_cli(*args, env=None):
    """`python -m segzoo.cli ARGS` in a fresh interpreter: (exit status, stdout, stderr)."""
    environment = {"TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_OFFLINE": "1", **os.environ, **(env or {})}
    result = subprocess.run([sys.executable, "-m", "segzoo.cli", *map(str, args)], check=False,
                            capture_output=True, text=True, timeout=300, env=environment, cwd=ROOT)
    return result.returncode, result.stdout, result.stderr


def ok(*args, env=None):
    code, out, err = run_cli(*args, env=env)
    assert code == 0, f"exit {code}\n{out}\n{err[-4000:]}"
    return out


def user_error(code, err, prog, *fragments):
    """A non-zero exit whose stderr ends with one line '<prog>: error: ...', no traceback."""
    assert code != 0
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"{prog}: error: "), err
    for fragment in fragments:
        assert fragment in last, (fragment, last)
    return last


def read_png(path):
    return tf.io.decode_png(tf.io.read_file(str(path))).numpy()


@pytest.fixture(autouse=True)
def _seed():
    """Overrides conftest's: its keras.backend.clear_session() after every test costs about
    half a second each, and most tests here build no model in this process."""
    keras.utils.set_random_seed(0)
    yield


@pytest.fixture(scope="module", autouse=True)
def _clear_session_once():
    yield
    keras.backend.clear_session()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny 3-class checkpoint folder (32x32 input)."""
    model = segzoo.build("unet", backbone="none", num_classes=3, activation="softmax",
                         input_shape=(SIZE, SIZE, 3), encoder_filters=4, depth=3)
    return segzoo.save_pretrained(model, tmp_path_factory.mktemp("ckpt"), class_names=CLASS_NAMES,
                                  metrics={"mean_iou": 0.5}, dataset="shapes")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """DIR/train/{images,masks} and DIR/validation/{images,masks}: 12 shapes images, 3 classes."""
    return Path(segzoo.datasets.shapes(12, image_size=SIZE, num_classes=3).to_folders(tmp_path_factory.mktemp("data")))


@pytest.fixture
def manifest(checkpoint, tmp_path, monkeypatch):
    """A manifest naming the checkpoint 'tiny', through SEGZOO_MANIFEST (this process and children)."""
    path = tmp_path / "weights_manifest.json"
    monkeypatch.setenv(segzoo.hub.MANIFEST_ENV, str(path))
    segzoo.hub.write_manifest({"tiny": segzoo.hub.manifest_entry(checkpoint, REPO, "a" * 40)}, path)
    return path


# ---------------------------------------------------------------- the entry point


def test_console_script_is_declared_in_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["segzoo"] == "segzoo.cli:main"
    assert project["optional-dependencies"]["plots"] == ["matplotlib"]
    assert callable(cli.main)


def test_no_tensorflow_start_up_noise_on_stderr():
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "segzoo.cli", "list"], check=False, capture_output=True,
                            text=True, timeout=300, env={**environment, "HF_HUB_OFFLINE": "1"}, cwd=ROOT)
    assert result.returncode == 0 and "architectures:" in result.stdout
    for noise in ("cudart_stub", "oneDNN custom operations", "cpu_feature_guard", "absl::InitializeLog",
                  "cuInit", "I0000", "E0000", "W0000"):
        assert noise not in result.stderr, result.stderr


# ---------------------------------------------------------------- list and info


def test_list_pretrained_subprocess(manifest):
    out = ok("list", "--pretrained")
    assert "tiny" in out and REPO in out and "unet/none" in out and "32x32x3" in out and "0.5000" in out


def test_list_in_process(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "unet" in out and "resunet" in out and "mobilenetv2" in out and "efficientnetb0" in out


def test_info_subprocess_for_each_kind_of_name(manifest):
    out = ok("info", "unet", "mobilenetv2", "tiny")
    assert "architecture unet: U-Net" in out
    assert "backbone mobilenetv2" in out and "tf (pixels scaled to [-1, 1])" in out
    assert f"{REPO} @ {'a' * 40}" in out and "background, disk, square" in out and "mean_iou 0.5000" in out


def test_info_folder_and_unknown_name(checkpoint, capsys):
    assert cli.main(["info", str(checkpoint)]) == 0
    assert "classes:  3 (background, disk, square)" in capsys.readouterr().out
    assert cli.main(["info", "resnet5O"]) == 1
    user_error(1, capsys.readouterr().err, "segzoo info", "'resnet5O'", "Did you mean 'resnet50'")


# ---------------------------------------------------------------- train


def test_train_builtin_dataset_subprocess(tmp_path):
    out_dir = tmp_path / "run"
    out = ok("train", "--dataset", "shapes", "--images", 12, "--classes", 3, "--arch", "unet", *TINY,
             "--loss", "dice+ce", "--out", out_dir)
    assert "val_iou: " in out and "val_loss: " in out and "\r" not in out  # verbose=2 off a TTY
    assert "mean over" in out and "disk" in out and "square" in out  # the per-class report
    model = segzoo.from_pretrained(out_dir / "best")
    assert model.num_classes == 3 and model.class_names == tuple(CLASS_NAMES)
    history = (out_dir / "history.csv").read_text().splitlines()
    assert history[0].split(",") == ["epoch", "iou", "loss", "val_iou", "val_loss"] and len(history) == 2
    overlays = sorted((out_dir / "overlays").glob("*.png"))
    assert len(overlays) == 2  # 12 images, a fifth held out: 2 validation images
    # 3 panels of 32 px enlarged 8x to 256, 8 px margins and gaps, a 24 px title band and
    # one 22 px legend row: 8 + 24 + 256 + 8 + 22 + 8 tall, 8 + 3 * 256 + 2 * 8 + 8 wide.
    assert read_png(overlays[0]).shape[:2] == (326, 800)
    assert (out_dir / "training_curves.png").exists() == has_matplotlib()


def test_train_binary_records_background_and_foreground(tmp_path, capsys):
    """A 1-channel (sigmoid) model keeps both names, like the zoo's binary checkpoint."""
    assert cli.main(["train", "--dataset", "shapes", "--images", "8", "--classes", "1", *TINY,
                     "--out", str(tmp_path)]) == 0
    model = segzoo.from_pretrained(tmp_path / "best")
    assert model.num_classes == 1 and model.class_names == ("background", "disk")
    assert "disk" in capsys.readouterr().out


def test_train_folders_from_pretrained_with_class_weights(data, checkpoint, tmp_path, capsys, monkeypatch):
    for name in ["matplotlib", "matplotlib.figure", *[n for n in sys.modules if n.startswith("matplotlib.")]]:
        monkeypatch.setitem(sys.modules, name, None)  # as if matplotlib were not installed
    out_dir = tmp_path / "run"
    code = cli.main(["train", "--data", str(data), "--from-pretrained", str(checkpoint), "--classes", "3",
                     "--class-weights", "auto", "--loss", "dice+2*focal", "--epochs", "1", "--batch-size", "4",
                     "--overlays", "1", "--out", str(out_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert "class weights (median_frequency): " in out and "background" in out
    assert "skipped training_curves.png: matplotlib is not installed (pip install matplotlib" in out
    assert not (out_dir / "training_curves.png").exists()
    assert len(list((out_dir / "overlays").glob("*.png"))) == 1
    config = segzoo.hub.checkpoint.read_config(out_dir / "best" / "config.json")
    assert config["class_names"] == CLASS_NAMES and config["dataset"] == data.resolve().name
    assert set(config["metrics"]) == {"mean_iou", "pixel_accuracy"}
    losses = config["compile"]["loss"]["config"]
    assert losses["weights"] == [1.0, 2.0] and [loss["class_name"] for loss in losses["losses"]] == ["Dice", "Focal"]


@pytest.mark.parametrize("args, status, fragments", [
    (["--data", "no/such/folder", "--classes", "3"], 2, ["argument --data: no such folder: 'no/such/folder'"]),
    (["--dataset", "shapes", "--loss", "dcie+ce"], 2, ["argument --loss: unknown loss 'dcie'", "Did you mean 'dice'"]),
    (["--dataset", "shapes", "--loss", "x*dice"], 2, ["bad weight 'x'"]),
    (["--dataset", "shapes", "--arch", "unte"], 1, ["Unknown architecture 'unte'", "Did you mean 'unet'"]),
    (["--dataset", "shapes", "--backbone", "mobilenet"], 1, ["Unknown backbone 'mobilenet'", "'mobilenetv2'"]),
    (["--classes", "3"], 2, ["one of the arguments --data --dataset is required"]),
    (["--dataset", "shapes", "--epochs", "0"], 1, ["--epochs must be >= 1"]),
    (["--dataset", "shapes", "--from-pretrained", "x", "--arch", "unet"], 1, ["drop --arch"]),
])
def test_train_argument_errors(args, status, fragments, capsys):
    if status == 2:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["train", *args])
        assert exit_info.value.code == 2
    else:
        assert cli.main(["train", *args]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    user_error(status, err, "segzoo train", *fragments)


def test_train_data_needs_train_and_validation_splits(data, capsys):
    assert cli.main(["train", "--data", str(data / "train"), "--classes", "3"]) == 1
    user_error(1, capsys.readouterr().err, "segzoo train", "no train/images", "split them into train/ and validation/")


# ---------------------------------------------------------------- evaluate and predict


def test_evaluate_subprocess(checkpoint, data, tmp_path):
    out = ok("evaluate", checkpoint, "--data", data, "--out", tmp_path)
    header, *rows = out.splitlines()[:6]
    assert header.split()[:5] == ["class", "IoU", "Dice", "Prec", "Recall"]
    assert [row.split()[0] for row in rows[1:4]] == CLASS_NAMES
    report = json.loads((tmp_path / "report.json").read_text())
    assert list(report["classes"]) == CLASS_NAMES and len(report["confusion_matrix"]) == 3
    assert (tmp_path / "confusion_matrix.png").exists() == has_matplotlib()


def test_evaluate_errors(checkpoint, tmp_path, capsys):
    assert cli.main(["evaluate", str(checkpoint), "--data", str(tmp_path)]) == 1
    user_error(1, capsys.readouterr().err, "segzoo evaluate", "neither images/ and masks/")
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    assert cli.main(["evaluate", "no-such-model", "--data", str(tmp_path)]) == 1
    user_error(1, capsys.readouterr().err, "segzoo evaluate", "'no-such-model' is not a local folder")


def test_predict_subprocess_keeps_each_image_size(checkpoint, data, tmp_path):
    odd = tmp_path / "inputs" / "odd.png"
    odd.parent.mkdir()
    _plots.write_png(odd, np.random.default_rng(0).integers(0, 256, (45, 70, 3), dtype=np.uint8))
    out = ok("predict", checkpoint, data / "validation" / "images", odd, "--out", tmp_path / "out")
    assert "3 image(s)" in out
    for stem, shape in (("odd", (45, 70)), ("00000", (SIZE, SIZE)), ("00001", (SIZE, SIZE))):
        mask = read_png(tmp_path / "out" / "masks" / f"{stem}.png")
        assert mask.shape == (*shape, 1) and mask.max() < 3
        picture = read_png(tmp_path / "out" / "overlays" / f"{stem}.png")
        image = read_png(odd if stem == "odd" else data / "validation" / "images" / f"{stem}.png")
        assert_image_panel(picture, image)


def test_predict_matches_the_model_and_reports_bad_inputs(checkpoint, data, tmp_path, capsys):
    image_path = data / "validation" / "images" / "00000.png"
    assert cli.main(["predict", str(checkpoint), str(image_path), "--out", str(tmp_path)]) == 0
    model = segzoo.from_pretrained(checkpoint)
    expected = np.argmax(model.predict_on_batch(read_png(image_path)[None].astype("float32")), axis=-1)[0]
    np.testing.assert_array_equal(read_png(tmp_path / "masks" / "00000.png")[..., 0], expected)
    capsys.readouterr()
    assert cli.main(["predict", str(checkpoint), str(tmp_path / "missing.png"), "--out", str(tmp_path)]) == 1
    user_error(1, capsys.readouterr().err, "segzoo predict", "no such image or folder")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    assert cli.main(["predict", str(checkpoint), str(tmp_path / "broken.png"), "--out", str(tmp_path)]) == 1
    user_error(1, capsys.readouterr().err, "segzoo predict", "cannot be decoded")


# ---------------------------------------------------------------- pull, hub (export: tests/test_export.py)


def test_pull_subprocess_from_the_local_hub(checkpoint, local_hub, tmp_path, monkeypatch):
    commit = local_hub.add_folder(REPO, checkpoint)
    manifest = tmp_path / "weights_manifest.json"
    segzoo.hub.write_manifest({"tiny": segzoo.hub.manifest_entry(checkpoint, REPO, commit)}, manifest)
    env = {"SEGZOO_MANIFEST": str(manifest), "HF_HUB_CACHE": str(tmp_path / "cache"),
           "HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1"}
    assert os.environ["HF_ENDPOINT"] == local_hub.url  # set by the fixture, inherited by the child
    folder = Path(ok("pull", "tiny", env=env).strip().splitlines()[-1])
    assert folder == tmp_path / "cache" / "models--segzoo--tiny-cli" / "snapshots" / commit
    files = sorted(p.name for p in checkpoint.iterdir())
    assert sorted(p.name for p in folder.iterdir()) == files
    for name in files:
        assert hashlib.sha256((folder / name).read_bytes()).digest() == hashlib.sha256(
            (checkpoint / name).read_bytes()).digest()


def test_pull_unknown_name(manifest, capsys):
    assert cli.main(["pull", "tinny"]) == 1
    user_error(1, capsys.readouterr().err, "segzoo pull", "Did you mean 'tiny'")


def test_hub_manifest_in_process(checkpoint, tmp_path, capsys):
    path = tmp_path / "weights_manifest.json"
    assert cli.main(["hub", "manifest", "tiny", str(checkpoint), REPO, "b" * 40, "--manifest", str(path)]) == 0
    assert capsys.readouterr().out.strip() == str(path)
    entry = segzoo.hub.load_manifest(path)["tiny"]
    assert (entry["repo_id"], entry["revision"], entry["class_names"]) == (REPO, "b" * 40, CLASS_NAMES)


def test_hub_manifest_subprocess_refuses_a_branch(checkpoint, tmp_path):
    """Also the check that a failing `python -m segzoo.cli` exits non-zero, one line, no traceback."""
    path = tmp_path / "weights_manifest.json"
    code, _, err = run_cli("hub", "manifest", "tiny", checkpoint, REPO, "main", "--manifest", path)
    user_error(code, err, "segzoo hub manifest", "'main' is not a 40-character lowercase commit hash")
    assert code == 1 and not path.exists()


# ---------------------------------------------------------------- pictures


def test_overlay_paints_classes_and_leaves_background_and_ignored_pixels():
    image = np.full((2, 2, 3), 100, np.uint8)
    labels = np.array([[0, 1], [2, 255]])
    painted = _plots.overlay(image, labels, num_classes=3, alpha=0.5)
    colours = _plots.class_colours(3)
    assert painted[0, 0].tolist() == [100, 100, 100] and painted[1, 1].tolist() == [100, 100, 100]
    assert painted[0, 1].tolist() == np.round(50 + colours[1] / 2).astype(int).tolist()
    assert len({tuple(c) for c in _plots.class_colours(40)}) == 40


def test_confusion_matrix_png(tmp_path):
    pytest.importorskip("matplotlib")
    assert _plots.confusion_matrix([[5, 1], [0, 4]], ["background", "disk"], tmp_path / "cm.png")
    assert read_png(tmp_path / "cm.png").shape[2] in (3, 4)


# ---------------------------------------------------------------- data options of train and evaluate


def mask_folder(root, masks, rgb=False):
    """root/images/iNN.png (grey) and root/masks/iNN.png from the given (H, W) or (H, W, 3) arrays."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for index, mask in enumerate(masks):
        _plots.write_png(root / "images" / f"i{index:02d}.png", np.full((*mask.shape[:2], 3), 90, np.uint8))
        _plots.write_png(root / "masks" / f"i{index:02d}.png", mask.astype(np.uint8) if not rgb else mask)
    return root


def supports(out_dir):
    report = json.loads((out_dir / "report.json").read_text())
    return [row["support"] for row in report["classes"].values()]


@pytest.mark.parametrize("high", [1, 255])
def test_evaluate_binary_masks(checkpoint, tmp_path, capsys, high):
    """0/1 and 0/255 masks read with --mask-format binary: foreground is class 1."""
    rng = np.random.default_rng(high)
    masks = [high * (rng.random((SIZE, SIZE)) < 0.3) for _ in range(3)]
    folder = mask_folder(tmp_path / "data", masks)
    assert cli.main(["evaluate", str(checkpoint), "--data", str(folder), "--mask-format", "binary",
                     "--overlays", "1", "--error-map", "--out", str(tmp_path / "out")]) == 0
    ones = sum(int((mask == high).sum()) for mask in masks)
    assert supports(tmp_path / "out") == [3 * SIZE * SIZE - ones, ones, 0]
    assert read_png(tmp_path / "out" / "overlays" / "0000.png").shape[1] == 8 + 4 * 256 + 3 * 8 + 8  # 4 panels
    assert (tmp_path / "out" / "iou_per_class.png").exists() == has_matplotlib()
    capsys.readouterr()


def test_evaluate_palette_masks(checkpoint, tmp_path):
    colours = np.array([(0, 0, 0), (128, 0, 0), (0, 128, 0)], np.uint8)
    labels = np.zeros((SIZE, SIZE), np.int64)
    labels[2:10, 3:7] = 1  # 32 pixels
    labels[20:25, 20:30] = 2  # 50 pixels
    folder = mask_folder(tmp_path / "data", [colours[labels]], rgb=True)
    assert cli.main(["evaluate", str(checkpoint), "--data", str(folder), "--palette", "0,0,0 #800000;0,128,0",
                     "--out", str(tmp_path / "out"), "--overlays", "0"]) == 0
    assert supports(tmp_path / "out") == [SIZE * SIZE - 82, 32, 50]
    assert not (tmp_path / "out" / "overlays").exists()


class StopBeforeTraining(Exception):
    pass


def stop_at_compile(monkeypatch, seen):
    """Replace train's _compile: keep the first training batch and stop (no fit, no tracing)."""
    def stop(model, args, train):
        seen["batch"] = next(iter(train))
        seen["model"] = model
        raise StopBeforeTraining

    monkeypatch.setattr("segzoo.cli.train._compile", stop)


def recording(monkeypatch, name, seen):
    """Wrap segzoo.cli.train.<name> so that its keyword arguments land in seen[name]."""
    import segzoo.cli.train as train_module

    real = getattr(train_module, name)

    def wrapper(*args, **options):
        seen.setdefault(name, []).append(options)
        return real(*args, **options)

    monkeypatch.setattr(train_module, name, wrapper)


def test_train_folder_options_and_augment_choices(tmp_path, capsys, monkeypatch):
    """--mask-format binary and --resize crop reach from_folders (0/255 masks of 32x40 come
    out 0/1 and 32x32); --augment's options reach segzoo.data.augment with the run's seed."""
    rng = np.random.default_rng(0)
    for split in ("train", "validation"):
        mask_folder(tmp_path / "data" / split, [255 * (rng.random((SIZE, SIZE + 8)) < 0.3) for _ in range(4)])
    seen = {}
    recording(monkeypatch, "from_folders", seen)
    recording(monkeypatch, "augment", seen)
    stop_at_compile(monkeypatch, seen)
    with pytest.raises(StopBeforeTraining):
        cli.main(["train", "--data", str(tmp_path / "data"), "--classes", "2", *TINY, "--mask-format", "binary",
                  "--resize", "crop", "--augment", "flip=vertical,rotate90,zoom=0.1", "--seed", "3",
                  "--out", str(tmp_path / "run")])
    assert [(o["mask_format"], o["palette"], o["resize"]) for o in seen["from_folders"]] == [("binary", None, "crop")] * 2
    assert seen["augment"] == [{"flip": "vertical", "rotate90": True, "zoom": 0.1, "seed": 3}]
    images, masks = seen["batch"][:2]
    assert tuple(images.shape) == (4, SIZE, SIZE, 3) and set(np.unique(masks.numpy())) <= {0, 1}
    capsys.readouterr()


def test_train_shapes_options_and_bare_augment(tmp_path, capsys, monkeypatch):
    seen = {}
    recording(monkeypatch, "augment", seen)
    stop_at_compile(monkeypatch, seen)
    with pytest.raises(StopBeforeTraining):
        cli.main(["train", "--dataset", "shapes", "--images", "8", "--shapes", "disk,line", "--colours", "random",
                  "--foreground-fraction", "0.1", *TINY, "--augment", "--out", str(tmp_path)])
    assert seen["augment"] == [{"flip": "horizontal", "seed": 0}]  # the old --augment
    assert seen["model"].num_classes == 3
    assert "3 classes (background, disk, line)" in capsys.readouterr().out


@pytest.mark.parametrize("args, status, fragments", [
    (["--augment", "zoom=x"], 2, ["--augment 'zoom=x': zoom needs a number"]),
    (["--augment", "spin=1"], 2, ["unknown option 'spin'", "rotate90"]),
    (["--resize", "squash"], 2, ["argument --resize: invalid choice: 'squash'"]),
    (["--mask-format", "rgb"], 2, ["argument --mask-format: invalid choice: 'rgb'"]),
    (["--palette", "0,0,0 300,0,0"], 2, ["palette must list one colour per class"]),
    (["--mask-format", "palette"], 1, ["--mask-format palette needs --palette"]),
    (["--palette", "0,0,0 9,9,9", "--mask-format", "binary"], 1, ["drop --mask-format binary or --palette"]),
    (["--resize", "pad"], 1, ["resize='pad' pads masks with ignore_index"]),
])
def test_data_option_errors(data, args, status, fragments, capsys):
    argv = ["train", "--data", str(data), "--classes", "3", *TINY, *args]
    if status == 2:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2
    else:
        assert cli.main(argv) == 1
    user_error(status, capsys.readouterr().err, "segzoo train", *fragments)


def test_shapes_option_errors(capsys):
    assert cli.main(["train", "--dataset", "shapes", "--shapes", "disk,blob"]) == 1
    user_error(1, capsys.readouterr().err, "segzoo train", "'blob'", "line")
    assert cli.main(["train", "--dataset", "shapes", "--shapes", "disk,line", "--classes", "4"]) == 1
    user_error(1, capsys.readouterr().err, "segzoo train", "that is --classes 3")


def test_palette_and_augment_arguments():
    from segzoo.cli import arguments

    assert arguments.palette("0,0,0 #ff8000;1,2,3") == [(0, 0, 0), (255, 128, 0), (1, 2, 3)]
    assert arguments.augmentation("flip=none, rotation=0.25,crop=24x16,noise=2") == {
        "flip": None, "rotation": 0.25, "crop": (24, 16), "noise": 2.0}
