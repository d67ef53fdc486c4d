"""Exceptions a user can cause. Each message says what was wrong and how to fix it."""


class SegzooError(Exception):
    """Base class of every error segzoo raises on purpose."""


class UnknownNameError(SegzooError, ValueError):
    """An architecture, backbone or other registered name that does not exist."""


class ConfigError(SegzooError, ValueError):
    """Options that do not fit together (softmax with one class, depth out of range, ...)."""


class InputShapeError(SegzooError, ValueError):
    """An input shape the chosen architecture and depth cannot take."""


class WeightsError(SegzooError):
    """Encoder weights that cannot be obtained or do not fit the encoder."""


class DataError(SegzooError, ValueError):
    """Image and mask files that cannot be used as they are: unpaired, unreadable, bad labels."""
