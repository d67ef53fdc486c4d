"""Save a compiled segzoo model and load it in a fresh Python, with no custom_objects.

    python examples/save_and_load.py                     # about 20-30 s on 2 CPU cores
    python examples/save_and_load.py --steps 20 --out runs/save_and_load

A tiny U-Net is trained a few steps with a segzoo combined loss (Dice + Focal) and segzoo
metrics, then saved two ways: model.save("model.keras") (the whole model with its loss,
metrics and optimizer state) and segzoo.save_pretrained(model, folder) (a checkpoint
folder: config.json, weights, model card). A new interpreter that runs only `import
segzoo, keras` then loads both, checks its predictions against the ones made before
saving, shows that the loss and metrics came back as segzoo classes, and trains one more
step. A second new interpreter that leaves out `import segzoo` shows the error users meet:
Keras finds the segzoo classes only once the package has been imported.
"""

import argparse
import os
import subprocess
import sys
import tempfile

# Quiets part of TensorFlow's C++ start-up logging; only read if set before the import.
# The child interpreters inherit it through the environment.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import segzoo  # noqa: E402

NUM_CLASSES = 3
IMAGE_SIZE = 64
BATCH_SIZE = 8

# Run in a fresh interpreter: nothing of this script is imported there, only segzoo and keras.
# argv: model.keras, checkpoint folder, arrays.npz
FRESH_WITH_SEGZOO = r"""
import sys
import numpy as np
import segzoo, keras  # importing segzoo registers its model, losses and metrics with Keras

model_path, folder, arrays_path = sys.argv[1:]
arrays = np.load(arrays_path)
x, y, reference = arrays["x"], arrays["y"], arrays["reference"]


def describe(model, label):
    difference = float(np.abs(model.predict_on_batch(x) - reference).max())
    print(f"{label}: max abs difference of predictions {difference:.2e}")
    print(f"  loss: {type(model.loss).__module__}.{type(model.loss).__name__}")
    for member in getattr(model.loss, "losses", []):
        print(f"    {type(member).__name__} {member.get_config()}")
    steps = int(model.optimizer.iterations.numpy())
    model.fit(x, y, epochs=1, verbose=0)  # one more step: the loaded model trains on
    metrics = [m for m in model.metrics if m.name == "compile_metrics"][0].metrics
    for metric in metrics:  # compiled metrics are built by the first step
        kind = f"{type(metric).__module__}.{type(metric).__name__}"
        print(f"  metric {metric.name}: {kind} {metric.get_config()}")
    after = int(model.optimizer.iterations.numpy())
    print(f"  optimizer steps before and after one fit step: {steps} -> {after}")


describe(keras.saving.load_model(model_path), "keras.saving.load_model(model.keras)")
describe(segzoo.from_pretrained(folder, compile=True), "segzoo.from_pretrained(folder, compile=True)")
"""

# The same load without `import segzoo`: the pitfall.
FRESH_WITHOUT_SEGZOO = r"""
import sys
import keras

try:
    keras.saving.load_model(sys.argv[1])
except Exception as error:
    first_line = str(error).splitlines()[0]
    # The line goes on with the model's whole config; the sentence before it is the message.
    print(f"{type(error).__name__}: {first_line.split(' Full object config')[0]}")
else:
    print("loaded: unexpected, segzoo was not imported")
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=8, help="training steps before saving")
    parser.add_argument("--out", help="directory for the saved files (default: a temporary one)")
    return parser.parse_args()


def train_model(steps):
    """A few steps are enough: the point is what comes back after loading, not accuracy."""
    model = segzoo.build("unet", backbone="none", num_classes=NUM_CLASSES, activation="softmax",
                         input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3), depth=3, encoder_filters=8)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=segzoo.losses.Dice() + segzoo.losses.Focal(gamma=2.0),
                  metrics=[segzoo.metrics.IoU(NUM_CLASSES), segzoo.metrics.Dice(NUM_CLASSES)])
    data = segzoo.datasets.shapes(64, image_size=IMAGE_SIZE, num_classes=NUM_CLASSES,
                                  batch_size=BATCH_SIZE)
    model.fit(data.train.map(scale).repeat(), steps_per_epoch=steps, epochs=1, verbose=2)
    x, y = (np.asarray(a) for a in next(iter(data.validation.map(scale))))
    return model, x, y


def scale(images, masks):
    return images / 127.5 - 1.0, masks


def run_fresh(code, *argv):
    """Run `code` in a new interpreter; print its output, and its stderr only if it failed."""
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                            check=False)
    print(result.stdout.rstrip())
    if result.returncode != 0:
        print(result.stderr[-3000:])
        raise SystemExit(f"the fresh interpreter exited with {result.returncode}")


def main():
    args = parse_args()
    keras.utils.set_random_seed(0)
    model, x, y = train_model(args.steps)

    out_dir = args.out or tempfile.mkdtemp(prefix="segzoo-save-and-load-")
    os.makedirs(out_dir, exist_ok=True)
    model_path, folder = os.path.join(out_dir, "model.keras"), os.path.join(out_dir, "checkpoint")
    arrays_path = os.path.join(out_dir, "arrays.npz")
    model.save(model_path)
    segzoo.save_pretrained(model, folder)
    # The input and this process's predictions, for the fresh interpreter to compare with.
    np.savez(arrays_path, x=x, y=y, reference=model.predict_on_batch(x))
    print(f"\nsaved {model_path} and {folder}/ ({', '.join(sorted(os.listdir(folder)))})")

    print("\n--- fresh interpreter: import segzoo, keras; no custom_objects ---")
    run_fresh(FRESH_WITH_SEGZOO, model_path, folder, arrays_path)
    print("\n--- fresh interpreter without `import segzoo` ---")
    run_fresh(FRESH_WITHOUT_SEGZOO, model_path)
    print("fix: `import segzoo` before keras.saving.load_model (no custom_objects needed)")


if __name__ == "__main__":
    main()
