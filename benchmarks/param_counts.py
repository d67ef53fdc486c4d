"""Parameter counts of segzoo's architectures over ResNet50 at 256x256, next to
segmentation_models.pytorch's same model (docs/architectures.md prints this table).

    python -m benchmarks.param_counts

Encoders differ between the libraries (Keras' ResNet50 convolutions have biases,
torchvision's do not), so the decoder + head counts are the comparable ones; smp's are
taken from its decoder and head modules fed segzoo's encoder widths, imported without
smp's package __init__ (which needs timm and torchvision). Needs torch and smp.
"""

import sys
from pathlib import Path

import numpy as np

import segzoo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import smp_decoders  # noqa: E402

CLASSES = 4


def _trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def _smp_decoder_and_head(architecture, channels, smp):
    """smp's decoder + head as its model classes build them by default (5 levels)."""
    if architecture == "fpn":
        decoder = smp["fpn"](channels)
        head = smp["head"](decoder.out_channels, CLASSES, kernel_size=1, upsampling=4)
    elif architecture == "linknet":
        decoder = smp["linknet"](channels, prefinal_channels=32, n_blocks=5)
        head = smp["head"](32, CLASSES, kernel_size=1)
    elif architecture == "segformer":
        decoder = smp["segformer"](channels, encoder_depth=5, segmentation_channels=256)
        head = smp["head"](256, CLASSES, kernel_size=1, upsampling=4)
    elif architecture in ("unet", "unetplusplus"):
        decoder = smp[architecture](channels, (256, 128, 64, 32, 16), n_blocks=5)
        head = smp["head"](16, CLASSES, kernel_size=3)
    else:
        return None
    return smp_decoders.parameter_count(decoder) + smp_decoders.parameter_count(head)


def main():
    smp = smp_decoders.load()
    if smp is None:
        sys.exit("needs torch and segmentation_models_pytorch")
    print("| architecture | segzoo total | segzoo decoder + head | smp decoder + head | difference |")
    print("|---|---:|---:|---:|---:|")
    for architecture in segzoo.list_architectures():
        model = segzoo.build(architecture, backbone="resnet50", num_classes=CLASSES, input_shape=(256, 256, 3))
        ours = _trainable(model) - _trainable(model.encoder)
        widths = model.encoder.output
        channels = (3, *[widths[2**level].shape[-1] for level in range(1, 6)])
        theirs = _smp_decoder_and_head(architecture, channels, smp)
        difference = "no smp model" if theirs is None else f"{ours - theirs:+,} ({(ours - theirs) / theirs:+.3%})"
        theirs = "-" if theirs is None else f"{theirs:,}"
        print(f"| `{architecture}` | {_trainable(model):,} | {ours:,} | {theirs} | {difference} |")


if __name__ == "__main__":
    main()
