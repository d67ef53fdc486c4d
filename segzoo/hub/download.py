"""Fetching checkpoint files through huggingface_hub, with segzoo's own errors.

huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE once, at import; segzoo reads them
at every call so that a change (in a notebook, in a test) takes effect.
"""

import importlib
import os
from pathlib import Path

import huggingface_hub
from huggingface_hub import errors as hf_errors

from segzoo.errors import (
    AccessDeniedError,
    DownloadError,
    HubFileNotFoundError,
    IntegrityError,
    NotCachedError,
    RepoNotFoundError,
    RevisionNotFoundError,
)
from segzoo.hub.manifest import digest_mismatch, is_commit_hash

_TRUE = {"1", "on", "yes", "true"}


def hub_endpoint():
    """HF_ENDPOINT as it is now; None lets huggingface_hub use its default."""
    endpoint = os.environ.get("HF_ENDPOINT")
    return endpoint.rstrip("/") if endpoint else None


def is_offline():
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def download_file(repo_id, filename, revision, cache_dir=None, local_files_only=False,
                  force_download=False, token=None):
    """Local path of `filename` at `revision`, from the cache or the hub."""
    offline = local_files_only or is_offline()
    try:
        return huggingface_hub.hf_hub_download(
            repo_id,
            filename,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=offline,
            force_download=force_download and not offline,
            token=token,
            endpoint=hub_endpoint(),
        )
    except Exception as error:
        mapped = hub_error(error, repo_id, filename, revision, offline)
        if mapped is None:
            raise
        raise mapped from error


def is_cached(repo_id, filename, revision, cache_dir=None):
    """Whether `filename` of `repo_id` at commit `revision` is in the hub cache (no request)."""
    found = huggingface_hub.try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir, revision=revision)
    return isinstance(found, str)


def commit_of(path):
    """The commit a cached file was resolved to (huggingface_hub keeps snapshots/<commit>/<file>)."""
    for parent in Path(path).parents:
        if parent.parent.name == "snapshots" and is_commit_hash(parent.name):
            return parent.name
    return None


def verify_file(path, expected, repo_id, filename):
    """Check size and sha256 against the manifest; on a mismatch remove the cached copy
    (so the next call downloads it again) and raise IntegrityError."""
    mismatch = digest_mismatch(path, expected)
    if mismatch is None:
        return
    remove_cached(path)
    raise IntegrityError(
        f"{filename} from {repo_id} {mismatch}. The file was corrupted or changed on the server; "
        "the copy was removed from the cache. Retry (it downloads again); if it fails again, the "
        "hub or a mirror (HF_ENDPOINT) serves other bytes than the ones pinned: report it."
    )


def remove_cached(path):
    """Remove a cached file: the blob a snapshot link points to, then the link."""
    path = Path(path)
    blob = Path(os.path.realpath(path))
    for target in (blob, path):
        if target.exists() or target.is_symlink():
            target.unlink()


def _transport_errors():
    """Network failures raised while streaming a file (the HTTP client is an implementation
    detail of huggingface_hub, so look it up instead of depending on it)."""
    found = [ConnectionError, TimeoutError]
    for module_name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(module_name).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def hub_error(error, repo_id, filename, revision, offline):
    """The segzoo exception for a huggingface_hub (or network) error, or None."""
    at = f"{repo_id} at revision {revision or 'main'}"
    if isinstance(error, hf_errors.GatedRepoError):
        return AccessDeniedError(
            f"{repo_id} is gated: accept its conditions on the repo page, then pass token=... "
            "(or set HF_TOKEN, or run `hf auth login`) with an account that has access."
        )
    if isinstance(error, hf_errors.RepositoryNotFoundError):
        return RepoNotFoundError(
            f"Repository {repo_id!r} not found on {hub_endpoint() or 'the Hugging Face Hub'}. Check the "
            "spelling ('org/name'); if it is private, pass token=... (or set HF_TOKEN)."
        )
    if isinstance(error, hf_errors.RevisionNotFoundError):
        return RevisionNotFoundError(
            f"Revision {revision!r} not found in {repo_id}. Pass an existing branch, tag or "
            "40-hex commit hash (see the repo's commit history)."
        )
    remote_missing = isinstance(error, hf_errors.EntryNotFoundError)
    if remote_missing and not isinstance(error, hf_errors.LocalEntryNotFoundError):
        return HubFileNotFoundError(
            f"{filename} not found in {at}. Is this a segzoo checkpoint (written by "
            "segzoo.save_pretrained / push_to_hub)? Check the revision."
        )
    if isinstance(error, hf_errors.HfHubHTTPError) and http_status(error) in (401, 403):
        return AccessDeniedError(
            f"The hub refused access to {repo_id} (HTTP {http_status(error)}). Pass a valid token=... "
            "(or set HF_TOKEN) that can read this repository."
        )
    if isinstance(error, (hf_errors.LocalEntryNotFoundError, hf_errors.OfflineModeIsEnabled)):
        cause = error.__cause__
        if not offline and isinstance(cause, hf_errors.HfHubHTTPError):
            # huggingface_hub hides e.g. a 403 behind "not in the cache": report the real reason.
            return hub_error(cause, repo_id, filename, revision, offline)
        if offline or isinstance(error, hf_errors.OfflineModeIsEnabled):
            return NotCachedError(
                f"{filename} of {at} is not in the cache and downloads are off "
                "(HF_HUB_OFFLINE=1 or local_files_only=True). Load it once online, or unset "
                "HF_HUB_OFFLINE / pass local_files_only=False."
            )
        return DownloadError(
            f"Could not reach {hub_endpoint() or 'the Hugging Face Hub'} to fetch {filename} of {at}, "
            "and it is not cached. Check the connection (and HF_ENDPOINT), then retry."
        )
    if isinstance(error, hf_errors.HfHubHTTPError):
        return DownloadError(
            f"The hub answered HTTP {http_status(error)} for {filename} of {at}: {error}. "
            "If it is a server error (5xx), retry later."
        )
    if isinstance(error, _transport_errors()):
        return DownloadError(
            f"The connection failed while downloading {filename} of {at} ({type(error).__name__}: "
            f"{error}). Nothing was loaded and no partial file is kept; retry."
        )
    return None


def http_status(error):
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)
