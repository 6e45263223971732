"""tf_albert: ALBERT for TensorFlow / Keras 3.

The public API, re-exported from the modules that define it (nothing is defined here). The model core is
imported at once (that registers the models with Keras, so `keras.models.load_model("x.keras")` works after
`import tf_albert`); the tokenizer, checkpoint, pipeline and export names and the subpackages
(`tf_albert.export`, `tf_albert.training`, ...) load on first use (PEP 562).

Where things live (text → tokenizer → ids → embeddings → one shared block × N → head):
`tokenization/` · `model/` · `checkpoints/` · `export/` · `pipelines/` · `training/` · `tasks.py` · `cli.py`.
"""

from __future__ import annotations

import importlib
import os

# TensorFlow's C++ start-up chatter (CPU feature and CUDA-probe lines) is noise for users; honour a value
# the user set themselves.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The model core's public names (AlbertConfig, PRESETS, MODEL_CLASSES, the models): tf_albert.model.__all__, listed
# there once; then the layers, for users who build their own models from them.
from tf_albert.model import *  # noqa: E402,F403
from tf_albert.model import __all__ as _MODEL_NAMES  # noqa: E402
from tf_albert.model.encoder import AlbertEncoder, AlbertMainLayer  # noqa: E402
from tf_albert.model.layers import (  # noqa: E402
    AlbertAttention,
    AlbertEmbeddings,
    AlbertMLMHead,
    AlbertPooler,
    AlbertSOPHead,
    TransformerBlock,
)
from tf_albert.utils import backends as _backends  # noqa: E402
from tf_albert.version import __version__  # noqa: E402

_CORE = [
    *_MODEL_NAMES, "AlbertAttention", "AlbertEmbeddings", "AlbertEncoder", "AlbertMainLayer", "AlbertMLMHead",
    "AlbertPooler", "AlbertSOPHead", "TransformerBlock", "__version__",
]
# public name → "module:attribute", imported on first use
_LAZY = {
    "AlbertTokenizer": "tf_albert.tokenization.tokenizer:AlbertTokenizer",
    "AlbertTokenizerLayer": "tf_albert.tokenization.layer:AlbertTokenizerLayer",
    "LoadingInfo": "tf_albert.checkpoints.loading:LoadingInfo",
    "pipeline": "tf_albert.pipelines:pipeline",
    "export_saved_model": "tf_albert.export.saved_model:export_saved_model",
    "from_pretrained": "tf_albert.checkpoints.api:load_model",
}
_SUBPACKAGES = ("checkpoints", "export", "model", "pipelines", "pretrained", "tasks", "tokenization", "training",
                "utils")
# TensorFlow programs by nature (utils/backends.py): on the JAX / PyTorch backends asking for them raises
# BackendError naming the backend and the alternative, and `from tf_albert import *` leaves them out.
_TF_ONLY = {"AlbertTokenizerLayer": "tokenizer_layer", "export_saved_model": "export", "export": "export"}

__all__ = _CORE + sorted(n for n in _LAZY if n not in _TF_ONLY or _backends.backend() == "tensorflow")


def __getattr__(name: str):
    if name in _TF_ONLY:
        _backends.require_tensorflow(_TF_ONLY[name])
    if name in _SUBPACKAGES:  # `import tf_albert; tf_albert.export.export_saved_model(...)`
        return importlib.import_module(f"tf_albert.{name}")
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'tf_albert' has no attribute {name!r}")
    module, attribute = target.split(":")
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBPACKAGES))
