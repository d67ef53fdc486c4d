"""The class-weight rule shared by the losses and segzoo.data.with_sample_weights."""

import math

from segzoo.errors import ConfigError


def check_class_weights(class_weights):
    if class_weights is None:
        return None
    weights = [float(w) for w in class_weights]
    if any(w < 0 or not math.isfinite(w) for w in weights) or not any(weights):
        raise ConfigError(
            f"class_weights must be finite, non-negative and not all zero, got {list(class_weights)}. "
            "They are aggregated as sum(w_c * L_c) / sum(w_c); use 0 to drop a class."
        )
    return weights
