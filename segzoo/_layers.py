"""Small helpers on Keras layers shared by backbones and fine-tuning."""


def set_layer_weights(layer, values):
    """`layer.set_weights`, then refresh the state a layer derives from its variables:
    Keras 3's Normalization keeps using its old mean and variance until
    `finalize_state()`, which loading a file calls but `set_weights` does not."""
    layer.set_weights(values)
    if hasattr(layer, "finalize_state"):
        layer.finalize_state()
