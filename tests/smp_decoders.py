"""segmentation_models.pytorch's decoders and heads, imported without its package
`__init__` (which needs timm and torchvision, absent here): the independent reference
for segzoo's decoder parameter counts. Only torch and smp's own files are used."""

import importlib
import importlib.util
import sys
import types


def _stub_packages():
    """Register smp's packages as bare namespaces so that importing one of its modules
    does not run the package `__init__` files."""
    spec = importlib.util.find_spec("segmentation_models_pytorch")
    if spec is None:
        return None
    root = spec.submodule_search_locations[0]
    for name, folder in [("", ""), (".base", "/base"), (".decoders", "/decoders"),
                         (".decoders.fpn", "/decoders/fpn"), (".decoders.linknet", "/decoders/linknet"),
                         (".decoders.unet", "/decoders/unet"), (".decoders.unetplusplus", "/decoders/unetplusplus"),
                         (".decoders.segformer", "/decoders/segformer")]:
        full = "segmentation_models_pytorch" + name
        if full not in sys.modules:
            package = types.ModuleType(full)
            package.__path__ = [root + folder]
            sys.modules[full] = package
    return root


def load():
    """{"fpn": FPNDecoder, "linknet": LinknetDecoder, "unet": UnetDecoder, "unetplusplus":
    UnetPlusPlusDecoder, "segformer": SegformerDecoder, "head": SegmentationHead}, or None
    when smp or torch is not installed."""
    if importlib.util.find_spec("torch") is None or _stub_packages() is None:
        return None
    return {
        "fpn": importlib.import_module("segmentation_models_pytorch.decoders.fpn.decoder").FPNDecoder,
        "linknet": importlib.import_module("segmentation_models_pytorch.decoders.linknet.decoder").LinknetDecoder,
        "unet": importlib.import_module("segmentation_models_pytorch.decoders.unet.decoder").UnetDecoder,
        "unetplusplus": importlib.import_module(
            "segmentation_models_pytorch.decoders.unetplusplus.decoder").UnetPlusPlusDecoder,
        "segformer": importlib.import_module("segmentation_models_pytorch.decoders.segformer.decoder").SegformerDecoder,
        "head": importlib.import_module("segmentation_models_pytorch.base.heads").SegmentationHead,
    }


def parameter_count(module):
    return sum(parameter.numel() for parameter in module.parameters())
