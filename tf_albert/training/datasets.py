"""Fine-tuning data: lists of texts and labels → datasets that `model.fit` takes as they are, on any backend.

Every builder tokenizes once (Python, `AlbertTokenizer`), then returns the batches of `(features, labels)` —
or `features` alone when there are no labels — shuffled (when asked, with a seed), grouped by length and
padded under the shape policy (`tf_albert.training.batches`: numpy, one definition), fed as a
`tf.data.Dataset` on TensorFlow and as a `keras.utils.PyDataset` on JAX and PyTorch (`feeder=`; the same
batches either way):

* `classification_dataset`: single texts or pairs → `labels` [B] (int; float for regression, multi-hot
  [B, num_labels] for multi-label);
* `token_classification_dataset`: pre-split words + one label per word → `labels` [B, L], the word's label
  on its first piece and -100 on the others and on special tokens/padding;
* `multiple_choice_dataset`: a context with N choices → inputs [B, N, L], `labels` [B];
* `question_answering_dataset` (in `tf_albert.training.qa`): SQuAD-style examples in sliding windows.

Reading CSV/TSV/JSONL/JSON/SQuAD files into rows is `tf_albert.training.data_files`' job.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence

import keras
import numpy as np

from tf_albert.model.losses import IGNORE_INDEX
from tf_albert.tasks import TRAINING_TASKS
from tf_albert.training.batches import Batches, BatchDataset
from tf_albert.utils.backends import import_tensorflow, require_tensorflow

#: The training tasks (the kinds of labelled data), from the one task vocabulary.
TASKS = TRAINING_TASKS


# === Label vocabularies ===
def label_vocabulary(values) -> list:
    """Sorted distinct labels (ints sort numerically, strings alphabetically)."""
    distinct = set(values)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in distinct):
        return sorted(int(v) for v in distinct)
    return sorted(str(v) for v in distinct)


def to_label_ids(values, label2id: Mapping | None, what: str = "label") -> tuple[list[int], dict]:
    """Label values → ids. With `label2id` (str → id) unknown labels raise; without, integer labels
    0..n-1 are kept and anything else is numbered in sorted order."""
    values = list(values)
    for k, v in enumerate(values):
        if v is None or (isinstance(v, str) and not v.strip()):
            raise ValueError(f"{what} of example {k} (counting from 0) is empty ({v!r}); every example needs a "
                             "label: fill it in or drop the example")
    if values and all(isinstance(v, str) and v.strip().lstrip("-").isdigit() for v in values):
        values = [int(v) for v in values]  # "0", "1", "10" from CSV files are class ids, not names
    if label2id is None:
        vocab = label_vocabulary(values)
        ints = all(isinstance(v, int) for v in vocab)
        if ints and vocab and min(vocab) >= 0:
            label2id = {str(i): i for i in range(max(vocab) + 1)}
        else:
            label2id = {str(v): i for i, v in enumerate(vocab)}
    ids = []
    for k, v in enumerate(values):
        key = str(v)
        if key not in label2id:
            raise ValueError(f"{what} {v!r} (example {k}) is not one of the known labels {sorted(label2id)}")
        ids.append(int(label2id[key]))
    return ids, dict(label2id)


# === Encoding ===
def _check_texts(texts, name: str) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"{name} must be a list of strings, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(t).__name__}: {t!r}")
    return list(texts)


def _check_length(max_length):
    if not isinstance(max_length, (int, np.integer)) or max_length < 4:
        raise ValueError(f"max_length must be an int >= 4, got {max_length!r}")


def encode_classification(tokenizer, texts, text_pairs=None, max_length: int = 128) -> dict[str, list]:
    """Token ids (with `[CLS]`/`[SEP]`), type ids and masks of texts or pairs, truncated to `max_length`."""
    _check_length(max_length)
    texts = _check_texts(texts, "texts")
    if text_pairs is not None:
        text_pairs = _check_texts(text_pairs, "text_pairs")
        if len(text_pairs) != len(texts):
            raise ValueError(f"texts has {len(texts)} items but text_pairs has {len(text_pairs)}")
    enc = tokenizer(texts, text_pairs, truncation=True, max_length=int(max_length))
    return {k: enc[k] for k in ("input_ids", "token_type_ids", "attention_mask")}


def word_ids_from_offsets(offsets, word_spans, special_mask) -> list[int | None]:
    """For each token, the index of the word it belongs to (None for special tokens).

    A token belongs to the first word that ends after the token's start, so a lone `▁` piece (whose span
    is that of the next character) goes with the word that follows, as in HF's `word_ids()`.
    """
    ends = [e for _, e in word_spans]
    out: list[int | None] = []
    for (start, end), special in zip(offsets, special_mask):
        if special:
            out.append(None)
            continue
        k = bisect.bisect_right(ends, start)
        out.append(k if k < len(word_spans) else None)
    return out


def align_labels(
    word_ids: Sequence[int | None],
    word_labels: Sequence[int],
    label_all_subtokens: bool = False,
    ignore_index: int = IGNORE_INDEX,
) -> list[int]:
    """Per-token labels: the word's label on its first piece; -100 on later pieces (unless
    `label_all_subtokens`) and on special tokens.

    Example:
    >>> align_labels([None, 0, 0, 1, None], [7, 8])
    [-100, 7, -100, 8, -100]
    """
    out, previous = [], None
    for w in word_ids:
        if w is None:
            out.append(ignore_index)
        elif w != previous or label_all_subtokens:
            out.append(int(word_labels[w]))
        else:
            out.append(ignore_index)
        previous = w
    return out


def encode_token_classification(
    tokenizer, words, word_labels=None, max_length: int = 128, label_all_subtokens: bool = False
) -> dict[str, list]:
    """Encodes pre-split words (joined with spaces) and aligns one label per word to the pieces.

    Returns `input_ids`, `token_type_ids`, `attention_mask`, `word_ids` (and `labels` when given).
    """
    _check_length(max_length)
    if isinstance(words, str) or not isinstance(words, Sequence):
        raise TypeError(f"words must be a list of lists of words, got {type(words).__name__}")
    texts, spans = [], []
    for i, ws in enumerate(words):
        if isinstance(ws, str) or not isinstance(ws, Sequence):
            raise TypeError(f"words[{i}] must be a list of words, got {type(ws).__name__}: {ws!r}")
        pos, sp = 0, []
        for j, w in enumerate(ws):
            if not isinstance(w, str):
                raise TypeError(f"words[{i}][{j}] must be a str, got {type(w).__name__}: {w!r}")
            sp.append((pos, pos + len(w)))
            pos += len(w) + 1
        texts.append(" ".join(ws))
        spans.append(sp)
    if word_labels is not None:
        if len(word_labels) != len(words):
            raise ValueError(f"words has {len(words)} examples but labels has {len(word_labels)}")
        for i, (ws, ls) in enumerate(zip(words, word_labels)):
            if len(ws) != len(ls):
                raise ValueError(f"example {i} has {len(ws)} words but {len(ls)} labels")
    enc = tokenizer(
        texts,
        truncation=True,
        max_length=int(max_length),
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    out = {k: enc[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    out["word_ids"] = [
        word_ids_from_offsets(o, s, m)
        for o, s, m in zip(enc["offset_mapping"], spans, enc["special_tokens_mask"])
    ]
    if word_labels is not None:
        out["labels"] = [
            align_labels(w, ls, label_all_subtokens) for w, ls in zip(out["word_ids"], word_labels)
        ]
    return out


def encode_multiple_choice(tokenizer, contexts, choices, questions=None, max_length: int = 128) -> dict:
    """Each (context, choice) as a pair — `question + " " + choice` when questions are given — giving
    `input_ids` etc. as lists [example][choice][token]. Every example needs the same number of choices."""
    contexts = _check_texts(contexts, "contexts")
    if len(choices) != len(contexts):
        raise ValueError(f"contexts has {len(contexts)} items but choices has {len(choices)}")
    if questions is not None:
        questions = _check_texts(questions, "questions")
        if len(questions) != len(contexts):
            raise ValueError(f"contexts has {len(contexts)} items but questions has {len(questions)}")
    n = None
    firsts, seconds = [], []
    for i, opts in enumerate(choices):
        opts = _check_texts(opts, f"choices[{i}]")
        if n is None:
            n = len(opts)
        if len(opts) != n or n < 2:
            raise ValueError(
                f"every example needs the same number (>= 2) of choices; example 0 has {n}, "
                f"example {i} has {len(opts)}"
            )
        for c in opts:
            firsts.append(contexts[i])
            seconds.append(f"{questions[i]} {c}" if questions is not None else c)
    flat = encode_classification(tokenizer, firsts, seconds, max_length)
    return {k: [v[i * n : (i + 1) * n] for i in range(len(contexts))] for k, v in flat.items()}


# === Feeders: one data path (numpy batches), two ways to feed it ===
#: How the batches reach `fit`: "auto" (tf.data on the TensorFlow backend, else a PyDataset), "tf.data"
#: (needs TensorFlow installed; also feeds JAX / PyTorch models) or "py_dataset" (`batches.BatchDataset`,
#: any backend).
FEEDERS = ("auto", "tf.data", "py_dataset")


def feed(batches: Batches, feeder: str = "auto", *, start: int = 0, endless: bool = False):
    """`batches` as a dataset for `fit`: a `tf.data.Dataset` or a `keras.utils.PyDataset` (`BatchDataset`),
    the same batches either way.

    One epoch per pass (a new order each pass when shuffled), or with `endless=True` the endless stream from
    batch `start` on (`fit_resumable`). The dataset carries the batches' `length_buckets`, `row_lengths`,
    `padded_lengths`, `order`, and `batches` and `feeder` themselves.

    Example:
    >>> batches = Batches({"input_ids": [[2, 7, 3], [2, 3]]}, [1, 0], batch_size=2)
    >>> x, y = next(iter(feed(batches, "py_dataset")))
    >>> x["input_ids"].tolist(), y.tolist()
    ([[2, 7, 3], [2, 3, 0]], [1, 0])
    """
    if feeder not in FEEDERS:
        raise ValueError(f"feeder must be one of {FEEDERS}, got {feeder!r}")
    if feeder == "auto":
        feeder = "tf.data" if keras.backend.backend() == "tensorflow" else "py_dataset"
    if feeder == "py_dataset":
        ds = BatchDataset(batches, start=start, endless=endless)
    else:
        ds = _tf_dataset(batches, start=start, endless=endless)
    ds.batches, ds.feeder = batches, feeder
    for name in ("length_buckets", "row_lengths", "padded_lengths", "order"):
        setattr(ds, name, getattr(batches, name))
    return ds


def _tensorflow():
    """TensorFlow for tf.data: on its own backend, or installed beside JAX / PyTorch."""
    if keras.backend.backend() == "tensorflow":
        return import_tensorflow("tf.data")
    try:
        import tensorflow as tf
    except ImportError:
        require_tensorflow("tf.data")  # raises BackendError, which says what to use instead
        raise
    return tf


def _tf_dataset(batches: Batches, *, start: int, endless: bool):
    """tf.data of `batches`: each epoch's row indices from `batches.epoch_plan` (one numpy call per epoch: the
    batching is written once), the rows gathered and padded in the graph, in parallel, prefetched. The same
    arrays as `batches.batch(rows)` (tests/training/test_batches.py compares them batch by batch)."""
    tf = _tensorflow()

    features, labels, label_pad, single_label = batches.columns()
    choices = [batches.num_choices] if batches.num_choices else []

    def ragged(flat, lengths):
        return tf.RaggedTensor.from_row_lengths(tf.constant(flat), tf.constant(lengths, tf.int64),
                                                validate=False)

    tensors = {}
    for k, (flat, lengths, value) in features.items():
        t = ragged(flat, lengths)
        tensors[k] = (tf.RaggedTensor.from_uniform_row_length(t, choices[0]) if choices else t, value)
    label_tensors = {}
    for k, column in (labels or {}).items():
        if column[0] == "ragged":
            label_tensors[k] = (ragged(*column[1:]), label_pad)
        else:
            label_tensors[k] = (tf.constant(column[1]), None)
    signature = batches.signature()
    x_spec = signature[0] if isinstance(signature, tuple) else signature
    static_rows, *_, static_length = next(iter(x_spec.values()))[0]
    padded_table = tf.constant(batches.padded_lengths, tf.int64)

    def pad(t, index, length, value):
        shape = tf.stack([tf.size(index, out_type=tf.int64), *choices, length])
        dense = tf.gather(t, index).to_tensor(default_value=value, shape=shape)
        return tf.ensure_shape(dense, [static_rows, *choices, static_length])

    def batch(index):
        length = tf.reduce_max(tf.gather(padded_table, index))
        x = {k: pad(t, index, length, value) for k, (t, value) in tensors.items()}
        if labels is None:
            return x
        y = {k: (tf.gather(t, index) if value is None else
                 tf.ensure_shape(tf.gather(t, index).to_tensor(default_value=value, shape=tf.stack(
                     [tf.size(index, out_type=tf.int64), length])), [static_rows, static_length]))
             for k, (t, value) in label_tensors.items()}
        return x, (y["labels"] if single_label else y)

    def epoch_batches(epoch):
        flat, sizes = tf.numpy_function(batches.epoch_plan, [epoch], (tf.int64, tf.int64), stateful=False)
        rows = tf.RaggedTensor.from_row_lengths(tf.ensure_shape(flat, [None]), tf.ensure_shape(sizes, [None]),
                                                validate=False)
        return tf.data.Dataset.from_tensor_slices(rows)

    if endless:
        steps = batches.steps
        index = tf.data.Dataset.range(start // steps, np.iinfo(np.int64).max).flat_map(epoch_batches)
        index, cardinality = index.skip(start % steps), tf.data.INFINITE_CARDINALITY
    else:
        passes = itertools.count()  # each pass over the dataset (each `iter`) is the next epoch

        def next_pass(_):
            return tf.numpy_function(lambda: np.int64(next(passes)), [], tf.int64, stateful=True)

        index = tf.data.Dataset.range(1).map(next_pass).flat_map(epoch_batches)
        cardinality = batches.steps
    ds = index.map(batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.apply(tf.data.experimental.assert_cardinality(cardinality)).prefetch(tf.data.AUTOTUNE)


def make_dataset(features: Mapping[str, list], labels=None, *, feeder: str = "auto", **options):
    """Encoded examples as a dataset for `fit`: batches of rows (length-grouped when shuffled), padded,
    prefetched; tf.data on TensorFlow, a `keras.utils.PyDataset` on JAX and PyTorch (`feeder`), the same
    batches either way.

    Args:
        features: {name: list of token lists} (`input_ids`, `token_type_ids`, `attention_mask`); for
            multiple choice, lists of per-choice token lists.
        labels: None, a list or a dict of lists (see `batches.Batches`).
        feeder: "auto" (tf.data on the TensorFlow backend, else a PyDataset), "tf.data" or "py_dataset".
        **options: `batch_size`, `shuffle`, `seed`, `group_by_length`, `length_buckets`, `max_tokens`,
            `pad_to_max_length`, `pad_to_multiple_of`, `drop_remainder`, `max_length`, `pad_token_id`,
            `label_pad_value`, `num_choices`, `per_token_labels`: how rows become batches, documented in
            `tf_albert.training.batches.Batches`.

    Example:
    >>> rows = [[2, 7, 3], [2, 7, 7, 7, 7, 3], [2, 3], [2, 7, 7, 7, 7, 7, 7, 3]]
    >>> features = {"input_ids": rows, "attention_mask": [[1] * len(r) for r in rows]}
    >>> ds = make_dataset(features, [0, 1, 0, 1], batch_size=2, group_by_length=True, length_buckets=[4, 8])
    >>> [(tuple(x["input_ids"].shape), np.asarray(y).tolist()) for x, y in ds]
    [((2, 8), [1, 1]), ((2, 4), [0, 0])]
    """
    return feed(Batches(features, labels, **options), feeder)


# === Builders per head ===
def classification_dataset(
    tokenizer,
    texts,
    labels=None,
    text_pairs=None,
    *,
    max_length: int = 128,
    label2id: Mapping | None = None,
    problem_type: str = "single_label_classification",
    num_labels: int | None = None,
    **dataset_kwargs,
):
    """Sequence classification (single texts or pairs), regression or multi-label → `(features, labels)`.

    Args:
        tokenizer: an `AlbertTokenizer`.
        texts, text_pairs: lists of strings (pairs for NLI/paraphrase tasks).
        labels: class labels (ints, or strings mapped by `label2id`/sorted order); floats for
            `problem_type="regression"`; lists of class labels per example for "multi_label_classification".
        max_length: truncation length.
        **dataset_kwargs: `feeder`, `batch_size`, `shuffle`, `seed`, `group_by_length`, `length_buckets`,
            `pad_to_max_length`, `pad_to_multiple_of`, `drop_remainder` (see `make_dataset`).

    Returns:
        A `tf.data.Dataset` on TensorFlow, else a `keras.utils.PyDataset` (`feeder=` picks); its `label2id`
        attribute maps label names to ids (classification).

    Example:
    >>> from tf_albert.tokenization.tokenizer import AlbertTokenizer
    >>> tok = AlbertTokenizer.from_pretrained("tests/fixtures/tokenizer")
    >>> ds = classification_dataset(tok, ["good film", "bad film", "a fine one"], [1, 0, 1], batch_size=2)
    >>> x, y = next(iter(ds))
    >>> sorted(x), np.asarray(y).tolist()
    (['attention_mask', 'input_ids', 'token_type_ids'], [1, 0])
    """
    features = encode_classification(tokenizer, texts, text_pairs, max_length)
    y, mapping = None, None
    if labels is not None:
        if len(labels) != len(features["input_ids"]):
            raise ValueError(f"texts has {len(features['input_ids'])} items but labels has {len(labels)}")
        if problem_type == "regression":
            try:
                y = [float(v) for v in labels]
            except (TypeError, ValueError):
                k, bad = next((k, v) for k, v in enumerate(labels) if not _is_number(v))
                raise ValueError(f"regression labels must be numbers, got {bad!r} (example {k}, counting "
                                 "from 0)") from None
        elif problem_type == "multi_label_classification":
            flat = [v for vs in labels for v in vs]
            ids, mapping = to_label_ids(flat, label2id)
            n = num_labels or len(mapping)
            y, k = [], 0
            for vs in labels:
                row = np.zeros(n, np.float32)
                row[ids[k : k + len(vs)]] = 1.0
                k += len(vs)
                y.append(row)
        elif problem_type == "single_label_classification":
            y, mapping = to_label_ids(labels, label2id)
        else:
            raise ValueError(
                f"problem_type must be one of 'single_label_classification', 'regression', "
                f"'multi_label_classification', got {problem_type!r}"
            )
    ds = make_dataset(
        features, y, pad_token_id=tokenizer.pad_token_id, max_length=max_length, **dataset_kwargs
    )
    ds.label2id = mapping
    return ds


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def token_classification_dataset(
    tokenizer,
    words,
    labels=None,
    *,
    max_length: int = 128,
    label2id: Mapping | None = None,
    label_all_subtokens: bool = False,
    **dataset_kwargs,
):
    """Token classification (NER, POS): pre-split words with one label per word.

    The label goes on the word's first piece; its other pieces, special tokens and padding get -100
    (`label_all_subtokens=True` labels every piece). String labels are mapped by `label2id` (default:
    sorted order); the mapping is the dataset's `label2id` attribute.

    Example:
    >>> from tf_albert.tokenization.tokenizer import AlbertTokenizer
    >>> tok = AlbertTokenizer.from_pretrained("tests/fixtures/tokenizer")
    >>> ds = token_classification_dataset(tok, [["Paris", "is", "nice"]], [["LOC", "O", "O"]])
    >>> ds.label2id
    {'LOC': 0, 'O': 1}
    """
    y, mapping = None, None
    if labels is not None:
        flat = [v for vs in labels for v in vs]
        ids, mapping = to_label_ids(flat, label2id)
        y, k = [], 0
        for vs in labels:
            y.append(ids[k : k + len(vs)])
            k += len(vs)
    enc = encode_token_classification(tokenizer, words, y, max_length, label_all_subtokens)
    features = {k: enc[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    ds = make_dataset(
        features,
        enc.get("labels"),
        pad_token_id=tokenizer.pad_token_id,
        max_length=max_length,
        per_token_labels=True,
        **dataset_kwargs,
    )
    ds.label2id = mapping
    ds.word_ids = enc["word_ids"]
    return ds


def multiple_choice_dataset(
    tokenizer, contexts, choices, labels=None, questions=None, *, max_length: int = 128, **dataset_kwargs
):
    """Multiple choice (SWAG, RACE-style): inputs [B, num_choices, L], `labels` [B] (index of the answer).

    Example:
    >>> from tf_albert.tokenization.tokenizer import AlbertTokenizer
    >>> tok = AlbertTokenizer.from_pretrained("tests/fixtures/tokenizer")
    >>> ds = multiple_choice_dataset(tok, ["The sky is"], [["blue.", "a fish."]], [0])
    >>> x, y = next(iter(ds))
    >>> tuple(x["input_ids"].shape[:2]), np.asarray(y).tolist()
    ((1, 2), [0])
    """
    enc = encode_multiple_choice(tokenizer, contexts, choices, questions, max_length)
    num_choices = len(enc["input_ids"][0])
    y = None
    if labels is not None:
        if len(labels) != len(contexts):
            raise ValueError(f"contexts has {len(contexts)} items but labels has {len(labels)}")
        y = []
        for i, v in enumerate(labels):
            try:
                v = int(v)
            except (TypeError, ValueError):
                raise ValueError(f"labels[{i}] must be the index of the right choice, got {v!r}") from None
            if not 0 <= v < num_choices:
                raise ValueError(f"labels[{i}] is {v}; there are {num_choices} choices")
            y.append(v)
    return make_dataset(
        enc,
        y,
        pad_token_id=tokenizer.pad_token_id,
        max_length=max_length,
        num_choices=num_choices,
        **dataset_kwargs,
    )
