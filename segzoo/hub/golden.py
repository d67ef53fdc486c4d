"""The golden pair of a checkpoint: a small fixed input (input.npz) and the model's output
on it (output.npz), to check that a loaded model still computes what was saved."""

from pathlib import Path

import keras
import numpy as np

from segzoo.errors import CheckpointError
from segzoo.hub.checkpoint import GOLDEN_INPUT, GOLDEN_OUTPUT, check_folder

GOLDEN_SIZE = 64  # spatial size of the golden input where the model takes any size
GOLDEN_FILES = (GOLDEN_INPUT, GOLDEN_OUTPUT)


def write_golden(model, directory, preprocessing):
    """A small deterministic input in the backbone's input range, and the model's output."""
    shape = [GOLDEN_SIZE if side is None else side for side in model.model_input_shape]
    low, high = (-1.0, 1.0) if preprocessing == "tf" else (0.0, 255.0)
    x = np.random.default_rng(0).uniform(low, high, size=(1, *shape)).astype("float32")
    y = keras.ops.convert_to_numpy(model(x, training=False))
    np.savez(Path(directory) / GOLDEN_INPUT, input=x)
    np.savez(Path(directory) / GOLDEN_OUTPUT, output=y)


def check_golden(model, folder, atol=1e-4):
    """Run `model` on the folder's input.npz and compare with output.npz; returns the
    largest absolute difference, raises CheckpointError above `atol`."""
    folder = check_folder(folder, GOLDEN_FILES)
    with np.load(folder / GOLDEN_INPUT) as inputs, np.load(folder / GOLDEN_OUTPUT) as outputs:
        x, expected = inputs["input"], outputs["output"]
    got = keras.ops.convert_to_numpy(model(x, training=False))
    if got.shape != expected.shape:
        raise CheckpointError(f"The model outputs shape {got.shape}, the golden output is {expected.shape}.")
    difference = float(np.max(np.abs(got - expected)))
    if difference > atol:
        raise CheckpointError(
            f"The model's output differs from the golden output by up to {difference:.3g} (> {atol}). "
            "The weights or the code that builds the model changed since the checkpoint was saved."
        )
    return difference
