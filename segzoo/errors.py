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


class KerasVersionError(SegzooError):
    """The installed Keras is older than segzoo needs to read or write checkpoints."""


class CheckpointError(SegzooError, ValueError):
    """A checkpoint folder that is not one save_pretrained wrote (missing or unreadable files)."""


class ManifestError(SegzooError, ValueError):
    """weights_manifest.json is malformed: a missing field, a revision that is not pinned, ..."""


class HubError(SegzooError):
    """Base class of the errors met while fetching a checkpoint from the Hugging Face Hub."""


class NotCachedError(HubError):
    """Offline (HF_HUB_OFFLINE=1 or local_files_only=True) and the file is not in the cache."""


class RepoNotFoundError(HubError):
    """The hub repository does not exist (or is private and no valid token was given)."""


class RevisionNotFoundError(HubError):
    """The repository exists but the branch, tag or commit does not."""


class HubFileNotFoundError(HubError):
    """The repository and revision exist but the file does not."""


class AccessDeniedError(HubError):
    """A gated repository, or a token that is missing, invalid or lacks the permission."""


class IntegrityError(HubError):
    """A downloaded file whose sha256 or size differs from weights_manifest.json."""


class DownloadError(HubError):
    """The connection failed or dropped mid-file; a retry may succeed."""


class UnpinnedRevisionWarning(UserWarning):
    """from_pretrained with a branch or tag instead of a commit hash: the files can change."""
