"""TensorFlow's start-up lines on a CPU machine (oneDNN notice, "Could not find cuda
drivers", CPU-feature advice, absl's pre-init warning, the cuInit failure of the CUDA
build of TensorFlow) come from C++ static initialisers
while `tensorflow` is imported and first lists its devices; TF_CPP_MIN_LOG_LEVEL and the absl/glog variables do not
reach them in TensorFlow 2.21 (measured). So the import runs with file descriptor 2
captured, and every captured line except those start-up lines is written back."""

import os
import sys
import tempfile

START_UP_NOISE = (
    "All log messages before absl::InitializeLog()",
    "oneDNN custom operations are on",
    "cudart_stub.cc",
    "cuda_executor.cc",
    "failed call to cuInit",
    "cpu_feature_guard.cc",
    "To enable the following instructions:",
)


def import_tensorflow_quietly():
    """Import TensorFlow without its start-up lines, unless it is imported already or the
    user asked for its logs with TF_CPP_MIN_LOG_LEVEL=0."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # TensorFlow's later INFO lines too
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no stderr or no descriptor 2: import as is
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # CUDA's probe logs here, not at the first op
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            sys.stderr.write("".join(without_noise(captured.read().decode(errors="replace"))))
            sys.stderr.flush()


def without_noise(text):
    return [line for line in text.splitlines(keepends=True) if not any(mark in line for mark in START_UP_NOISE)]
