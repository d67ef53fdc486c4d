"""SegFormer's all-MLP decoder (Xie et al. 2021), as segmentation_models.pytorch builds
it over any encoder.

Every encoder level from stride 2 to the deepest goes through its own linear layer (a
1x1 conv with bias) to `decoder_filters[0]` channels and is resampled to stride 4
(bilinear doublings up, 2x2 average pooling down from stride 2: what a bilinear resize
by 1/2 computes); the levels are concatenated and fused by a 1x1 conv-BN-ReLU. The head
predicts at stride 4 and upsamples bilinearly. The paper's MiT encoder has no stride-2
level, so it uses four; smp, and segzoo, use every level a CNN encoder has (five with
depth 5). A plain encoder's stride-1 feature is not used.
"""

from keras import layers

from segzoo import blocks
from segzoo.models._spec import register_architecture

TARGET_STRIDE = 4
_AVERAGE_POOL = {2: layers.AveragePooling2D, 3: layers.AveragePooling3D}


def decode(features, depth, decoder_filters):
    """decoder_filters: (the embedding width,), smp's (256,)."""
    (width,) = decoder_filters
    resampled = []
    for level in range(depth, 0, -1):  # deepest first, as smp concatenates them
        stride = 2**level
        x = blocks.conv(features[stride], width, f"decoder_mlp{stride}", kernel_size=1, use_bias=True)
        if stride < TARGET_STRIDE:
            x = _AVERAGE_POOL[blocks.spatial_dims(x)](TARGET_STRIDE // stride, name=f"decoder_resample{stride}")(x)
        else:
            x = blocks.upsample_by(x, stride // TARGET_STRIDE, f"decoder_resample{stride}")
        resampled.append(x)
    x = blocks.concatenate(resampled, "decoder_concat")
    return blocks.conv_bn_relu(x, width, "decoder_fuse", kernel_size=1)


register_architecture(
    "segformer", decode, default_filters=(256,), filter_count=1, mirror_encoder=False,
    output_stride=lambda depth: TARGET_STRIDE,
)
