"""A picture of panels side by side (image / ground truth / prediction / errors), each
under a title, above a legend of class colours. The pixels are laid out in NumPy at
fixed places (`Picture.boxes`); the text goes into white bands kept free for it, drawn by
matplotlib when it is installed and left out otherwise."""

import dataclasses

import numpy as np

from segzoo.plots.colours import ERROR_KINDS, class_colours, enlarge, error_map, label_map

MARGIN, GAP, TITLE, SWATCH, ROW = 8, 8, 24, 14, 22
BORDER = (128, 128, 128)
CHAR_WIDTH = 7  # a generous average width of the legend's 11-pixel text


@dataclasses.dataclass
class Picture:
    pixels: np.ndarray  # (H, W, 3) uint8
    boxes: dict  # name -> (top, left, height, width): the panels, then "legend: <entry>"
    texts: list  # (text, x, y, size, ha): at pixel (x, y), drawn if matplotlib is there


def panels(image, prediction, num_classes, truth=None, class_names=None, errors=False, min_size=256,
           max_size=1024):
    """image | prediction, or image | ground truth | prediction (| errors) when `truth` is
    given: each panel enlarged with nearest neighbour to at least `min_size` pixels tall,
    titled, classes in solid colours over the image in grey (segzoo.plots.label_map), above a legend naming the painted classes (class_names, else "class i") and,
    with errors=True, the error map's colours. num_classes counts the background. A panel
    taller than `max_size` keeps every k-th pixel (nearest neighbour, k the smallest
    integer that fits), so that a 4000-pixel image gives a picture one can open."""
    image = np.clip(np.asarray(image, np.float32), 0, 255)
    named = {"image": image.astype(np.uint8)}
    if truth is not None:
        named["ground truth"] = label_map(image, truth, num_classes)
    named["prediction"] = label_map(image, prediction, num_classes)
    if errors:
        if truth is None:
            raise ValueError("errors=True needs the ground truth.")
        named["errors"] = error_map(image, truth, prediction, num_classes)
    groups = _legend_groups(num_classes, class_names, errors)
    step = -(-image.shape[0] // max_size)
    return _lay_out({name: enlarge(panel[::step, ::step], min_size) for name, panel in named.items()}, groups)


def _legend_groups(num_classes, class_names, errors):
    names = list(class_names or [f"class {i}" for i in range(num_classes)])
    if len(names) < num_classes:
        raise ValueError(f"{len(names)} class names for {num_classes} classes (the background counts): {names}")
    colours = class_colours(max(num_classes, 2))
    groups = [[(names[i], colours[i]) for i in range(1, num_classes)]]
    if errors:  # on a row of their own
        groups.append([(name, np.asarray(colour, np.uint8)) for name, colour in ERROR_KINDS.items()])
    return groups


def _lay_out(named, groups):
    height = max(panel.shape[0] for panel in named.values())
    width = MARGIN * 2 + sum(panel.shape[1] for panel in named.values()) + GAP * (len(named) - 1)
    rows = _legend_rows(groups, width - 2 * MARGIN)
    total = MARGIN + TITLE + height + GAP + ROW * len(rows) + MARGIN
    pixels = np.full((total, width, 3), 255, np.uint8)
    boxes, texts, left = {}, [], MARGIN
    for name, panel in named.items():
        top = MARGIN + TITLE
        pixels[top:top + panel.shape[0], left:left + panel.shape[1]] = panel
        boxes[name] = (top, left, *panel.shape[:2])
        texts.append((name, left + panel.shape[1] / 2, MARGIN + TITLE / 2, 13, "center"))
        left += panel.shape[1] + GAP
    top = MARGIN + TITLE + height + GAP
    for row in rows:
        left = MARGIN
        for name, colour, item_width in row:
            y = top + (ROW - SWATCH) // 2
            pixels[y - 1:y + SWATCH + 1, left - 1:left + SWATCH + 1] = BORDER  # shows a white swatch
            pixels[y:y + SWATCH, left:left + SWATCH] = colour
            boxes[f"legend: {name}"] = (y, left, SWATCH, SWATCH)
            texts.append((name, left + SWATCH + 4, top + ROW / 2, 11, "left"))
            left += item_width
        top += ROW
    return Picture(pixels, boxes, texts)


def _legend_rows(groups, width):
    """Each group's entries flowed into rows no wider than `width`, a group starting a new
    row: [[(name, colour, item width)], ...]."""
    rows = []
    for entries in groups:
        used = width  # forces a new row
        for name, colour in entries:
            item = SWATCH + 4 + CHAR_WIDTH * len(name) + 16
            if used + item > width:
                rows.append([])
                used = 0
            rows[-1].append((name, colour, item))
            used += item
    return rows
