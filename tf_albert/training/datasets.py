"""Fine-tuning data: lists of texts and labels → `tf.data` pipelines that `model.fit` takes as they are.

Every builder tokenizes once (Python, `AlbertTokenizer`), then returns a `tf.data.Dataset` of
`(features, labels)` batches — or `features` alone when there are no labels — that is shuffled (when
asked, with a seed), padded per batch to its longest row (or to `max_length` with `pad_to_max_length=True`
for TPUs/XLA), and prefetched:

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
from collections.abc import Mapping, Sequence

import numpy as np

from tf_albert.model.losses import IGNORE_INDEX
from tf_albert.tasks import TRAINING_TASKS
from tf_albert.training.batching import index_batches, padded_lengths
from tf_albert.utils.backends import import_tensorflow

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


# === tf.data ===
def _ragged(rows, dtype):
    tf = import_tensorflow("tf.data")

    lengths = np.array([len(r) for r in rows], np.int64)
    flat = np.concatenate([np.asarray(r, dtype) for r in rows]) if len(rows) else np.zeros([0], dtype)
    return tf.RaggedTensor.from_row_lengths(flat, lengths)


def make_dataset(
    features: Mapping[str, list],
    labels=None,
    *,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    pad_token_id: int = 0,
    label_pad_value=IGNORE_INDEX,
    max_length: int | None = None,
    pad_to_max_length: bool = False,
    pad_to_multiple_of: int | None = None,
    drop_remainder: bool = False,
    num_choices: int | None = None,
    per_token_labels: bool = False,
    group_by_length: bool | None = None,
    length_buckets="auto",
    max_tokens: int | None = None,
):
    """`tf.data` of encoded examples: batches of rows (length-grouped when shuffled), padded, prefetched.

    Args:
        features: {name: list of token lists} (`input_ids`, `token_type_ids`, `attention_mask`); for
            multiple choice, lists of per-choice token lists.
        labels: None; a list of scalars (class ids / floats); a list of equal-length vectors (multi-hot);
            a list of per-token lists (`per_token_labels=True`; padded with `label_pad_value`); or a dict
            of such lists.
        batch_size: global batch size.
        shuffle, seed: a new order each epoch that depends only on `seed`.
        group_by_length: batch rows of similar length together (default: when shuffling). Each epoch the
            rows are shuffled, ordered by padded length, cut into batches and the batches shuffled
            (`tf_albert.training.batching`); without shuffling, rows are sorted by length (the dataset's
            `order` attribute says which row each position holds).
        length_buckets: the lengths batches are padded to: an int (that many lengths that pad these rows
            least, `shapes.fit_lengths`), a list of lengths, or None: each batch padded to its longest row
            (rounded up to `pad_to_multiple_of`). "auto" (the default): 5 fitted lengths when grouping by
            length — with the one short batch at most 6 shapes for an XLA-compiled step — else None.
        max_tokens: with length grouping, batches of max_tokens // L rows at padded length L instead of
            `batch_size` rows (steady memory and step time).
        pad_to_max_length: pad every batch to `max_length` (one static shape, for TPUs).
        pad_to_multiple_of: padded lengths are multiples of this.
        drop_remainder: drop the short batch (static batch dimension).

    Example:
    >>> rows = [[2, 7, 3], [2, 7, 7, 7, 7, 3], [2, 3], [2, 7, 7, 7, 7, 7, 7, 3]]
    >>> features = {"input_ids": rows, "attention_mask": [[1] * len(r) for r in rows]}
    >>> ds = make_dataset(features, [0, 1, 0, 1], batch_size=2, group_by_length=True, length_buckets=[4, 8])
    >>> [(x["input_ids"].shape.as_list(), y.numpy().tolist()) for x, y in ds]
    [([2, 8], [1, 1]), ([2, 4], [0, 0])]
    """
    tf = import_tensorflow("tf.data")

    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if pad_to_max_length and not max_length:
        raise ValueError("pad_to_max_length needs max_length")
    if max_tokens is not None and (isinstance(max_tokens, bool) or max_tokens < 1
                                   or not isinstance(max_tokens, (int, np.integer))):
        raise ValueError(f"max_tokens must be a positive int, got {max_tokens!r}")
    names = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in features]
    n = len(features["input_ids"])
    if n == 0:
        raise ValueError("no examples to build a dataset from")
    if group_by_length is None:
        group_by_length = bool(shuffle) and not pad_to_max_length
    if isinstance(length_buckets, str) and length_buckets == "auto" and not group_by_length:
        length_buckets = None  # in order or plainly shuffled: each batch padded to its longest row
    if max_tokens is not None and not group_by_length:
        raise ValueError("max_tokens needs group_by_length=True (rows of one length share a batch)")
    row_lengths = [max(len(c) for c in ex) if num_choices else len(ex) for ex in features["input_ids"]]
    row_padded, fixed = padded_lengths(
        row_lengths, length_buckets=length_buckets, pad_to_multiple_of=pad_to_multiple_of,
        max_length=max_length, pad_to_max_length=pad_to_max_length,
    )
    tensors, pad_values = {}, {}
    for k in names:
        rows = features[k]
        if num_choices:
            rows = [c for ex in rows for c in ex]  # one row per choice, regrouped per example below
        tensors[k] = _ragged(rows, np.int32)
        if num_choices:
            tensors[k] = tf.RaggedTensor.from_uniform_row_length(tensors[k], num_choices)
        pad_values[k] = np.int32(pad_token_id if k == "input_ids" else 0)
    label_struct = None
    if labels is not None:
        label_dict = labels if isinstance(labels, Mapping) else {"labels": labels}
        label_struct = {}
        for k, v in label_dict.items():
            if len(v) != n:
                raise ValueError(f"{k} has {len(v)} entries for {n} examples")
            if per_token_labels and k == "labels":
                label_struct[k] = ("ragged", _ragged(v, np.int32))
            else:
                arr = np.asarray(v)
                arr = arr.astype(np.float32) if arr.dtype.kind == "f" else arr.astype(np.int32)
                label_struct[k] = ("dense", tf.constant(arr))

    padded_table = tf.constant(row_padded, tf.int64)
    static_rows = batch_size if drop_remainder and max_tokens is None else None
    static_length = fixed[0] if fixed is not None and len(fixed) == 1 else None

    def pad(ragged, index, length, value):
        choices = [num_choices] if ragged.ragged_rank == 2 else []  # multiple choice: [rows, choices, length]
        shape = tf.stack([tf.size(index, out_type=tf.int64), *choices, length])
        dense = tf.gather(ragged, index).to_tensor(default_value=value, shape=shape)
        return tf.ensure_shape(dense, [static_rows, *choices, static_length])

    def batch(index):
        length = tf.reduce_max(tf.gather(padded_table, index))
        x = {k: pad(t, index, length, pad_values[k]) for k, t in tensors.items()}
        if label_struct is None:
            return x
        y, label_pad = {}, np.int32(label_pad_value)
        for k, (kind, t) in label_struct.items():
            y[k] = tf.gather(t, index) if kind == "dense" else pad(t, index, length, label_pad)
        return x, (y["labels"] if list(y) == ["labels"] else y)

    index = index_batches(row_padded, batch_size=batch_size, max_tokens=max_tokens, shuffle=shuffle,
                          group_by_length=group_by_length, seed=seed, drop_remainder=drop_remainder)
    ds = index.map(batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
    ds.length_buckets = fixed
    ds.row_lengths, ds.padded_lengths = np.asarray(row_lengths), row_padded
    # The row each position of an unshuffled dataset holds (sorted by length when grouped).
    ds.order = None
    if not shuffle:
        ds.order = np.argsort(-row_padded, kind="stable") if group_by_length else np.arange(n)
    return ds


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
        **dataset_kwargs: `batch_size`, `shuffle`, `seed`, `pad_to_max_length`, `pad_to_multiple_of`,
            `drop_remainder` (see `make_dataset`).

    Returns:
        A `tf.data.Dataset`; its `label2id` attribute maps label names to ids (classification).

    Example:
    >>> from tf_albert.tokenization.tokenizer import AlbertTokenizer
    >>> tok = AlbertTokenizer.from_pretrained("tests/fixtures/tokenizer")
    >>> ds = classification_dataset(tok, ["good film", "bad film", "a fine one"], [1, 0, 1], batch_size=2)
    >>> x, y = next(iter(ds))
    >>> sorted(x), y.numpy().tolist()
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
    >>> x["input_ids"].shape[:2], y.numpy().tolist()
    (TensorShape([1, 2]), [0])
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
