"""tf_albert: ALBERT for TensorFlow / Keras 3.

The public API, re-exported from the modules that define it.
"""

from tf_albert.config import PRESETS, AlbertConfig
from tf_albert.layers import (
    AlbertAttention,
    AlbertEmbeddings,
    AlbertEncoder,
    AlbertMainLayer,
    AlbertMLMHead,
    AlbertPooler,
    AlbertSOPHead,
    TransformerBlock,
)
from tf_albert.modeling import (
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

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "MODEL_CLASSES",
    "AlbertConfig",
    "AlbertAttention",
    "AlbertEmbeddings",
    "AlbertEncoder",
    "AlbertMainLayer",
    "AlbertMLMHead",
    "AlbertPooler",
    "AlbertSOPHead",
    "TransformerBlock",
    "AlbertPreTrainedModel",
    "AlbertModel",
    "AlbertForPreTraining",
    "AlbertForMaskedLM",
    "AlbertForSequenceClassification",
    "AlbertForMultipleChoice",
    "AlbertForTokenClassification",
    "AlbertForQuestionAnswering",
]
