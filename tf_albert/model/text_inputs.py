"""Raw text in `fit`, `evaluate` and `predict`: strings tokenized by the model's tokenizer, batched by length.

A model that knows its tokenizer — loaded with `from_pretrained` from a folder that holds one, given one as
`model.tokenizer = tokenizer` or `Albert*(config, tokenizer=tokenizer)` — takes, wherever Keras takes `x`:

* a list (or 1-D array) of strings: one text per row;
* a tuple `(texts, text_pairs)` of two lists of the same length, or a list of `(text, text_pair)` rows:
  pairs, encoded `[CLS] text [SEP] text_pair [SEP]` with token type ids 0 … 0 1 … 1.

The texts are tokenized once (`tokenizer(texts, text_pair=..., truncation=True, max_length=...)`, cut at
the model's `max_position_embeddings`) and batched under the shape policy of `tf_albert.utils.shapes`:
rows grouped by length and padded to multiples of 8 — with XLA (`jit_compile=True`) to the few lengths that
pad this data least (`shapes.fit_lengths`), so a compiled step sees at most six shapes. `fit` shuffles the
rows among those of one padded length and the order of the batches, afresh each epoch (seeded by
`keras.utils.set_random_seed`): the rules of the training datasets, `tf_albert.utils.batching`. The batches reach Keras as a `keras.utils.PyDataset` on JAX and PyTorch and
as a `tf.data.Dataset` on TensorFlow (whose shapes say which dimensions vary). `predict` sorts the rows by
length and gives its outputs back in input order (`tf_albert.model.ragged.predict`).

Labels (`y`) for a head with one label per row (sequence classification): class ids, label names looked up
in `config.label2id` (or `config.id2label`), lists of names per row (multi-label: made multi-hot), multi-hot rows, or floats
(regression). `sample_weight`, `class_weight`, `validation_split` and text `validation_data` work as with
arrays. Other heads take raw text in `predict`; to train them, tokenize first (their labels are per token,
per span or per choice).

The tokenizer is duck-typed — anything called like Hugging Face's tokenizers, returning a dict of lists —
so the model core imports no tokenizer module. It is not part of the Keras config: a `.keras` file or
`get_config` does not hold it (save it with `model.save_pretrained(folder, tokenizer=tokenizer)`, or set it
again after `keras.models.load_model`).

Example:
>>> import keras, numpy as np, tf_albert
>>> tokenizer = tf_albert.AlbertTokenizer.from_pretrained("tests/fixtures/tokenizer")
>>> config = tf_albert.AlbertConfig(vocab_size=tokenizer.vocab_size, embedding_size=8, hidden_size=16,
...                                 num_attention_heads=2, intermediate_size=32, num_hidden_layers=2,
...                                 id2label={0: "negative", 1: "positive"})
>>> model = tf_albert.AlbertForSequenceClassification(config, tokenizer=tokenizer)
>>> model.compile(optimizer="adam")
>>> texts = ["a great film", "a bad film, really", "great", "so bad"]
>>> history = model.fit(texts, ["positive", "negative", "positive", "negative"], epochs=1, verbose=0)
>>> model.predict(["bad", "a great film indeed"])["logits"].shape
(2, 2)
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Mapping

import keras
import numpy as np

from tf_albert.model import ragged
from tf_albert.utils import batching, shapes

_ATTACH = ("attach one with `model.tokenizer = tf_albert.AlbertTokenizer.from_pretrained(folder_or_name)`, "
           "or load the model with `from_pretrained` from a folder that holds a tokenizer "
           "(`model.save_pretrained(folder, tokenizer=tokenizer)` writes one); or tokenize the texts yourself "
           "and pass input_ids")


# --- what counts as text ------------------------------------------------------------------------------------
def _strings(value) -> bool:
    """A non-empty list, tuple or 1-D array of str."""
    if isinstance(value, np.ndarray):
        return value.ndim == 1 and value.size > 0 and (
            value.dtype.kind == "U" or (value.dtype == object and all(isinstance(v, str) for v in value)))
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(v, str) for v in value)


def _pair_rows(value) -> bool:
    """A non-empty list of (text, text_pair) rows."""
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        isinstance(row, (list, tuple)) and len(row) == 2 and all(isinstance(s, str) for s in row) for row in value)


def is_text(x) -> bool:
    """True when `x` is raw text (a string, a list of strings or of string pairs, or `(texts, text_pairs)`).

    >>> is_text(["a sentence", "another"]), is_text((["a", "b"], ["c", "d"])), is_text([[2, 10, 3]])
    (True, True, False)
    """
    return isinstance(x, str) or _strings(x) or _two_lists(x) or _pair_rows(x)


def _two_lists(x) -> bool:
    """`(texts, text_pairs)`: a tuple of two lists of strings."""
    return isinstance(x, tuple) and len(x) == 2 and _strings(x[0]) and _strings(x[1])


def split_text(x) -> tuple[list, list | None]:
    """(texts, text_pairs or None) of raw text `x` (see `is_text`).

    >>> split_text(("question one", "question two"))
    (['question one', 'question two'], None)
    >>> split_text((["q1", "q2"], ["a1", "a2"])), split_text([("q1", "a1"), ("q2", "a2")])
    ((['q1', 'q2'], ['a1', 'a2']), (['q1', 'q2'], ['a1', 'a2']))
    """
    if isinstance(x, str):
        raise TypeError(f"got one string ({x[:40]!r}); pass a list of texts, e.g. [text]")
    if _strings(x):
        return [str(v) for v in x], None
    if _two_lists(x):
        if len(x[0]) != len(x[1]):
            raise ValueError(f"(texts, text_pairs) must have as many pairs as texts: got {len(x[0])} texts and "
                             f"{len(x[1])} text_pairs")
        return [str(v) for v in x[0]], [str(v) for v in x[1]]
    if _pair_rows(x):
        return [str(a) for a, _ in x], [str(b) for _, b in x]
    raise TypeError(f"raw text must be a list of strings, (texts, text_pairs) or a list of (text, text_pair); "
                    f"got {type(x).__name__}")


# --- the tokenizer -------------------------------------------------------------------------------------------
def check_tokenizer(tokenizer) -> None:
    """Raises TypeError unless `tokenizer` is None or callable like Hugging Face's tokenizers."""
    if tokenizer is None:
        return
    if isinstance(tokenizer, keras.layers.Layer) or not callable(tokenizer):
        raise TypeError(
            "tokenizer must be a Python tokenizer called like Hugging Face's — tokenizer(texts, text_pair=..., "
            "truncation=True, max_length=...) giving {'input_ids': [[...], ...], ...} — such as "
            f"tf_albert.AlbertTokenizer or a transformers tokenizer; got {type(tokenizer).__name__}"
        )


def tokenize(model, x) -> dict[str, list]:
    """{"input_ids": id lists, "token_type_ids": ...} of raw text `x`, by `model.tokenizer`, unpadded."""
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        raise ValueError(f"{type(model).__name__} got raw text but has no tokenizer: {_ATTACH}")
    if model.input_rank != 2:
        raise NotImplementedError(
            f"{type(model).__name__} does not take raw text: tokenize each (context, choice) pair yourself and "
            f"pass input_ids {model.input_layout}"
        )
    texts, pairs = split_text(x)
    limit = model.config.max_position_embeddings
    cap = getattr(tokenizer, "model_max_length", None)
    if isinstance(cap, int) and 0 < cap < limit:
        limit = cap
    options = {"truncation": True, "max_length": limit, "padding": False}
    if pairs is not None:
        options["text_pair"] = pairs
    encoded = tokenizer(texts, **options)
    rows = {}
    for name in ("input_ids", "token_type_ids", "attention_mask"):
        if name in encoded and encoded[name] is not None:
            rows[name] = [np.asarray(row).tolist() for row in encoded[name]]
    if len(rows.get("input_ids", ())) != len(texts):
        raise ValueError(f"the tokenizer gave {len(rows.get('input_ids', ()))} rows of input_ids for "
                         f"{len(texts)} texts")
    return rows


# --- labels ------------------------------------------------------------------------------------------------
def _one_label_per_row(model) -> None:
    if not model.built:  # every weight from the config, before the symbolic call below
        model.build()
    main = None
    if model.label_names == ("labels",):
        main = model.compute_output_spec({"input_ids": keras.KerasTensor((1, 2), dtype="int32")})[model.main_output]
    if main is None or len(main.shape) != 2:  # [batch, num_labels]: one label (or label set) per row
        raise NotImplementedError(
            f"{type(model).__name__} takes raw text in predict only: its labels are per token, per span or "
            "several per row. To train or evaluate it, tokenize first (tokenizer(texts, padding=True, "
            "return_tensors='np')) and pass the ids with labels aligned to the tokens"
        )


def _label_id(name, row: int, label2id: dict) -> int:
    if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
        return int(name)
    if name in label2id:
        return int(label2id[name])
    raise ValueError(
        f"label {name!r} (row {row}) is not in config.label2id (or id2label); the known labels are "
        f"{sorted(label2id)}. "
        "Name the labels when creating the model, e.g. from_pretrained(..., id2label={0: 'negative', "
        "1: 'positive'}), or pass class ids"
    )


def labels(model, y, rows: int) -> np.ndarray:
    """The labels `y` of `rows` texts as an array the head's loss takes (see the module docstring)."""
    _one_label_per_row(model)
    if isinstance(y, Mapping):
        if set(y) != {"labels"}:
            raise ValueError(f"y as a dict must hold 'labels' only, got keys {sorted(y)}")
        y = y["labels"]
    values = y if isinstance(y, np.ndarray) else (y.numpy() if hasattr(y, "numpy") else list(y))
    if len(values) != rows:
        raise ValueError(f"y has {len(values)} labels but x has {rows} texts")
    config = model.config
    # config.label2id, and id2label's names too: `from_pretrained(folder, id2label=...)` keeps the folder's
    # label2id (often HF's LABEL_0, LABEL_1), as HF's configs do
    label2id = {**{name: i for i, name in config.id2label.items()}, **config.label2id}
    names = any(isinstance(v, str) for v in values)
    name_lists = any(isinstance(v, (list, tuple, set, frozenset)) and any(isinstance(s, str) for s in v)
                     for v in values)
    if name_lists or (names and config.problem_type == "multi_label_classification"):  # multi-hot rows
        hot = np.zeros((rows, config.num_labels), np.float32)
        for r, value in enumerate(values):
            for name in ([value] if isinstance(value, str) else value):
                hot[r, _label_id(name, r, label2id)] = 1.0
        return hot
    if names:
        return np.asarray([_label_id(v, r, label2id) for r, v in enumerate(values)], np.int32)
    array = np.asarray(values)
    if array.dtype == object or array.dtype.kind not in "iubf":
        raise TypeError(f"labels of raw text must be class ids, label names, multi-hot rows or floats; got "
                        f"{array.dtype} values such as {values[0]!r}")
    if config.problem_type in ("regression", "multi_label_classification") or config.num_labels == 1 \
            or array.ndim == 2:  # multi-hot rows: float labels mean multi-label (HF's rule)
        return array.astype(np.float32)
    return array.astype(np.int32) if array.dtype.kind in "iub" else array.astype(np.float32)


# --- batches -------------------------------------------------------------------------------------------------
class TextBatches(keras.utils.PyDataset):
    """Length-grouped batches of tokenized rows (and labels, sample weights): a Keras `PyDataset`.

    The rows and their order follow the fine-tuning datasets' rules (`tf_albert.utils.batching`): each batch
    is padded to the padded length of its longest row (under XLA, a few fitted lengths); all batches but the
    last are full. With `shuffle`, each epoch (`on_epoch_begin`) takes the rows in a new order that depends
    on `seed` and the epoch; without it, longest first, in input order within a length.
    """

    def __init__(self, model, rows: dict, targets=None, weights=None, *, batch_size: int = 32,
                 shuffle: bool = False, seed: int = 0):
        super().__init__()
        self.model, self.rows, self.targets, self.weights = model, rows, targets, weights
        self.shuffle, self.seed, self.batch_size = bool(shuffle), seed, int(batch_size)
        # Each shape costs an XLA compilation: the few lengths that pad these rows least; else each batch
        # padded to its longest row.
        buckets = batching.for_compiler(batching.AUTO, model.jit_compile is True)
        lengths = [len(row) for row in rows["input_ids"]]
        self.padded, _ = batching.padded_lengths(lengths, length_buckets=buckets,
                                                 pad_to_multiple_of=shapes.MULTIPLE,
                                                 max_length=model.config.max_position_embeddings)
        self.sizes = batching.grouped_sizes(self.padded, batch_size=self.batch_size)
        self.epoch = -1
        self.on_epoch_begin()

    def on_epoch_begin(self):
        if self.epoch < 0 or self.shuffle:
            self.epoch += 1
            index = batching.index_batches(self.padded, batch_size=self.batch_size, shuffle=self.shuffle,
                                           group_by_length=True, seed=self.seed, epoch=self.epoch,
                                           sizes=self.sizes)
            self.batches = [(rows, int(self.padded[rows].max())) for rows in index]

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        index, length = self.batches[i]
        x = ragged.padded_batch(self.model, self.rows, index, length)
        if self.targets is None:
            return (x,)
        if self.weights is None:
            return x, self.targets[index]
        return x, self.targets[index], self.weights[index]


def keras_data(batches: TextBatches):
    """`batches` as Keras' loops read them: the PyDataset itself on JAX and PyTorch; on TensorFlow a
    `tf.data.Dataset` whose shapes leave every dimension free (Keras would fix them from the first batches)."""
    tf = sys.modules.get("tensorflow")
    if keras.backend.backend() != "tensorflow" or tf is None:
        return batches
    signature = keras.tree.map_structure(
        lambda v: tf.TensorSpec([None] * v.ndim, tf.as_dtype(v.dtype)), batches[0])

    def epoch():
        batches.on_epoch_begin()
        for i in range(len(batches)):
            yield batches[i]

    dataset = tf.data.Dataset.from_generator(epoch, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))


def _take(rows: dict, index) -> dict:
    return {name: [values[i] for i in index] for name, values in rows.items()}


def _evaluation_data(model, x, y, weights, batch_size):
    if y is None:
        raise ValueError("raw text for evaluation needs its labels: pass (texts, labels)")
    rows = tokenize(model, x)
    n = len(rows["input_ids"])
    weights = None if weights is None else _weights(weights, n)
    return keras_data(TextBatches(model, rows, labels(model, y, n), weights, batch_size=batch_size or 32))


def _weights(weights, rows: int) -> np.ndarray:
    weights = np.asarray(weights, np.float32)
    if len(weights) != rows:
        raise ValueError(f"sample_weight has {len(weights)} values but x has {rows} texts")
    return weights


def _bind(method, model, args, kwargs) -> dict:
    bound = inspect.signature(method).bind(model, *args, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    del arguments["self"]
    arguments.update(arguments.pop("kwargs", {}))
    return arguments


# --- the three Keras entry points ----------------------------------------------------------------------------
def takes_text(x, validation_data=None) -> bool:
    """True when `fit`'s `x` or its `validation_data`'s inputs are raw text."""
    return is_text(x) or (isinstance(validation_data, (list, tuple)) and len(validation_data) > 0
                          and is_text(validation_data[0]))


def fit_arguments(model, *args, **kwargs) -> dict:
    """`keras.Model.fit`'s arguments with raw text `x` (and `validation_data`) made into batches."""
    a = _bind(keras.Model.fit, model, args, kwargs)
    batch_size = a["batch_size"] or 32
    if is_text(a["x"]):
        if a["y"] is None:
            raise ValueError("fit on raw text needs labels: fit(texts, labels)")
        rows = tokenize(model, a["x"])
        n = len(rows["input_ids"])
        targets = labels(model, a["y"], n)
        weights = None if a["sample_weight"] is None else _weights(a["sample_weight"], n)
        train = np.arange(n)
        if a["validation_split"] and a["validation_data"] is None:  # Keras' rule: the last rows, unshuffled
            cut = int(n * (1.0 - float(a["validation_split"])))
            held = np.arange(cut, n)
            train = np.arange(cut)
            a["validation_data"] = keras_data(TextBatches(
                model, _take(rows, held), targets[held], None if weights is None else weights[held],
                batch_size=a["validation_batch_size"] or batch_size))
        seed = int(np.random.randint(0, 2**31 - 1))  # follows keras.utils.set_random_seed
        batches = TextBatches(model, _take(rows, train), targets[train],
                              None if weights is None else weights[train],
                              batch_size=batch_size, shuffle=a["shuffle"], seed=seed)
        a.update(x=keras_data(batches), y=None, batch_size=None, sample_weight=None, validation_split=0.0,
                 shuffle=False)
    data = a["validation_data"]
    if isinstance(data, (list, tuple)) and data and is_text(data[0]):
        a["validation_data"] = _evaluation_data(model, data[0], data[1] if len(data) > 1 else None,
                                                data[2] if len(data) > 2 else None,
                                                a["validation_batch_size"] or batch_size)
    return a


def evaluate_arguments(model, *args, **kwargs) -> dict:
    """`keras.Model.evaluate`'s arguments with raw text `x` made into batches."""
    a = _bind(keras.Model.evaluate, model, args, kwargs)
    a["x"] = _evaluation_data(model, a["x"], a["y"], a["sample_weight"], a["batch_size"])
    a.update(y=None, batch_size=None, sample_weight=None)
    return a


def predict(model, *args, **kwargs) -> dict:
    """The model's outputs for raw text, numpy arrays in input order (per-token outputs zero past each
    row's tokens). `verbose`, `steps` and `callbacks` are not used: the batches run one by one."""
    a = _bind(keras.Model.predict, model, args, kwargs)
    return ragged.predict(model, tokenize(model, a["x"]), a["batch_size"])
