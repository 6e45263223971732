"""Models shipped inside the package, loadable by name without network; each folder has its MODEL_CARD.md.

`tf-albert-small` (the default, `DEFAULT_MODEL`): E 128, H 384, 6 heads, 6 layers sharing one block, 16k
SentencePiece vocabulary, 128 positions trained; pretrained with `tf-albert pretrain` on general English
(WordNet's glosses and examples, The Devil's Dictionary, the Python 3.11 documentation).
`tf-albert-tiny`: E 128, H 256, 4 heads, 6k vocabulary, 64 positions, pretrained on the Python documentation
only; it knows little English and is kept because it is 2-3x faster for the test suite's fine-tuning runs.

Example:
>>> from tf_albert.pretrained import DEFAULT_MODEL, embedded_model_path
>>> DEFAULT_MODEL
'tf-albert-small'
>>> embedded_model_path(DEFAULT_MODEL).endswith("tf-albert-small")
True
>>> embedded_model_path("albert-base-v2") is None
True
"""

from __future__ import annotations

import os

PRETRAINED_DIR = os.path.dirname(os.path.abspath(__file__))
EMBEDDED_MODELS = ("tf-albert-small", "tf-albert-tiny")
#: What the demo, the pipelines (tasks with a pretrained head), the CLI and `load_model` use by default.
DEFAULT_MODEL = "tf-albert-small"


def embedded_model_path(name) -> str | None:
    """The folder of an embedded model (`"tf-albert-small"`, also `"tf_albert/tf-albert-small"`), or None
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
