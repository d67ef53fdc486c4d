"""Attention U-Net decoder (Oktay et al. 2018): a U-Net whose skips pass through additive
attention gates before they are concatenated.

At each decoder stage the upsampled decoder feature g gates the encoder feature x at the
same stride: alpha = sigmoid(psi(relu(W_x x + W_g g + b_g)) + b_psi), with 1x1 convs W_x
(no bias), W_g and psi (to one channel) and F_int = F_x // 2 intermediate channels (the
paper's reference code), and the skip becomes x * alpha. The paper computes the gate at
the coarser stride and resamples alpha; like the common implementations (LeeJunHyun's
AttU_Net, keras-unet-collection) segzoo gates after upsampling: same weights, no
resampling. Then, as in `unet`: concatenate, two 3x3 conv-BN-ReLU blocks.
"""

from keras import layers

from segzoo import blocks
from segzoo.models._spec import register_architecture
from segzoo.models.unet import check_upsampling


def decode(features, depth, decoder_filters, upsampling="bilinear"):
    check_upsampling(upsampling)
    x = features[2**depth]
    for stage, width in enumerate(decoder_filters, start=1):
        name = f"decoder_stage{stage}"
        stride = 2 ** (depth - stage)
        x = blocks.upsample(x, upsampling, f"{name}_upsample", filters=width)
        if stride in features:
            skip = attention_gate(features[stride], x, f"{name}_gate")
            x = blocks.concatenate([x, skip], f"{name}_concat")
        x = blocks.conv_bn_relu(x, width, f"{name}_block1")
        x = blocks.conv_bn_relu(x, width, f"{name}_block2")
    return x


def attention_gate(x, gate, name):
    """x * alpha, alpha in (0, 1) per pixel from x and the gating signal (same stride)."""
    inner = max(1, x.shape[-1] // 2)
    theta = blocks.conv(x, inner, f"{name}_x_conv", kernel_size=1)
    phi = blocks.conv(gate, inner, f"{name}_g_conv", kernel_size=1, use_bias=True)
    joined = blocks.relu(layers.Add(name=f"{name}_add")([theta, phi]), f"{name}_relu")
    alpha = blocks.conv(joined, 1, f"{name}_psi_conv", kernel_size=1, use_bias=True)
    alpha = layers.Activation("sigmoid", name=f"{name}_alpha")(alpha)
    return layers.Multiply(name=f"{name}_apply")([x, alpha])


register_architecture("attention_unet", decode, options=("upsampling",))
