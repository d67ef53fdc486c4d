"""Where a segzoo training step's time goes, and how close to the machine's limit it runs
(TensorFlow backend, UNet with random encoder weights, 4 classes, softmax).

Run: python -m benchmarks.profile_step [--backbone resnet50|mobilenetv2|efficientnetb0]
     [--size 256] [--batch 8] [--upsampling bilinear|nearest|transpose]
     [--policy float32|mixed_bfloat16] [--steps 5] [--reps 3] [--markdown FILE]
Quick check while editing: python -m benchmarks.profile_step --size 64 --batch 2 (numbers mean nothing).

1. FLOPs, counted per layer from its input and output shapes, one image, one forward pass:
   Conv: 2*Hout*Wout*Cout*(kh*kw*Cin/groups); DepthwiseConv: 2*Hout*Wout*C*kh*kw;
   segzoo's NearestUpsamplingConv2D: 2*Hout*Wout*Cout*(4*Cx + 9*Cskip) (2x2 taps per
   output on the upsampled channels, 3x3 on the skip's);
   Conv transpose: 2*Hin*Win*Cin*kh*kw*Cout; Dense: 2*in*out per position; biases not
   counted. Everything else (BatchNorm, activations, adds, upsampling, concatenation, ...)
   is "elementwise", reported apart: output elements x a rough cost per element (BN 2,
   ReLU 1, swish/sigmoid 4, softmax 5, add (n-1), bilinear upsampling 4.5; padding,
   concatenation, nearest upsampling, reshape: 0 FLOPs, only memory traffic).
   Training = forward + gradient w.r.t. the input + gradient w.r.t. the weights, i.e. 3x
   forward for a conv; 2x where the conv's input needs no gradient (the stem: nothing
   before it is trainable, so TensorFlow does not compute it). TensorFlow's own profiler
   count (tf.compat.v1.profiler, float_operation, on the forward graph) is printed beside.
2. Roof: best dense matmul GFLOP/s (tf.linalg.matmul, n = 1024 and 2048, all cores) in
   float32, and in bfloat16 with --policy mixed_bfloat16; a memory bandwidth estimate from
   a large elementwise add. Achieved GFLOP/s = conv FLOPs / measured time.
3. Whole step: model.compile(Adam, SparseCategoricalCrossentropy) and train_on_batch,
   predict_on_batch; median of --steps after 2 warm-up steps.
4. Breakdown: every layer in isolation at its real input shape, as a tf.function: forward
   (training=False, the inference path) and forward + backward (training=True, a
   GradientTape w.r.t. the inputs and the layer's weights, a random upstream gradient);
   median of --reps after one warm-up call. Layers with the same class, config, input
   shapes and group are timed once and counted as often as they occur. The loss
   (forward; forward + gradient w.r.t. the probabilities) and Adam's update on all the
   model's trainable variables are timed apart. The sum of the pieces is not the step:
   the difference is Keras/TensorFlow overhead in the step, the per-call overhead of the
   isolated calls, and what a whole graph shares or fuses (or loses: cache, threads).
Nothing in segzoo/ is changed. Runtime for resnet50 at 256 / batch 8 on 2 shared cores:
a few minutes.
"""

import argparse
import datetime
import inspect
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import segzoo  # noqa: E402
from segzoo import blocks  # noqa: E402
from benchmarks._machine import load, machine  # noqa: E402

L = keras.layers
CONV_CLASSES = (L.Conv1D, L.Conv2D, L.Conv3D, L.DepthwiseConv1D, L.DepthwiseConv2D,
                L.SeparableConv1D, L.SeparableConv2D, L.Conv1DTranspose, L.Conv2DTranspose,
                L.Conv3DTranspose, L.Dense, blocks.NearestUpsamplingConv2D)
UPSAMPLING_CLASSES = (L.UpSampling1D, L.UpSampling2D, L.UpSampling3D, blocks.LinearUpsampling)
GROUPS = ("encoder convs", "encoder BN", "encoder activations/adds/other", "decoder convs",
          "decoder BN", "decoder activation", "decoder other", "upsampling", "concatenation",
          "head", "other", "loss", "optimizer update")
ACTIVATION_COST = {"relu": 1, "relu6": 1, "linear": 0, "swish": 4, "silu": 4, "sigmoid": 4,
                   "hard_sigmoid": 2, "hard_swish": 3, "softmax": 5, "gelu": 8, "tanh": 4}

LINES = []


def out(text=""):
    print(text, flush=True)
    LINES.append(text)


def median_seconds(function, reps, warmup=1):
    for _ in range(warmup):
        function()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


# ---------------------------------------------------------------- layers, groups, FLOPs


def flat_layers(model):
    for layer in model.layers:
        if isinstance(layer, L.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            yield from flat_layers(layer)
        else:
            yield layer


def model_layers(model):
    """(layer, part) for every leaf layer; part is encoder, decoder, head or other."""
    encoder = model.encoder
    for layer in model.layers:
        if isinstance(layer, L.InputLayer):
            continue
        if layer is encoder:
            yield from ((inner, "encoder") for inner in flat_layers(encoder))
        elif isinstance(layer, keras.Model):
            yield from ((inner, "other") for inner in flat_layers(layer))
        elif layer.name.startswith("decoder_"):
            yield layer, "decoder"
        elif "head" in layer.name:
            yield layer, "head"
        else:
            yield layer, "other"


def group_of(layer, part):
    if part == "head":
        return "head"
    if isinstance(layer, UPSAMPLING_CLASSES) or (part == "decoder" and layer.name.endswith("_upsample")):
        return "upsampling"
    if isinstance(layer, L.Concatenate):
        return "concatenation"
    conv = isinstance(layer, CONV_CLASSES)
    bn = isinstance(layer, L.BatchNormalization)
    if part == "encoder":
        return "encoder convs" if conv else "encoder BN" if bn else "encoder activations/adds/other"
    if part == "decoder":
        if conv:
            return "decoder convs"
        if bn:
            return "decoder BN"
        if isinstance(layer, (L.ReLU, L.Activation, L.LeakyReLU, L.ELU, L.PReLU, L.Softmax)):
            return "decoder activation"
        return "decoder other"
    return "other"


def prod(values):
    result = 1
    for value in values:
        result *= int(value)
    return result


def activation_name(layer):
    if isinstance(layer, L.ReLU):
        return "relu"
    if isinstance(layer, L.Softmax):
        return "softmax"
    function = getattr(layer, "activation", None)
    return getattr(function, "__name__", str(function))


def layer_flops(layer, in_shapes, out_shape):
    """(conv FLOPs, elementwise FLOPs) of one forward pass for one image."""
    x = in_shapes[0]
    spatial_out = prod(out_shape[1:-1])
    if isinstance(layer, blocks.NearestUpsamplingConv2D):  # 2x2 taps per output on x, 3x3 on skips
        skips = sum(shape[-1] for shape in in_shapes[1:])
        return 2 * spatial_out * out_shape[-1] * (4 * x[-1] + 9 * skips), 0
    if isinstance(layer, (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)):
        return 2 * prod(x[1:-1]) * x[-1] * prod(layer.kernel_size) * out_shape[-1], 0
    if isinstance(layer, (L.DepthwiseConv1D, L.DepthwiseConv2D)):
        return 2 * spatial_out * out_shape[-1] * prod(layer.kernel_size), 0
    if isinstance(layer, (L.SeparableConv1D, L.SeparableConv2D)):
        middle = x[-1] * layer.depth_multiplier
        return 2 * spatial_out * middle * (prod(layer.kernel_size) + out_shape[-1]), 0
    if isinstance(layer, (L.Conv1D, L.Conv2D, L.Conv3D)):
        per_output = prod(layer.kernel_size) * x[-1] // layer.groups
        return 2 * spatial_out * out_shape[-1] * per_output, 0
    if isinstance(layer, L.Dense):
        return 2 * spatial_out * x[-1] * out_shape[-1], 0
    elements = prod(out_shape[1:])
    if isinstance(layer, L.BatchNormalization):
        return 0, 2 * elements
    if isinstance(layer, (L.ReLU, L.Activation, L.Softmax)):
        return 0, ACTIVATION_COST.get(activation_name(layer), 1) * elements
    if isinstance(layer, (L.Add, L.Multiply, L.Subtract, L.Average, L.Maximum)):
        return 0, (len(in_shapes) - 1) * elements
    if isinstance(layer, blocks.LinearUpsampling):
        return 0, 4.5 * elements
    if isinstance(layer, (L.GlobalAveragePooling2D, L.AveragePooling2D, L.MaxPooling2D)):
        return 0, prod(x[1:])
    if isinstance(layer, (L.Rescaling, L.Normalization)):
        return 0, 2 * elements
    return 0, 0


def produces_gradient(operation, memo):
    """Whether an operation's output depends on a trainable variable (so backprop reaches it)."""
    key = id(operation)
    if key not in memo:
        memo[key] = False
        if operation.trainable_weights:
            memo[key] = True
        elif operation._inbound_nodes:
            memo[key] = any(produces_gradient(t._keras_history.operation, memo)
                            for t in operation._inbound_nodes[0].input_tensors)
    return memo[key]


def collect(model):
    """One entry per layer call: name, layer, group, node, shapes, FLOPs."""
    entries, memo = [], {}
    for layer, part in model_layers(model):
        for node in layer._inbound_nodes:
            in_shapes = [tuple(t.shape) for t in node.input_tensors]
            out_shape = tuple(node.output_tensors[0].shape)
            conv, elementwise = layer_flops(layer, in_shapes, out_shape)
            input_grad = any(produces_gradient(t._keras_history.operation, memo)
                             for t in node.input_tensors)
            factor = 1 + bool(layer.trainable_weights) + input_grad
            dtype_size = tf.as_dtype(node.output_tensors[0].dtype).size
            moved = sum(prod(shape[1:]) for shape in in_shapes) + prod(out_shape[1:])
            entries.append(dict(
                layer=layer, node=node, group=group_of(layer, part), conv=conv,
                train_conv=conv * factor, elementwise=elementwise, bytes=moved * dtype_size,
            ))
    return entries


# ---------------------------------------------------------------- TensorFlow's count


def tf_profiler_flops(model, size):
    function = tf.function(lambda x: model(x, training=False))
    concrete = function.get_concrete_function(tf.TensorSpec((1, size, size, 3), tf.float32))
    tf.get_logger().setLevel("ERROR")  # a deprecation warning from the v1 profiler
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    profile = tf.compat.v1.profiler.profile(graph=concrete.graph, cmd="op", options=options)
    by_op = {child.name: child.total_float_ops for child in profile.children}
    return profile.total_float_ops, by_op


# ---------------------------------------------------------------- roofs


def matmul_roof(dtype, sizes=(1024, 2048), reps=8):
    best = 0.0
    for n in sizes:
        a = tf.cast(tf.random.uniform((n, n)), dtype)
        b = tf.cast(tf.random.uniform((n, n)), dtype)
        matmul = tf.function(lambda: tf.linalg.matmul(a, b))
        matmul()
        for _ in range(reps):
            start = time.perf_counter()
            matmul().numpy()
            best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def conv_roof(dtype, reps=8):
    """Best GFLOP/s of a large 3x3 convolution (oneDNN's conv kernels beat tf.linalg.matmul
    on some CPUs, so the matmul alone is not the machine's limit)."""
    x = tf.cast(tf.random.uniform((8, 32, 32, 256)), dtype)
    kernel = tf.cast(tf.random.uniform((3, 3, 256, 256)), dtype)
    conv = tf.function(lambda: tf.nn.conv2d(x, kernel, 1, "SAME"))
    conv()
    flops = 2 * 8 * 32 * 32 * 256 * 256 * 9
    return max(flops / median_seconds(conv, 1, 0)[0] / 1e9 for _ in range(reps))


def roofs(dtype):
    """(matmul, conv) GFLOP/s."""
    return matmul_roof(dtype), conv_roof(dtype)


def bandwidth_roof(elements=2**25, reps=5):
    a, b = tf.random.uniform((elements,)), tf.random.uniform((elements,))
    add = tf.function(lambda: a + b)
    add()
    best = min(median_seconds(add, 1, 0)[0] for _ in range(reps))
    return 3 * 4 * elements / best / 1e9


def call_overhead(reps=200):
    x = tf.zeros((4,))
    identity = tf.function(lambda: tf.identity(x))
    identity()
    return median_seconds(identity, reps, 5)[0]


# ---------------------------------------------------------------- timing pieces


def random_like(shape, dtype, batch, seed):
    shape = (batch,) + tuple(shape[1:])
    return tf.cast(tf.random.stateless_uniform(shape, (seed, 0), -1, 1), dtype)


def time_layer(entry, batch, reps, seed):
    layer, node = entry["layer"], entry["node"]
    values = {id(t): random_like(t.shape, t.dtype, batch, seed + i)
              for i, t in enumerate(node.input_tensors)}
    args, kwargs = node.arguments.fill_in(values)
    kwargs = {k: v for k, v in kwargs.items() if k != "training"}
    takes_training = "training" in inspect.signature(layer.call).parameters
    inputs = [values[id(t)] for t in node.input_tensors]

    def call(training):
        extra = {"training": training} if takes_training else {}
        return layer(*args, **kwargs, **extra)

    forward = tf.function(lambda: call(False))
    upstream_tensor = node.output_tensors[0]
    upstream = random_like(upstream_tensor.shape, upstream_tensor.dtype, batch, seed + 99)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            for tensor in inputs:
                tape.watch(tensor)
            output = call(True)
        sources = [t for t in inputs if t.dtype.is_floating] + list(layer.trainable_variables)
        return tape.gradient(output, sources, output_gradients=tf.cast(upstream, output.dtype))

    return median_seconds(forward, reps)[0], median_seconds(forward_backward, reps)[0]


def config_key(entry):
    layer, node = entry["layer"], entry["node"]
    config = {k: v for k, v in layer.get_config().items() if k != "name"}
    shapes = tuple((tuple(t.shape), str(t.dtype)) for t in node.input_tensors)
    return entry["group"], type(layer).__name__, repr(sorted(config.items(), key=str)), shapes


def time_loss(model, y, reps):
    probs = tf.nn.softmax(tf.random.stateless_normal(tuple(y.shape) + (model.output.shape[-1],), (7, 0)))
    loss = keras.losses.SparseCategoricalCrossentropy()
    forward = tf.function(lambda: loss(y, probs))

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(probs)
            value = loss(y, probs)
        return tape.gradient(value, probs)

    return median_seconds(forward, reps)[0], median_seconds(forward_backward, reps)[0]


def time_optimizer(model, reps):
    variables = model.trainable_variables
    optimizer = keras.optimizers.Adam()
    optimizer.build(variables)
    grads = [tf.random.stateless_normal(v.shape, (i, 1)) * 1e-3 for i, v in enumerate(variables)]
    apply = tf.function(lambda: optimizer.apply(grads, variables))
    return median_seconds(apply, reps)[0]


# ---------------------------------------------------------------- report


def fmt_flops(value):
    return f"{value / 1e9:.2f} GFLOP"


def versions():
    import importlib.metadata as metadata
    try:
        segzoo_version = metadata.version("segzoo")
    except metadata.PackageNotFoundError:
        segzoo_version = getattr(segzoo, "__version__", "unknown")
    return (f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
            f"NumPy {np.__version__}, segzoo {segzoo_version}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--upsampling", default="bilinear", choices=blocks.UPSAMPLING_MODES)
    parser.add_argument("--policy", default="float32", choices=("float32", "mixed_bfloat16"))
    parser.add_argument("--steps", type=int, default=5, help="measured whole steps (after 2 warm-up)")
    parser.add_argument("--reps", type=int, default=3, help="measured calls per isolated layer")
    parser.add_argument("--markdown", metavar="FILE", help="append the results as a Markdown section")
    args = parser.parse_args()
    if keras.backend.backend() != "tensorflow":
        sys.exit("benchmarks.profile_step needs KERAS_BACKEND=tensorflow")
    began = time.perf_counter()
    load_before = load()
    keras.mixed_precision.set_global_policy(args.policy)
    model = segzoo.build("unet", backbone=args.backbone, num_classes=4, activation="softmax",
                         input_shape=(args.size, args.size, 3), encoder_weights=None,
                         upsampling=args.upsampling)
    command = "python -m benchmarks.profile_step " + " ".join(sys.argv[1:])
    out(f"UNet-{args.backbone}, {args.size}x{args.size}, batch {args.batch}, upsampling "
        f"{args.upsampling}, policy {args.policy}; {model.count_params() / 1e6:.2f} M parameters")
    out(f"machine: {machine()}; load before {load_before}; TF intra-op threads "
        f"{tf.config.threading.get_intra_op_parallelism_threads() or 'all'}")

    # FLOPs
    entries = collect(model)
    conv = sum(e["conv"] for e in entries)
    train_conv = sum(e["train_conv"] for e in entries)
    elementwise = sum(e["elementwise"] for e in entries)
    out()
    out(f"FLOPs per image (analytic): forward conv/dense {fmt_flops(conv)}, training conv/dense "
        f"{fmt_flops(train_conv)} ({train_conv / conv:.2f}x forward: fwd + grad input + grad weights, "
        f"no input grad for the stem), elementwise forward ~{elementwise / 1e9:.3f} GFLOP (memory-bound, apart)")
    try:
        total, by_op = tf_profiler_flops(model, args.size)
        tf_conv = sum(v for k, v in by_op.items() if "Conv" in k or k in ("MatMul", "BatchMatMulV2"))
        others = ", ".join(f"{k} {v / 1e9:.3f}" for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])
                           if v and not ("Conv" in k or k in ("MatMul", "BatchMatMulV2")))
        out(f"TensorFlow profiler (forward graph, batch 1): total {fmt_flops(total)}, conv/matmul ops "
            f"{fmt_flops(tf_conv)} ({tf_conv / conv:.3f}x the analytic count); other ops (GFLOP): "
            f"{others[:300] or 'none counted'}")
    except Exception as error:  # the cross-check is optional
        out(f"TensorFlow profiler count unavailable: {type(error).__name__}: {str(error)[:200]}")

    # roofs (measured again after the breakdown: on a shared machine the best of both counts)
    roof32 = roofs(tf.float32)
    roof16 = roofs(tf.bfloat16) if args.policy == "mixed_bfloat16" else None
    roof = max(roof16 or roof32)
    bandwidth = bandwidth_roof()
    overhead = call_overhead()
    out(f"roof float32: matmul {roof32[0]:.1f}, 3x3 conv {roof32[1]:.1f} GFLOP/s"
        + (f"; bfloat16: matmul {roof16[0]:.1f}, 3x3 conv {roof16[1]:.1f} GFLOP/s" if roof16 else "")
        + f" -> roof {roof:.1f} GFLOP/s (the best {'bfloat16' if roof16 else 'float32'} figure)")
    out(f"elementwise add {bandwidth:.1f} GB/s (read 2 + write 1); empty tf.function call "
        f"{overhead * 1e3:.3f} ms")

    # whole step
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(0, 1, (args.batch, args.size, args.size, 3)), "float32")
    y = tf.constant(rng.integers(0, 4, (args.batch, args.size, args.size)), "int32")
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy())
    step, step_times = median_seconds(lambda: model.train_on_batch(x, y), args.steps, warmup=2)
    infer, infer_times = median_seconds(lambda: model.predict_on_batch(x), args.steps, warmup=2)
    out()
    out(f"train_on_batch: median {step * 1e3:.0f} ms ({args.batch / step:.2f} img/s); steps (ms) "
        + " ".join(f"{t * 1e3:.0f}" for t in step_times))
    out(f"  achieved {train_conv * args.batch / step / 1e9:.1f} GFLOP/s (training conv FLOPs / step) "
        f"= {train_conv * args.batch / step / 1e9 / roof:.1%} of the roof")
    out(f"predict_on_batch: median {infer * 1e3:.0f} ms ({args.batch / infer:.2f} img/s); steps (ms) "
        + " ".join(f"{t * 1e3:.0f}" for t in infer_times))
    out(f"  achieved {conv * args.batch / infer / 1e9:.1f} GFLOP/s (forward conv FLOPs / step) "
        f"= {conv * args.batch / infer / 1e9 / roof:.1%} of the roof")

    # breakdown
    timed, unique = {}, 0
    breakdown_began = time.perf_counter()
    rows = {group: dict(n=0, fwd=0.0, both=0.0, conv=0.0, train_conv=0.0, bytes=0) for group in GROUPS}
    for entry in entries:
        key = config_key(entry)
        if key not in timed:
            timed[key] = time_layer(entry, args.batch, args.reps, seed=unique)
            unique += 1
        fwd, both = timed[key]
        row = rows[entry["group"]]
        row["n"] += 1
        row["fwd"] += fwd
        row["both"] += both
        row["conv"] += entry["conv"] * args.batch
        row["train_conv"] += entry["train_conv"] * args.batch
        row["bytes"] += entry["bytes"] * args.batch
    loss_fwd, loss_both = time_loss(model, y, args.reps)
    rows["loss"].update(n=1, fwd=loss_fwd, both=loss_both)
    rows["optimizer update"].update(n=1, both=time_optimizer(model, args.reps))
    breakdown_seconds = time.perf_counter() - breakdown_began
    again = roofs(tf.bfloat16 if roof16 else tf.float32)
    out()
    out(f"roof measured again: matmul {again[0]:.1f}, 3x3 conv {again[1]:.1f} GFLOP/s; the roof used "
        f"below is the best of both: {max(roof, *again):.1f} GFLOP/s")
    if max(again) > roof:
        out("(the whole-step percentages above used the first, lower roof)")
    roof = max(roof, *again)
    out()
    total_fwd = sum(r["fwd"] for r in rows.values())
    total_both = sum(r["both"] for r in rows.values())
    calls = len(entries) + 2

    out(f"Per-group breakdown: {len(entries)} layer calls, {unique} timed (same config and shape timed "
        f"once), {args.reps} reps each, median; {breakdown_seconds:.0f} s")
    out("fwd: training=False (inference path); fwd+bwd: training=True, grads w.r.t. inputs and weights.")
    out("GFLOP/s: training conv FLOPs / fwd+bwd; GB/s (groups without convs): bytes in + out / fwd.")
    header = (f"{'group':<32}{'layers':>7}{'ms fwd':>10}{'ms fwd+bwd':>12}{'share':>8}"
              f"{'GFLOP/s':>9}{'% roof':>8}{'GB/s fwd':>10}")
    out(header)
    out("-" * len(header))
    for group, row in rows.items():
        if not row["n"]:
            continue
        flops = f"{row['train_conv'] / row['both'] / 1e9:>9.1f}{row['train_conv'] / row['both'] / 1e9 / roof:>8.1%}" \
            if row["train_conv"] and row["both"] else f"{'':>17}"
        memory_bound = row["bytes"] and row["fwd"] and not row["conv"]
        traffic = f"{row['bytes'] / row['fwd'] / 1e9:>10.1f}" if memory_bound else f"{'':>10}"
        fwd = f"{row['fwd'] * 1e3:>10.1f}" if row["fwd"] else f"{'-':>10}"
        out(f"{group:<32}{row['n']:>7}{fwd}{row['both'] * 1e3:>12.1f}{row['both'] / total_both:>8.1%}"
            f"{flops}{traffic}")
    out("-" * len(header))
    out(f"{'sum of the pieces':<32}{calls:>7}{total_fwd * 1e3:>10.1f}{total_both * 1e3:>12.1f}"
        f"{1:>8.0%}{train_conv * args.batch / total_both / 1e9:>9.1f}"
        f"{train_conv * args.batch / total_both / 1e9 / roof:>8.1%}")
    out(f"{'measured whole step':<32}{'':>7}{infer * 1e3:>10.1f}{step * 1e3:>12.1f}"
        f"{step / total_both:>8.0%}{train_conv * args.batch / step / 1e9:>9.1f}"
        f"{train_conv * args.batch / step / 1e9 / roof:>8.1%}")
    out(f"(fwd: predict_on_batch; fwd+bwd: train_on_batch. Step - sum = {(step - total_both) * 1e3:+.0f} ms "
        f"train, {(infer - total_fwd) * 1e3:+.0f} ms inference: Keras/TF step overhead and fusion or "
        f"scheduling effects of the whole graph, less the ~{calls * overhead * 1e3:.0f} ms of per-call "
        f"overhead that the {calls} isolated calls add to each sum.)")
    elapsed = time.perf_counter() - began
    out(f"load after {load()}; total runtime {elapsed:.0f} s")

    if args.markdown:
        date = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        with open(args.markdown, "a") as handle:
            handle.write(
                f"\n## Training step profile: UNet-{args.backbone} {args.size}x{args.size} batch "
                f"{args.batch} ({args.policy}, {args.upsampling})\n\n"
                f"- command: `{command}`\n- date: {date}\n- machine: {machine()}\n"
                f"- load average before / after: {load_before} / {load()}\n- versions: {versions()}\n\n"
                "```\n" + "\n".join(LINES) + "\n```\n")
        print(f"appended to {args.markdown}")


if __name__ == "__main__":
    main()
