"""`segzoo list` and `segzoo info`: what exists, and what a name or folder is."""

import functools
import inspect
import os
from pathlib import Path

from segzoo._names import did_you_mean
from segzoo.backbones import get_backbone_spec, list_backbones
from segzoo.cli.common import command
from segzoo.errors import UnknownNameError
from segzoo.hub import load_manifest, source_of, zoo_root
from segzoo.hub.checkpoint import CONFIG_FILE, read_config, split_config
from segzoo.hub.manifest import manifest_path
from segzoo.models import get_architecture_spec, list_architectures

CONVENTIONS = {
    "tf": "pixels scaled to [-1, 1]",
    "caffe": "BGR, ImageNet mean subtracted",
    "none": "raw [0, 255] pixels, the model normalises them",
}


def add_list(commands):
    parser = command(commands, "list", run_list, "List architectures and backbones, or pretrained checkpoints.")
    parser.add_argument("--pretrained", action="store_true",
                        help="list the zoo checkpoints of the weights manifest instead")
    parser.add_argument("--manifest", help="manifest to read (default: $SEGZOO_MANIFEST or segzoo's own)")
    parser.add_argument("--cache-dir", metavar="DIR", help="hub cache to look in (default: HF_HUB_CACHE)")


SOURCES = {
    "package": "bundled with segzoo in {root}, read in place, sha256-checked; no network",
    "cache": "downloaded before, in the hub cache; no network",
    "hub": "downloaded from the hub repo at the pinned revision on first use, sha256-checked",
}


def run_list(args):
    if not args.pretrained:
        print("architectures: " + ", ".join(list_architectures()))
        print("backbones:     " + ", ".join(list_backbones()))
        print("(pretrained checkpoints: segzoo list --pretrained)")
        return
    entries = load_manifest(args.manifest)
    if not entries:
        print(f"no checkpoints in {manifest_path(args.manifest)}")
        return
    rows = [("name", "model", "classes", "input", "mean IoU", "pixel acc", "loads from", "hub repo @ revision")]
    sources = set()
    for name, entry in sorted(entries.items()):
        metrics = entry.get("metrics") or {}
        source = source_of(name, entry, args.cache_dir)
        sources.add(source)
        rows.append((name, f"{entry['architecture']}/{entry['backbone']}", str(entry["num_classes"]),
                     _shape_text(entry["input_size"]), _number(metrics.get("mean_iou")),
                     _number(metrics.get("pixel_accuracy")), source,
                     f"{entry['repo_id']} @ {entry['revision'][:12]}"))
    print(_table(rows))
    print(f"(metrics: the held-out scores of {manifest_path(args.manifest)})")
    for source in sorted(sources, key=list(SOURCES).index):
        print(f"{source}: {_source_text(source)}")


def _source_text(source):
    return SOURCES[source].format(root=zoo_root())


def _number(value):
    return "-" if value is None else f"{value:.4f}"


def _table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)
    return "\n".join(lines)


def _shape_text(shape):
    """(96, 96, 3) -> '96x96x3'; (None, None, 3) -> 'any size, 3 channels'."""
    if not shape:
        return "-"
    if None in shape[:-1]:
        return f"any size, {shape[-1]} channels"
    return "x".join(map(str, shape))


def add_info(commands):
    parser = command(commands, "info", run_info,
                      "Describe architectures, backbones, pretrained checkpoints or checkpoint folders.")
    parser.add_argument("names", nargs="+", metavar="NAME")
    parser.add_argument("--manifest", help="manifest to read (default: $SEGZOO_MANIFEST or segzoo's own)")


def run_info(args):
    entries = load_manifest(args.manifest)
    for index, name in enumerate(args.names):
        if index:
            print()
        print(_describe(name, entries))


def _describe(name, entries):
    if name in entries:
        return _describe_pretrained(name, entries[name])
    if name.lower() in list_architectures():
        return _describe_architecture(get_architecture_spec(name))
    if name.lower() in list_backbones():
        return _describe_backbone(get_backbone_spec(name))
    if os.path.isfile(os.path.join(name, CONFIG_FILE)):
        return _describe_folder(Path(name))
    known = [*entries, *list_architectures(), *list_backbones()]
    hint = did_you_mean(name, known)
    raise UnknownNameError(
        f"{name!r} is not an architecture, backbone, pretrained checkpoint or checkpoint folder.{hint} "
        "See segzoo list and segzoo list --pretrained."
    )


def _first_paragraph(obj):
    doc = inspect.getdoc(inspect.getmodule(obj)) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _describe_architecture(spec):
    return "\n".join([
        f"architecture {spec.name}: {_first_paragraph(spec.decode)}",
        f"  default decoder filters ({'pretrained backbones' if spec.mirror_encoder else 'every backbone'}): "
        f"{', '.join(map(str, spec.default_filters))}",
        f"  with backbone 'none': a plain '{spec.encoder_block}' encoder"
        + (", mirrored by the decoder" if spec.mirror_encoder else ""),
        f"  options: {', '.join(spec.options) or 'none'}",
    ])


def _describe_backbone(spec):
    return "\n".join([
        f"backbone {spec.name}: {_backbone_summary(spec)}",
        f"  pretrained weights: {'imagenet (keras.applications)' if spec.pretrained else 'none, from scratch'}",
        f"  feature strides: {', '.join(map(str, spec.strides))}",
        f"  input convention: {spec.preprocessing} ({CONVENTIONS.get(spec.preprocessing, '?')})",
        f"  options: {', '.join(spec.options) or 'none'}",
    ])


def _backbone_summary(spec):
    """The keras.applications constructor a shared builder wraps, else the module's docstring."""
    if isinstance(spec.build, functools.partial) and callable(spec.build.args[0]):
        return f"{spec.build.args[0].__name__} (keras.applications)"
    return _first_paragraph(spec.build)


def _describe_pretrained(name, entry):
    metrics = entry.get("metrics") or {}
    size = sum(info["size"] for info in entry["files"].values())
    lines = [
        f"pretrained {name}: {entry['architecture']} / {entry['backbone']}",
        f"  repo:     {entry['repo_id']} @ {entry['revision']}",
        f"  from:     {_source_text(source_of(name, entry))}",
        f"  classes:  {entry['num_classes']} ({', '.join(entry.get('class_names') or [])})",
        f"  input:    {_shape_text(entry['input_size'])}",
        f"  dataset:  {entry.get('dataset') or '-'}",
        f"  metrics:  {', '.join(f'{k} {v:.4f}' for k, v in metrics.items()) or '-'}",
        f"  license:  {entry.get('license') or '-'}",
        f"  files:    {', '.join(sorted(entry['files']))} ({size / 1e6:.1f} MB)",
    ]
    return "\n".join(lines)


def _describe_folder(folder):
    build_args, metadata = split_config(read_config(folder / CONFIG_FILE))
    metrics = metadata.get("metrics") or {}
    return "\n".join([
        f"checkpoint folder {folder}: {build_args['architecture']} / {build_args.get('backbone')}",
        f"  classes:  {build_args.get('num_classes')} ({', '.join(metadata.get('class_names') or [])})",
        f"  head:     {build_args.get('activation') or 'logits'}",
        f"  input:    {_shape_text(build_args.get('input_shape'))}",
        f"  metrics:  {', '.join(f'{k} {v:.4f}' for k, v in metrics.items()) or '-'}",
    ])


