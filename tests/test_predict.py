"""segzoo.predict at each image's own size: padding for a model that takes any size,
letterboxing for a fixed-size one, logits and thresholds, every kind of input; each
against a reference written here in NumPy / Keras calls, not segzoo's helpers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import segzoo
from segzoo.errors import ConfigError, DataError

ODD_SIZES = ((37, 53), (100, 29), (64, 64), (20, 90))


def bilinear(image, size):
    """tf.image.resize's bilinear (half-pixel centres, no antialiasing), in NumPy."""
    out = image.astype(np.float32)
    for axis, new in enumerate(size):
        old = out.shape[axis]
        source = np.clip((np.arange(new) + 0.5) * old / new - 0.5, 0, old - 1)
        low = np.floor(source).astype(int)
        high = np.minimum(low + 1, old - 1)
        shape = [1] * out.ndim
        shape[axis] = new
        t = (source - low).astype(np.float32).reshape(shape)
        out = np.take(out, low, axis) * (1 - t) + np.take(out, high, axis) * t
    return out


def pad_end(array, size, mode="reflect"):
    widths = [(0, s - a) for a, s in zip(array.shape, size)] + [(0, 0)] * (array.ndim - len(size))
    return np.pad(array, widths, mode=mode) if mode == "reflect" else np.pad(array, widths)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def random_images(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 255, (*size, 3)).astype(np.float32) for size in sizes]


def labels_of(probabilities, threshold=0.5):
    if probabilities.shape[-1] == 1:
        return (probabilities[..., 0] > threshold).astype(np.int32)
    return probabilities.argmax(-1)


def assert_same_labels(mask, probabilities, expected, tolerance=1e-4):
    """Equal labels, except where the expected probabilities are a near tie (float noise
    between NumPy's and TF's bilinear may tip it)."""
    top = np.sort(expected, axis=-1)
    margin = np.abs(expected[..., 0] - 0.5) if expected.shape[-1] == 1 else top[..., -1] - top[..., -2]
    clear = margin > tolerance
    np.testing.assert_array_equal(mask[clear], labels_of(expected)[clear])
    np.testing.assert_allclose(probabilities, expected, atol=tolerance)


@pytest.fixture(scope="module")
def any_size_model():
    keras.utils.set_random_seed(1)
    return segzoo.build("unet", backbone="none", num_classes=3, input_shape=(None, None, 3), depth=3,
                        encoder_filters=4)


@pytest.mark.parametrize("padding", ["reflect", "zero"])
def test_any_size_model_pads_predicts_and_crops(any_size_model, padding):
    """No resizing: pad at the bottom and right to multiples of 8, predict, crop."""
    inputs = random_images(ODD_SIZES)
    masks, probabilities = segzoo.predict(any_size_model, inputs, batch_size=4, padding=padding,
                                          return_probabilities=True)
    for image, mask, probability in zip(inputs, masks, probabilities):
        height, width = image.shape[:2]
        padded = pad_end(image, (-(-height // 8) * 8, -(-width // 8) * 8), padding)
        expected = np.asarray(any_size_model.predict_on_batch(padded[None]))[0, :height, :width]
        assert mask.shape == (height, width) and mask.dtype == np.int32
        assert probability.shape == (height, width, 3) and probability.dtype == np.float32
        np.testing.assert_array_equal(mask, expected.argmax(-1))
        np.testing.assert_allclose(probability, expected, atol=1e-6)


def test_fixed_size_model_letterboxes_with_its_preprocessing():
    """A 32x32 MobileNetV2 sigmoid model: the longer side resized to 32, the other padded
    (reflect), pixels scaled to [-1, 1]; the padding cropped off and the probabilities
    resized back to the image's size."""
    keras.utils.set_random_seed(2)
    model = segzoo.build("unet", backbone="mobilenetv2", num_classes=1, input_shape=(32, 32, 3), alpha=0.35)
    inputs = random_images(ODD_SIZES, seed=2)
    fitted_sizes = {(37, 53): (22, 32), (100, 29): (32, 9), (64, 64): (32, 32), (20, 90): (7, 32)}
    masks, probabilities = segzoo.predict(model, inputs, return_probabilities=True)
    for image, mask, probability in zip(inputs, masks, probabilities):
        fitted = fitted_sizes[image.shape[:2]]
        x = pad_end(bilinear(image, fitted) / 127.5 - 1.0, (32, 32))
        output = np.asarray(model.predict_on_batch(x[None]))[0, :fitted[0], :fitted[1]]
        expected = bilinear(output, image.shape[:2])
        assert mask.shape == image.shape[:2] and probability.shape == (*image.shape[:2], 1)
        assert_same_labels(mask, probability, expected)


def test_a_resnet50_model_gets_caffe_preprocessing_on_a_copy():
    """Caffe convention by hand: RGB -> BGR, minus the ImageNet BGR means. Keras'
    preprocess_input works in place on float arrays: the caller's image must not change."""
    keras.utils.set_random_seed(4)
    model = segzoo.build("unet", backbone="resnet50", num_classes=2, input_shape=(32, 32, 3), depth=3,
                         decoder_filters=(8, 8, 8))
    image = random_images([(32, 32)], seed=4)[0]
    kept = image.copy()
    _, probability = segzoo.predict(model, image, return_probabilities=True)
    np.testing.assert_array_equal(image, kept)
    caffe = image[..., ::-1] - np.array([103.939, 116.779, 123.68], np.float32)
    np.testing.assert_allclose(probability, np.asarray(model.predict_on_batch(caffe[None]))[0], atol=1e-5)


def test_input_size_letterboxes_an_any_size_model(any_size_model):
    image = random_images([(30, 60)], seed=3)[0]
    mask, probability = segzoo.predict(any_size_model, image, input_size=(48, 48), return_probabilities=True)
    x = pad_end(bilinear(image, (24, 48)), (48, 48))
    output = np.asarray(any_size_model.predict_on_batch(x[None]))[0, :24]
    assert_same_labels(mask, probability, bilinear(output, (30, 60)))
    with pytest.raises(ConfigError, match="not a size the model takes"):
        segzoo.predict(any_size_model, image, input_size=(50, 48))
    with pytest.raises(ConfigError, match="not both"):
        segzoo.predict(any_size_model, image, input_size=(48, 48), tile=32)


def test_logits_heads_give_probabilities_and_a_probability_threshold():
    keras.utils.set_random_seed(3)
    binary = segzoo.build("unet", backbone="none", num_classes=1, activation=None, input_shape=(16, 16, 3),
                          depth=3, encoder_filters=4)
    image = random_images([(16, 16)], seed=3)[0]
    logits = np.asarray(binary.predict_on_batch(image[None]))[0, ..., 0]
    for threshold in (0.3, 0.5, 0.7):
        expected = (1 / (1 + np.exp(-logits)) > threshold).astype(np.int32)
        np.testing.assert_array_equal(segzoo.predict(binary, image, threshold=threshold), expected)
    with pytest.raises(ConfigError, match="threshold must be a probability"):
        segzoo.predict(binary, image, threshold=1.0)
    multi = segzoo.build("unet", backbone="none", num_classes=4, activation=None, input_shape=(None, None, 3),
                         depth=3, encoder_filters=4)
    _, probability = segzoo.predict(multi, image, return_probabilities=True)
    np.testing.assert_allclose(probability, softmax(np.asarray(multi.predict_on_batch(image[None]))[0]), atol=1e-6)


def test_inputs_lists_files_tensors_and_datasets(any_size_model, tmp_path):
    inputs = random_images([(45, 70), (45, 70), (17, 9)], seed=1)
    one_by_one = [segzoo.predict(any_size_model, image) for image in inputs]
    for together, alone in zip(segzoo.predict(any_size_model, inputs, batch_size=2), one_by_one):
        np.testing.assert_array_equal(together, alone)
    path = tmp_path / "photo.png"
    tf.io.write_file(str(path), tf.io.encode_png(inputs[0].round().astype(np.uint8)))
    np.testing.assert_array_equal(segzoo.predict(any_size_model, path),
                                  segzoo.predict(any_size_model, inputs[0].round()))
    batch = tf.constant(np.stack(inputs[:2]))  # a 4-D tensor is a list of images, a 3-D one an image
    for got, want in zip(segzoo.predict(any_size_model, batch), one_by_one):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(segzoo.predict(any_size_model, batch[0]), one_by_one[0])
    masks = np.zeros((2, 45, 70), np.int32)
    pairs = tf.data.Dataset.from_tensor_slices((np.stack(inputs[:2]), masks)).batch(2)
    for got, want in zip(segzoo.predict(any_size_model, pairs), one_by_one):
        np.testing.assert_array_equal(got, want)
    images_only = tf.data.Dataset.from_tensor_slices(np.stack(inputs[:2]))
    assert len(segzoo.predict(any_size_model, images_only)) == 2
    with pytest.raises(DataError, match="no such image"):
        segzoo.predict(any_size_model, tmp_path / "missing.png")
    with pytest.raises(DataError, match=r"\(height, width, channels\) array"):
        segzoo.predict(any_size_model, [np.zeros((8, 8))])


@pytest.mark.parametrize("options, message", [
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"padding": "wrap"}, "padding must be one of"),
    ({"tta": "flips"}, "tta must be None, 'flip', 'd4'"),
    ({"tta": ["hflip", "spin"]}, r"unknown test-time transform\(s\) \['spin'\]"),
    ({"tta": ["dflip"]}, "flips the depth of a volume"),
])
def test_bad_options_are_config_errors(any_size_model, options, message):
    with pytest.raises(ConfigError, match=message):
        segzoo.predict(any_size_model, np.zeros((16, 16, 3), np.float32), **options)
