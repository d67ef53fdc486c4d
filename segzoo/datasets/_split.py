"""What the built-in datasets return: (train, validation) tf.data datasets that can
also write themselves to folders of PNG images and masks."""

import os
from typing import NamedTuple

import numpy as np
import tensorflow as tf


class Split(NamedTuple):
    train: tf.data.Dataset
    validation: tf.data.Dataset
    arrays: dict  # {"train": (images, masks), "validation": (images, masks)}, uint8

    def to_folders(self, directory):
        """Write <directory>/<split>/images/<i>.png and <directory>/<split>/masks/<i>.png
        (masks hold class ids as pixel values); returns the directory."""
        for split, (images, masks) in self.arrays.items():
            for kind, arrays in (("images", images), ("masks", masks[..., None])):
                folder = os.path.join(directory, split, kind)
                os.makedirs(folder, exist_ok=True)
                for index, array in enumerate(arrays):
                    tf.io.write_file(os.path.join(folder, f"{index:05d}.png"), tf.io.encode_png(array))
        return directory


def validation_count(count, validation_fraction):
    """How many of `count` images make_split puts first, in the validation split."""
    return max(1, int(round(count * validation_fraction))) if validation_fraction else 0


def make_split(images, masks, validation_fraction, batch_size, seed):
    validation = validation_count(len(images), validation_fraction)
    arrays = {"train": (images[validation:], masks[validation:]), "validation": (images[:validation], masks[:validation])}
    train = _dataset(*arrays["train"], batch_size).shuffle(64, seed=seed, reshuffle_each_iteration=True)
    return Split(train, _dataset(*arrays["validation"], batch_size), arrays)


def _dataset(images, masks, batch_size):
    data = tf.data.Dataset.from_tensor_slices((images.astype(np.float32), masks.astype(np.int32)))
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
