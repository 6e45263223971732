"""The raw-text serving signatures: strings → in-graph tokenizer → model → readable predictions.

Signatures (all inputs are string tensors with a dynamic batch dimension):

==========================  =============================================  ==========================================
head                        ``serving_text`` inputs                        extra outputs
==========================  =============================================  ==========================================
model, pretraining,         ``text`` [batch]; ``serving_text_pair`` also   ``input_ids``, ``attention_mask``,
masked_lm, sequence_ and    takes ``text``, ``text_pair`` [batch]          ``token_type_ids`` (the ids used, always)
token_classification
sequence_classification                                                    ``probabilities`` [b, labels] (softmax, or
                                                                           sigmoid for multi-label), ``top_k_ids``,
                                                                           ``top_k_labels``, ``top_k_probabilities``
                                                                           [b, k] (none for regression)
token_classification                                                       the same per token: [b, seq, k]
masked_lm, pretraining                                                     ``top_k_ids``, ``top_k_tokens``,
                                                                           ``top_k_probabilities`` [b, seq, k] at
                                                                           every position; ``sop_probabilities``
multiple_choice             ``text`` [batch], ``choices`` [batch, n]       ``probabilities`` [b, n], ``top_k_ids``,
                                                                           ``top_k_choices``, ``top_k_probabilities``
question_answering          ``question``, ``context`` [batch]              ``answer`` (text), ``answer_start``,
                                                                           ``answer_end`` (token positions in
                                                                           ``input_ids``), ``score``
==========================  =============================================  ==========================================

Label names (``config.id2label``) are stored as the asset ``labels.txt`` and looked up in the graph.
The QA ``answer`` is the best span with start ≤ end, at most ``max_answer_length`` tokens, inside the context,
scored by start + end logit, decoded exactly as ``AlbertTokenizer.decode(input_ids[start:end + 1])``
(normalised text: lower-cased, accents stripped, as the model saw it). With no context token left (say an
empty context), ``answer`` is ``""``, the positions are -1 and ``score`` is ``NO_ANSWER_SCORE``.
"""

from __future__ import annotations

import os

import tensorflow as tf

from tf_albert.export.signatures import LABELS_FILE, TEXT_SIGNATURE, ensure_shapes
from tf_albert.model import losses
from tf_albert.tasks import model_task_of
from tf_albert.tokenization.fast import AlbertTokenizerFast
from tf_albert.tokenization.rules import CLEAN_UP_REPLACEMENTS
from tf_albert.tokenization.tokenizer import AlbertTokenizer

TEXT_PAIR_SIGNATURE = "serving_text_pair"
NO_ANSWER_SCORE = -1e9
# HF's clean_up_tokenization, in its order (applied by AlbertTokenizer.decode by default).


def _literal(text: str) -> str:
    return "".join("\\" + c if not c.isalnum() and c != " " else c for c in text)


def _tokenizer_layer(tokenizer, model, max_length):
    """An AlbertTokenizerLayer that truncates to what the model takes and pads as the export wants."""
    # Deferred: the in-graph tokenizer needs tensorflow-text, an optional extra (tf_albert[text]).
    from tf_albert.tokenization.layer import AlbertTokenizerLayer

    options = {}
    if isinstance(tokenizer, AlbertTokenizerLayer):
        options = {"truncation": tokenizer.truncation or "longest_first",
                   "add_special_tokens": tokenizer.add_special_tokens}
        tokenizer = tokenizer.tokenizer
    elif isinstance(tokenizer, (str, os.PathLike)):
        tokenizer = AlbertTokenizer.from_pretrained(os.fspath(tokenizer))
    elif not isinstance(tokenizer, (AlbertTokenizer, AlbertTokenizerFast)):
        raise TypeError("tokenizer must be an AlbertTokenizer, an AlbertTokenizerFast, an AlbertTokenizerLayer "
                        f"or a path to a tokenizer folder, got {type(tokenizer).__name__}")
    vocab = model.config.vocab_size
    if len(tokenizer) > vocab:
        raise ValueError(f"the tokenizer has {len(tokenizer)} ids but the model's vocab_size is {vocab}; "
                         "they do not belong together")
    length = max_length or model.config.max_position_embeddings
    padding = "max_length" if max_length else "longest"
    layer_class = AlbertTokenizerLayer
    if isinstance(tokenizer, AlbertTokenizerFast):  # a tokenizer.json folder: the `tokenizers` pipeline in TF
        # Deferred like AlbertTokenizerLayer above (tensorflow-text).
        from tf_albert.tokenization.fast_layer import AlbertFastTokenizerLayer as layer_class
    return tokenizer, layer_class.from_tokenizer(tokenizer, sequence_length=length, padding=padding, **options)


def _write_labels(config, asset_dir) -> str:
    labels = []
    for i in range(config.num_labels):
        if i not in config.id2label:
            raise ValueError(f"config.id2label has no label for id {i} (it has {sorted(config.id2label)})")
        label = str(config.id2label[i])
        if "\n" in label or "\r" in label:
            raise ValueError(f"label {label!r} (id {i}) contains a line break; labels are stored one per line")
        labels.append(label)
    path = os.path.join(asset_dir, LABELS_FILE)
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(label + "\n" for label in labels))
    return path


class TextServing:
    """Builds the text signatures of one model. `resources()` must be tracked by the exported root (so the
    tokenizer's and labels' tables are saved); the functions are passed as signatures only (attaching them
    to the root would make `tf.saved_model.save` trace them a second time).

    Args:
        model: the tf_albert model.
        tokenizer: `AlbertTokenizer`, `AlbertTokenizerLayer` or a path (see `export_saved_model`).
        run: `run(inputs) -> outputs`, the model runner shared with the ids signature.
        max_length, top_k, max_answer_length: as in `export_saved_model`.
        asset_dir: a scratch folder for `labels.txt` until it is copied into the SavedModel.
    """

    def __init__(self, model, tokenizer, run, *, max_length, top_k, max_answer_length, asset_dir):
        tokenizer, self.tokenizer_layer = _tokenizer_layer(tokenizer, model, max_length)
        from tf_albert.tokenization.layer import checked_strings  # deferred like the layer (tensorflow-text)

        config = model.config
        vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        vocab += [""] * (config.vocab_size - len(vocab))
        special = set(tokenizer.all_special_ids)
        # Plain Python values: become Const nodes when the functions are traced.
        self._vocab = vocab
        self._special = [i in special for i in range(config.vocab_size)]
        self._clean_up = bool(getattr(tokenizer, "clean_up_tokenization_spaces", True))
        self._sep_id = tokenizer.sep_token_id
        self._top_k = top_k
        self._max_answer_length = max_answer_length
        self._task = task = model_task_of(model)
        self.labels = None
        if task in ("sequence_classification", "token_classification"):
            self._problem = _problem_type(model)
            if self._problem != "regression":
                labels = tf.lookup.TextFileInitializer(
                    _write_labels(config, asset_dir), tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                    tf.string, tf.lookup.TextFileIndex.WHOLE_LINE)
                self.labels = tf.lookup.StaticHashTable(labels, default_value="")
        post = self._postprocess
        layer = self.tokenizer_layer

        def predict(encoded, **extra):
            encoded = {k: tf.cast(v, tf.int32) for k, v in encoded.items()}
            outputs = run(encoded)
            return {**outputs, **post(encoded, outputs, **extra), **encoded}

        def checked(**inputs):
            layouts = {k: [None, None] if k == "choices" else [None] for k in inputs}
            return ensure_shapes(inputs, layouts)

        if task == "question_answering":
            @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="question"),
                                          tf.TensorSpec([None], tf.string, name="context")])
            def serve_text(question, context):
                inputs = checked(question=question, context=context)
                return predict(layer(inputs["question"], inputs["context"], names=("question", "context")))

            self.serve_text, self.serve_text_pair = serve_text, None
        elif task == "multiple_choice":
            @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text"),
                                          tf.TensorSpec([None, None], tf.string, name="choices")])
            def serve_text(text, choices):
                inputs = checked_strings(checked(text=text, choices=choices))
                text, choices = inputs["text"], inputs["choices"]
                shape = tf.shape(choices)
                flat_text = tf.reshape(tf.repeat(text[:, None], shape[1], axis=1), [-1])
                encoded = layer(flat_text, tf.reshape(choices, [-1]))
                encoded = {k: tf.reshape(v, tf.concat([shape, tf.shape(v)[1:]], 0)) for k, v in encoded.items()}
                return predict(encoded, choices=choices)

            self.serve_text, self.serve_text_pair = serve_text, None
        else:
            @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
            def serve_text(text):
                return predict(layer(checked(text=text)["text"]))

            @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text"),
                                          tf.TensorSpec([None], tf.string, name="text_pair")])
            def serve_text_pair(text, text_pair):
                inputs = checked(text=text, text_pair=text_pair)
                return predict(layer(inputs["text"], inputs["text_pair"]))

            self.serve_text, self.serve_text_pair = serve_text, serve_text_pair

    def resources(self) -> dict:
        """{name: trackable} that the SavedModel's root must hold for the text signatures to load."""
        out = {"tokenizer": self.tokenizer_layer, "tokenizer_resources": _resources_of(self.tokenizer_layer)}
        if self.labels is not None:
            out["labels"] = self.labels
        return out

    def functions(self) -> dict:
        """{signature key: tf.function} of the text signatures."""
        out = {TEXT_SIGNATURE: self.serve_text}
        if self.serve_text_pair is not None:
            out[TEXT_PAIR_SIGNATURE] = self.serve_text_pair
        return out

    # === Per-head readable outputs ===
    def _postprocess(self, encoded, outputs, choices=None) -> dict:
        task = self._task
        if task in ("sequence_classification", "token_classification"):
            if self._problem == "regression":
                return {}
            logits = outputs["logits"]
            probs = tf.sigmoid(logits) if self._problem == "multi_label_classification" else tf.nn.softmax(logits)
            values, ids = tf.math.top_k(probs, k=min(self._top_k, int(logits.shape[-1])))
            return {"probabilities": probs, "top_k_ids": ids, "top_k_probabilities": values,
                    "top_k_labels": self.labels.lookup(tf.cast(ids, tf.int64))}
        if task in ("masked_lm", "pretraining"):
            key = "logits" if "logits" in outputs else "prediction_logits"
            values, ids = tf.math.top_k(tf.nn.softmax(outputs[key]), k=min(self._top_k, len(self._vocab)))
            out = {"top_k_ids": ids, "top_k_probabilities": values, "top_k_tokens": tf.gather(self._vocab, ids)}
            if "sop_logits" in outputs:
                out["sop_probabilities"] = tf.nn.softmax(outputs["sop_logits"])
            return out
        if task == "multiple_choice":
            probs = tf.nn.softmax(outputs["logits"])
            k = tf.minimum(self._top_k, tf.shape(probs)[1])
            values, ids = tf.math.top_k(probs, k=k)
            return {"probabilities": probs, "top_k_ids": ids, "top_k_probabilities": values,
                    "top_k_choices": tf.gather(choices, ids, batch_dims=1)}
        if task == "question_answering":
            return self._best_span(encoded, outputs)
        return {}

    def _best_span(self, encoded, outputs) -> dict:
        ids = encoded["input_ids"]
        start, end = outputs["start_logits"], outputs["end_logits"]
        context = ((encoded["token_type_ids"] == 1) & (encoded["attention_mask"] == 1)
                   & (ids != self._sep_id))
        length = tf.shape(ids)[1]
        positions = tf.range(length)
        span_length = positions[None, :] - positions[:, None]  # end - start
        band = (span_length >= 0) & (span_length < self._max_answer_length)
        valid = band[None] & context[:, :, None] & context[:, None, :]
        scores = tf.where(valid, start[:, :, None] + end[:, None, :], tf.float32.min)
        flat = tf.reshape(scores, [tf.shape(ids)[0], -1])
        best = tf.argmax(flat, axis=1, output_type=tf.int32)
        found = tf.reduce_any(tf.reshape(valid, tf.shape(flat)), axis=1)
        first = tf.where(found, best // length, -1)
        last = tf.where(found, best % length, -1)
        in_span = (positions[None] >= first[:, None]) & (positions[None] <= last[:, None])
        return {
            "answer": self._decode(tf.ragged.boolean_mask(ids, in_span)),
            "answer_start": first,
            "answer_end": last,
            "score": tf.where(found, tf.reduce_max(flat, axis=1), NO_ANSWER_SCORE),
        }

    def _decode(self, ids: tf.RaggedTensor) -> tf.Tensor:
        """`AlbertTokenizer.decode` of each row, in graph: pieces joined, `▁` → space, special tokens kept
        verbatim with the reference's spacing, then HF's clean-up of spaces before punctuation."""
        flat = ids.flat_values
        pieces = tf.gather(self._vocab, flat)
        special = tf.gather(self._special, flat)
        row_start = tf.equal(tf.range(tf.size(flat, out_type=tf.int64)), tf.gather(ids.row_splits, ids.value_rowids()))
        prev_special = tf.concat([[False], special[:-1]], 0) & ~row_start
        text = tf.strings.regex_replace(pieces, "\u2581", " ")
        # sentencepiece's decode drops the space that starts each run of ordinary pieces
        text = tf.where(row_start | prev_special, tf.strings.regex_replace(text, "^ ", ""), text)
        text = tf.where(special, tf.where(prev_special, pieces, tf.strings.join([" ", pieces])), text)
        joined = tf.strings.reduce_join(ids.with_flat_values(text), axis=1)
        joined = tf.strings.regex_replace(joined, r"^\s+|\s+$", "")
        if self._clean_up:
            for old, new in CLEAN_UP_REPLACEMENTS:
                joined = tf.strings.regex_replace(joined, _literal(old), new)
        return joined


def _resources_of(obj, depth=0, seen=None) -> list:
    """TF resources (lookup tables, tf.Modules) that `obj` holds, also through plain Python helper objects.

    Keras tracks the attributes it recognises; a table kept by a plain helper object inside the tokenizer
    layer would be missed, and `tf.saved_model.save` would then refuse the export ("untracked resource").
    Listing them on the root tracks them whatever the layer's internals look like.
    """
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 3:
        return []
    seen.add(id(obj))
    if isinstance(obj, dict):
        values = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        values = list(obj) if len(obj) < 64 else []
    else:
        try:
            values = list(vars(obj).values())
        except TypeError:  # no __dict__ (C extension objects)
            return []
    found = []
    for value in values:
        if isinstance(value, (str, bytes, int, float, bool, type(None))) or tf.is_tensor(value):
            continue
        if isinstance(value, (tf.lookup.StaticHashTable, tf.lookup.StaticVocabularyTable, tf.Module)):
            found.append(value)
        found += _resources_of(value, depth + 1, seen)
    return found


def _problem_type(model) -> str:
    if model_task_of(model) == "token_classification":
        return "single_label_classification"
    config = model.config
    dtype = "float32" if config.problem_type == "multi_label_classification" else "int32"
    return losses.infer_problem_type(config.problem_type, config.num_labels, dtype)
