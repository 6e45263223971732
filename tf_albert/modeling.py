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

from collections.abc import Mapping

import keras
import numpy as np
from keras import ops

from tf_albert import losses, validation
from tf_albert.layers import AlbertMainLayer, AlbertMLMHead, AlbertSOPHead, as_config

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "inputs_embeds")
# Keys a tokenizer may add to a batch that are not model inputs; ignored in dict inputs.
_TOKENIZER_ONLY_KEYS = ("special_tokens_mask", "offset_mapping", "overflow_to_sample_mapping", "length")


class AlbertPreTrainedModel(keras.Model):
    """Base of every ALBERT model: input handling, validation, the model's own loss, (de)serialisation.

    Subclasses set `label_names` (the HF argument names of their labels), `main_output` (the output that
    Keras metrics see) and implement `_forward` and `_loss`.
    """

    label_names: tuple = ()
    extra_input_names: tuple = ()  # head-specific inputs beyond INPUT_NAMES
    main_output = "last_hidden_state"
    input_rank = 2  # [batch, seq]; multiple choice takes [batch, choices, seq]
    input_layout = "[batch, seq_len]"
    add_pooling_layer = True

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self._allow_non_tensor_positional_args = True  # nested lists of ids are accepted like arrays
        self.config = as_config(config)
        self.albert = AlbertMainLayer(
            self.config, add_pooling_layer=self.add_pooling_layer, name="albert", dtype=self.dtype_policy
        )

    # --- building and (de)serialisation ----------------------------------------------------------------
    def build(self, input_shape=None, **shapes):
        """Creates every weight from the config; no forward pass needed (so big presets build cheaply)."""
        self.albert.build()
        self._build_head()
        self.built = True

    def _build_head(self):
        pass

    def get_build_config(self):
        return {"input_shape": None}

    def build_from_config(self, config):
        self.build()

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
            "config": self.config.to_dict(),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --- checkpoints and export (implemented in their own modules) -----------------------------------
    @classmethod
    def from_pretrained(cls, name_or_path, **kwargs):
        """Loads an HF folder (safetensors / .bin / tf_model.h5), a Google TF1 checkpoint, one of our saved
        folders, or a hub id when online. See `tf_albert.checkpoints.api.from_pretrained`."""
        from tf_albert.checkpoints.api import from_pretrained

        return from_pretrained(cls, name_or_path, **kwargs)

    def save_pretrained(self, folder, **kwargs):
        """Writes config.json, model.safetensors and tf_model.h5 (HF layouts). See `checkpoints.api`."""
        from tf_albert.checkpoints.api import save_pretrained

        return save_pretrained(self, folder, **kwargs)

    def export_saved_model(self, path, **kwargs):
        """Exports a TF Serving SavedModel. See `tf_albert.export.export_saved_model`."""
        from tf_albert.export import export_saved_model

        return export_saved_model(self, path, **kwargs)

    # --- input handling --------------------------------------------------------------------------------
    def _unpack(self, input_ids, named: dict, extra: dict):
        """Merges a dict given as the first argument with the keyword arguments; splits off the labels."""
        input_names = INPUT_NAMES + self.extra_input_names
        takes = list(input_names) + list(self.label_names)
        unknown = [k for k in extra if k not in takes]
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected argument(s) {unknown}; it takes {takes}")
        inputs = {**named, **{k: v for k, v in extra.items() if k in self.extra_input_names}}
        labels = {k: v for k, v in extra.items() if k in self.label_names}
        if isinstance(input_ids, Mapping):
            for key, value in input_ids.items():
                if key in input_names:
                    if inputs.get(key) is not None:
                        raise ValueError(f"{key} was given both in the input dict and as an argument")
                    inputs[key] = value
                elif key in self.label_names:
                    labels[key] = value
                elif key not in _TOKENIZER_ONLY_KEYS:
                    raise ValueError(f"input dict has unknown key {key!r}; {type(self).__name__} takes {takes}")
        elif isinstance(input_ids, (list, tuple)):
            try:
                array = np.asarray(input_ids)
            except ValueError:
                array = None
            if array is None or array.dtype == object or not np.issubdtype(array.dtype, np.integer):
                raise TypeError(
                    f"input_ids given as a {type(input_ids).__name__} must be a rectangular nested list of ints "
                    f"(shape {self.input_layout}; pad ragged batches, e.g. tokenizer(..., padding=True)); "
                    "or pass one tensor/array or a dict of inputs"
                )
            inputs["input_ids"] = array
        else:
            inputs["input_ids"] = input_ids
        labels = {k: v for k, v in labels.items() if v is not None}
        return inputs, labels

    def _check_inputs(self, inputs: dict) -> tuple[dict, list]:
        """Static checks now (ValueError/TypeError); value checks now or as graph asserts (returned)."""
        c = self.config
        ids, embeds = inputs.get("input_ids"), inputs.get("inputs_embeds")
        if (ids is None) == (embeds is None):
            raise ValueError(
                "give exactly one of input_ids and inputs_embeds"
                + (" (both were given)" if ids is not None else " (neither was given)")
            )
        rank = self.input_rank
        for name, value in inputs.items():
            if value is not None and isinstance(value, (list, tuple)):
                inputs[name] = value = np.asarray(value)
            if value is not None and not hasattr(value, "shape"):
                raise TypeError(f"{name} must be a tensor or array, got {type(value).__name__}: {value!r}")
        checks = []
        if ids is not None:
            ids = inputs["input_ids"]
            validation.check_integer("input_ids", ids)
            validation.check_rank("input_ids", ids, rank, self.input_layout)
            ref_name, ref = "input_ids", ids
            checks += validation.check_range(
                "input_ids", ids, 0, c.vocab_size, f"vocab_size is {c.vocab_size}"
            )
        else:
            embeds = inputs["inputs_embeds"]
            validation.check_rank("inputs_embeds", embeds, rank + 1, self.input_layout[:-1] + ", embedding_size]")
            if embeds.shape[-1] is not None and embeds.shape[-1] != c.embedding_size:
                raise ValueError(
                    f"inputs_embeds has last dimension {embeds.shape[-1]}; embedding_size is {c.embedding_size}"
                )
            if validation.dtype_name(embeds) not in ("float16", "bfloat16", "float32", "float64"):
                raise TypeError(f"inputs_embeds must be floating point, got {validation.dtype_name(embeds)}")
            ref_name, ref = "input_ids", None
        if inputs.get("position_ids") is None:
            source = ids if ids is not None else embeds
            checks += validation.check_max_length(
                "input_ids" if ids is not None else "inputs_embeds", source, rank - 1,
                c.max_position_embeddings, "max_position_embeddings",
            )
        for name, high, what in (
            ("token_type_ids", c.type_vocab_size, f"type_vocab_size is {c.type_vocab_size}"),
            ("position_ids", c.max_position_embeddings, f"max_position_embeddings is {c.max_position_embeddings}"),
        ):
            value = inputs.get(name)
            if value is None:
                continue
            validation.check_integer(name, value)
            if name == "position_ids" and (len(value.shape) == rank - 1 or value.shape[0] == 1):
                pass  # one row of positions, broadcast over the batch
            elif ref is not None:
                checks += validation.check_same_shape(name, value, ref_name, ref)
            checks += validation.check_range(name, value, 0, high, what)
        mask = inputs.get("attention_mask")
        if mask is not None:
            if validation.dtype_name(mask) not in validation.INTEGER_DTYPES + ("bool", "float16", "bfloat16",
                                                                               "float32", "float64"):
                raise TypeError(f"attention_mask must be numeric or bool, got {validation.dtype_name(mask)}")
            if ref is not None:
                checks += validation.check_same_shape("attention_mask", mask, ref_name, ref)
            if validation.dtype_name(mask) != "bool":
                checks += validation.check_values_in("attention_mask", mask, (0, 1))
        return inputs, checks + self._check_extra_inputs(inputs)

    def _check_extra_inputs(self, inputs: dict) -> list:
        return []

    def _check_labels(self, labels: dict, inputs: dict | None = None) -> list:
        """Checks of the labels' dtypes and values (see `_check_inputs`); `inputs` when known."""
        return []

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
             inputs_embeds=None, output_hidden_states=False, output_attentions=False, training=False,
             **labels):
        named = dict(attention_mask=attention_mask, token_type_ids=token_type_ids, position_ids=position_ids,
                     inputs_embeds=inputs_embeds)
        inputs, labels = self._unpack(input_ids, named, labels)
        inputs, checks = self._check_inputs(inputs)
        checks += self._check_labels(labels, inputs)
        inputs = validation.after(checks, {n: inputs.get(n) for n in INPUT_NAMES + self.extra_input_names})
        if inputs["attention_mask"] is not None and validation.dtype_name(inputs["attention_mask"]) == "bool":
            inputs["attention_mask"] = ops.cast(inputs["attention_mask"], "int32")
        outputs = self._forward(inputs, bool(output_hidden_states), bool(output_attentions), training)
        if labels:
            missing = [n for n in self.label_names if n not in labels]
            if missing:
                raise ValueError(f"{type(self).__name__} needs all of {list(self.label_names)}; missing {missing}")
            outputs["loss"] = self._loss(labels, outputs)
        return outputs

    def _backbone(self, inputs, output_hidden_states, output_attentions, training):
        return self.albert(
            inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"], inputs["position_ids"],
            inputs["inputs_embeds"], output_hidden_states=output_hidden_states,
            output_attentions=output_attentions, training=training,
        )

    @staticmethod
    def _extras(backbone_outputs: dict) -> dict:
        return {k: backbone_outputs[k] for k in ("hidden_states", "attentions") if k in backbone_outputs}

    def _forward(self, inputs, output_hidden_states, output_attentions, training) -> dict:
        raise NotImplementedError

    def _loss(self, labels: dict, outputs: dict, sample_weight=None):
        raise NotImplementedError(f"{type(self).__name__} has no loss; compile it with one")

    # --- training: the model's own loss --------------------------------------------------------------
    def _labels_from_y(self, y) -> dict:
        names = self.label_names
        if isinstance(y, Mapping):
            missing = [n for n in names if n not in y]
            if missing:
                raise ValueError(f"y is missing {missing}; {type(self).__name__} takes y with keys {list(names)}")
            return {n: y[n] for n in names}
        if isinstance(y, (list, tuple)):
            if len(y) != len(names):
                raise ValueError(f"y has {len(y)} parts; {type(self).__name__} takes {list(names)}")
            return dict(zip(names, y))
        if len(names) != 1:
            raise ValueError(f"{type(self).__name__} takes y as a dict with keys {list(names)}")
        return {names[0]: y}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if getattr(self, "_compile_loss", None) is not None:
            # The user compiled with a loss of their own: give it the head's main output.
            main = y_pred[self.main_output] if isinstance(y_pred, Mapping) else y_pred
            return super().compute_loss(x, y, main, sample_weight, training)
        if y is None:
            if isinstance(y_pred, Mapping) and "loss" in y_pred:
                loss = y_pred["loss"]
            else:
                raise ValueError(
                    f"{type(self).__name__} got no labels: pass them as y (or inside x as {list(self.label_names)}), "
                    "or compile with a loss"
                )
        else:
            labels = self._labels_from_y(y)
            labels = validation.after(self._check_labels(labels), labels)
            loss = self._loss(labels, y_pred, sample_weight)
        if self.losses:
            loss = loss + ops.sum(ops.stack([ops.cast(l, "float32") for l in self.losses]))
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if isinstance(y_pred, Mapping):
            y_pred = y_pred.get(self.main_output)
        if isinstance(y, Mapping) and len(self.label_names) >= 1:
            y = y.get(self.label_names[0])
        return super().compute_metrics(x, y, y_pred, sample_weight)

    # --- data checks before (possibly XLA-compiled) steps ---------------------------------------------
    def _check_batch(self, x, y=None) -> list:
        """Checks one batch of features (and labels); concrete values raise now, graph values → asserts."""
        if isinstance(x, Mapping):
            named = {k: v for k, v in x.items() if k in INPUT_NAMES + self.extra_input_names}
            labels = {k: v for k, v in x.items() if k in self.label_names}
        else:
            named, labels = {"input_ids": x}, {}
        named = {k: (np.asarray(v) if isinstance(v, (list, tuple)) else v) for k, v in named.items()}
        named, checks = self._check_inputs(named)
        if y is not None and self.label_names:
            labels.update(self._labels_from_y(y))
        labels = {k: (np.asarray(v) if isinstance(v, (list, tuple)) else v) for k, v in labels.items()}
        return checks + self._check_labels(labels, named)

    def _checked_data(self, x, y=None):
        try:
            import tensorflow as tf
        except ImportError:  # another backend without TF: nothing to wrap
            return x
        if isinstance(x, tf.data.Dataset):
            def check(*element):
                features = element[0]
                target = element[1] if len(element) > 1 else None
                checks = self._check_batch(features, target)
                if not checks:
                    return element if len(element) > 1 else element[0]
                with tf.control_dependencies(checks):
                    out = tf.nest.map_structure(tf.identity, element)
                return out if len(out) > 1 else out[0]

            return x.map(check)
        if x is not None and (isinstance(x, (Mapping, np.ndarray)) or hasattr(x, "numpy")):
            self._check_batch(x, y)
        return x

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        x = self._checked_data(x, y)
        if isinstance(validation_data, (list, tuple)):
            self._check_batch(validation_data[0], validation_data[1] if len(validation_data) > 1 else None)
        elif validation_data is not None:
            validation_data = self._checked_data(validation_data)
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        return super().evaluate(self._checked_data(x, y), y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        return super().predict(self._checked_data(x), *args, **kwargs)

    def train_on_batch(self, x, y=None, *args, **kwargs):
        self._check_batch(x, y)
        return super().train_on_batch(x, y, *args, **kwargs)

    def test_on_batch(self, x, y=None, *args, **kwargs):
        self._check_batch(x, y)
        return super().test_on_batch(x, y, *args, **kwargs)

    def predict_on_batch(self, x):
        self._check_batch(x)
        return super().predict_on_batch(x)


def _register(cls):
    return keras.saving.register_keras_serializable(package="tf_albert")(cls)


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
        return self.predictions(sequence_output, self.albert.embeddings.word_embeddings.embeddings)

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
        validation.check_integer("labels", labels["labels"])
        v = self.config.vocab_size
        return validation.check_range("labels", labels["labels"], 0, v, f"vocab_size is {v}",
                                      ignore_value=losses.IGNORE_INDEX)


@_register
class AlbertForPreTraining(_MLMMixin, AlbertPreTrainedModel):
    """Backbone + masked-LM head (`prediction_logits` [B, L, V]) + sentence-order head (`sop_logits` [B, 2]).

    Loss (labels [B, L] with -100 where not masked, sentence_order_label [B]): MLM + SOP cross-entropy.

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
            sop = labels["sentence_order_label"]
            validation.check_integer("sentence_order_label", sop)
            checks += validation.check_range("sentence_order_label", sop, 0, 2, "it must be 0 or 1",
                                             ignore_value=losses.IGNORE_INDEX)
        return checks

    def _loss(self, labels, outputs, sample_weight=None):
        mlm = losses.masked_cross_entropy(labels["labels"], outputs["prediction_logits"],
                                          sample_weight=sample_weight)
        sop = losses.masked_cross_entropy(ops.reshape(labels["sentence_order_label"], (-1,)),
                                          outputs["sop_logits"], sample_weight=sample_weight)
        return mlm + sop


@_register
class AlbertForMaskedLM(_MLMMixin, AlbertPreTrainedModel):
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

    label_names = ("labels",)
    main_output = "logits"
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

    def _loss(self, labels, outputs, sample_weight=None):
        return losses.masked_cross_entropy(labels["labels"], outputs["logits"], sample_weight=sample_weight)


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
            validation.check_integer("labels", y)
            return validation.check_range("labels", y, 0, n, f"num_labels is {n}",
                                          ignore_value=losses.IGNORE_INDEX)
        if problem == "multi_label_classification" and y.shape[-1] is not None and y.shape[-1] != n:
            raise ValueError(f"multi-label labels must have shape [batch, {n}], got {tuple(y.shape)}")
        return []

    def _loss(self, labels, outputs, sample_weight=None):
        y = labels["labels"]
        return losses.sequence_classification_loss(y, outputs["logits"], self._problem_type(y), sample_weight)


@_register
class AlbertForMultipleChoice(_ClassifierMixin, AlbertPreTrainedModel):
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

    label_names = ("labels",)
    main_output = "logits"
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
            return ops.reshape(x, (-1,) + tuple(ops.shape(x)[2:]))

        flat_inputs = {k: flat(v) for k, v in inputs.items()}
        out = self._backbone(flat_inputs, output_hidden_states, output_attentions, training)
        logits = ops.reshape(self._classify(out["pooler_output"], training), (batch, choices))
        return {"logits": logits, **self._extras(out)}

    def _check_labels(self, labels, inputs=None):
        if "labels" not in labels:
            return []
        validation.check_integer("labels", labels["labels"])
        ref = None if inputs is None else (inputs.get("input_ids") if inputs.get("input_ids") is not None
                                           else inputs.get("inputs_embeds"))
        choices = None if ref is None else ref.shape[1]
        if choices is None:
            return []
        return validation.check_range("labels", labels["labels"], 0, choices, f"there are {choices} choices",
                                      ignore_value=losses.IGNORE_INDEX)

    def _loss(self, labels, outputs, sample_weight=None):
        return losses.masked_cross_entropy(labels["labels"], outputs["logits"], sample_weight=sample_weight)


@_register
class AlbertForTokenClassification(_ClassifierMixin, AlbertPreTrainedModel):
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

    label_names = ("labels",)
    main_output = "logits"
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
        validation.check_integer("labels", labels["labels"])
        return validation.check_range("labels", labels["labels"], 0, n, f"num_labels is {n}",
                                      ignore_value=losses.IGNORE_INDEX)

    def _loss(self, labels, outputs, sample_weight=None):
        return losses.masked_cross_entropy(labels["labels"], outputs["logits"], sample_weight=sample_weight)


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


MODEL_CLASSES = {
    "model": AlbertModel,
    "pretraining": AlbertForPreTraining,
    "masked_lm": AlbertForMaskedLM,
    "sequence_classification": AlbertForSequenceClassification,
    "multiple_choice": AlbertForMultipleChoice,
    "token_classification": AlbertForTokenClassification,
    "question_answering": AlbertForQuestionAnswering,
}
