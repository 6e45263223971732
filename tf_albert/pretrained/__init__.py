"""Models shipped inside the package, loadable by name without network.

`tf-albert-tiny`: a small ALBERT (E 128, H 256, 4 heads, 6 layers sharing one block, 6k SentencePiece
vocabulary) pretrained with `tf-albert pretrain` on the Python 3.11 documentation; see its MODEL_CARD.md.

Example:
>>> from tf_albert.pretrained import embedded_model_path
>>> embedded_model_path("tf-albert-tiny").endswith("tf-albert-tiny")
True
>>> embedded_model_path("albert-base-v2") is None
True
"""

from __future__ import annotations

import os

PRETRAINED_DIR = os.path.dirname(os.path.abspath(__file__))
EMBEDDED_MODELS = ("tf-albert-tiny",)


def embedded_model_path(name) -> str | None:
    """The folder of an embedded model (`"tf-albert-tiny"`, also `"tf_albert/tf-albert-tiny"`), or None
    when `name` is not one (then it may be a local folder or a hub id)."""
    if not isinstance(name, (str, os.PathLike)):
        return None
    name = os.fspath(name)
    if name.startswith("tf_albert/"):
        name = name[len("tf_albert/") :]
    if name not in EMBEDDED_MODELS:
        return None
    folder = os.path.join(PRETRAINED_DIR, name)
    if not os.path.isfile(os.path.join(folder, "config.json")):
        raise FileNotFoundError(f"the embedded model {name!r} is missing from {folder} (a broken install?)")
    return folder
