"""LinkNet decoder (Chaurasia & Culurciello 2017), as segmentation_models.pytorch builds it.

One block per encoder level, deepest first: a 1x1 conv to a quarter of the width, a 4x4
stride-2 transposed conv, a 1x1 conv to the width of the next shallower encoder feature,
each with BatchNorm and ReLU; the block's output is *added* to that feature (the link),
which keeps the decoder light. The last block reaches full resolution with
`decoder_filters[0]` channels (smp's 32). A plain encoder's stride-1 feature is not
linked: as in smp, the skips are the strides 2 to 2**(depth-1).
"""

from keras import layers

from segzoo import blocks
from segzoo.models._spec import register_architecture


def decode(features, depth, decoder_filters):
    """decoder_filters: (the last block's width,); the others follow the encoder."""
    x = features[2**depth]
    for stage in range(1, depth + 1):
        stride = 2 ** (depth - stage)
        skip = features[stride] if stride > 1 else None
        width = skip.shape[-1] if skip is not None else decoder_filters[0]
        x = _block(x, width, f"decoder_stage{stage}")
        if skip is not None:
            x = layers.Add(name=f"decoder_stage{stage}_link")([x, skip])
    return x


def _block(x, width, name):
    middle = max(1, x.shape[-1] // 4)
    x = blocks.conv_bn_relu(x, middle, f"{name}_reduce", kernel_size=1)
    x = blocks.conv_transpose(x, middle, f"{name}_upsample_conv", kernel_size=4)
    x = blocks.relu(blocks.batch_norm(x, f"{name}_upsample_bn"), f"{name}_upsample_relu")
    return blocks.conv_bn_relu(x, width, f"{name}_expand", kernel_size=1)


register_architecture("linknet", decode, default_filters=(32,), filter_count=1, mirror_encoder=False)
