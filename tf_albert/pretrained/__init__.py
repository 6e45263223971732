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


def resolve(name_or_path) -> str:
    """`embedded_model_path(name)` when it is an embedded model's name, else `name_or_path` unchanged."""
    return embedded_model_path(name_or_path) or name_or_path


def from_pretrained(name_or_path="tf-albert-tiny", task: str | None = None, **kwargs):
    """A model from an embedded name, a local folder or a hub id; `tf_albert.from_pretrained` is this.

    Args:
        name_or_path: "tf-albert-tiny" (the default, shipped in the package), a folder in any supported
            checkpoint shape, or a hub id when online.
        task: one of `tf_albert.MODEL_CLASSES` ("model", "pretraining", "masked_lm",
            "sequence_classification", "multiple_choice", "token_classification", "question_answering");
            None picks the class recorded in the checkpoint's config (`architectures`).
        **kwargs: passed to `from_pretrained` (config overrides such as `num_labels`, `strict`, ...).

    Example:
    >>> import tf_albert
    >>> model = tf_albert.from_pretrained("tf-albert-tiny", task="masked_lm")
    >>> type(model).__name__
    'AlbertForMaskedLM'
    """
    from tf_albert.modeling import MODEL_CLASSES, AlbertPreTrainedModel

    if task is not None and task not in MODEL_CLASSES:
        raise ValueError(f"task must be one of {sorted(MODEL_CLASSES)} or None, got {task!r}")
    cls = AlbertPreTrainedModel if task is None else MODEL_CLASSES[task]
    return cls.from_pretrained(name_or_path, **kwargs)
