"""Hugging Face Hub ids (`albert/albert-base-v2`) → local files, through `huggingface_hub` when installed.

`huggingface_hub` is an optional extra (`pip install "tf_albert[hub]"`); it downloads with its own progress bars
into its cache (`cache_dir`, default `~/.cache/huggingface/hub`) and returns the cached copy next time.
`local_files_only=True` or the environment variable `HF_HUB_OFFLINE=1` use the cache only, never the network.
Every failure says which repo and file, and why: not installed, no such repo or revision, offline and not
cached, or the repo lacks the file.
"""

from __future__ import annotations

import os
import re

from tf_albert.checkpoints import hf_pytorch, hf_tf

HUB_OPTIONS = ("local_files_only", "revision", "cache_dir", "token")
_WEIGHTS = (hf_pytorch.SAFE_WEIGHTS_NAME, hf_pytorch.SAFE_WEIGHTS_INDEX_NAME, hf_tf.TF_WEIGHTS_NAME,
            hf_tf.TF_WEIGHTS_INDEX_NAME, hf_pytorch.WEIGHTS_NAME, hf_pytorch.WEIGHTS_INDEX_NAME)
TOKENIZER_FILES = ("spiece.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def is_hub_id(name: str) -> bool:
    """True for `name` or `owner/name` that is not an existing local path."""
    return bool(_REPO_ID.match(name)) and ".." not in name and not os.path.exists(name)


def offline() -> bool:
    """HF_HUB_OFFLINE read now (huggingface_hub itself reads it once, at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise ImportError(
            "loading a model by hub id needs huggingface_hub: pip install \"tf_albert[hub]\". Or download the "
            "repository yourself and pass its local folder."
        ) from None
    return huggingface_hub


def _kind(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


def hub_file(repo_id: str, filename: str, *, revision: str | None = None, cache_dir=None, token=None,
             local_files_only: bool = False) -> str | None:
    """Local path of `filename` in the hub repo (downloaded or cached), or None if the repo has no such file."""
    hub = _hub()
    local_only = bool(local_files_only) or offline()
    try:
        return hub.hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache_dir, token=token,
                                   local_files_only=local_only)
    except Exception as e:
        kinds = _kind(e)
        if "LocalEntryNotFoundError" in kinds:
            why = ("downloads are off (local_files_only=True or HF_HUB_OFFLINE=1)" if local_only
                   else "the Hugging Face Hub could not be reached")
            raise OSError(f"{repo_id}/{filename} is not in the local cache and {why}") from None
        if "RepositoryNotFoundError" in kinds:
            raise OSError(f"{repo_id!r} is neither a local folder nor a model repository on the Hugging Face Hub "
                          "(for a private or gated repository pass token=...)") from None
        if "RevisionNotFoundError" in kinds:
            raise ValueError(f"revision {revision!r} does not exist in {repo_id}") from None
        if "EntryNotFoundError" in kinds:
            return None
        raise OSError(f"could not download {repo_id}/{filename}: {type(e).__name__}: {e}") from None


def download_model(repo_id: str, **options) -> str:
    """The local folder holding the repo's config.json and its preferred weights file (shards included)."""
    config = hub_file(repo_id, "config.json", **options)
    if config is None:
        raise OSError(f"hub repository {repo_id} has no config.json")
    folder = os.path.dirname(config)
    for name in _WEIGHTS:
        try:
            path = hub_file(repo_id, name, **options)
        except OSError as e:
            if "not in the local cache" in str(e):
                continue  # offline: try the next format that may be cached
            raise
        if path is None:
            continue
        if name.endswith(".index.json"):
            for shard in hf_tf.shard_files_listed(path):
                if hub_file(repo_id, shard, **options) is None:
                    raise OSError(f"hub repository {repo_id}: shard {shard} listed in {name} is missing")
        if os.path.dirname(path) != folder:
            raise OSError(f"{repo_id}: config.json ({folder}) and {name} ({path}) resolved to different snapshots; "
                          "pass revision=... to pin one")
        return folder
    raise OSError(f"hub repository {repo_id} has no ALBERT weights (looked for {', '.join(_WEIGHTS)})"
                  + (" in the local cache" if options.get("local_files_only") or offline() else ""))


def download_tokenizer(repo_id: str, **options) -> str:
    """The local folder holding the repo's spiece.model and the optional HF tokenizer files."""
    vocab = hub_file(repo_id, TOKENIZER_FILES[0], **options)
    if vocab is None:
        raise OSError(f"hub repository {repo_id} has no {TOKENIZER_FILES[0]}")
    for name in TOKENIZER_FILES[1:]:
        try:
            hub_file(repo_id, name, **options)
        except OSError as e:
            if "not in the local cache" not in str(e):
                raise
    return os.path.dirname(vocab)
