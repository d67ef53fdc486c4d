"""Agreement with MONAI and segmentation_models.pytorch where the definitions coincide
(docs/losses.md says where and why they differ). CI installs torch 2.13 CPU, MONAI and
smp; without them these tests are skipped."""

import importlib
import importlib.util
import sys
import types

import numpy as np
import pytest

from segzoo import losses

torch = pytest.importorskip("torch")
monai_losses = pytest.importorskip("monai.losses")


def _smp_losses():
    """smp's losses need only torch, but `import segmentation_models_pytorch` pulls timm
    and torchvision, and PyPI's torchvision does not load beside the CPU torch wheel.
    Load the losses subpackage without running smp's top-level __init__."""
    if "segmentation_models_pytorch" not in sys.modules:
        spec = importlib.util.find_spec("segmentation_models_pytorch")
        if spec is None:
            pytest.skip("segmentation_models_pytorch is not installed")
        package = types.ModuleType("segmentation_models_pytorch")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["segmentation_models_pytorch"] = package
    return importlib.import_module("segmentation_models_pytorch.losses")


CLASSES = 4


@pytest.fixture
def batch(rng):
    labels = rng.integers(0, CLASSES, size=(3, 8, 6))
    labels[:, 0, :CLASSES] = np.arange(CLASSES)  # every class present in every image
    logits = (rng.normal(size=(3, 8, 6, CLASSES)) * 2).astype("float32")
    return labels, logits


def _segzoo(loss, labels, logits):
    return float(loss(labels, logits))


def _nchw(logits):
    return torch.from_numpy(np.moveaxis(logits, -1, 1).copy())


def _onehot_nchw(labels):
    return torch.from_numpy(np.moveaxis(np.eye(CLASSES, dtype="float32")[labels], -1, 1).copy())


@pytest.mark.parametrize("per_image", [True, False])
def test_dice_and_jaccard_match_monai(batch, per_image):
    labels, logits = batch
    for jaccard, ours in ((False, losses.Dice), (True, losses.Jaccard)):
        theirs = monai_losses.DiceLoss(softmax=True, batch=not per_image, jaccard=jaccard)
        expected = float(theirs(_nchw(logits), _onehot_nchw(labels)))
        assert _segzoo(ours(from_logits=True, per_image=per_image), labels, logits) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("weighting", ["square", "simple", "uniform"])
def test_generalized_dice_matches_monai(batch, weighting, per_image):
    labels, logits = batch
    labels[0][labels[0] == 2] = 1  # a class absent from one image: the infinite-weight rule
    theirs = monai_losses.GeneralizedDiceLoss(softmax=True, w_type=weighting, batch=not per_image)
    expected = float(theirs(_nchw(logits), _onehot_nchw(labels)))
    ours = losses.GeneralizedDice(weighting=weighting, from_logits=True, per_image=per_image)
    assert _segzoo(ours, labels, logits) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("per_image", [True, False])
def test_tversky_matches_monai(batch, per_image):
    labels, logits = batch
    theirs = monai_losses.TverskyLoss(softmax=True, alpha=0.3, beta=0.7, batch=not per_image)
    expected = float(theirs(_nchw(logits), _onehot_nchw(labels)))
    ours = losses.Tversky(alpha=0.3, beta=0.7, from_logits=True, per_image=per_image)
    assert _segzoo(ours, labels, logits) == pytest.approx(expected, abs=1e-5)


def test_focal_matches_monai(rng, batch):
    truth = rng.integers(0, 2, size=(2, 8, 8, 1)).astype("float32")
    logits = (rng.normal(size=(2, 8, 8, 1)) * 3).astype("float32")
    theirs = monai_losses.FocalLoss(gamma=2.0, alpha=0.25)
    expected = float(theirs(_nchw(logits), torch.from_numpy(np.moveaxis(truth, -1, 1).copy())))
    assert _segzoo(losses.Focal(gamma=2.0, alpha=0.25, from_logits=True), truth, logits) == pytest.approx(expected, abs=1e-5)
    # Softmax focal: MONAI averages over channels too, so it is segzoo's value / C.
    labels, logits = batch
    theirs = monai_losses.FocalLoss(gamma=2.0, use_softmax=True)
    expected = float(theirs(_nchw(logits), _onehot_nchw(labels))) * CLASSES
    assert _segzoo(losses.Focal(gamma=2.0, from_logits=True), labels, logits) == pytest.approx(expected, abs=1e-5)


def test_dice_jaccard_tversky_match_smp(batch):
    smp = _smp_losses()
    labels, logits = batch
    target = torch.from_numpy(labels)
    pairs = [
        (smp.DiceLoss("multiclass", from_logits=True), losses.Dice(from_logits=True, smooth=0)),
        (smp.JaccardLoss("multiclass", from_logits=True), losses.Jaccard(from_logits=True, smooth=0)),
        (smp.TverskyLoss("multiclass", from_logits=True, alpha=0.3, beta=0.7),
         losses.Tversky(alpha=0.3, beta=0.7, from_logits=True, smooth=0)),
    ]
    for theirs, ours in pairs:
        expected = float(theirs(_nchw(logits), target))
        assert _segzoo(ours, labels, logits) == pytest.approx(expected, abs=1e-5), type(ours).__name__


def test_binary_focal_and_lovasz_match_smp(rng):
    smp = _smp_losses()
    truth = rng.integers(0, 2, size=(2, 8, 8))
    logits = (rng.normal(size=(2, 8, 8, 1)) * 3).astype("float32")
    target = torch.from_numpy(truth[:, None].astype("float32"))
    expected = float(smp.FocalLoss("binary", alpha=0.25, gamma=2.0)(_nchw(logits), target))
    assert _segzoo(losses.Focal(gamma=2.0, alpha=0.25, from_logits=True), truth, logits) == pytest.approx(expected, abs=1e-5)
    for per_image in (False, True):
        expected = float(smp.LovaszLoss("binary", per_image=per_image, from_logits=True)(_nchw(logits), target))
        ours = losses.Lovasz(per_image=per_image, from_logits=True)
        assert _segzoo(ours, truth, logits) == pytest.approx(expected, abs=1e-5)


def test_multiclass_lovasz_matches_smp(batch):
    smp = _smp_losses()
    labels, logits = batch
    for per_image in (False, True):
        theirs = smp.LovaszLoss("multiclass", per_image=per_image, from_logits=True)
        expected = float(theirs(_nchw(logits), torch.from_numpy(labels)))
        ours = losses.Lovasz(per_image=per_image, from_logits=True)
        assert _segzoo(ours, labels, logits) == pytest.approx(expected, abs=1e-5)
