"""push_to_hub: upload a model or a checkpoint folder to a hub repo."""

import os
import tempfile
from pathlib import Path

import huggingface_hub

from segzoo.errors import AccessDeniedError, HubError
from segzoo.hub.checkpoint import check_folder
from segzoo.hub.download import http_status, hub_endpoint, hub_error, is_offline
from segzoo.hub.save import save_pretrained


def push_to_hub(model_or_directory, repo_id, branch=None, private=False, token=None, commit_message=None):
    """Upload a model (saved with save_pretrained defaults first) or a checkpoint folder to
    `repo_id`, creating the repo and branch if needed. Returns the 40-hex commit hash: pin it
    in from_pretrained(revision=...) and in the manifest."""
    if is_offline():
        raise HubError("HF_HUB_OFFLINE is set: pushing needs the network. Unset HF_HUB_OFFLINE and retry.")
    if isinstance(model_or_directory, (str, os.PathLike)):
        return _push_folder(check_folder(model_or_directory), repo_id, branch, private, token, commit_message)
    with tempfile.TemporaryDirectory(prefix="segzoo-push-") as folder:
        save_pretrained(model_or_directory, folder)
        return _push_folder(Path(folder), repo_id, branch, private, token, commit_message)


def _push_folder(folder, repo_id, branch, private, token, commit_message):
    api = huggingface_hub.HfApi(endpoint=hub_endpoint(), token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if branch:
            api.create_branch(repo_id, branch=branch, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            revision=branch,
            commit_message=commit_message or "Upload segzoo checkpoint",
        )
    except Exception as error:
        mapped = _push_error(error, repo_id, branch)
        if mapped is None:
            raise
        raise mapped from error
    return info.oid


def _push_error(error, repo_id, branch):
    status = http_status(error)
    if isinstance(error, huggingface_hub.errors.HfHubHTTPError) and status in (401, 403):
        return AccessDeniedError(
            f"The hub refused to let you write to {repo_id} (HTTP {status}). Pass token=... (or set "
            "HF_TOKEN) with write access to that namespace."
        )
    return hub_error(error, repo_id, "the checkpoint", branch, offline=False)
