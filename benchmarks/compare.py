"""segzoo against segmentation_models (qubvel, on tf-keras) and segmentation_models.pytorch
(smp, torch CPU): the same architecture, backbone, input, batch, 4 classes, random
weights, softmax cross-entropy and Adam, each library in its fastest standard training
loop. Every library runs in its own process, one process per library per round, rounds
interleaved (A B C, A B C, ...) so that other load on the machine hits all alike; segzoo
runs once per installed Keras backend (KERAS_BACKEND in the child).

Per process: training images/s and inference images/s (median of --steps steps after
--warmup warm-up steps; every step's time is kept), peak RSS, time from process start to
the first finished training step (imports, build, compile and tracing included), the
machine's busy cores and the load average. Medians over rounds, and segzoo / peer ratios.

Run:   python -m benchmarks.compare [--arch unet] [--backbone resnet50] [--size 256]
       [--batch 8] [--rounds 3] [--backends tensorflow,jax,torch] [--json F] [--markdown F]
Quick: python -m benchmarks.compare --quick      (size 64, batch 2, 1 round, 2+3 steps)
Setup of the peers: benchmarks/README.md.
"""

import argparse
import datetime
import importlib.machinery
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks._machine import load, machine

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PEERS = os.path.join(REPO, ".venv", "peers")

SEGZOO, SM, SMP = "segzoo", "segmentation_models", "segmentation_models_pytorch"
LIBRARY_ALIASES = {"segzoo": SEGZOO, "sm": SM, "segmentation_models": SM, "smp": SMP,
                   "segmentation_models_pytorch": SMP}
SHORT = {SM: "segmentation_models", SMP: "smp"}
BACKENDS = ("tensorflow", "jax", "torch")
# segzoo backbone -> the peers' names for the same network
BACKBONES = {
    "resnet50": {SM: "resnet50", SMP: "resnet50"},
    "mobilenetv2": {SM: "mobilenetv2", SMP: "mobilenet_v2"},
    "efficientnetb0": {SM: "efficientnetb0", SMP: "efficientnet-b0"},
}
ARCHS = ("unet",)  # the peers' Unet; both peers also have FPN / Linknet / PSPNet
KERAS_LOOPS = ("fit", "train_on_batch")
SLOW = 1.5  # a measured step this many times the median is listed as slow
CONTENDED = 0.25  # other processes busy on more than this share of the cores: warn

DEFAULTS = {"size": 256, "batch": 8, "rounds": 3, "warmup": 3, "steps": 10}
QUICK = {"size": 64, "batch": 2, "rounds": 1, "warmup": 2, "steps": 3}


# --------------------------------------------------------------------------- machine


def cpu_times():
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return sum(fields) - fields[3] - fields[4], sum(fields)


def busy_cores(before, after):
    if not before or not after or after[1] <= before[1]:
        return None
    return (os.cpu_count() or 1) * (after[0] - before[0]) / (after[1] - before[1])


# --------------------------------------------------------------------------- entries


def importable(module, paths):
    return importlib.machinery.PathFinder.find_spec(module, paths) is not None


class Entry:
    """One library (segzoo on one backend, or a peer): its child's environment and the
    results of every round."""

    def __init__(self, library, backend=None):
        self.library, self.backend = library, backend
        self.name = f"segzoo[{backend}]" if library == SEGZOO else SHORT[library]
        self.rounds = []  # one dict per round (the child's JSON plus the parent's)

    def env(self, args):
        env = dict(os.environ)
        env["TF_CPP_MIN_LOG_LEVEL"] = env.get("TF_CPP_MIN_LOG_LEVEL", "2")
        path = [REPO]
        if self.library == SEGZOO:
            env["KERAS_BACKEND"] = self.backend
            env.pop("TF_USE_LEGACY_KERAS", None)
        else:
            path.insert(0, args.peers_path)
            env.pop("KERAS_BACKEND", None)
        if self.library == SM:
            env["SM_FRAMEWORK"] = "tf.keras"
            env["TF_USE_LEGACY_KERAS"] = "1"
        if env.get("PYTHONPATH"):
            path.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(path)
        return env

    def ok_rounds(self):
        return [r for r in self.rounds if r.get("ok")]

    # medians over the rounds that ran

    def loop_rate(self, loop):
        rates = [r["train"][loop]["images_per_s"] for r in self.ok_rounds()
                 if loop in r.get("train", {}) and r["train"][loop]["images_per_s"]]
        return statistics.median(rates) if rates else None

    def loops(self):
        return [loop for loop in (self.ok_rounds() or [{}])[0].get("loop_order", [])]

    def best_loop(self):
        rated = [(self.loop_rate(loop), loop) for loop in self.loops()]
        rated = [(rate, loop) for rate, loop in rated if rate]
        return max(rated)[1] if rated else None

    def metric(self, name):
        if name == "train":
            loop = self.best_loop()
            return self.loop_rate(loop) if loop else None
        values = [value for value in (round_metric(r, name) for r in self.ok_rounds())
                  if value is not None]
        return statistics.median(values) if values else None


def round_metric(result, name):
    if name == "infer":
        return result["infer"]["images_per_s"]
    if name == "rss":
        return result["peak_rss_mb"]
    if name == "first_step":
        return result.get("first_step_s")
    if name in ("params", "trainable_params"):
        return result.get(name)
    return None


def entries_for(args):
    entries, skipped = [], []
    peer_paths = [args.peers_path] + sys.path
    for library in args.libraries:
        if library == SEGZOO:
            for backend in args.backends:
                if backend != "tensorflow" and not importable(backend, sys.path):
                    skipped.append(f"segzoo[{backend}]: `{backend}` is not installed")
                    continue
                entries.append(Entry(SEGZOO, backend))
            continue
        needs = {SM: ("segmentation_models", "tf_keras", "classification_models",
                      "efficientnet", "keras_applications"),
                 SMP: ("segmentation_models_pytorch", "torch", "torchvision", "timm",
                       "safetensors", "huggingface_hub")}[library]
        missing = [m for m in needs if not importable(m, peer_paths)]
        if missing:
            skipped.append(f"{SHORT[library]}: not installed ({', '.join(missing)} missing "
                           f"from the venv and {args.peers_path}); see benchmarks/README.md")
            continue
        entries.append(Entry(library))
    return entries, skipped


# --------------------------------------------------------------------------- running


def run_child(entry, args, round_index, workdir):
    config = {
        "library": entry.library, "arch": args.arch, "backbone": args.backbone,
        "peer_backbone": BACKBONES[args.backbone].get(entry.library, args.backbone),
        "size": args.size, "batch": args.batch, "classes": args.classes,
        "warmup": args.warmup, "steps": args.steps, "threads": args.threads,
        "jit_compile": args.jit_compile, "keras_loops": args.keras_loops,
        "segzoo_loss": args.segzoo_loss, "segzoo_upsampling": args.segzoo_upsampling,
        "precision": args.precision,
        "reverse_loops": round_index % 2 == 1,  # alternate which Keras loop runs first
        "result": os.path.join(workdir, f"{entry.name}-{round_index}.json"),
    }
    config_path = os.path.join(workdir, f"{entry.name}-{round_index}.config.json")
    log_path = os.path.join(workdir, f"{entry.name}-{round_index}.log")
    with open(config_path, "w") as handle:
        json.dump(config, handle)
    stat_before, load_before = cpu_times(), os.getloadavg()
    spawn = time.time()
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "benchmarks._compare_child",
                                    config_path], cwd=REPO, env=entry.env(args),
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            rc = process.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            rc = process.wait()
            rc = f"killed after {args.timeout} s"
    wall = time.time() - spawn
    result = {"ok": False}
    if os.path.exists(config["result"]):
        with open(config["result"]) as handle:
            result = json.load(handle)
    result.update(round=round_index + 1, rc=rc, wall_s=wall,
                  loadavg_before=list(load_before), loadavg_after=list(os.getloadavg()),
                  machine_busy_cores=busy_cores(stat_before, cpu_times()))
    marks = result.get("marks", {})
    for key, mark in (("import_s", "imported"), ("first_step_s", "first_step")):
        if mark in marks:
            result[key] = marks[mark] - spawn
    if not result.get("ok"):
        with open(log_path, errors="replace") as log:
            tail = log.read()[-3000:]
        result["error"] = result.get("error") or f"exit status {rc}; output:\n{tail}"
    entry.rounds.append(result)
    return result


def slow_steps(summary):
    """Measured steps (after warm-up) over SLOW x the median, as 'index:ms'."""
    steady = summary["step_s"][summary["warmup"]:]
    median = summary["median_s"]
    return [f"{summary['warmup'] + i + 1}:{t * 1000:.0f}"
            for i, t in enumerate(steady) if median and t > SLOW * median]


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def others_cores(window):
    """Cores busy with other processes over a summary's measured steps."""
    if not window or window.get("machine_busy_cores") is None:
        return None
    return max(0.0, window["machine_busy_cores"] - window["own_cores"])


def contended(result):
    """Measured steps during which other processes kept more than CONTENDED of the
    machine's cores busy."""
    if not result.get("ok"):
        return []
    summaries = [*result["train"].items(), ("infer", result["infer"])]
    limit = CONTENDED * (os.cpu_count() or 1)
    return [name for name, s in summaries
            if (others_cores(s["measured_window"]) or 0.0) > limit]


def window_text(window):
    """'busy 1.9 cores (own 1.7, load 0.4)' over a summary's measured steps."""
    if not window or window.get("machine_busy_cores") is None:
        return "busy ?"
    return (f"busy {window['machine_busy_cores']:.1f} (own {window['own_cores']:.1f}, "
            f"load {window['loadavg'][0]:.1f})")


def first_step_text(result):
    """'48.7 s (start+import 3.5, build 1.5, first step 43.7)'."""
    marks, total = result.get("marks", {}), result.get("first_step_s")
    if total is None:
        return "-"
    parts = []
    if "imported" in marks:
        parts.append(f"start+import {result['import_s']:.1f}")
        if "built" in marks:
            parts.append(f"build+compile {marks['built'] - marks['imported']:.1f}")
            parts.append(f"first step {marks['first_step'] - marks['built']:.1f}")
    return f"{total:.1f} s ({', '.join(parts)})"


def round_line(entry, result):
    if not result.get("ok"):
        first = result.get("error", "").strip().splitlines()
        return f"  {entry.name:<20} FAILED ({result['rc']}): {first[-1] if first else ''}"
    trains = ", ".join(f"{loop} {fmt(s['images_per_s'])} [{window_text(s['measured_window'])}]"
                       for loop, s in result["train"].items())
    infer = result["infer"]
    warn = contended(result)
    warn = (f"\n  {'':<20} WARNING: other processes kept over {CONTENDED:.0%} of the cores "
            f"busy during: {', '.join(warn)}" if warn else "")
    return (f"  {entry.name:<20} train img/s: {trains}\n"
            f"  {'':<20} infer img/s: {fmt(infer['images_per_s'])} "
            f"[{window_text(infer['measured_window'])}]; peak RSS {result['peak_rss_mb']:.0f} "
            f"MiB; to first step {first_step_text(result)}; load "
            f"{result['loadavg_before'][0]:.2f} -> {result['loadavg_after'][0]:.2f}{warn}")


def steps_lines(result, indent="      "):
    lines = []
    for loop, summary in [*result["train"].items(), ("infer", result["infer"])]:
        times = " ".join(f"{t * 1000:.0f}" for t in summary["step_s"])
        slow = slow_steps(summary)
        lines.append(f"{indent}{loop} ms: {times}" + (f"  (slow: {' '.join(slow)})" if slow
                                                         else ""))
    return lines


# --------------------------------------------------------------------------- report


def summary_table(entries, args):
    lines = [
        ("| library | params: trainable / all | train img/s (loop) | other loop img/s | infer img/s "
         "| peak RSS MiB | time to first step s | jit_compile | slow steps "
         "| rounds contended |"),
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for entry in entries:
        ok = entry.ok_rounds()
        if not ok:
            error = (entry.rounds[-1].get("error", "").strip().splitlines() or ["?"])[-1]
            lines.append(f"| {entry.name} | failed: {error[:150]} | | | | | | | | |")
            continue
        best = entry.best_loop()
        others = ", ".join(f"{loop} {fmt(entry.loop_rate(loop))}" for loop in entry.loops()
                           if loop != best) or "-"
        slow = sum(len(slow_steps(s)) for r in ok
                   for s in [*r["train"].values(), r["infer"]])
        measured = sum(len(s["step_s"]) - s["warmup"] for r in ok
                       for s in [*r["train"].values(), r["infer"]])
        jit = ok[0].get("jit_compile")
        jit = f"{jit['asked']}: {jit['resolved']}" if jit else "-"
        params = f"{entry.metric('trainable_params') / 1e6:.2f} / {entry.metric('params') / 1e6:.2f} M"
        lines.append(
            f"| {entry.name} | {params} | {fmt(entry.metric('train'))} ({best}) "
            f"| {others} | {fmt(entry.metric('infer'))} | {fmt(entry.metric('rss'), 0)} "
            f"| {fmt(entry.metric('first_step'), 1)} | {jit} | {slow} of {measured} "
            f"| {sum(bool(contended(r)) for r in ok)} of {len(ok)} |")
    return lines


def ratio_lines(entries):
    ours = [e for e in entries if e.library == SEGZOO and e.ok_rounds()]
    peers = [e for e in entries if e.library != SEGZOO and e.ok_rounds()]
    if not ours or not peers:
        return ["(no segzoo / peer ratio: " + ("no peer ran" if not peers else
                                               "segzoo did not run") + ")"]
    lines = [
        "| segzoo / peer | train img/s | infer img/s | peak RSS | time to first step |",
        "|---|---:|---:|---:|---:|",
    ]
    for mine in ours:
        for peer in peers:
            cells = []
            for name in ("train", "infer", "rss", "first_step"):
                a, b = mine.metric(name), peer.metric(name)
                cells.append(f"{a / b:.2f}x" if a and b else "-")
            lines.append(f"| {mine.name} / {peer.name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Above 1x: segzoo trains / infers faster, but uses more memory and takes "
                 "longer to its first step.")
    return lines


def versions_line(entries):
    seen = {}
    for entry in entries:
        for result in entry.ok_rounds()[:1]:
            seen.update(result.get("versions", {}))
    keep = ("python", "tensorflow", "keras", "jax", "torch", "segzoo", "tf_keras",
            "segmentation_models", "segmentation_models_pytorch", "timm", "torchvision")
    return ", ".join(f"{key} {seen[key]}" for key in keep if key in seen)


def notes(entries, args):
    lines = []
    for entry in entries:
        ok = entry.ok_rounds()
        if not ok:
            continue
        shims = sorted({shim for r in ok for shim in r.get("shims", [])})
        threads = ok[0].get("torch_threads")
        extra = [f"loss {ok[0].get('loss')}"]
        if threads is not None:
            extra.append(f"torch threads {threads} (default {ok[0].get('torch_default_threads')})")
        extra.append("inference: " + ok[0]["infer"]["how"])
        if shims:
            extra.append("shims: " + "; ".join(shims))
        lines.append(f"- {entry.name}: " + "; ".join(extra))
    return lines


def step_detail(entries):
    lines = []
    for entry in entries:
        for result in entry.rounds:
            lines.append(f"{entry.name} round {result['round']}:")
            if result.get("ok"):
                lines.extend(steps_lines(result, indent="  "))
            else:
                lines.append("  failed")
    return lines


def write_markdown(path, args, entries, skipped, tables, started, load_before, load_after,
                   wall, command):
    header = [
        "",
        (f"### {datetime.date.today().isoformat()}: {args.arch} {args.backbone}, "
         f"{args.size}x{args.size}, batch {args.batch}, {args.classes} classes, "
         f"{args.precision}"
         + (" (--quick: numbers mean nothing)" if args.quick else "")),
        "",
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- Versions: {versions_line(entries)}",
        (f"- {args.rounds} round(s), each library in its own process per round, interleaved; "
         f"per process median of {args.steps} steps after {args.warmup} warm-up steps; "
         "medians over rounds. Random weights, softmax cross-entropy, Adam(1e-3); "
         f"segzoo's UNet upsamples with {args.segzoo_upsampling} (both peers: nearest)."),
        *([f"- Not run: {'; '.join(skipped)}"] if skipped else []),
        "",
    ]
    footer = ["", *notes(entries, args), "",
              (f"Load average (1, 5, 15 min) before: {load_before}; after: {load_after}; "
               f"nproc {len(os.sched_getaffinity(0))}; wall time {wall:.0f} s."),
              "", "<details><summary>every step (ms)</summary>", "", "```",
              *step_detail(entries), "```", "", "</details>"]
    with open(path, "a") as out:
        out.write("\n".join(header + tables + footer) + "\n")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="unet", choices=ARCHS)
    parser.add_argument("--backbone", default="resnet50", choices=sorted(BACKBONES))
    parser.add_argument("--size", type=int, help=f"input side (default {DEFAULTS['size']})")
    parser.add_argument("--batch", type=int, help=f"default {DEFAULTS['batch']}")
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--rounds", type=int, help=f"default {DEFAULTS['rounds']}")
    parser.add_argument("--warmup", type=int, help=f"default {DEFAULTS['warmup']}")
    parser.add_argument("--steps", type=int,
                        help=f"measured steps per loop, default {DEFAULTS['steps']}")
    parser.add_argument("--libraries", default="segzoo,sm,smp",
                        help="comma-separated: segzoo, sm (segmentation_models), smp")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="Keras backends for segzoo; those not installed are skipped")
    parser.add_argument("--keras-loop", default="both", choices=("both", *KERAS_LOOPS),
                        help="Keras training loop(s) to time; with both the faster counts")
    parser.add_argument("--jit-compile", default="auto", choices=("auto", "true", "false"),
                        help="segzoo's model.compile(jit_compile=...)")
    parser.add_argument("--segzoo-loss", default="auto", choices=("auto", "keras", "segzoo"),
                        help="segzoo's loss: keras.losses.SparseCategoricalCrossentropy or "
                             "segzoo.losses.CrossEntropy; auto = keras's, except on the "
                             "torch backend, where its backward fails (torch 2.13)")
    parser.add_argument("--segzoo-upsampling", default="nearest",
                        choices=("nearest", "bilinear", "transpose"),
                        help="segzoo UNet's upsampling (default nearest, as both peers' "
                             "UNets; segzoo's own default is bilinear)")
    parser.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16"),
                        help="every library's precision: Keras' global dtype policy for "
                             "segzoo and segmentation_models, torch.autocast(bfloat16) "
                             "around forward and loss for smp")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="torch.set_num_threads in the torch processes (default: nproc)")
    parser.add_argument("--peers-path", default=os.environ.get("SEGZOO_PEERS", DEFAULT_PEERS),
                        help="folder the peers were pip-installed into with --target; "
                             "put on PYTHONPATH of the peer processes only")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per process")
    parser.add_argument("--quick", action="store_true",
                        help="size 64, batch 2, 1 round, 2 warm-up + 3 steps: checks the "
                             "harness, measures nothing")
    parser.add_argument("--json", help="write every result (all step times) to this file")
    parser.add_argument("--markdown", help="append the results as Markdown to this file")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.libraries = [LIBRARY_ALIASES[n.strip()] for n in args.libraries.split(",") if n.strip()]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for backend in args.backends:
        if backend not in BACKENDS:
            parser.error(f"--backends: {backend!r} is not one of {BACKENDS}")
    args.keras_loops = list(KERAS_LOOPS) if args.keras_loop == "both" else [args.keras_loop]
    args.peers_path = os.path.abspath(args.peers_path)
    return args


def main(argv=None):
    args = parse_args(argv)
    command = " ".join(["python -m benchmarks.compare", *sys.argv[1:]])
    entries, skipped = entries_for(args)
    for line in skipped:
        print(f"not run: {line}")
    if not entries:
        sys.exit("nothing to run")
    load_before, stat_before, started = load(), cpu_times(), time.time()
    print(f"{args.arch} {args.backbone}, {args.size}x{args.size}, batch {args.batch}, "
          f"{args.classes} classes, {args.precision}, segzoo upsampling "
          f"{args.segzoo_upsampling}; {args.rounds} round(s) of: "
          + ", ".join(e.name for e in entries))
    print(f"load average before: {load_before} ({machine()})", flush=True)
    with tempfile.TemporaryDirectory(prefix="segzoo-compare-") as workdir:
        for round_index in range(args.rounds):
            print(f"round {round_index + 1}/{args.rounds}", flush=True)
            for entry in entries:
                result = run_child(entry, args, round_index, workdir)
                print(round_line(entry, result), flush=True)
                if result.get("ok"):
                    print("\n".join(steps_lines(result)), flush=True)
    load_after, wall = load(), time.time() - started
    busy = busy_cores(stat_before, cpu_times())

    tables = [*summary_table(entries, args), "", *ratio_lines(entries)]
    print()
    print("\n".join(tables))
    print()
    print("\n".join(notes(entries, args)))
    print(f"\nLoad average before: {load_before}; after: {load_after}; machine busy "
          f"{fmt(busy)} of {os.cpu_count()} cores over the run; wall time {wall:.0f} s.")
    params = [f"{e.name} {int(e.metric('trainable_params')):,} / {int(e.metric('params')):,}"
              for e in entries if e.ok_rounds()]
    print("Params (trainable / all, BatchNorm statistics included): " + ", ".join(params))

    if args.json:
        payload = {"command": command, "date": datetime.datetime.now().isoformat(),
                   "machine": machine(), "platform": platform.platform(),
                   "args": {k: v for k, v in vars(args).items()},
                   "loadavg_before": load_before, "loadavg_after": load_after,
                   "machine_busy_cores": busy, "wall_s": wall, "skipped": skipped,
                   "entries": [{"name": e.name, "library": e.library, "backend": e.backend,
                                "best_loop": e.best_loop(),
                                "medians": {m: e.metric(m) for m in
                                            ("params", "trainable_params", "train", "infer",
                                             "rss", "first_step")},
                                "loop_medians": {loop: e.loop_rate(loop) for loop in e.loops()},
                                "rounds": e.rounds} for e in entries]}
        with open(args.json, "w") as handle:
            json.dump(payload, handle, indent=1)
        print(f"wrote {args.json}")
    if args.markdown:
        write_markdown(args.markdown, args, entries, skipped, tables, started, load_before,
                       load_after, wall, command)
        print(f"appended to {args.markdown}")
    if any(not e.ok_rounds() for e in entries):
        sys.exit(1)


if __name__ == "__main__":
    main()
