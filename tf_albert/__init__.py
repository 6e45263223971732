"""tf_albert: ALBERT for TensorFlow / Keras 3.

The public API, re-exported from the modules that define it. The model core is imported at once (that
registers the models with Keras, so `keras.models.load_model("x.keras")` works after `import tf_albert`);
the tokenizer, checkpoint, pipeline and export modules load on first use (PEP 562).
"""

from __future__ import annotations

import importlib
import os

# TensorFlow's C++ start-up chatter (CPU feature and CUDA-probe lines) is noise for users; honour a value
# the user set themselves.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from tf_albert.config import PRESETS, AlbertConfig  # noqa: E402
from tf_albert.layers import (  # noqa: E402
    AlbertAttention,
    AlbertEmbeddings,
    AlbertEncoder,
    AlbertMainLayer,
    AlbertMLMHead,
    AlbertPooler,
    AlbertSOPHead,
    TransformerBlock,
)
from tf_albert.modeling import (  # noqa: E402
    MODEL_CLASSES,
    AlbertForMaskedLM,
    AlbertForMultipleChoice,
    AlbertForPreTraining,
    AlbertForQuestionAnswering,
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
    AlbertModel,
    AlbertPreTrainedModel,
)

_CORE = [
    "PRESETS", "AlbertConfig", "AlbertAttention", "AlbertEmbeddings", "AlbertEncoder", "AlbertMainLayer",
    "AlbertMLMHead", "AlbertPooler", "AlbertSOPHead", "TransformerBlock", "MODEL_CLASSES",
    "AlbertPreTrainedModel", "AlbertModel", "AlbertForPreTraining", "AlbertForMaskedLM",
    "AlbertForSequenceClassification", "AlbertForMultipleChoice", "AlbertForTokenClassification",
    "AlbertForQuestionAnswering",
]
_LAZY = {
    "tf_albert.tokenization": ("AlbertTokenizer",),
    "tf_albert.tokenization_layer": ("AlbertTokenizerLayer",),
    "tf_albert.checkpoints": ("LoadingInfo",),
    "tf_albert.pipelines": ("pipeline",),
    "tf_albert.export": ("export_saved_model",),
    "tf_albert.pretrained": ("from_pretrained",),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}

__all__ = _CORE + sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'tf_albert' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
