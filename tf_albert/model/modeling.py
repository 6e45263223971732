"""The ALBERT model family as subclassed `keras.Model`s: the backbone and its six task heads.

Every model:

* takes `AlbertConfig` (or its dict), builds on first call or on `model.build()` from the config alone;
* is called HF-style — `model(input_ids, attention_mask=..., token_type_ids=...)`, `model(**batch)` or
  `model(batch_dict)` — with optional `position_ids`, `inputs_embeds`, `output_hidden_states`,
  `output_attentions`, the head's labels and `training`;
* returns a plain dict of tensors with HF's key names (plus `loss` when labels are given);
* trains on its own loss: `model.compile(optimizer=...)` with no `loss`, then `fit(x, y)` with the labels as
  `y` (a tensor, or a dict/tuple for heads with two labels) or inside `x`.
"""

from __future__ import annotations

import keras
from keras import ops

from tf_albert.model import losses, quantization, validation
from tf_albert.model.base import INPUT_NAMES, AlbertPreTrainedModel
from tf_albert.model.layers import AlbertMLMHead, AlbertSOPHead
from tf_albert.tasks import MODEL_CLASS_NAMES

__all__ = [
    "INPUT_NAMES", "MODEL_CLASSES", "AlbertPreTrainedModel", "AlbertModel", "AlbertForPreTraining",
    "AlbertForMaskedLM", "AlbertForSequenceClassification", "AlbertForMultipleChoice",
    "AlbertForTokenClassification", "AlbertForQuestionAnswering",
]


def _register(cls):
    return keras.saving.register_keras_serializable(package="tf_albert")(cls)


def _class_id_checks(name, labels, n, limit):
    """Checks that the integer tensor `labels` holds class ids in [0, n) or -100 (ignored); `limit` says what
    n is ("num_labels is 3"). Returns the deferred checks (see `validation.check_range`)."""
    validation.check_integer(name, labels)
    return validation.check_range(name, labels, 0, n, limit, ignore_value=losses.IGNORE_INDEX)


class _CrossEntropyLoss:
    """The loss of a head with one integer `labels` input: cross-entropy over `logits`, -100 ignored."""

    label_names = ("labels",)
    main_output = "logits"

    def _loss(self, labels, outputs, sample_weight=None):
        return losses.masked_cross_entropy(labels["labels"], outputs["logits"], sample_weight=sample_weight)


@_register
class AlbertModel(AlbertPreTrainedModel):
    """The bare ALBERT backbone: `last_hidden_state` [B, L, H] and `pooler_output` [B, H].

    Example:
    >>> import numpy as np
    >>> from tf_albert import AlbertConfig, AlbertModel
    >>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_attention_heads=2,
    ...                       intermediate_size=32, num_hidden_layers=2)
    >>> model = AlbertModel(config)
    >>> out = model(np.array([[2, 10, 11, 3]]), attention_mask=np.array([[1, 1, 1, 1]]))
    >>> tuple(out["last_hidden_state"].shape), tuple(out["pooler_output"].shape)
    ((1, 4, 16), (1, 16))
    """

    def _forward(self, inputs, output_hidden_states, output_attentions, training):
        return self._backbone(inputs, output_hidden_states, output_attentions, training)


class _MLMMixin:
    """The tied MLM head, optionally evaluated only at `masked_lm_positions` [B, P] (as in the original
    pretraining, where it saves most of the V-wide output); then logits and labels are [B, P(, V)]."""

    extra_input_names = ("masked_lm_positions",)

    def _build_mlm(self):
        self.predictions.build()

    def _mlm_logits(self, sequence_output, positions=None):
        if positions is not None:
            index = ops.expand_dims(ops.cast(positions, "int32"), -1)
            sequence_output = ops.take_along_axis(sequence_output, index, axis=1)
        # The float table (an int8-quantized or LoRA table as the embedding layer itself sees it).
        return self.predictions(sequence_output, quantization.float_matrix(self.albert.embeddings.word_embeddings))

    def _check_extra_inputs(self, inputs):
        positions = inputs.get("masked_lm_positions")
        if positions is None:
            return []
        validation.check_integer("masked_lm_positions", positions)
        validation.check_rank("masked_lm_positions", positions, 2, "[batch, num_predictions]")
        ref = inputs["input_ids"] if inputs.get("input_ids") is not None else inputs["inputs_embeds"]
        if positions.shape[0] is not None and ref.shape[0] is not None and positions.shape[0] != ref.shape[0]:
            raise ValueError(f"masked_lm_positions has batch size {positions.shape[0]}; inputs have {ref.shape[0]}")
        seq_len = ref.shape[1] if ref.shape[1] is not None else self.config.max_position_embeddings
        return validation.check_range("masked_lm_positions", positions, 0, seq_len,
                                      f"the sequence length is {seq_len}")

    def _mlm_label_checks(self, labels):
        if "labels" not in labels:
            return []
        v = self.config.vocab_size
        return _class_id_checks("labels", labels["labels"], v, f"vocab_size is {v}")


@_register
class AlbertForPreTraining(_MLMMixin, AlbertPreTrainedModel):
    """Backbone + masked-LM head (`prediction_logits` [B, L, V]) + sentence-order head (`sop_logits`
    [B, num_labels]: 2 for every released checkpoint; sized by `num_labels` as in HF).

    Loss (labels [B, L] with -100 where not masked, sentence_order_label [B] in 0..num_labels-1):
    MLM + SOP cross-entropy.

    Example:
    >>> import numpy as np
    >>> from tf_albert import AlbertConfig, AlbertForPreTraining
    >>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_attention_heads=2,
    ...                       intermediate_size=32, num_hidden_layers=2)
    >>> model = AlbertForPreTraining(config)
    >>> ids = np.array([[2, 10, 4, 3, 12, 3]])
    >>> out = model(ids, labels=np.array([[-100, -100, 11, -100, -100, -100]]),
    ...             sentence_order_label=np.array([0]))
    >>> tuple(out["prediction_logits"].shape), tuple(out["sop_logits"].shape), float(out["loss"]) > 0
    ((1, 6, 100), (1, 2), True)
    """

    label_names = ("labels", "sentence_order_label")
    main_output = "prediction_logits"

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.predictions = AlbertMLMHead(self.config, name="predictions", dtype=self.dtype_policy)
        self.sop_classifier = AlbertSOPHead(self.config, name="sop_classifier", dtype=self.dtype_policy)

    def _build_head(self):
        self._build_mlm()
        self.sop_classifier.build()

    def _forward(self, inputs, output_hidden_states, output_attentions, training):
        out = self._backbone(inputs, output_hidden_states, output_attentions, training)
        return {
            "prediction_logits": self._mlm_logits(out["last_hidden_state"], inputs.get("masked_lm_positions")),
            "sop_logits": self.sop_classifier(out["pooler_output"], training=training),
            **self._extras(out),
        }

    def _check_labels(self, labels, inputs=None):
        checks = self._mlm_label_checks(labels)
        if "sentence_order_label" in labels:
            n = self.config.num_labels
            checks += _class_id_checks("sentence_order_label", labels["sentence_order_label"], n,
                                       f"num_labels is {n}")
        return checks

    def _loss(self, labels, outputs, sample_weight=None):
        mlm = losses.masked_cross_entropy(labels["labels"], outputs["prediction_logits"],
                                          sample_weight=sample_weight)
        sop = losses.masked_cross_entropy(ops.reshape(labels["sentence_order_label"], (-1,)),
                                          outputs["sop_logits"], sample_weight=sample_weight)
        return mlm + sop


@_register
class AlbertForMaskedLM(_MLMMixin, _CrossEntropyLoss, AlbertPreTrainedModel):
    """Backbone (no pooler) + masked-LM head tied to the word embeddings: `logits` [B, L, V].

    Loss: cross-entropy over positions whose label is not -100.

    Example:
    >>> import numpy as np
    >>> from tf_albert import AlbertConfig, AlbertForMaskedLM
    >>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_attention_heads=2,
    ...                       intermediate_size=32, num_hidden_layers=2)
    >>> model = AlbertForMaskedLM(config)
    >>> logits = model(np.array([[2, 10, 4, 3]]))["logits"]
    >>> tuple(logits.shape)
    (1, 4, 100)
    """

    add_pooling_layer = False

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.predictions = AlbertMLMHead(self.config, name="predictions", dtype=self.dtype_policy)

    def _build_head(self):
        self._build_mlm()

    def _forward(self, inputs, output_hidden_states, output_attentions, training):
        out = self._backbone(inputs, output_hidden_states, output_attentions, training)
        logits = self._mlm_logits(out["last_hidden_state"], inputs.get("masked_lm_positions"))
        return {"logits": logits, **self._extras(out)}

    def _check_labels(self, labels, inputs=None):
        return self._mlm_label_checks(labels)


class _ClassifierMixin:
    def _make_classifier(self, units, dropout_rate):
        c = self.config
        self.dropout = keras.layers.Dropout(dropout_rate or 0.0, dtype=self.dtype_policy)
        self.classifier = keras.layers.Dense(
            units, kernel_initializer=keras.initializers.TruncatedNormal(stddev=c.initializer_range),
            name="classifier", dtype=self.dtype_policy,
        )

    def _classify(self, features, training):
        return ops.cast(self.classifier(self.dropout(features, training=training)), "float32")


@_register
class AlbertForSequenceClassification(_ClassifierMixin, AlbertPreTrainedModel):
    """Backbone + dropout + linear classifier on the pooled output: `logits` [B, num_labels].

    Loss by `config.problem_type` (inferred like HF when None): num_labels == 1 → regression (MSE);
    integer labels → single-label cross-entropy; float labels [B, num_labels] → multi-label BCE.

    Example:
    >>> import numpy as np
    >>> from tf_albert import AlbertConfig, AlbertForSequenceClassification
    >>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_attention_heads=2,
    ...                       intermediate_size=32, num_hidden_layers=2, num_labels=3)
    >>> model = AlbertForSequenceClassification(config)
    >>> out = model(np.array([[2, 10, 11, 3]]), labels=np.array([2]))
    >>> tuple(out["logits"].shape), float(out["loss"]) > 0
    ((1, 3), True)
    """

    label_names = ("labels",)
    main_output = "logits"

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self._make_classifier(self.config.num_labels, self.config.classifier_dropout_prob)

    def _build_head(self):
        self.classifier.build((None, self.config.hidden_size))

    def _forward(self, inputs, output_hidden_states, output_attentions, training):
        out = self._backbone(inputs, output_hidden_states, output_attentions, training)
        return {"logits": self._classify(out["pooler_output"], training), **self._extras(out)}

    def _problem_type(self, labels):
        return losses.infer_problem_type(
            self.config.problem_type, self.config.num_labels, validation.dtype_name(labels)
        )

    def _check_labels(self, labels, inputs=None):
        if "labels" not in labels:
            return []
        y = labels["labels"]
        problem = self._problem_type(y)
        n = self.config.num_labels
        if problem == "single_label_classification":
            return _class_id_checks("labels", y, n, f"num_labels is {n}")
        if problem == "multi_label_classification" and y.shape[-1] is not None and y.shape[-1] != n:
            raise ValueError(f"multi-label labels must have shape [batch, {n}], got {tuple(y.shape)}")
        return []

    def _loss(self, labels, outputs, sample_weight=None):
        y = labels["labels"]
        return losses.sequence_classification_loss(y, outputs["logits"], self._problem_type(y), sample_weight)


@_register
class AlbertForMultipleChoice(_ClassifierMixin, _CrossEntropyLoss, AlbertPreTrainedModel):
    """Scores each choice: inputs [B, num_choices, L] → `logits` [B, num_choices].

    Each choice runs through the backbone; its pooled output → dropout → linear(1). Loss: cross-entropy
    over the choices. `hidden_states`/`attentions` are per flattened (example, choice) row, as in HF.

    Example:
    >>> import numpy as np
    >>> from tf_albert import AlbertConfig, AlbertForMultipleChoice
    >>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_attention_heads=2,
    ...                       intermediate_size=32, num_hidden_layers=2)
    >>> model = AlbertForMultipleChoice(config)
    >>> ids = np.array([[[2, 10, 3, 11, 3], [2, 10, 3, 12, 3], [2, 10, 3, 13, 3]]])
    >>> tuple(model(ids, labels=np.array([1]))["logits"].shape)
    (1, 3)
    """

    input_rank = 3
    input_layout = "[batch, num_choices, seq_len]"

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self._make_classifier(1, self.config.classifier_dropout_prob)

    def _build_head(self):
        self.classifier.build((None, self.config.hidden_size))

    def _forward(self, inputs, output_hidden_states, output_attentions, training):
        ref = inputs["input_ids"] if inputs["input_ids"] is not None else inputs["inputs_embeds"]
        shape = ops.shape(ref)
        batch, choices = shape[0], shape[1]

        def flat(x):
            if x is None:
                return None
            if len(x.shape) == 2 and x is inputs.get("position_ids"):
                return x  # one row of positions, broadcast
            return ops.reshape(x, (batch * choices,) + tuple(ops.shape(x)[2:]))  # not -1: batch may be 0

        flat_inputs = {k: flat(v) for k, v in inputs.items()}
        out = self._backbone(flat_inputs, output_hidden_states, output_attentions, training)
        logits = ops.reshape(self._classify(out["pooler_output"], training), (batch, choices))
        return {"logits": logits, **self._extras(out)}

    def _check_labels(self, labels, inputs=None):
        if "labels" not in labels:
            return []
        ref = None if inputs is None else (inputs.get("input_ids") if inputs.get("input_ids") is not None
                                           else inputs.get("inputs_embeds"))
        choices = None if ref is None else ref.shape[1]
        if choices is None:
            validation.check_integer("labels", labels["labels"])
            return []
        return _class_id_checks("labels", labels["labels"], choices, f"there are {choices} choices")


@_register
class AlbertForTokenClassification(_ClassifierMixin, _CrossEntropyLoss, AlbertPreTrainedModel):
    """Backbone (no pooler) + dropout + linear per token: `logits` [B, L, num_labels] (NER, tagging).

    Loss: cross-entropy over tokens whose label is not -100.

    Example:
    >>> import numpy as np
    >>> from tf_albert import AlbertConfig, AlbertForTokenClassification
    >>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_attention_heads=2,
    ...                       intermediate_size=32, num_hidden_layers=2, num_labels=5)
    >>> model = AlbertForTokenClassification(config)
    >>> tuple(model(np.array([[2, 10, 11, 3]]))["logits"].shape)
    (1, 4, 5)
    """

    add_pooling_layer = False

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        rate = c.classifier_dropout_prob if c.classifier_dropout_prob is not None else c.hidden_dropout_prob
        self._make_classifier(c.num_labels, rate)

    def _build_head(self):
        self.classifier.build((None, None, self.config.hidden_size))

    def _forward(self, inputs, output_hidden_states, output_attentions, training):
        out = self._backbone(inputs, output_hidden_states, output_attentions, training)
        return {"logits": self._classify(out["last_hidden_state"], training), **self._extras(out)}

    def _check_labels(self, labels, inputs=None):
        if "labels" not in labels:
            return []
        n = self.config.num_labels
        return _class_id_checks("labels", labels["labels"], n, f"num_labels is {n}")


@_register
class AlbertForQuestionAnswering(AlbertPreTrainedModel):
    """Extractive QA: backbone (no pooler) + linear(2) per token → `start_logits`, `end_logits` [B, L].

    Loss (start_positions, end_positions [B]): mean of start and end cross-entropy; positions outside
    [0, L) are clamped to L and ignored, as in HF. Pass them as `y={"start_positions": ..,
    "end_positions": ..}` or as a (start, end) tuple.

    Example:
    >>> import numpy as np
    >>> from tf_albert import AlbertConfig, AlbertForQuestionAnswering
    >>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_attention_heads=2,
    ...                       intermediate_size=32, num_hidden_layers=2)
    >>> model = AlbertForQuestionAnswering(config)
    >>> out = model(np.array([[2, 10, 3, 11, 12, 3]]), start_positions=np.array([3]), end_positions=np.array([4]))
    >>> tuple(out["start_logits"].shape), tuple(out["end_logits"].shape), float(out["loss"]) > 0
    ((1, 6), (1, 6), True)
    """

    label_names = ("start_positions", "end_positions")
    main_output = "start_logits"
    add_pooling_layer = False

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.qa_outputs = keras.layers.Dense(
            2, kernel_initializer=keras.initializers.TruncatedNormal(stddev=self.config.initializer_range),
            name="qa_outputs", dtype=self.dtype_policy,
        )

    def _build_head(self):
        self.qa_outputs.build((None, None, self.config.hidden_size))

    def _forward(self, inputs, output_hidden_states, output_attentions, training):
        out = self._backbone(inputs, output_hidden_states, output_attentions, training)
        logits = ops.cast(self.qa_outputs(out["last_hidden_state"]), "float32")
        return {"start_logits": logits[..., 0], "end_logits": logits[..., 1], **self._extras(out)}

    def _check_labels(self, labels, inputs=None):
        for name in self.label_names:
            if name in labels:
                validation.check_integer(name, labels[name])
        return []

    def _loss(self, labels, outputs, sample_weight=None):
        return losses.span_loss(labels["start_positions"], labels["end_positions"], outputs["start_logits"],
                                outputs["end_logits"], sample_weight)


#: model task (`tf_albert.tasks.MODEL_CLASS_NAMES`) → model class.
MODEL_CLASSES = {task: globals()[name] for task, name in MODEL_CLASS_NAMES.items()}
