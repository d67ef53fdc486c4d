"""Building blocks that work for 2-D images and 3-D volumes alike.

The number of spatial dimensions is read from the tensor, so one decoder serves both.
Every layer gets an explicit name: weights move between models by name (replace_head,
fine-tuning) and names must not depend on how many models the process built before.
"""

import math

import keras
from keras import layers, ops

_CONV = {2: layers.Conv2D, 3: layers.Conv3D}
_CONV_TRANSPOSE = {2: layers.Conv2DTranspose, 3: layers.Conv3DTranspose}
_MAX_POOL = {2: layers.MaxPooling2D, 3: layers.MaxPooling3D}
_UPSAMPLE = {2: layers.UpSampling2D, 3: layers.UpSampling3D}

UPSAMPLING_MODES = ("bilinear", "nearest", "transpose")


def spatial_dims(x):
    return len(x.shape) - 2


def conv(x, filters, name, kernel_size=3, strides=1, use_bias=False):
    return _CONV[spatial_dims(x)](
        filters, kernel_size, strides=strides, padding="same", use_bias=use_bias, name=name
    )(x)


def conv_transpose(x, filters, name, kernel_size, use_bias=True):
    """A stride-2 transposed convolution: doubles every spatial size."""
    return _CONV_TRANSPOSE[spatial_dims(x)](
        filters, kernel_size, strides=2, padding="same", use_bias=use_bias, name=name
    )(x)


def batch_norm(x, name):
    return BatchNormalization(name=name)(x)


def relu(x, name):
    return layers.ReLU(name=name)(x)


def conv_bn_relu(x, filters, name, kernel_size=3, strides=1):
    x = conv(x, filters, f"{name}_conv", kernel_size, strides)
    x = batch_norm(x, f"{name}_bn")
    return relu(x, f"{name}_relu")


def residual_unit(x, filters, name, strides=1, preactivate=True):
    """(BN-ReLU-conv) x 2 plus an identity or 1x1-projection shortcut (He et al. 2016).

    `preactivate=False` drops the first BN-ReLU, as in the first unit of ResUNet.
    """
    shortcut = x
    if strides != 1:
        # Subsample, then a 1x1 conv: the same as a strided 1x1 conv (Keras' ResNetV2 does
        # this too), and TF 2.21's oneDNN crashes in the gradient of strided 1x1 convs
        # with few channels.
        shortcut = _MAX_POOL[spatial_dims(x)](pool_size=1, strides=strides, name=f"{name}_shortcut_pool")(x)
    if strides != 1 or x.shape[-1] != filters:
        shortcut = conv(shortcut, filters, f"{name}_shortcut_conv", kernel_size=1)
        shortcut = batch_norm(shortcut, f"{name}_shortcut_bn")
    if preactivate:
        x = relu(batch_norm(x, f"{name}_bn1"), f"{name}_relu1")
    x = conv(x, filters, f"{name}_conv1", strides=strides)
    x = relu(batch_norm(x, f"{name}_bn2"), f"{name}_relu2")
    x = conv(x, filters, f"{name}_conv2")
    return layers.Add(name=f"{name}_add")([shortcut, x])


def nearest_upsampling_conv(inputs, filters, name):
    """conv3x3(concatenate([nearest 2x upsampling of inputs[0], *inputs[1:]])), 2-D only."""
    return NearestUpsamplingConv2D(filters, name=name)(inputs)


def max_pool(x, name):
    return _MAX_POOL[spatial_dims(x)](pool_size=2, name=name)(x)


def upsample(x, mode, name, filters=None):
    """Double every spatial size: (bi/tri)linear, nearest, or a learned transposed conv."""
    if mode == "transpose":
        return conv_transpose(x, filters, name, kernel_size=2)
    if mode == "nearest":
        return _UPSAMPLE[spatial_dims(x)](size=2, name=name)(x)
    # Not UpSampling2D(interpolation="bilinear"): it fails in graph mode when spatial
    # sizes are None (Keras 3.15), and Keras has no trilinear layer for volumes.
    return LinearUpsampling(name=name)(x)


def upsample_by(x, factor, name):
    """Linear upsampling by a power of two, as repeated doublings (factor 1: x itself)."""
    if factor < 1 or factor & (factor - 1):
        raise ValueError(f"upsampling factor must be a power of two, got {factor}")
    for step in range(factor.bit_length() - 1):
        x = LinearUpsampling(name=f"{name}_{step + 1}" if factor > 2 else name)(x)
    return x


def group_norm(x, name, groups=32):
    """GroupNormalization with `groups` groups, or the largest divisor of the width below
    it (narrow decoders: 8 channels get 8 groups)."""
    return layers.GroupNormalization(groups=math.gcd(groups, x.shape[-1]), name=name)(x)


def concatenate(tensors, name):
    return layers.Concatenate(axis=-1, name=name)(tensors)


@keras.saving.register_keras_serializable(package="segzoo")
class LinearUpsampling(layers.Layer):
    """Doubles every spatial axis by linear interpolation with half-pixel centres:
    bilinear for images (equal to `tf.image.resize`), trilinear for volumes."""

    def call(self, inputs):
        height, width = inputs.shape[1:3]
        if len(inputs.shape) == 4 and height is not None and width is not None:
            # One resize kernel: on TensorFlow its gradient costs 1/7 of the composed ops
            # below. Keras' resize needs static sizes; unknown ones take the composed ops.
            x = ops.image.resize(inputs, (2 * height, 2 * width), interpolation="bilinear",
                                 data_format="channels_last")
            return ops.cast(x, inputs.dtype)
        x = inputs
        for axis in range(1, len(inputs.shape) - 1):
            x = _upsample_axis(x, axis)
        return x

    def compute_output_shape(self, input_shape):
        return (
            input_shape[0],
            *[None if size is None else 2 * size for size in input_shape[1:-1]],
            input_shape[-1],
        )


def _upsample_axis(x, axis):
    # out[2i] = 0.25 x[i-1] + 0.75 x[i], out[2i+1] = 0.75 x[i] + 0.25 x[i+1], edges clamped.
    previous = ops.concatenate([_slice(x, axis, 0, 1), _slice(x, axis, None, -1)], axis=axis)
    following = ops.concatenate([_slice(x, axis, 1, None), _slice(x, axis, -1, None)], axis=axis)
    even = 0.25 * previous + 0.75 * x
    odd = 0.75 * x + 0.25 * following
    interleaved = ops.stack([even, odd], axis=axis + 1)
    shape = list(ops.shape(x))
    shape[0] = -1
    shape[axis] = 2 * shape[axis]
    return ops.reshape(interleaved, shape)


def _slice(x, axis, start, stop):
    index = [slice(None)] * len(x.shape)
    index[axis] = slice(start, stop)
    return x[tuple(index)]


@keras.saving.register_keras_serializable(package="segzoo")
class BatchNormalization(layers.BatchNormalization):
    """keras.layers.BatchNormalization that runs TensorFlow's fused kernel where it can.

    On TensorFlow, Keras 3 normalizes with separate moment, scale and shift ops: several
    passes over each activation forward and more backward, where tf-keras ran one fused
    kernel (and grappler folds it into the preceding conv at inference). Same function,
    same variables, same moving-statistics update; other backends, masks, renorm,
    synchronized statistics and other layouts take Keras' own path.
    """

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        return _fused_batch_norm(self, inputs, bool(training) and self.trainable)

    def _fusable(self, inputs, mask):
        rank = len(inputs.shape)
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.renorm
            and not self.synchronized
            and rank in (4, 5)
            and self.axis in (-1, rank - 1)
            and self.variable_dtype == "float32"
            and inputs.dtype in ("float32", "float16", "bfloat16")
        )


def _fused_batch_norm(layer, inputs, training):
    import tensorflow as tf  # only reached on the TensorFlow backend

    channels = inputs.shape[-1]
    scale = layer.gamma if layer.scale else tf.ones((channels,), "float32")
    offset = layer.beta if layer.center else tf.zeros((channels,), "float32")
    fused = tf.compat.v1.nn.fused_batch_norm
    layout = "NHWC" if len(inputs.shape) == 4 else "NDHWC"
    if not training:
        outputs, _, _ = fused(
            inputs, scale, offset, mean=layer.moving_mean, variance=layer.moving_variance,
            epsilon=layer.epsilon, data_format=layout, is_training=False,
        )
        return ops.cast(outputs, layer.compute_dtype)
    outputs, mean, variance = fused(
        inputs, scale, offset, epsilon=layer.epsilon, data_format=layout, is_training=True
    )
    # The kernel returns the unbiased variance; Keras' moving average uses the biased one.
    count = tf.cast(tf.size(inputs) // channels, variance.dtype)
    variance = variance * (count - 1) / count
    layer.moving_mean.assign(layer.moving_mean * layer.momentum + mean * (1 - layer.momentum))
    layer.moving_variance.assign(
        layer.moving_variance * layer.momentum + variance * (1 - layer.momentum)
    )
    return ops.cast(outputs, layer.compute_dtype)


@keras.saving.register_keras_serializable(package="segzoo")
class NearestUpsamplingConv2D(layers.Layer):
    """conv3x3(concatenate([upsample_nearest_2x(x), skip])), computed without upsampling.

    A 3x3 convolution over a nearest-upsampled image reads, for each of the four output
    phases (row and column parity), only a 2x2 window of the small image, with taps that
    are sums of the 3x3 kernel's: one stride-2 transposed convolution with a 4x4 kernel,
    4/9 of the multiply-adds on x's channels, and neither the upsampled tensor nor the
    concatenation is ever built. The skip's channels get an ordinary 3x3 convolution.
    Same function and the same (3, 3, in, out) kernel as UpSampling2D + Concatenate +
    Conv2D(padding="same", use_bias=False).
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters

    def build(self, input_shape):
        channels = sum(shape[-1] for shape in input_shape)
        self.kernel = self.add_weight(
            name="kernel", shape=(3, 3, channels, self.filters), initializer="glorot_uniform"
        )

    def call(self, inputs):
        x, *skip = inputs
        if keras.backend.backend() == "jax":
            # XLA's CPU gradient of this transposed conv halved UNet-MobileNetV2 training
            # speed (1.14 vs 2.28 images/s): on JAX, upsample and concatenate instead.
            upsampled = ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)
            return ops.conv(ops.concatenate([upsampled, *skip], axis=-1), self.kernel, padding="same")
        channels = x.shape[-1]
        y = ops.conv_transpose(x, _transposed_kernel(self.kernel[:, :, :channels]), strides=2, padding="same")
        if skip:
            y = y + ops.conv(skip[0], self.kernel[:, :, channels:], padding="same")
        return y

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape[0]
        double = [None if size is None else 2 * size for size in (height, width)]
        return (batch, *double, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


def _transposed_kernel(kernel):
    """The (4, 4, out, in) kernel of a stride-2 transposed convolution equal to a 3x3
    convolution (taps k0, k1, k2 per axis) over the nearest-upsampled input: output row 2i
    reads input rows i-1 (k0) and i (k1 + k2), row 2i+1 rows i (k0 + k1) and i+1 (k2)."""

    def fold(k, axis):
        k0, k1, k2 = (k[(slice(None),) * axis + (slice(t, t + 1),)] for t in range(3))
        return ops.concatenate([k2, k1 + k2, k0 + k1, k0], axis=axis)

    return ops.transpose(fold(fold(kernel, 0), 1), (0, 1, 3, 2))
