"""The one answer to "which local folder does this name mean?", for models and tokenizers alike.

In order: an existing local file or folder (or a TF1 checkpoint prefix, `model.ckpt-1` with its `.index`);
a model shipped inside the package (`"tf-albert-small"`, `"tf-albert-tiny"`); a path that *looks local* but
does not exist is a `FileNotFoundError`; anything else shaped like a Hugging Face Hub id (`albert/albert-base-v2`)
is downloaded (or taken from the cache) with `huggingface_hub`.

>>> from tf_albert.checkpoints.resolve import looks_local, resolve_path
>>> resolve_path("tf-albert-tiny").endswith("tf-albert-tiny")
True
>>> looks_local("./my-model"), looks_local("albert/albert-base-v2")
(True, False)
"""

from __future__ import annotations

import os

from tf_albert.checkpoints import hub
from tf_albert.pretrained import EMBEDDED_MODELS, embedded_model_path
from tf_albert.utils.fileio import recover_folder


def looks_local(path: str) -> bool:
    """True for names that can only be local paths: absolute, starting with `.` or `~`, more than one `/`,
    or the OS's own separator; such a name is never sent to the hub."""
    return (os.path.isabs(path) or path.startswith((".", "~")) or path.count("/") > 1
            or (os.sep != "/" and os.sep in path))


def local_path(name_or_path) -> str | None:
    """The local file/folder `name_or_path` names (an existing path or an embedded model), else None."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"name_or_path must be a folder, a file or a hub id (str), got "
                        f"{type(name_or_path).__name__}: {name_or_path!r}")
    path = os.fspath(name_or_path)
    if not os.path.exists(path):
        recover_folder(path)  # a save killed mid-swap (where folders cannot be exchanged) set it aside
    if os.path.exists(path) or os.path.exists(path + ".index"):
        return path
    return embedded_model_path(path)


def resolve_path(name_or_path, *, files: str = "model", download: bool = True, what: str = "checkpoint",
                 **hub_options) -> str:
    """A local path for `name_or_path`, downloading a hub id's `files` ("model" or "tokenizer") when needed.

    With `download=False` a hub id comes back unchanged (for callers that download later). A name that is
    neither local, embedded nor a hub id is a FileNotFoundError that starts with `what` ("checkpoint not
    found: ...").
    """
    path = local_path(name_or_path)
    if path is not None:
        return path
    path = os.fspath(name_or_path)
    if looks_local(path) or not hub.is_hub_id(path):
        raise FileNotFoundError(f"{what} not found: {path!r} is not a local folder or file, nor a hub id such "
                                f"as 'albert/albert-base-v2', nor an embedded model ({', '.join(EMBEDDED_MODELS)})")
    if not download:
        return path
    if files == "model":
        return hub.download_model(path, **hub_options)
    if files == "tokenizer":
        return hub.download_tokenizer(path, **hub_options)
    raise ValueError(f"files must be 'model' or 'tokenizer', got {files!r}")
