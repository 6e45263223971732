"""The model core: config → layers (embeddings, the shared TransformerBlock, heads) → encoder → models.

* `config`: `AlbertConfig` and the presets;
* `layers`: embeddings, attention, `TransformerBlock`, pooler, MLM and SOP heads;
* `encoder`: groups of shared blocks, run `num_hidden_layers` times, and `AlbertMainLayer`;
* `fast_loop`: the TensorFlow fast path of that loop (compiled `tf.while_loop`, gradient checkpointing);
* `activations`: the one table of `hidden_act` names;
* `base`: `AlbertPreTrainedModel` (inputs, checks, own loss, fit hooks); `modeling`: `AlbertModel` + six heads;
* `losses`, `validation` (input checks), `distribution` (tf.distribute inside `fit`).

Nothing here imports export, pipelines, training or the CLI; `base` calls `checkpoints.api` for the thin
`from_pretrained` / `save_pretrained` methods (which finds the classes through the Keras registry: no circle).
"""

from tf_albert.model.config import PRESETS, AlbertConfig
from tf_albert.model.modeling import (
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

__all__ = [
    "PRESETS", "AlbertConfig", "MODEL_CLASSES", "AlbertPreTrainedModel", "AlbertModel", "AlbertForPreTraining",
    "AlbertForMaskedLM", "AlbertForSequenceClassification", "AlbertForMultipleChoice",
    "AlbertForTokenClassification", "AlbertForQuestionAnswering",
]
