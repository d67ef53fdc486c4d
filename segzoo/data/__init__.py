"""The data pipeline (tf.data): class weights and per-pixel sample weights so far."""

from segzoo.data.weights import class_weights, with_sample_weights

__all__ = ["class_weights", "with_sample_weights"]
