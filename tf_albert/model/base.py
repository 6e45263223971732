"""AlbertPreTrainedModel: what every ALBERT model shares, whatever its head.

* input handling — `model(input_ids, attention_mask=..., token_type_ids=...)`, `model(**batch)`,
  `model(batch_dict)`, nested lists of ids — with checks that name the offending value (see validation.py);
* the model's own loss in `compute_loss`, so `compile(optimizer=...)` + `fit(x, y)` trains with no `loss`;
* data checks before (possibly XLA-compiled) `fit`/`evaluate`/`predict` steps, where XLA would drop them;
* raw text in `fit`/`evaluate`/`predict` when the model has a `tokenizer` (see text_inputs.py);
* building every weight from the config alone, `get_config`/`from_config`, and the hooks into the
  checkpoint and export modules.

The heads themselves are in modeling.py.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Mapping

import keras
import numpy as np
from keras import ops

from tf_albert.checkpoints import api as checkpoint_api
from tf_albert.model import distribution, quantization, ragged, split_step, text_inputs, validation
from tf_albert.model.encoder import AlbertMainLayer
from tf_albert.model.layers import as_config
from tf_albert.utils import keras_hooks

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "inputs_embeds")
# Under XLA: the inputs' entry with 0.0 / NaN per row (validation.nan_rows), added to the rows' embeddings.
_NAN_ROWS = "_nan_rows"
# Keys a tokenizer may add to a batch that are not model inputs; ignored in dict inputs.
_TOKENIZER_ONLY_KEYS = ("special_tokens_mask", "offset_mapping", "overflow_to_sample_mapping", "length")


@keras.saving.register_keras_serializable(package="tf_albert")
class AlbertPreTrainedModel(keras_hooks.SymbolicBuildHook, keras.Model):
    """Base of every ALBERT model: input handling, validation, the model's own loss, (de)serialisation.

    Subclasses set `label_names` (the HF argument names of their labels), `main_output` (the output that
    Keras metrics see) and implement `_forward` and `_loss`.

    `tokenizer` (an argument, or `model.tokenizer = ...`; `from_pretrained` sets the folder's own): a Python
    tokenizer called like HF's, which lets `fit`/`evaluate`/`predict` take raw text (text_inputs.py). It is
    not part of the Keras config: `get_config` and `.keras` files leave it out.
    """

    label_names: tuple = ()
    extra_input_names: tuple = ()  # head-specific inputs beyond INPUT_NAMES
    main_output = "last_hidden_state"
    input_rank = 2  # [batch, seq]; multiple choice takes [batch, choices, seq]
    input_layout = "[batch, seq_len]"
    add_pooling_layer = True
    tokenizer = None

    def __init__(self, config, attn_implementation: str | None = None, tokenizer=None, **kwargs):
        super().__init__(**kwargs)
        self.tokenizer = tokenizer
        keras_hooks.accept_nested_lists(self)  # nested lists of ids are accepted like arrays
        self.config = as_config(config)
        if attn_implementation is not None:  # HF's argument name; the config keeps (and saves) the choice
            self.config = self.config.copy(attn_implementation=attn_implementation)
        self.albert = AlbertMainLayer(
            self.config, add_pooling_layer=self.add_pooling_layer, name="albert", dtype=self.dtype_policy
        )

    # --- building and (de)serialisation ----------------------------------------------------------------
    def __setattr__(self, name, value):
        if name == "tokenizer":  # a plain attribute: Keras neither tracks nor saves it
            text_inputs.check_tokenizer(value)
            object.__setattr__(self, name, value)
            return
        super().__setattr__(name, value)

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
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
            "config": self.config.to_dict(),
        }
        mode = quantization.quantization_mode(self) if self.built else None
        if mode is not None:  # `model.quantize(mode)` was called: a .keras file holds the quantized weights
            config["quantization"] = mode
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        mode = config.pop("quantization", None)
        model = cls(**config)
        if mode is not None:  # the quantized variables, for Keras to load the saved values into
            model.build()
            model.quantize(mode)
        return model

    # --- checkpoints and export (implemented in their own modules) -----------------------------------
    @classmethod
    def from_pretrained(cls, name_or_path, **kwargs):
        """Loads an HF folder (safetensors / .bin / tf_model.h5), a Google TF1 checkpoint, one of our saved
        folders, or a hub id when online. See `tf_albert.checkpoints.api.from_pretrained`."""
        return checkpoint_api.from_pretrained(cls, name_or_path, **kwargs)

    def save_pretrained(self, folder, **kwargs):
        """Writes config.json, model.safetensors and tf_model.h5 (HF layouts). See `checkpoints.api`."""
        return checkpoint_api.save_pretrained(self, folder, **kwargs)

    def export_saved_model(self, path, **kwargs):
        """Exports a TF Serving SavedModel. See `tf_albert.export.export_saved_model`."""
        # Deferred: the export modules need TensorFlow, which the model core does not (JAX/PyTorch backends).
        from tf_albert.export.saved_model import export_saved_model

        return export_saved_model(self, path, **kwargs)

    # --- memory ----------------------------------------------------------------------------------------
    def gradient_checkpointing_enable(self, enable: bool = True) -> None:
        """Recompute each encoder layer in the backward pass instead of keeping its activations: less memory
        for long sequences (albert-base, 8 × 512: peak RSS −15 %, step time +17 %), about one more forward
        pass per step. Every backend (TensorFlow: a compiled loop; JAX: `jax.checkpoint`; PyTorch:
        `torch.utils.checkpoint`, per layer); `fit()` retraces its step with the new setting."""
        self.albert.encoder.gradient_checkpointing = bool(enable)
        self.train_function = None

    def gradient_checkpointing_disable(self) -> None:
        self.gradient_checkpointing_enable(False)

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
        source, source_name = (ids, "input_ids") if ids is not None else (embeds, "inputs_embeds")
        checks += validation.check_min_length(source_name, source, rank - 1)
        if inputs.get("position_ids") is None:
            checks += validation.check_max_length(
                source_name, source, rank - 1, c.max_position_embeddings, "max_position_embeddings",
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
        ref = inputs["input_ids"] if inputs["input_ids"] is not None else inputs["inputs_embeds"]
        if validation.checks_cannot_raise(ref):  # under XLA nothing above can raise: invalid rows become NaN
            inputs[_NAN_ROWS] = validation.nan_rows(inputs, self.config, self.input_rank)
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
        ids, embeds = inputs["input_ids"], inputs["inputs_embeds"]
        nan_rows = inputs.get(_NAN_ROWS)
        if nan_rows is not None:  # XLA: NaN into the invalid rows' embeddings, so all their outputs are NaN
            if embeds is None:
                embeds = self.albert.embeddings.word_embeddings(ids)
            embeds = embeds + ops.cast(ops.reshape(nan_rows, (-1, 1, 1)), embeds.dtype)
            ids = None
        return self.albert(
            ids, inputs["attention_mask"], inputs["token_type_ids"], inputs["position_ids"],
            embeds, output_hidden_states=output_hidden_states,
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
        if keras_hooks.user_compiled_loss(self) is not None:
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
        return distribution.per_replica_loss(loss)

    # --- tf.distribute (see distribution.py) ---------------------------------------------------------
    # JAX's trainer calls `train_step(state, data)` and gets `(logs, state)` back (its steps are pure
    # functions); the TensorFlow and PyTorch trainers call `train_step(data)`. The logs fix-up is for
    # tf.distribute only.
    def train_step(self, *args):
        result = super().train_step(*args)
        return result if len(args) > 1 else distribution.rank1_logs(result)

    def make_train_function(self, force=False):
        # On JAX with XLA: the optimizer's update compiled once, not once per batch shape (split_step.py).
        if split_step.applies(self, AlbertPreTrainedModel.train_step):
            if self.train_function is None or force:
                self.train_function = split_step.train_function(self)
            return self.train_function
        return super().make_train_function(force)

    def test_step(self, *args):
        result = super().test_step(*args)
        return result if len(args) > 1 else distribution.rank1_logs(result)

    def symbolic_build_batch(self, iterator, data_batch):
        strategy = keras_hooks.distribute_strategy(self)
        if strategy is not None and iterator is not None and data_batch is None \
                and keras_hooks.is_multi_worker(strategy):
            data_batch, iterator = distribution.local_first_batch(strategy, iterator), None
        return data_batch, iterator

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

    def _checked_data(self, x, y=None, sources: validation.SourceChecks | None = None):
        # A tf.data.Dataset exists only once TensorFlow is imported; other backends need not import it.
        tf = sys.modules.get("tensorflow")
        if tf is not None and isinstance(x, tf.data.Dataset):
            # Plain Python on graph tensors: AutoGraph's conversion of the checks' ~70 functions took
            # 2-4 s of every fit's first step and changes nothing (no tensor-dependent Python control flow).
            @tf.autograph.experimental.do_not_convert
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
        sources = sources or validation.SourceChecks(self._check_batch)
        if isinstance(x, keras.utils.PyDataset):
            return sources.py_dataset(x)
        if inspect.isgenerator(x):
            return sources.generator(x)
        if x is not None and (isinstance(x, (Mapping, np.ndarray)) or hasattr(x, "numpy")):
            self._check_batch(x, y)
        return x

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        if text_inputs.takes_text(x, validation_data):  # raw strings: tokenized and batched by length
            return self.fit(**text_inputs.fit_arguments(self, x, y, *args, validation_data=validation_data,
                                                        **kwargs))
        with validation.SourceChecks(self._check_batch) as sources:
            x = self._checked_data(x, y, sources)
            if isinstance(validation_data, (list, tuple)):
                self._check_batch(validation_data[0], validation_data[1] if len(validation_data) > 1 else None)
            elif validation_data is not None:
                validation_data = self._checked_data(validation_data, None, sources)
            return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        if text_inputs.is_text(x):  # raw strings: tokenized and batched by length
            return self.evaluate(**text_inputs.evaluate_arguments(self, x, y, *args, **kwargs))
        if ragged.is_ragged(x):  # rows of different lengths: batched and padded by the shape policy
            batch_size = args[0] if args else kwargs.pop("batch_size", None)
            x, y = ragged.evaluation_data(self, x, y, batch_size), None
            args = (None, *args[1:]) if args else ()
        with validation.SourceChecks(self._check_batch) as sources:
            return super().evaluate(self._checked_data(x, y, sources), y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        if text_inputs.is_text(x):  # raw strings: tokenized, sorted by length; outputs in input order
            return text_inputs.predict(self, x, *args, **kwargs)
        if ragged.is_ragged(x):  # rows of different lengths: batched and padded by the shape policy
            return ragged.predict(self, x, args[0] if args else kwargs.get("batch_size"))
        if _rows(x) == 0:  # Keras' loop needs one batch at least; the model itself gives empty outputs
            return keras.tree.map_structure(np.asarray, self.predict_on_batch(x))
        with validation.SourceChecks(self._check_batch) as sources:
            try:
                return super().predict(self._checked_data(x, None, sources), *args, **kwargs)
            except UnboundLocalError as e:  # Keras' predict loop got no batch from x
                raise ValueError(f"predict got no data: x ({type(x).__name__}) gave no batch") from e

    def train_on_batch(self, x, y=None, *args, **kwargs):
        self._check_batch(x, y)
        return super().train_on_batch(x, y, *args, **kwargs)

    def test_on_batch(self, x, y=None, *args, **kwargs):
        self._check_batch(x, y)
        return super().test_on_batch(x, y, *args, **kwargs)

    def predict_on_batch(self, x):
        self._check_batch(x)
        return super().predict_on_batch(x)


def _rows(x) -> int | None:
    """The number of rows of concrete data (an array or tensor, or a dict of them), else None."""
    first = next(iter(x.values()), None) if isinstance(x, Mapping) else x
    if (isinstance(first, np.ndarray) or hasattr(first, "numpy")) and len(first.shape):
        return first.shape[0]
    return None
