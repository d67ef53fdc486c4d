"""Every backbone yields features at the strides it claims; encoder weights from a
file land exactly; 1- and N-channel inputs adapt the first convolution."""

import warnings
from unittest import mock

import h5py
import keras
import numpy as np
import pytest

import segzoo
from segzoo.backbones import get_backbone_spec
from segzoo.errors import ConfigError, WeightsError

SIZE = 64


@pytest.mark.parametrize("name", segzoo.list_backbones())
def test_features_sit_at_their_strides(name):
    spec = get_backbone_spec(name)
    options = {"encoder_filters": 2} if name == "none" else {}
    encoder = spec.build((SIZE, SIZE, 3), None, 32, **options)
    assert sorted(encoder.output) == sorted(spec.strides)
    for stride, feature in encoder.output.items():
        assert feature.shape[1:3] == (SIZE // stride, SIZE // stride), (stride, feature.shape)


@pytest.mark.parametrize("depth", [3, 4])
def test_encoder_is_cut_at_depth(depth):
    model = segzoo.build("unet", backbone="resnet50", input_shape=(SIZE, SIZE, 3), depth=depth)
    assert max(model.encoder.output) == 2**depth
    names = [layer.name for layer in model.encoder.layers]
    assert "conv5_block3_out" not in names  # stride 32 is never computed


def test_3d_features_sit_at_their_strides():
    encoder = get_backbone_spec("none").build((32, 16, 32, 1), None, 8, encoder_filters=2)
    for stride, feature in encoder.output.items():
        assert feature.shape[1:4] == (32 // stride, 16 // stride, 32 // stride)


def test_unet_resnet50_parameter_count_matches_smp():
    model = segzoo.build("unet", backbone="resnet50", num_classes=4, activation="softmax",
                         input_shape=(256, 256, 3))
    smp_unet_resnet50 = 32.52e6  # segmentation_models.pytorch Unet("resnet50", classes=4)
    assert abs(model.count_params() / smp_unet_resnet50 - 1) < 0.05, model.count_params()


def _randomised_mobilenet(channels=3):
    app = keras.applications.MobileNetV2(include_top=False, weights=None,
                                         input_shape=(SIZE, SIZE, channels))
    rng = np.random.default_rng(1)
    for layer in app.layers:
        # Random values everywhere (BatchNorm statistics too) so equality means something.
        layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in layer.get_weights()])
    return app


def _encoder_weights_by_name(model):
    return {layer.name: layer.get_weights() for layer in model.encoder.layers if layer.weights}


@pytest.fixture(scope="module")
def mobilenet_file(tmp_path_factory):
    app = _randomised_mobilenet()
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v2_no_top.weights.h5"
    app.save_weights(path)
    return app, path


def test_weights_file_lands_exactly_in_encoder(mobilenet_file):
    app, path = mobilenet_file
    model = segzoo.build("unet", backbone="mobilenetv2", input_shape=(SIZE, SIZE, 3), encoder_weights=path)
    loaded = _encoder_weights_by_name(model)
    assert len(loaded) > 50
    for name, values in loaded.items():
        for got, want in zip(values, app.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(got, want)


def test_legacy_h5_weights_file_as_keras_applications_ships(tmp_path):
    """The ImageNet files keras.applications downloads are in the legacy HDF5 layout."""
    from keras.src.legacy.saving import legacy_h5_format

    app = _randomised_mobilenet()
    path = tmp_path / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    with h5py.File(path, "w") as file:
        legacy_h5_format.save_weights_to_hdf5_group(file, app)
    model = segzoo.build("unet", backbone="mobilenetv2", input_shape=(SIZE, SIZE, 3), encoder_weights=path)
    np.testing.assert_array_equal(model.encoder.get_layer("Conv1").get_weights()[0],
                                  app.get_layer("Conv1").get_weights()[0])


@pytest.mark.parametrize("channels", [1, 5])
def test_pretrained_first_conv_adapts_to_channels(mobilenet_file, channels):
    app, path = mobilenet_file
    model = segzoo.build("unet", backbone="mobilenetv2", input_shape=(SIZE, SIZE, channels),
                         encoder_weights=path)
    kernel = model.encoder.get_layer("Conv1").get_weights()[0]
    original = app.get_layer("Conv1").get_weights()[0]  # (3, 3, 3, 32)
    if channels == 1:
        expected = original.sum(axis=2, keepdims=True)
    else:  # segmentation_models.pytorch: repeat the RGB filters cyclically, scale by 3/N
        expected = np.concatenate([original, original[:, :, :2]], axis=2) * 3 / 5
    np.testing.assert_allclose(kernel, expected, rtol=1e-6)
    # Every later layer is untouched.
    np.testing.assert_array_equal(model.encoder.get_layer("block_16_project").get_weights()[0],
                                  app.get_layer("block_16_project").get_weights()[0])


def test_one_channel_efficientnet_adapts_its_normalization(tmp_path):
    app = keras.applications.EfficientNetB0(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3))
    norm = next(layer for layer in app.layers if isinstance(layer, keras.layers.Normalization))
    mean, variance, count = norm.get_weights()
    norm.set_weights([np.array([1.0, 2.0, 6.0], "float32"), variance, count])
    app.save_weights(tmp_path / "b0.weights.h5")
    model = segzoo.build("unet", backbone="efficientnetb0", input_shape=(SIZE, SIZE, 1),
                         encoder_weights=tmp_path / "b0.weights.h5")
    adapted = next(layer for layer in model.encoder.layers if isinstance(layer, keras.layers.Normalization))
    np.testing.assert_allclose(adapted.get_weights()[0], [3.0])


def test_imagenet_without_network_fails_at_once_with_a_way_out(monkeypatch, tmp_path):
    """One download attempt, then a WeightsError naming the file to fetch by hand: no retry
    loop (counted through the real get_file, which Keras' MobileNetV2 calls to download)."""
    # Point the download at a closed loopback port: no test may reach the internet.
    from keras.src.applications import mobilenet_v2

    monkeypatch.setattr(mobilenet_v2, "BASE_WEIGHT_PATH", "http://127.0.0.1:9/weights/")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    get_file = mock.Mock(wraps=mobilenet_v2.file_utils.get_file)
    monkeypatch.setattr(mobilenet_v2.file_utils, "get_file", get_file)
    with pytest.raises(WeightsError) as error:
        segzoo.build("unet", backbone="mobilenetv2", input_shape=(SIZE, SIZE, 3), encoder_weights="imagenet")
    assert get_file.call_count == 1, get_file.call_args_list
    url = get_file.call_args.args[1] if len(get_file.call_args.args) > 1 else get_file.call_args.kwargs["origin"]
    assert url.startswith("http://127.0.0.1:9/weights/")
    message = str(error.value)
    assert message.startswith("Could not download the ImageNet weights of MobileNetV2 from http://127.0.0.1:9/")
    assert "encoder_weights='/path/to/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_" in message
    assert "no_top.h5'" in message and "encoder_weights=None" in message


def test_missing_weights_file(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        segzoo.build("unet", backbone="resnet50", input_shape=(SIZE, SIZE, 3),
                     encoder_weights=tmp_path / "nope.h5")


def test_weights_file_of_another_backbone(mobilenet_file):
    # Keras warns once per layer it could not load ("Skipping nested container ...", ~100
    # for a MobileNetV2 file in a ResNet50) before the load fails: the WeightsError alone
    # reaches the user.
    _, path = mobilenet_file
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(WeightsError, match="ResNet50"):
            segzoo.build("unet", backbone="resnet50", input_shape=(SIZE, SIZE, 3), encoder_weights=path)
    assert [str(w.message) for w in caught] == []


def test_plain_backbone_refuses_pretrained_weights():
    with pytest.raises(ConfigError, match="trained from scratch"):
        segzoo.build("unet", backbone="none", encoder_weights="imagenet")


@pytest.mark.parametrize("backbone", ["mobilenetv2", "resnet50v2", "efficientnetb0"])
@pytest.mark.parametrize("channels", [1, 4])
def test_any_channel_count_without_pretrained_weights(backbone, channels):
    model = segzoo.build("unet", backbone=backbone, num_classes=2, input_shape=(SIZE, SIZE, channels))
    x = np.zeros((1, SIZE, SIZE, channels), "float32")
    assert keras.ops.convert_to_numpy(model(x)).shape == (1, SIZE, SIZE, 2)


def test_mobilenet_width_multiplier():
    narrow = segzoo.build("unet", backbone="mobilenetv2", input_shape=(SIZE, SIZE, 3), alpha=0.35)
    wide = segzoo.build("unet", backbone="mobilenetv2", input_shape=(SIZE, SIZE, 3))
    assert narrow.encoder.count_params() < wide.encoder.count_params() / 3
    assert narrow.get_config()["alpha"] == 0.35


@pytest.fixture
def fake_imagenet_efficientnet(tmp_path, monkeypatch):
    """A legacy-HDF5 'ImageNet' file for EfficientNetB0 (random values, realistic
    normalisation statistics), served to Keras in place of the download."""
    from keras.src.applications import efficientnet
    from keras.src.legacy.saving import legacy_h5_format

    app = keras.applications.EfficientNetB0(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3))
    rng = np.random.default_rng(3)
    for layer in app.layers:
        if isinstance(layer, keras.layers.Normalization):
            # Keras' ImageNet file stores the std where a variance belongs; hence its extra Rescaling.
            layer.set_weights([np.array([0.485, 0.456, 0.406], "float32"),
                               np.array([0.229, 0.224, 0.225], "float32"), layer.get_weights()[2]])
        elif layer.weights:
            layer.set_weights([rng.normal(0, 0.1, w.shape).astype("float32") + (1 if "bn" in layer.name else 0)
                               for w in layer.get_weights()])
    path = tmp_path / "efficientnetb0_notop.h5"
    with h5py.File(path, "w") as file:
        legacy_h5_format.save_weights_to_hdf5_group(file, app)
    monkeypatch.setattr(efficientnet.file_utils, "get_file", lambda *args, **kwargs: str(path))
    return path


def test_efficientnet_imagenet_equals_keras_and_survives_a_round_trip(fake_imagenet_efficientnet, tmp_path, rng):
    keras_model = keras.applications.EfficientNetB0(include_top=False, weights="imagenet",
                                                    input_shape=(SIZE, SIZE, 3))
    assert sum(isinstance(layer, keras.layers.Rescaling) for layer in keras_model.layers) == 2  # the extra one
    x = rng.uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")
    reference = keras.Model(keras_model.input, [keras_model.get_layer("block2a_expand_activation").output,
                                                keras_model.output])
    from_download = segzoo.build("unet", backbone="efficientnetb0", input_shape=(SIZE, SIZE, 3), encoder_weights="imagenet")
    from_file = segzoo.build("unet", backbone="efficientnetb0", input_shape=(SIZE, SIZE, 3),
                             encoder_weights=fake_imagenet_efficientnet)
    for model in (from_download, from_file):
        features = model.encoder(x)
        for got, want in zip((features[2], features[32]), reference(x), strict=True):
            np.testing.assert_allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want),
                                       rtol=1e-4, atol=1e-5)
    from_download.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(x)),
                               keras.ops.convert_to_numpy(from_download(x)), atol=1e-6)
