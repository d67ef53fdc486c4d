"""FPN, LinkNet, UNet++ and Attention U-Net against their papers' block structure and against
segmentation_models.pytorch's decoders (the parameter count of decoder + head over the
same encoder widths)."""

import keras
import numpy as np
import pytest

import segzoo
import smp_decoders
from segzoo.errors import ConfigError

SMP = smp_decoders.load()
needs_smp = pytest.mark.skipif(SMP is None, reason="segmentation_models_pytorch and torch are not installed")
BACKBONES = {"resnet50": {}, "mobilenetv2": {}, "none": {"encoder_filters": 16}}


def _trainable(layers_or_model):
    return int(sum(np.prod(w.shape) for w in layers_or_model.trainable_weights))


def _decoder_and_head(model):
    return _trainable(model) - _trainable(model.encoder)


def _smp_channels(model):
    """smp's encoder.out_channels for segzoo's encoder: the input first, then stride 2 up."""
    widths = model.encoder.output
    return (model.input_shape[-1], *[widths[2**level].shape[-1] for level in range(1, model.depth + 1)])


@needs_smp
@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("merge_policy", ["add", "cat"])
def test_fpn_parameters_equal_smp(backbone, merge_policy):
    model = segzoo.build("fpn", backbone=backbone, num_classes=4, input_shape=(64, 64, 3),
                         merge_policy=merge_policy, **BACKBONES[backbone])
    decoder = SMP["fpn"](_smp_channels(model), merge_policy=merge_policy)
    head = SMP["head"](decoder.out_channels, 4, kernel_size=1, upsampling=4)
    assert _decoder_and_head(model) == smp_decoders.parameter_count(decoder) + smp_decoders.parameter_count(head)


@needs_smp
@pytest.mark.parametrize("backbone", BACKBONES)
def test_linknet_parameters_equal_smp(backbone):
    model = segzoo.build("linknet", backbone=backbone, num_classes=4, input_shape=(64, 64, 3), **BACKBONES[backbone])
    decoder = SMP["linknet"](_smp_channels(model), prefinal_channels=32, n_blocks=5)
    head = SMP["head"](32, 4, kernel_size=1)
    assert _decoder_and_head(model) == smp_decoders.parameter_count(decoder) + smp_decoders.parameter_count(head)


@needs_smp
@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("depth", [5, 3])
def test_unetplusplus_parameters_equal_smp(backbone, depth):
    """smp's head is a 3x3 conv, segzoo's a 1x1: compared with a 1x1 smp head."""
    model = segzoo.build("unetplusplus", backbone=backbone, num_classes=4, input_shape=(64, 64, 3), depth=depth,
                         **BACKBONES[backbone])
    decoder = SMP["unetplusplus"](_smp_channels(model), list(model.decoder_filters), n_blocks=depth)
    head = SMP["head"](model.decoder_filters[-1], 4, kernel_size=1)
    assert _decoder_and_head(model) == smp_decoders.parameter_count(decoder) + smp_decoders.parameter_count(head)


def test_unetplusplus_structure():
    """Zhou et al.'s grid: with depth 4, nodes X(d, l) for 0 <= d <= l <= 2 plus the last
    full-resolution block. X(d, l) sits at the stride of encoder level l+1 (deepest = 0),
    concatenates the upsampled X(d, l-1), the nodes X(d+1..l, l) and that encoder feature;
    the top row takes decoder_filters, inner nodes their encoder feature's width."""
    # plain encoder widths by stride 1, 2, 4, 8, 16: 8, 12, 16, 20, 24
    model = segzoo.build("unetplusplus", backbone="none", num_classes=2, input_shape=(64, 64, 3), depth=4,
                         encoder_filters=(8, 12, 16, 20, 24), decoder_filters=(40, 30, 20, 10))
    outputs = {layer.name[len("decoder_"):-len("_block2_relu")]: layer.output.shape[1:] for layer in model.layers
               if layer.name.startswith("decoder_x") and layer.name.endswith("_block2_relu")}
    assert outputs == {
        "x0_0": (8, 8, 40), "x1_1": (16, 16, 16), "x2_2": (32, 32, 12),
        "x0_1": (16, 16, 30), "x1_2": (32, 32, 12),
        "x0_2": (32, 32, 20),
        "x0_3": (64, 64, 10),
    }
    concat = {layer.name: layer.output.shape[-1] for layer in model.layers if layer.name.endswith("_concat")}
    assert concat == {
        "decoder_x0_0_concat": 24 + 20, "decoder_x1_1_concat": 20 + 16, "decoder_x2_2_concat": 16 + 12,
        "decoder_x0_1_concat": 40 + 16 + 16, "decoder_x1_2_concat": 16 + 12 + 12,
        "decoder_x0_2_concat": 30 + 12 + 12 + 12,
    }
    assert model.output.shape == (None, 64, 64, 2)


def _layers(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


@pytest.mark.parametrize("depth, stride", [(5, 4), (4, 2), (3, 1)])
def test_fpn_structure(depth, stride):
    """Four pyramid levels whatever the depth; the branch from the deepest level has three
    conv-GN-ReLU blocks, then two, one and one; the merge sits at the fourth-deepest
    level's stride and the head upsamples from there."""
    model = segzoo.build("fpn", backbone="none", num_classes=3, input_shape=(64, 64, 3), depth=depth,
                         encoder_filters=8, decoder_filters=(32, 16))
    norms = [layer.name for layer in _layers(model, keras.layers.GroupNormalization)]
    assert [sum(name.startswith(f"decoder_branch{b}_") for name in norms) for b in (1, 2, 3, 4)] == [3, 2, 1, 1]
    assert all(layer.groups == 16 for layer in _layers(model, keras.layers.GroupNormalization))
    assert model.get_layer("decoder_merge").output.shape == (None, 64 // stride, 64 // stride, 16)
    lateral = [layer for layer in _layers(model, keras.layers.Conv2D) if layer.name.startswith("decoder_lateral")]
    assert sorted(layer.name for layer in lateral) == sorted(f"decoder_lateral{2 ** (depth - k)}" for k in range(4))
    assert all(layer.kernel_size == (1, 1) and layer.filters == 32 and layer.use_bias for layer in lateral)
    assert model.output.shape == (None, 64, 64, 3)


def test_linknet_structure():
    """Each block ends at the width of the encoder feature it is added to; the last one,
    at full resolution, has decoder_filters[0] channels."""
    model = segzoo.build("linknet", backbone="none", num_classes=2, input_shape=(64, 64, 3), depth=4,
                         encoder_filters=(8, 12, 16, 20, 24), decoder_filters=(6,))
    links = {layer.name: layer.output.shape for layer in _layers(model, keras.layers.Add)
             if layer.name.startswith("decoder_stage")}
    assert links == {
        "decoder_stage1_link": (None, 8, 8, 20),
        "decoder_stage2_link": (None, 16, 16, 16),
        "decoder_stage3_link": (None, 32, 32, 12),
    }
    assert model.get_layer("decoder_stage4_expand_relu").output.shape == (None, 64, 64, 6)
    transposed = _layers(model, keras.layers.Conv2DTranspose)
    assert [layer.kernel_size for layer in transposed] == [(4, 4)] * 4
    assert [layer.filters for layer in transposed] == [24 // 4, 20 // 4, 16 // 4, 12 // 4]


@pytest.mark.parametrize("options, message", [
    ({"merge_policy": "sum"}, "merge_policy must be one of"),
    ({"dropout": 1.0}, "dropout must be in"),
    ({"decoder_filters": (64, 32, 16)}, "decoder_filters must be 2 positive integers"),
])
def test_fpn_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        segzoo.build("fpn", backbone="none", num_classes=2, encoder_filters=4, **options)


def test_linknet_takes_one_decoder_width():
    with pytest.raises(ConfigError, match="decoder_filters must be 1 positive integer for"):
        segzoo.build("linknet", backbone="none", num_classes=2, encoder_filters=4, decoder_filters=(32, 16))


def test_attention_gates_follow_the_paper(rng):
    """Oktay et al.'s additive gate on every skip: its parameters by the paper's formula
    (W_x without bias, W_g and psi with), alpha in (0, 1), the gated skip = skip * alpha."""
    model = segzoo.build("attention_unet", backbone="none", num_classes=2, input_shape=(32, 32, 3), depth=3,
                         encoder_filters=(4, 6, 8, 10), decoder_filters=(12, 10, 8))
    # the gating signal is the upsampled decoder input: the deepest feature (10), then the stage outputs
    for stage, (skip_width, gate_width) in enumerate([(8, 10), (6, 12), (4, 10)], start=1):
        inner = skip_width // 2
        names = [f"decoder_stage{stage}_gate_{part}_conv" for part in ("x", "g", "psi")]
        counted = sum(int(np.prod(w.shape)) for name in names for w in model.get_layer(name).trainable_weights)
        assert counted == skip_width * inner + (gate_width * inner + inner) + (inner + 1)
    x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")  # preprocessed-scale input: no saturated sigmoid
    probe = keras.Model(model.input, [model.get_layer(f"decoder_stage{s}_{part}").output
                                      for s in (1, 2, 3) for part in ("gate_alpha", "gate_apply")])
    outputs = [keras.ops.convert_to_numpy(o) for o in probe(x, training=False)]
    features = model.encoder(x, training=False)
    for stage, stride in enumerate((4, 2, 1)):
        alpha, gated = outputs[2 * stage], outputs[2 * stage + 1]
        assert alpha.shape[-1] == 1 and 0.0 < alpha.min() and alpha.max() < 1.0
        np.testing.assert_allclose(gated, keras.ops.convert_to_numpy(features[stride]) * alpha, rtol=1e-5, atol=1e-6)


@needs_smp
@pytest.mark.parametrize("backbone", BACKBONES)
def test_segformer_parameters_equal_smp(backbone):
    model = segzoo.build("segformer", backbone=backbone, num_classes=4, input_shape=(64, 64, 3), **BACKBONES[backbone])
    decoder = SMP["segformer"](_smp_channels(model), encoder_depth=5, segmentation_channels=256)
    head = SMP["head"](256, 4, kernel_size=1, upsampling=4)
    assert _decoder_and_head(model) == smp_decoders.parameter_count(decoder) + smp_decoders.parameter_count(head)


def test_segformer_resamples_every_level_to_stride_4(rng):
    """Each level's linear embedding meets at stride 4; from stride 2 that is a bilinear
    resize to half size (tf.image.resize as the reference), from deeper ones upsampling."""
    import tensorflow as tf

    model = segzoo.build("segformer", backbone="none", num_classes=3, input_shape=(64, 64, 3), depth=5,
                         encoder_filters=4, decoder_filters=(8,))
    names = {2: "decoder_resample2", 4: "decoder_mlp4", 8: "decoder_resample8", 16: "decoder_resample16_2",
             32: "decoder_resample32_3"}
    assert all(model.get_layer(name).output.shape == (None, 16, 16, 8) for name in names.values())
    assert model.get_layer("decoder_concat").output.shape == (None, 16, 16, 5 * 8)
    probe = keras.Model(model.input, [model.get_layer("decoder_mlp2").output, model.get_layer("decoder_resample2").output])
    embedded, resampled = probe(rng.uniform(-1, 1, (1, 64, 64, 3)).astype("float32"))
    reference = tf.image.resize(keras.ops.convert_to_numpy(embedded), (16, 16), method="bilinear")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(resampled), reference.numpy(), atol=1e-5)
