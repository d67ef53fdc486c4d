"""UNet++ decoder (Zhou et al. 2018), as segmentation_models.pytorch builds it: nested,
densely connected skip pathways.

Node X(d, l) (0 <= d <= l) sits at the stride of the encoder feature l+1 levels below
the deepest; it upsamples X(d, l-1) (the deepest feature itself for d = l), concatenates
the nodes X(d+1..l, l) of the same stride and that encoder feature, and applies two 3x3
conv-BN-ReLU blocks. Row d = 0 is the U-Net decoder's path and takes `decoder_filters`;
inner nodes keep the width of their encoder feature. A last block upsamples X(0, D-2) to
full resolution without a skip. As in smp, a plain encoder's stride-1 feature is not used.
"""

from segzoo import blocks
from segzoo.models._spec import register_architecture
from segzoo.models.unet import check_upsampling


def decode(features, depth, decoder_filters, upsampling="bilinear"):
    check_upsampling(upsampling)
    levels = [features[2 ** (depth - k)] for k in range(depth)]  # deepest first, down to stride 2
    nodes = {}
    for column in range(depth - 1):
        for row in range(depth - 1 - column):
            last = row + column  # the node's encoder level is levels[last + 1]
            x = levels[row] if column == 0 else nodes[row, last - 1]
            width = decoder_filters[last] if row == 0 else levels[last + 1].shape[-1]
            skips = [nodes[inner, last] for inner in range(row + 1, last + 1)] + [levels[last + 1]]
            nodes[row, last] = _block(x, skips, width, upsampling, f"decoder_x{row}_{last}")
    return _block(nodes[0, depth - 2], [], decoder_filters[depth - 1], upsampling, f"decoder_x0_{depth - 1}")


def _block(x, skips, width, upsampling, name):
    x = blocks.upsample(x, upsampling, f"{name}_upsample", filters=x.shape[-1])
    if skips:
        x = blocks.concatenate([x, *skips], f"{name}_concat")
    x = blocks.conv_bn_relu(x, width, f"{name}_block1")
    return blocks.conv_bn_relu(x, width, f"{name}_block2")


register_architecture("unetplusplus", decode, options=("upsampling",))
