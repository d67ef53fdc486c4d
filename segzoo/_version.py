"""The version, in one place: pyproject.toml reads it, and so do the CLI and checkpoints."""

__version__ = "0.1.0"
