"""The pix2pix-style decoder of the TensorFlow image segmentation tutorial: per level a
stride-2 transposed conv, BatchNorm, optional dropout and ReLU, then the skip; the head's
own stride-2 transposed conv reaches full resolution."""

from keras import layers

from segzoo.errors import ConfigError
from segzoo import blocks
from segzoo.models._spec import register_architecture


def decode(features, depth, decoder_filters, dropout=0.0):
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}.")
    x = features[2**depth]
    for stage, width in enumerate(decoder_filters, start=1):
        name = f"decoder_stage{stage}"
        x = blocks.conv_transpose(x, width, f"{name}_upsample", kernel_size=3, use_bias=False)
        x = blocks.batch_norm(x, f"{name}_bn")
        if dropout:
            x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
        x = blocks.relu(x, f"{name}_relu")
        x = blocks.concatenate([x, features[2 ** (depth - stage)]], f"{name}_concat")
    return x


register_architecture(
    "encoder_decoder", decode, default_filters=(512, 256, 128, 64), head_upsamples=True, options=("dropout",)
)
