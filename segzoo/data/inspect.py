"""Scan a folder dataset once, streaming, and report what would break or bias training:
unpaired or unreadable files, labels outside the classes, image/mask size mismatches, and
the class pixel histogram."""

import collections
import dataclasses

import numpy as np
import tensorflow as tf

from segzoo.core.labels import range_message
from segzoo.data.decode import (
    UNKNOWN_COLOUR,
    check_mask_format,
    decode_image,
    decode_mask,
    decode_mask_encoding,
)
from segzoo.data.files import check_indexed_png_support, check_tiff_support, match_files
from segzoo.errors import DataError


@dataclasses.dataclass
class DatasetReport:
    """What `inspect` found. `problems` lists one sentence per bad file, naming it."""

    num_classes: int
    pairs: int
    class_pixels: np.ndarray  # (num_classes,) pixels of each class
    class_images: np.ndarray  # (num_classes,) masks in which each class appears
    ignored_pixels: int
    image_sizes: collections.Counter  # {(height, width): number of images}
    out_of_range: list  # [(mask path, sorted bad labels)]; -1 = a colour not in the palette
    size_mismatches: list  # [(image path, mask path, image (h, w), mask (h, w))]
    unreadable: list  # [(path, reason)]
    unpaired_images: list
    unpaired_masks: list
    # {how masks store labels, e.g. "index: palette PNG indices", "binary 0/1": number of masks}
    mask_encodings: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    @property
    def problems(self):
        found = [f"{_name(p)}: no mask with the same file name (pass mask_suffix if masks are "
                 "named like 'x_mask.png')" for p in self.unpaired_images]
        found += [f"{_name(p)}: a mask with no image of the same file name" for p in self.unpaired_masks]
        found += [f"{_name(path)}: cannot be decoded ({reason}); replace or remove the file"
                  for path, reason in self.unreadable]
        found += [f"{_name(image)} is {_size(a)} but its mask {_name(mask)} is {_size(b)}; "
                  "masks must have their image's size" for image, mask, a, b in self.size_mismatches]
        found += [_label_problem(path, labels, self.num_classes) for path, labels in self.out_of_range]
        return found

    @property
    def ok(self):
        return not self.problems

    def raise_if_problems(self):
        problems = self.problems
        if problems:
            more = f" ({len(problems) - 1} more problems: segzoo.data.inspect(...) lists them all)" if len(problems) > 1 else ""
            raise DataError(problems[0] + "." + more)

    def __str__(self):
        labelled = max(int(self.class_pixels.sum()), 1)
        lines = [f"{self.pairs} image/mask pairs, {self.num_classes} classes, "
                 f"image sizes: " + ", ".join(f"{_size(s)} ({n})" for s, n in self.image_sizes.most_common(5))]
        lines.append(f"{'class':>6} {'pixels':>14} {'share':>8} {'images':>7}")
        for c in range(self.num_classes):
            lines.append(f"{c:>6} {int(self.class_pixels[c]):>14} {self.class_pixels[c] / labelled:>8.2%} "
                         f"{int(self.class_images[c]):>7}")
        if self.mask_encodings:
            encodings = self.mask_encodings.most_common()
            lines.append("mask encodings: " + ", ".join(f"{kind} ({n})" for kind, n in encodings))
        if self.ignored_pixels:
            lines.append(f"ignored pixels: {self.ignored_pixels}")
        problems = self.problems
        lines.append(f"{len(problems)} problems" + (":" if problems else "."))
        lines += [f"  - {p}" for p in problems]
        return "\n".join(lines)


def inspect(images_dir, masks_dir, num_classes, mask_format="index", palette=None, mask_suffix="",
            ignore_index=None):
    """Scan every image/mask pair once (decoded in parallel, nothing kept in memory) and
    return a DatasetReport: class histogram, image sizes, and each unpaired or unreadable
    file, out-of-range label and size mismatch. `print(report)` shows it as a table."""
    check_mask_format(num_classes, mask_format, palette)
    pairs, lonely_images, lonely_masks = match_files(images_dir, masks_dir, mask_suffix)
    report = scan(pairs, num_classes, mask_format, palette, ignore_index)
    report.unpaired_images, report.unpaired_masks = lonely_images, lonely_masks
    return report


def scan(pairs, num_classes, mask_format, palette, ignore_index):
    """The DatasetReport of already paired files (unpaired lists left empty)."""
    check_tiff_support([path for pair in pairs for path in pair])
    check_indexed_png_support([pair[1] for pair in pairs], mask_format)
    report = DatasetReport(num_classes, len(pairs), np.zeros(num_classes, np.int64), np.zeros(num_classes, np.int64),
                           0, collections.Counter(), [], [], [], [], [])
    seen = set()
    for index, image_size, mask_size, counts, ignored, bad, encoding in _statistics(pairs, num_classes, mask_format,
                                                                                    palette, ignore_index):
        seen.add(int(index))
        report.mask_encodings[encoding.decode()] += 1
        image, mask = pairs[index]
        report.class_pixels += counts
        report.class_images += counts > 0
        report.ignored_pixels += int(ignored)
        report.image_sizes[tuple(image_size.tolist())] += 1
        if (image_size != mask_size).any():
            report.size_mismatches.append((image, mask, tuple(image_size.tolist()), tuple(mask_size.tolist())))
        if bad.size:
            report.out_of_range.append((mask, sorted(bad.tolist())))
    for index in sorted(set(range(len(pairs))) - seen):
        report.unreadable += _why_unreadable(*pairs[index], mask_format, palette)
    return report


def _statistics(pairs, num_classes, mask_format, palette, ignore_index):
    """Per readable pair: (index, image (h, w), mask (h, w), class counts, ignored, bad labels,
    mask encoding).
    A pair that fails to decode is dropped; the caller finds out why."""

    def measure(index, image_path, mask_path):
        image = decode_image(image_path)
        mask, encoding = decode_mask_encoding(mask_path, mask_format, palette)
        labels = tf.reshape(mask, [-1])
        ignored = labels == ignore_index if ignore_index is not None else tf.zeros_like(labels, tf.bool)
        valid = (labels >= 0) & (labels < num_classes) & ~ignored
        counts = tf.math.bincount(tf.boolean_mask(labels, valid), minlength=num_classes, maxlength=num_classes,
                                  dtype=tf.int64)
        bad = tf.unique(tf.boolean_mask(labels, ~valid & ~ignored)).y
        return (index, tf.shape(image)[:2], tf.shape(mask)[:2], counts, tf.reduce_sum(tf.cast(ignored, tf.int64)), bad,
                encoding)

    indices = tf.data.Dataset.range(len(pairs))
    paths = tf.data.Dataset.from_tensor_slices(([p[0] for p in pairs], [p[1] for p in pairs]))
    data = tf.data.Dataset.zip(indices, paths).map(lambda i, p: measure(i, *p), num_parallel_calls=tf.data.AUTOTUNE)
    return data.ignore_errors().prefetch(tf.data.AUTOTUNE).as_numpy_iterator()


def _why_unreadable(image_path, mask_path, mask_format, palette):
    """Decode each file of a failed pair on its own to name the culprit and the reason."""
    found = []
    for path, read in ((image_path, decode_image), (mask_path, lambda p: decode_mask(p, mask_format, palette))):
        try:
            read(tf.constant(path))
        except Exception as error:  # noqa: BLE001 - any decoder failure is the report's content
            found.append((path, _first_line(error)))
    return found or [(image_path, "the pair failed to decode together")]


def _first_line(error):
    message = getattr(error, "message", None) or str(error)
    return message.strip().splitlines()[0][:200] if message.strip() else type(error).__name__


def _label_problem(path, labels, num_classes):
    colours = UNKNOWN_COLOUR in labels
    labels = [label for label in labels if label != UNKNOWN_COLOUR]
    if colours and not labels:
        return f"{_name(path)} holds colours that are not in the palette (add them to palette)"
    message = range_message(_name(path), np.array(labels), num_classes)
    if colours:
        message += " It also holds colours that are not in the palette (add them to palette)."
    return message.removesuffix(".")  # the report ends each problem itself


def _name(path):
    return str(path)


def _size(shape):
    return f"{shape[0]}x{shape[1]}"
