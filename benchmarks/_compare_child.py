"""One library, one process: the child that `benchmarks.compare` starts for every entry
and round. Not run by hand: `python -m benchmarks._compare_child CONFIG.json` with a JSON
object written by the parent; the result is written as JSON to config["result"].

Imports nothing heavy before the clock starts: the parent notes the wall time just before
it starts this process, and "time to first step" runs from there to the end of the first
training step (interpreter start, imports, model build, compile / tracing included).
"""

import contextlib
import json
import os
import resource
import statistics
import sys
import time
import traceback

# --------------------------------------------------------------------------- machine


def cpu_times():
    """(busy, total) jiffies of the whole machine from the first line of /proc/stat;
    idle and iowait count as not busy, guest time is already inside user time."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]
    total = sum(fields)
    return total - idle, total


class Window:
    """Machine busy cores and this process's own CPU over a stretch of code."""

    def __init__(self):
        self.machine = cpu_times()
        self.own = time.process_time()
        self.wall = time.perf_counter()

    def close(self):
        wall = time.perf_counter() - self.wall
        own = time.process_time() - self.own
        now, ncpu = cpu_times(), os.cpu_count() or 1
        busy = None
        if self.machine and now and now[1] > self.machine[1]:
            busy = ncpu * (now[0] - self.machine[0]) / (now[1] - self.machine[1])
        return {"wall_s": wall, "own_cpu_s": own, "own_cores": own / wall if wall else None,
                "machine_busy_cores": busy, "loadavg": list(os.getloadavg())}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --------------------------------------------------------------------------- timing


class Steps:
    """Every step's seconds; the machine's load is watched over the measured steps only
    (from the end of the last warm-up step)."""

    def __init__(self, warmup):
        self.warmup, self.times, self.window = warmup, [], None
        if warmup == 0:
            self.window = Window()

    def add(self, seconds):
        self.times.append(seconds)
        if len(self.times) == self.warmup:
            self.window = Window()

    def summary(self, batch):
        steady = self.times[self.warmup:]
        median = statistics.median(steady) if steady else None
        return {"step_s": self.times, "warmup": self.warmup, "median_s": median,
                "images_per_s": batch / median if median else None,
                "measured_window": self.window.close() if self.window else None}


def timed_steps(step, count, warmup):
    """Call step() count times (step must wait for its result)."""
    steps = Steps(warmup)
    for _ in range(count):
        start = time.perf_counter()
        step()
        steps.add(time.perf_counter() - start)
    return steps


def data(config):
    import numpy as np

    rng = np.random.default_rng(0)
    size, batch = config["size"], config["batch"]
    x = rng.uniform(0.0, 1.0, (batch, size, size, 3)).astype("float32")
    y = rng.integers(0, config["classes"], (batch, size, size)).astype("int32")
    return x, y


# --------------------------------------------------------------------------- Keras


def keras_run(config, result, marks):
    """segzoo on Keras 3 (any backend) or segmentation_models on tf-keras."""
    library = config["library"]
    if library == "segmentation_models":
        try:
            import skimage.transform  # noqa: F401
        except ImportError:
            stub_skimage()
            result["shims"].append(
                "skimage.transform stubbed (efficientnet 1.0.0 imports it for an image "
                "preprocessing helper that building and training never call)")
        import segmentation_models as sm
        import tensorflow as tf
        import tf_keras

        keras = tf.keras  # tf_keras, with TF_USE_LEGACY_KERAS=1
        result["versions"].update(segmentation_models=sm.__version__,
                                  tensorflow=tf.__version__, tf_keras=tf_keras.__version__,
                                  keras_module=keras.__name__, sm_framework=sm.framework())
    else:
        import keras

        import segzoo

        result["versions"].update(segzoo=getattr(segzoo, "__version__", "?"),
                                  keras=keras.__version__, backend=keras.backend.backend())
        import tensorflow as tf  # segzoo imports it on every backend (tf.data)

        result["versions"]["tensorflow"] = tf.__version__
        if keras.backend.backend() == "jax":
            import jax

            result["versions"]["jax"] = jax.__version__
        if keras.backend.backend() == "torch":
            import torch

            result["versions"]["torch"] = torch.__version__
            result["torch_default_threads"] = torch.get_num_threads()
            if config.get("threads"):
                torch.set_num_threads(config["threads"])
            result["torch_threads"] = torch.get_num_threads()
    import numpy as np

    marks["imported"] = time.time()

    if config["precision"] != "float32":
        keras.mixed_precision.set_global_policy(config["precision"])
    shape = (config["size"], config["size"], 3)
    if library == "segmentation_models":
        model = sm.Unet(config["peer_backbone"], encoder_weights=None, classes=config["classes"],
                        activation="softmax", input_shape=shape)
    else:
        model = segzoo.build(config["arch"], backbone=config["backbone"],
                             num_classes=config["classes"], activation="softmax",
                             input_shape=shape, encoder_weights=None,
                             upsampling=config["segzoo_upsampling"])
    # Keras counts BatchNormalization's moving mean and variance as (non-trainable) weights
    result["params"] = int(model.count_params())
    result["trainable_params"] = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    compile_options = {}
    if library == "segzoo" and config["jit_compile"] != "auto":
        compile_options["jit_compile"] = config["jit_compile"] == "true"
    loss, result["loss"] = keras.losses.SparseCategoricalCrossentropy(), \
        "keras.losses.SparseCategoricalCrossentropy()"
    choice = config.get("segzoo_loss", "auto")
    if library == "segzoo" and (choice == "segzoo" or (
            choice == "auto" and keras.backend.backend() == "torch")):
        # auto: on the torch backend Keras 3.15's sparse CE does movedim + nll_loss, whose
        # backward fails on 4-D input in torch 2.13 ("grad_input must be contiguous",
        # pytorch/pytorch#175084); segzoo's own cross-entropy computes the same loss.
        loss, result["loss"] = segzoo.losses.CrossEntropy(), "segzoo.losses.CrossEntropy()"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=loss,
                  **compile_options)
    if library == "segzoo":
        result["jit_compile"] = {"asked": config["jit_compile"], "resolved": model.jit_compile}
    else:
        jit = getattr(model, "_jit_compile", None)  # tf-keras: None means no XLA
        result["jit_compile"] = {"asked": "default", "resolved": bool(jit)}
    marks["built"] = time.time()

    x, y = data(config)
    warmup, steps = config["warmup"], config["steps"]
    count = warmup + steps

    class StepTimer(keras.callbacks.Callback):
        """Seconds between consecutive batch ends (the first from the first batch's
        begin). A callback with batch hooks makes Keras hand it the logs as Python
        numbers, so every step has finished when its end hook runs."""

        def __init__(self):
            super().__init__()
            self.steps, self.last = Steps(warmup), None

        def on_train_batch_begin(self, batch, logs=None):
            if self.last is None:
                self.last = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            self.steps.add(now - self.last)
            self.last = now
            if "first_step" not in marks:
                marks["first_step"] = time.time()

    def run_fit():
        dataset = tf.data.Dataset.from_tensors((x, y)).repeat()
        timer = StepTimer()
        model.fit(dataset, steps_per_epoch=count, epochs=1, verbose=0, callbacks=[timer])
        return timer.steps

    def train_on_batch():
        model.train_on_batch(x, y)  # returns NumPy / Python numbers: waits for the step
        if "first_step" not in marks:
            marks["first_step"] = time.time()

    def run_train_on_batch():
        return timed_steps(train_on_batch, count, warmup)

    loops = {"fit": run_fit, "train_on_batch": run_train_on_batch}
    order = config["keras_loops"]
    if config.get("reverse_loops"):
        order = list(reversed(order))
    result["loop_order"] = order
    result["train"] = {}
    for name in order:
        result["train"][name] = loops[name]().summary(config["batch"])
    marks["trained"] = time.time()
    infer = timed_steps(lambda: model.predict_on_batch(x), count, warmup)
    result["infer"] = infer.summary(config["batch"])
    result["infer"]["how"] = "model.predict_on_batch(x)"


def stub_skimage():
    import types

    def resize(*args, **kwargs):
        raise NotImplementedError("skimage is stubbed by benchmarks.compare")

    package = types.ModuleType("skimage")
    transform = types.ModuleType("skimage.transform")
    transform.resize = resize
    package.transform = transform
    sys.modules["skimage"] = package
    sys.modules["skimage.transform"] = transform


# --------------------------------------------------------------------------- PyTorch


def import_torchvision(result):
    """PyPI's torchvision wheel is built against the CUDA torch: beside the CPU torch
    its C++ ops (nms, roi_align, ...) do not load, and since 0.2x `import torchvision`
    then fails registering a fake kernel for the missing `torchvision::nms`. smp only
    needs torchvision's pure-Python model classes (ResNet, MobileNetV2): declare the
    two op schemas it registers against, then import it again."""
    import torch

    try:
        import torchvision
        return
    except RuntimeError as error:
        if "torchvision::nms does not exist" not in str(error):
            raise
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]
    library = torch.library.Library("torchvision", "DEF")
    library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import torchvision  # noqa: F401

    result["_keep"] = library
    result["shims"].append(
        "torchvision's C++ ops do not load beside the CPU torch wheel: the schemas of "
        "torchvision::nms and torchvision::qnms were declared before `import torchvision` "
        "(models use none of its C++ ops)")


def torch_run(config, result, marks):
    import numpy as np
    import torch

    result["torch_default_threads"] = torch.get_num_threads()
    if config.get("threads"):
        torch.set_num_threads(config["threads"])
    result["torch_threads"] = torch.get_num_threads()
    import_torchvision(result)
    import segmentation_models_pytorch as smp
    import timm
    import torchvision

    result["versions"].update(torch=torch.__version__, torchvision=torchvision.__version__,
                              segmentation_models_pytorch=smp.__version__,
                              timm=timm.__version__)
    marks["imported"] = time.time()

    torch.manual_seed(0)
    model = smp.Unet(config["peer_backbone"], encoder_weights=None, classes=config["classes"])
    # as Keras counts them: parameters plus BatchNorm running mean / variance
    result["trainable_params"] = int(sum(p.numel() for p in model.parameters()
                                         if p.requires_grad))
    result["params"] = int(sum(p.numel() for p in model.parameters())
                           + sum(b.numel() for name, b in model.named_buffers()
                                 if name.endswith(("running_mean", "running_var"))))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()  # on logits: smp's Unet has no activation
    result["loss"] = "torch.nn.CrossEntropyLoss() on logits"
    marks["built"] = time.time()

    x, y = data(config)
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW
    y = torch.from_numpy(y.astype("int64"))
    warmup, steps = config["warmup"], config["steps"]
    count = warmup + steps

    def precision():
        if config["precision"] == "float32":
            return contextlib.nullcontext()
        return torch.autocast("cpu", dtype=torch.bfloat16)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        with precision():
            loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        loss.item()
        if "first_step" not in marks:
            marks["first_step"] = time.time()

    model.train()
    result["loop_order"] = ["torch loop"]
    result["train"] = {"torch loop": timed_steps(train_step, count, warmup).summary(
        config["batch"])}
    marks["trained"] = time.time()

    model.eval()

    def infer_step():
        with torch.inference_mode(), precision():
            model(x).float().numpy()

    result["infer"] = timed_steps(infer_step, count, warmup).summary(config["batch"])
    result["infer"]["how"] = "model.eval(); with torch.inference_mode(): model(x)"
    if config["precision"] != "float32":
        result["loss"] += "; forward and loss under torch.autocast('cpu', torch.bfloat16)"


# --------------------------------------------------------------------------- main


def main():
    with open(sys.argv[1]) as handle:
        config = json.load(handle)
    marks = {"child_main": time.time()}
    result = {"ok": False, "versions": {"python": sys.version.split()[0]}, "shims": [],
              "marks": marks}
    try:
        if config["library"] == "segmentation_models_pytorch":
            torch_run(config, result, marks)
        else:
            keras_run(config, result, marks)
        result["ok"] = True
    except Exception:  # noqa: BLE001 - the parent reports it
        result["error"] = traceback.format_exc()[-4000:]
    result.pop("_keep", None)
    result["peak_rss_mb"] = peak_rss_mb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    result["done"] = time.time()
    with open(config["result"], "w") as handle:
        json.dump(result, handle)
    sys.stdout.flush()
    os._exit(0 if result["ok"] else 1)  # skip slow interpreter / framework teardown


if __name__ == "__main__":
    main()
