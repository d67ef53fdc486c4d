"""Images/s of `segzoo.data.from_folders` (tf.data) against a `keras.utils.PyDataset`
that does the same work per item: read and decode a PNG pair (512x512 RGB image, index
mask of 4 classes), resize the image bilinearly and the mask nearest to 256x256, apply
the same augmentation (segzoo's Augment: flip, rotate90, rotation, zoom, brightness,
contrast, noise) and stack batches of 8.

Both are consumed the way `model.fit` consumes them on the TensorFlow backend: a Keras
data adapter, `on_epoch_begin`, iterate `get_tf_dataset()`, `on_epoch_end`; a value of
every batch is read back. Epochs are interleaved (segzoo, baseline 1, baseline 2, ...,
segzoo, ...) so that other load on the machine hits all pipelines alike. Epoch 1
(tf.data warm-up, first eager calls, worker start) is reported apart from the steady
epochs after it; building the pipeline ("setup") is in neither. CPU ms per image of
this process is reported next to images/s: on a shared machine it moves much less.

Run: python -m benchmarks.data_pipeline [--pairs 1000] [--size 512] [--target 256]
     [--batch 8] [--epochs 2] [--workdir DIR] [--markdown BENCHMARKS.md]
Where the time goes: python -m benchmarks.data_pipeline --profile [--pairs 256]
"""

import argparse
import datetime
import faulthandler
import math
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras.src.trainers.data_adapters import get_data_adapter  # noqa: E402

import segzoo  # noqa: E402
from benchmarks._machine import load, machine  # noqa: E402

NUM_CLASSES = 4
AUGMENT = {"flip": "horizontal", "rotate90": True, "rotation": 0.05, "zoom": 0.1,
           "brightness": 0.2, "contrast": 0.2, "noise": 3.0}


def segzoo_augment(seed=0):
    return segzoo.data.augment(**AUGMENT, seed=seed)


def fused_augment(seed=0):
    return FusedAugment(**AUGMENT, seed=seed)


# --------------------------------------------------------------------------- data


def write_pairs(directory, pairs, size, chunk=50):
    """<directory>/images/<i>.png (RGB) and <directory>/masks/<i>.png (class ids), made
    once with segzoo.datasets.shapes; reused when a complete set is already there."""
    images_dir, masks_dir = os.path.join(directory, "images"), os.path.join(directory, "masks")
    done = os.path.join(directory, "COMPLETE")
    if os.path.exists(done):
        return images_dir, masks_dir, 0.0
    start = time.perf_counter()
    os.makedirs(images_dir, exist_ok=True)
    os.makedirs(masks_dir, exist_ok=True)
    for first in range(0, pairs, chunk):
        count = min(chunk, pairs - first)
        split = segzoo.datasets.shapes(max(count, 2), image_size=size, num_classes=NUM_CLASSES,
                                       seed=first, validation_fraction=0.0)
        images, masks = split.arrays["train"]
        for offset in range(count):
            name = f"{first + offset:05d}.png"
            tf.io.write_file(os.path.join(images_dir, name), tf.io.encode_png(images[offset]))
            tf.io.write_file(os.path.join(masks_dir, name),
                             tf.io.encode_png(masks[offset][..., None]))
    with open(done, "w") as marker:
        marker.write(f"{pairs} pairs {size}x{size}\n")
    return images_dir, masks_dir, time.perf_counter() - start


# --------------------------------------------------------------------------- baseline


class PairsPyDataset(keras.utils.PyDataset):
    """What a user would write: per item read, decode, resize and augment (segzoo's
    Augment on a batch of one), then stack a batch. compiled=True wraps the augmentation
    in a tf.function: one graph call per item instead of some hundred eager ops."""

    def __init__(self, pairs, target, batch_size, compiled=False, make_augment=segzoo_augment,
                 seed=0, **kwargs):
        super().__init__(**kwargs)
        self.pairs = pairs
        self.target = (target, target)
        self.batch_size = batch_size
        self.seed = seed
        self.compiled = compiled
        self.make_augment = make_augment
        self.order = np.random.default_rng(seed).permutation(len(pairs))
        self.epoch = 0
        self._build_augment()

    def _build_augment(self):
        augment = self.make_augment(self.seed)
        self.augment = tf.function(augment, reduce_retracing=True) if self.compiled else augment

    def __getstate__(self):  # use_multiprocessing: each worker builds its own augmentation
        state = dict(self.__dict__)
        state.pop("augment", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._build_augment()

    def __len__(self):
        return math.ceil(len(self.pairs) / self.batch_size)

    def __getitem__(self, index):
        images, masks = [], []
        for item in self.order[index * self.batch_size:(index + 1) * self.batch_size]:
            image_path, mask_path = self.pairs[item]
            image = tf.io.decode_png(tf.io.read_file(image_path), channels=3)
            mask = tf.io.decode_png(tf.io.read_file(mask_path), channels=1)
            image = tf.image.resize(tf.cast(image, tf.float32), self.target, method="bilinear")
            mask = tf.image.resize(mask, self.target, method="nearest")[..., 0]
            image, mask = self.augment(image[None], mask[None])
            images.append(image[0].numpy())
            masks.append(mask[0].numpy())
        return np.stack(images), np.stack(masks)

    def on_epoch_end(self):
        self.epoch += 1
        self.order = np.random.default_rng(self.seed + self.epoch).permutation(len(self.pairs))


# name: (workers, use_multiprocessing, tf.function around the augmentation)
BASELINES = {
    "PyDataset workers=1": (1, False, False),
    "PyDataset workers=2 threads": (2, False, False),
    "PyDataset workers=2 processes": (2, True, False),
    "PyDataset workers=1 + tf.function augment": (1, False, True),
    "PyDataset workers=2 threads + tf.function augment": (2, False, True),
}
DEFAULT_BASELINES = [n for n in BASELINES if n != "PyDataset workers=1 + tf.function augment"]
# The headline ratio is against the fastest of these: the PyDataset as a user writes it,
# at each standard parallelism setting. The tf.function ones are a tuned baseline.
PLAIN_BASELINES = ("PyDataset workers=1", "PyDataset workers=2 threads",
                   "PyDataset workers=2 processes")
BASELINES_TUNED = "PyDataset workers=2 threads + tf.function augment"


def baseline_pipeline(pairs, args, workers, multiprocess, compiled, make_augment=segzoo_augment):
    return lambda: PairsPyDataset(pairs, args.target, args.batch, compiled=compiled,
                                  make_augment=make_augment, workers=workers,
                                  use_multiprocessing=multiprocess, max_queue_size=10)


def segzoo_pipeline(images_dir, masks_dir, args, **overrides):
    options = {"image_size": args.target, "num_classes": NUM_CLASSES, "batch_size": args.batch,
               "shuffle": True, "seed": 0, "augment": segzoo_augment(0)}
    options.update(overrides)
    return lambda: segzoo.data.from_folders(images_dir, masks_dir, **options)


# --------------------------------------------------------------------------- runner


class Runner:
    """One pipeline, consumed like model.fit on the TensorFlow backend consumes it."""

    def __init__(self, name, build):
        self.name = name
        self.epochs = []  # (seconds, images, CPU seconds of this process)
        self.error = None
        start = time.perf_counter()
        data = build()
        is_py_dataset = isinstance(data, keras.utils.PyDataset)
        # model.fit passes shuffle=True; for a tf.data.Dataset it would only warn.
        self.adapter = get_data_adapter(data, shuffle=is_py_dataset)
        self.dataset = self.adapter.get_tf_dataset()  # a PyDataset: 2 batches read for the spec
        self.multiprocess = is_py_dataset and data.use_multiprocessing
        self.setup_seconds = time.perf_counter() - start

    def epoch(self, timeout):
        faulthandler.dump_traceback_later(timeout, exit=True)  # a hung worker must not hang us
        try:
            self.adapter.on_epoch_begin()
            images, checksum = 0, 0.0
            start, cpu = time.perf_counter(), time.process_time()
            for x, y in self.dataset:
                checksum += float(x[-1, -1, -1, -1]) + float(y[-1, -1, -1])  # read back a value
                images += int(x.shape[0])
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            self.adapter.on_epoch_end()
        finally:
            faulthandler.cancel_dump_traceback_later()
        self.epochs.append((seconds, images, cpu))
        return seconds, images, cpu

    def rate(self, which):
        chosen = self.epochs[:1] if which == "first" else self.epochs[1:]
        return statistics.median(n / s for s, n, _ in chosen) if chosen else float("nan")

    def cpu_ms(self):
        """CPU time of this process (all its threads) per image over the steady epochs;
        None with use_multiprocessing, whose workers are other processes."""
        chosen = self.epochs[1:] or self.epochs
        if self.multiprocess or not chosen:
            return None
        return statistics.median(1000 * c / n for _, n, c in chosen)


def interleave(runners, rounds, timeout):
    for round_ in range(rounds):
        for runner in runners:
            if runner.error:
                continue
            try:
                seconds, images, cpu = runner.epoch(timeout)
            except Exception as error:  # noqa: BLE001 - a pipeline that cannot run is reported
                runner.error = f"{type(error).__name__}: {error}"[:120]
                print(f"  epoch {round_ + 1} {runner.name}: failed: {runner.error}")
                continue
            print(f"  epoch {round_ + 1} {runner.name:<58}{images / seconds:8.1f} images/s  "
                  f"({seconds:5.1f} s, {1000 * cpu / images:5.1f} CPU ms/image, load {load()})",
                  flush=True)


def table(runners, steady_epochs):
    lines = [
        (f"| pipeline | epoch 1 images/s | steady images/s (median of {steady_epochs}) "
         "| CPU ms/image (steady) | setup s |"),
        "|---|---:|---:|---:|---:|",
    ]
    for runner in runners:
        if runner.error:
            lines.append(f"| {runner.name} | failed: {runner.error} | | | |")
            continue
        cpu = runner.cpu_ms()
        cpu = "workers not counted" if cpu is None else f"{cpu:.1f}"
        lines.append(f"| {runner.name} | {runner.rate('first'):.1f} "
                     f"| {runner.rate('steady'):.1f} | {cpu} | {runner.setup_seconds:.1f} |")
    return lines


def ratio_line(ours, baselines, label):
    ran = [r for r in baselines if not r.error and len(r.epochs) > 1]
    if not ran:
        return f"- {label}: no baseline ran"
    fastest = max(ran, key=lambda r: r.rate("steady"))
    steady = ours.rate("steady") / fastest.rate("steady")
    first = ours.rate("first") / max(r.rate("first") for r in ran)
    cpu_ours, cpu_theirs = ours.cpu_ms(), fastest.cpu_ms()
    cpu = f"; CPU per image {cpu_theirs / cpu_ours:.2f}x less" if cpu_ours and cpu_theirs else ""
    return (f"- {ours.name} / {label} ({fastest.name}, {fastest.rate('steady'):.1f} images/s): "
            f"**{steady:.2f}x** steady, {first:.2f}x in epoch 1{cpu}")


# --------------------------------------------------------------------------- profile


class FusedAugment:
    """A copy of segzoo.data.augment.Augment (same options, same distribution of
    transforms) that composes flip, rotate90, rotation and zoom into ONE affine matrix
    per sample and warps images (bilinear) and masks (nearest) once, with reflection,
    instead of RandomFlip + 4 stacked rot90s + RandomRotation + RandomZoom (4 passes,
    the rot90 one computing all four turns). Quarter turns stay exact (integer cos/sin).
    Only what this benchmark uses is written (translation and crop are left out)."""

    def __init__(self, flip="horizontal", rotate90=False, rotation=0.0, zoom=0.0,
                 brightness=0.0, contrast=0.0, noise=0.0, seed=None):
        self.flip, self.rotate90, self.rotation, self.zoom = flip, rotate90, rotation, zoom
        self.noise = float(noise)
        self.generator = (tf.random.Generator.from_seed(seed) if seed is not None
                          else tf.random.Generator.from_non_deterministic_state())
        self.photometric = []
        if brightness:
            self.photometric.append(
                keras.layers.RandomBrightness(brightness, value_range=(0, 255), seed=seed))
        if contrast:
            self.photometric.append(
                keras.layers.RandomContrast(contrast, value_range=(0, 255), seed=seed))

    def transforms(self, batch, height, width):
        """(B, 8) projective transforms, output pixel -> input pixel, about the centre:
        input = flip . rotate(k * 90 deg + angle) . zoom . output."""
        draw = self.generator.uniform
        one = tf.ones((batch,))
        if self.rotate90:  # tf.image.rot90(k) is a rotation by k * 90 deg in this convention
            k = draw((batch,), 0, 4, dtype=tf.int32)
            cos = tf.gather(tf.constant([1.0, 0.0, -1.0, 0.0]), k)
            sin = tf.gather(tf.constant([0.0, 1.0, 0.0, -1.0]), k)
        else:
            cos, sin = one, 0.0 * one
        if self.rotation:  # as keras RandomRotation: uniform in +-rotation of a full turn
            angle = draw((batch,), -self.rotation, self.rotation) * 2.0 * math.pi
            c, s = tf.cos(angle), tf.sin(angle)
            cos, sin = cos * c - sin * s, sin * c + cos * s
        zoom = 1.0 + draw((batch,), -self.zoom, self.zoom) if self.zoom else one  # as RandomZoom
        horizontal = self.flip in ("horizontal", "horizontal_and_vertical")
        vertical = self.flip in ("vertical", "horizontal_and_vertical")
        fx = tf.where(draw((batch,)) < 0.5, -1.0, 1.0) if horizontal else one
        fy = tf.where(draw((batch,)) < 0.5, -1.0, 1.0) if vertical else one
        a0, a1, b0, b1 = fx * zoom * cos, -fx * zoom * sin, fy * zoom * sin, fy * zoom * cos
        cx, cy = (tf.cast(width, tf.float32) - 1) / 2, (tf.cast(height, tf.float32) - 1) / 2
        zero = 0.0 * one
        return tf.stack([a0, a1, cx - a0 * cx - a1 * cy, b0, b1, cy - b0 * cx - b1 * cy,
                         zero, zero], axis=1)

    def __call__(self, images, masks):
        shape = tf.shape(images)
        masks = tf.cast(masks, tf.float32)[..., None]
        if self.flip or self.rotate90 or self.rotation or self.zoom:
            transforms = self.transforms(shape[0], shape[1], shape[2])

            def warp(tensor, interpolation):
                return tf.raw_ops.ImageProjectiveTransformV3(
                    images=tensor, transforms=transforms, output_shape=shape[1:3],
                    fill_value=0.0, interpolation=interpolation, fill_mode="REFLECT")

            images, masks = warp(images, "BILINEAR"), warp(masks, "NEAREST")
        for layer in self.photometric:
            images = layer(images, training=True)
        if self.noise:
            images = images + self.generator.normal(tf.shape(images), stddev=self.noise)
        images = tf.clip_by_value(images, 0.0, 255.0)
        return images, tf.cast(tf.round(masks[..., 0]), tf.int32)


def check_fused():
    """How many of 8 samples of FusedAugment(flip, rotate90) equal, pixel for pixel in
    image and mask, one of the 8 flip x rot90 results of tf.image."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.integers(0, 256, (8, 32, 32, 3)), tf.float32)
    y = tf.constant(rng.integers(0, 4, (8, 32, 32)), tf.int32)
    xa, ya = FusedAugment(flip="horizontal", rotate90=True, seed=1)(x, y)
    exact = 0
    for b in range(8):
        candidates = []
        for flip in (False, True):
            xx, yy = x[b], y[b][..., None]
            if flip:
                xx, yy = tf.image.flip_left_right(xx), tf.image.flip_left_right(yy)
            candidates += [(tf.image.rot90(xx, k), tf.image.rot90(yy, k)) for k in range(4)]
        exact += any(np.array_equal(xx.numpy(), xa[b].numpy())
                     and np.array_equal(yy[..., 0].numpy(), ya[b].numpy())
                     for xx, yy in candidates)
    return exact


class Ms:
    """Wall ms (median of the repeats) and CPU ms (mean) of one piece."""

    def __init__(self, wall, cpu):
        self.wall, self.cpu = wall, cpu

    def __truediv__(self, count):
        return Ms(self.wall / count, self.cpu / count)


def timed(function, repeats, warmup=2):
    for _ in range(warmup):
        function()
    times = []
    cpu = time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return Ms(statistics.median(times) * 1000, (time.process_time() - cpu) / repeats * 1000)


def pieces(pairs, args, repeats):
    """(name, Ms per image) of each piece of the work, one call at a time."""
    target = (args.target, args.target)
    sample = pairs[: min(len(pairs), 32)]
    contents = [(tf.io.read_file(i), tf.io.read_file(m)) for i, m in sample]
    decoded = [(tf.cast(tf.io.decode_png(i, channels=3), tf.float32),
                tf.io.decode_png(m, channels=1)) for i, m in contents]
    resized = [(tf.image.resize(i, target), tf.image.resize(m, target, "nearest")[..., 0])
               for i, m in decoded]
    batch = (tf.stack([i for i, _ in resized[: args.batch]]),
             tf.stack([m for _, m in resized[: args.batch]]))
    eager = segzoo_augment(0)
    one_graph = tf.function(segzoo_augment(0), reduce_retracing=True)
    batch_graph = tf.function(segzoo_augment(0))
    no_noise = tf.function(segzoo.data.augment(**{**AUGMENT, "noise": 0.0}, seed=0))
    fused_graph = tf.function(fused_augment(0))
    fused_no_noise = tf.function(FusedAugment(**{**AUGMENT, "noise": 0.0}, seed=0))

    def per_item(function, items):
        def run():
            for item in items:
                for tensor in function(*item):
                    tensor.numpy()
        return timed(run, repeats) / len(items)

    def per_image(function):
        return per_item(function, [batch]) / args.batch

    b = args.batch
    return [
        ("read 2 files", per_item(lambda i, m: (tf.io.read_file(i), tf.io.read_file(m)), sample)),
        ("decode PNG pair", per_item(lambda i, m: (tf.io.decode_png(i, channels=3),
                                                   tf.io.decode_png(m, channels=1)), contents)),
        ("resize pair", per_item(lambda i, m: (tf.image.resize(i, target),
                                               tf.image.resize(m, target, "nearest")), decoded)),
        ("segzoo augment, batch of 1, eager (baseline)",
         per_item(lambda i, m: eager(i[None], m[None]), resized)),
        ("segzoo augment, batch of 1, tf.function",
         per_item(lambda i, m: one_graph(i[None], m[None]), resized)),
        (f"segzoo augment, batch of {b}, tf.function (from_folders)", per_image(batch_graph)),
        (f"segzoo augment, batch of {b}, tf.function, noise=0", per_image(no_noise)),
        (f"FusedAugment copy, batch of {b}, tf.function", per_image(fused_graph)),
        (f"FusedAugment copy, batch of {b}, tf.function, noise=0", per_image(fused_no_noise)),
    ]


def rearranged_variants(images_dir, masks_dir, args):
    """Copies of from_folders' pipeline (its own reader) with order or parallelism changed."""
    from segzoo.data.folders import pair_reader

    pairs = segzoo.data.pair_files(images_dir, masks_dir)
    read = pair_reader((args.target, args.target), NUM_CLASSES, "index", None, "stretch",
                   "bilinear", None)

    def paths():
        data = tf.data.Dataset.from_tensor_slices(([p[0] for p in pairs], [p[1] for p in pairs]))
        return data.shuffle(len(pairs), seed=0, reshuffle_each_iteration=True)

    def nondeterministic():
        data = paths().map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        data = data.batch(args.batch).map(segzoo_augment(0), num_parallel_calls=tf.data.AUTOTUNE,
                                          deterministic=False)
        return data.prefetch(tf.data.AUTOTUNE)

    def one_map_per_batch():
        augment = segzoo_augment(0)

        def read_batch(image_paths, mask_paths):
            images, masks = tf.map_fn(lambda p: read(p[0], p[1]), (image_paths, mask_paths),
                                      fn_output_signature=(tf.float32, tf.int32))
            return augment(images, masks)

        data = paths().batch(args.batch).map(read_batch, num_parallel_calls=tf.data.AUTOTUNE)
        return data.prefetch(tf.data.AUTOTUNE)

    def augment_per_item():
        augment = segzoo_augment(0)

        def one(image_path, mask_path):
            image, mask = read(image_path, mask_path)
            image, mask = augment(image[None], mask[None])
            return image[0], mask[0]

        data = paths().map(one, num_parallel_calls=tf.data.AUTOTUNE).batch(args.batch)
        return data.prefetch(tf.data.AUTOTUNE)

    return {
        "copy: deterministic=False on both maps": nondeterministic,
        "copy: read + augment in one map per batch": one_map_per_batch,
        "copy: augment per item, before batch": augment_per_item,
    }


def profile(images_dir, masks_dir, pairs, args):
    repeats = max(3, args.epochs + 1)
    exact = check_fused()
    piece_lines = [
        f"FusedAugment: flips and quarter turns pixel-exact on {exact} / 8 samples.", "",
        f"| piece, per image, one call at a time ({repeats} repeats) | wall ms | CPU ms |",
        "|---|---:|---:|",
    ]
    for name, ms in pieces(pairs, args, repeats):
        piece_lines.append(f"| {name} | {ms.wall:.2f} | {ms.cpu:.2f} |")
    print("\n".join(piece_lines))
    builds = {
        "segzoo from_folders": segzoo_pipeline(images_dir, masks_dir, args),
        "from_folders, augment=None": segzoo_pipeline(images_dir, masks_dir, args, augment=None),
        "from_folders, augment=FusedAugment copy": segzoo_pipeline(
            images_dir, masks_dir, args, augment=fused_augment(0)),
    }
    builds.update(rearranged_variants(images_dir, masks_dir, args))
    for name in ("PyDataset workers=1", BASELINES_TUNED):
        builds[name] = baseline_pipeline(pairs, args, *BASELINES[name])
        builds[name + ", FusedAugment"] = baseline_pipeline(pairs, args, *BASELINES[name],
                                                            make_augment=fused_augment)
    print(f"\npipelines, interleaved, {len(pairs)} pairs:")
    runners = [Runner(name, build) for name, build in builds.items()]
    interleave(runners, 1 + args.epochs, args.epoch_timeout)
    by_name = {r.name: r for r in runners}
    fused, tuned = "from_folders, augment=FusedAugment copy", BASELINES_TUNED
    ratios = [
        ratio_line(by_name["segzoo from_folders"], [by_name["PyDataset workers=1"]],
                   "PyDataset workers=1"),
        ratio_line(by_name[fused], [by_name["PyDataset workers=1, FusedAugment"]],
                   "PyDataset workers=1 with the same FusedAugment"),
        ratio_line(by_name["segzoo from_folders"], [by_name[tuned]], "tuned baseline"),
        ratio_line(by_name[fused], [by_name[tuned + ", FusedAugment"]],
                   "tuned baseline with the same FusedAugment"),
    ]
    return runners, piece_lines, ratios


# --------------------------------------------------------------------------- report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--size", type=int, default=512, help="side of the PNGs written")
    parser.add_argument("--target", type=int, default=256, help="side after resizing")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2,
                        help="steady epochs per pipeline, after epoch 1")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(),
                                                          "segzoo-benchmarks"),
                        help="where the PNG pairs are cached")
    parser.add_argument("--baselines", default=",".join(DEFAULT_BASELINES),
                        help="comma-separated subset of: " + ", ".join(BASELINES))
    parser.add_argument("--profile", action="store_true",
                        help="instead: where the time goes, segzoo variants, a fused augment")
    parser.add_argument("--epoch-timeout", type=int, default=300,
                        help="seconds before a hung epoch ends the run")
    parser.add_argument("--markdown", default=None,
                        help="append the results as Markdown to this file")
    args = parser.parse_args()
    command = " ".join(["python -m benchmarks.data_pipeline", *sys.argv[1:]])

    directory = os.path.join(args.workdir, f"pairs{args.pairs}-{args.size}px")
    images_dir, masks_dir, wrote = write_pairs(directory, args.pairs, args.size)
    print(f"data: {args.pairs} PNG pairs {args.size}x{args.size} in {directory}"
          + (f" (written in {wrote:.0f} s)" if wrote else " (reused)"))
    pairs = segzoo.data.pair_files(images_dir, masks_dir)
    load_before, start = load(), time.perf_counter()
    print(f"load average before: {load_before} (nproc {len(os.sched_getaffinity(0))})")

    piece_lines = []
    if args.profile:
        runners, piece_lines, ratios = profile(images_dir, masks_dir, pairs, args)
    else:
        runners = [Runner("segzoo from_folders", segzoo_pipeline(images_dir, masks_dir, args))]
        for name in [n.strip() for n in args.baselines.split(",") if n.strip()]:
            runners.append(Runner(name, baseline_pipeline(pairs, args, *BASELINES[name])))
        interleave(runners, 1 + args.epochs, args.epoch_timeout)
        plain = [r for r in runners[1:] if r.name in PLAIN_BASELINES]
        ratios = [ratio_line(runners[0], plain, "fastest PyDataset"),
                  ratio_line(runners[0], runners[1:], "fastest baseline incl. tuned")]
    load_after, total = load(), time.perf_counter() - start
    summary = ["", *ratios, "",
               (f"Load average (1, 5, 15 min) before: {load_before}; after: {load_after}; "
                f"nproc {len(os.sched_getaffinity(0))}; wall time {total:.0f} s.")]
    lines = table(runners, args.epochs)
    print()
    print("\n".join(lines + summary))

    if args.markdown:
        kind = "profile, " if args.profile else ""
        header = [
            "",
            (f"### {datetime.date.today().isoformat()}: {kind}{args.pairs} pairs, "
             f"{args.size} -> {args.target}, batch {args.batch}"),
            "",
            f"- Command: `{command}`",
            f"- Machine: {machine()}",
            (f"- Versions: Python {platform.python_version()}, TensorFlow {tf.__version__}, "
             f"Keras {keras.__version__}, NumPy {np.__version__}, "
             f"segzoo {getattr(segzoo, '__version__', '?')}"),
            "- Augment: `segzoo.data.augment("
            + ", ".join(f"{k}={v!r}" for k, v in AUGMENT.items()) + ", seed=0)`",
            "",
        ]
        pieces_block = piece_lines + [""] if piece_lines else []
        with open(args.markdown, "a") as out:
            out.write("\n".join(header + pieces_block + lines + summary) + "\n")
        print(f"\nappended to {args.markdown}")


if __name__ == "__main__":
    # TF is not fork-safe: with fork, use_multiprocessing's workers hang.
    multiprocessing.set_start_method("spawn", force=True)
    main()
