"""ALBERT pretraining data: sentence-order pairs, n-gram masking, resumable TFRecords.

Corpus format (as BERT's and ALBERT's `create_pretraining_data.py`): plain UTF-8 text files, one sentence
(or short paragraph) per line, an empty line between documents.

From each document, consecutive segments (lines) are gathered until they fill a target length; the chunk is
cut at a random segment boundary into A and B, and with probability 0.5 the two are swapped
(`sentence_order_label` 1 = swapped, 0 = original order, as in HF). Then n-gram masking: 15 % of the
tokens (at most `max_predictions_per_seq`) are chosen as spans of n ≤ 3 whole words with P(n) ∝ 1/n; each
chosen token becomes `[MASK]` (80 %), a random token (10 %) or stays (10 %).

Files are written per (duplicate, shard) to a temporary name and renamed when complete, so an interrupted
run continues where it stopped; `manifest.json` records the settings and refuses to mix data made with
different ones.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import random
from collections.abc import Sequence

import numpy as np

from tf_albert.model.losses import IGNORE_INDEX
from tf_albert.utils.batching import streamed_lengths
from tf_albert.utils.backends import import_tensorflow
from tf_albert.utils.fileio import write_file_atomically, writing_file_atomically

MANIFEST = "manifest.json"


@dataclasses.dataclass
class PretrainingDataConfig:
    """Settings of the pretraining examples (defaults of ALBERT's `create_pretraining_data.py`).

    Args:
        max_seq_length: tokens per example, `[CLS] A [SEP] B [SEP]` padded to this length.
        max_predictions_per_seq: the most masked positions per example (MLM labels are padded to it).
        masked_lm_prob: fraction of the tokens to mask.
        max_ngram: longest masked span, in words; P(n) ∝ 1/n for n = 1..max_ngram.
        short_seq_prob: probability of a shorter target length (so the model sees short inputs too).
        dupe_factor: how many times the corpus is used, each time with different masks and pairs.
        do_whole_word_mask: mask whole words (pieces that continue a word go with it).
        eval_fraction: fraction of documents held out for evaluation (never in the training files).
        num_shards: training files per duplicate (≥ the number of workers for multi-worker training).
        seed: random seed; the data is a function of the corpus, the tokenizer and these settings.
    """

    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    max_ngram: int = 3
    short_seq_prob: float = 0.1
    dupe_factor: int = 5
    do_whole_word_mask: bool = True
    eval_fraction: float = 0.02
    num_shards: int = 4
    seed: int = 12345

    def __post_init__(self):
        for name in ("max_seq_length", "max_predictions_per_seq", "max_ngram", "dupe_factor", "num_shards"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.max_seq_length < 5:
            raise ValueError(
                f"max_seq_length must be >= 5 ([CLS] A [SEP] B [SEP]), got {self.max_seq_length}"
            )
        for name in ("masked_lm_prob", "short_seq_prob", "eval_fraction"):
            value = getattr(self, name)
            if not 0.0 <= float(value) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        if self.masked_lm_prob <= 0:
            raise ValueError(f"masked_lm_prob must be > 0, got {self.masked_lm_prob}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# === Reading the corpus ===
def corpus_files(corpus) -> list[str]:
    """The text files of a corpus: a file, a folder (every `*.txt` below it, sorted) or a list of either."""
    items = [corpus] if isinstance(corpus, (str, os.PathLike)) else list(corpus)
    files: list[str] = []
    for item in items:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = sorted(glob.glob(os.path.join(item, "**", "*.txt"), recursive=True))
            if not found:
                raise ValueError(f"corpus folder {item!r} has no *.txt files")
            files.extend(found)
        elif os.path.isfile(item):
            files.append(item)
        else:
            raise FileNotFoundError(f"corpus path not found: {item!r}")
    if not files:
        raise ValueError("the corpus is empty: no files were given")
    return files


def read_documents(files: Sequence[str]) -> list[list[str]]:
    """Documents (lists of non-empty lines); an empty line or the end of a file ends a document."""
    documents: list[list[str]] = []
    for path in files:
        current: list[str] = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    current.append(line)
                elif current:
                    documents.append(current)
                    current = []
        if current:
            documents.append(current)
    return documents


def tokenize_documents(tokenizer, documents: list[list[str]]) -> list[list[list[int]]]:
    """Token ids of every line (no special tokens), one list per document (empty lines dropped, so a
    document can come out empty; indices stay aligned with `documents`)."""
    lines = [line for doc in documents for line in doc]
    ids = (
        tokenizer(lines, add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False)[
            "input_ids"
        ]
        if lines
        else []
    )
    out, k = [], 0
    for doc in documents:
        out.append([s for s in ids[k : k + len(doc)] if s])
        k += len(doc)
    return out


# === Sentence-order pairs ===
def truncate_pair(tokens_a: list, tokens_b: list, max_num_tokens: int, rng: random.Random) -> None:
    """Shortens the longer of A and B, one token at a time from a random end, until they fit."""
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def create_sop_pairs(
    document: list[list[int]], max_seq_length: int, short_seq_prob: float, rng: random.Random
) -> list[tuple[list[int], list[int], int]]:
    """(A, B, sentence_order_label) pairs from consecutive segments of one document.

    A chunk of consecutive segments is split at a random segment boundary (a chunk of one segment is split
    inside it); with probability 0.5 A and B are swapped and the label is 1.
    """
    max_num_tokens = max_seq_length - 3
    target = max_num_tokens
    if rng.random() < short_seq_prob:
        target = rng.randint(2, max_num_tokens)
    pairs = []
    chunk: list[list[int]] = []
    length = 0
    for i, segment in enumerate(document):
        chunk.append(segment)
        length += len(segment)
        if i == len(document) - 1 or length >= target:
            if len(chunk) >= 2:
                a_end = rng.randint(1, len(chunk) - 1)
                tokens_a = [t for s in chunk[:a_end] for t in s]
                tokens_b = [t for s in chunk[a_end:] for t in s]
            else:
                only = chunk[0][: max_num_tokens + 1] if len(chunk[0]) > max_num_tokens else chunk[0]
                if len(only) < 2:
                    tokens_a = tokens_b = []
                else:
                    cut = rng.randint(1, len(only) - 1)
                    tokens_a, tokens_b = list(only[:cut]), list(only[cut:])
            if tokens_a and tokens_b:
                label = 0
                if rng.random() < 0.5:
                    tokens_a, tokens_b, label = tokens_b, tokens_a, 1
                truncate_pair(tokens_a, tokens_b, max_num_tokens, rng)
                pairs.append((tokens_a, tokens_b, label))
            chunk, length = [], 0
            target = max_num_tokens
            if rng.random() < short_seq_prob:
                target = rng.randint(2, max_num_tokens)
    return pairs


# === N-gram masking ===
def ngram_probabilities(max_ngram: int) -> np.ndarray:
    """P(n) ∝ 1/n for n = 1..max_ngram (for 3: 6/11, 3/11, 2/11)."""
    weights = 1.0 / np.arange(1, max_ngram + 1)
    return weights / weights.sum()


class Masker:
    """N-gram masking of one token sequence, as in ALBERT.

    Args:
        vocab_size: ids of random replacements are drawn from the non-special pieces below this.
        mask_id: id of `[MASK]`.
        special_ids: ids never masked (`[CLS]`, `[SEP]`, `<pad>`, ...).
        word_start: bool array [vocab_size]; True where a piece starts a word (its `▁`). With
            `do_whole_word_mask`, pieces that do not start a word are masked with the word they belong to.
        masked_lm_prob, max_predictions_per_seq, max_ngram, do_whole_word_mask: see `PretrainingDataConfig`.

    Example:
    >>> import random, numpy as np
    >>> masker = Masker(vocab_size=100, mask_id=4, special_ids=(0, 1, 2, 3, 4), word_start=np.ones(100, bool),
    ...                 masked_lm_prob=0.15, max_predictions_per_seq=5)
    >>> tokens, positions, labels = masker(list(range(10, 50)), random.Random(0))
    >>> len(positions), labels == [10 + p for p in positions]
    (5, True)
    """

    def __init__(
        self,
        vocab_size: int,
        mask_id: int,
        special_ids,
        word_start,
        masked_lm_prob: float = 0.15,
        max_predictions_per_seq: int = 20,
        max_ngram: int = 3,
        do_whole_word_mask: bool = True,
    ):
        self.mask_id = int(mask_id)
        self.special_ids = frozenset(int(i) for i in special_ids)
        self.word_start = np.asarray(word_start, dtype=bool)
        if self.word_start.shape != (vocab_size,):
            raise ValueError(f"word_start must have shape ({vocab_size},), got {self.word_start.shape}")
        self.replacements = np.array(
            [i for i in range(vocab_size) if i not in self.special_ids], dtype=np.int64
        )
        if not len(self.replacements):
            raise ValueError("the vocabulary has no non-special tokens to use as random replacements")
        self.masked_lm_prob = float(masked_lm_prob)
        self.max_predictions_per_seq = int(max_predictions_per_seq)
        self.max_ngram = int(max_ngram)
        self.do_whole_word_mask = bool(do_whole_word_mask)
        self.ngram_p = ngram_probabilities(self.max_ngram)
        self._cumulative = np.cumsum(self.ngram_p)

    def _units(self, tokens: Sequence[int]) -> list[list[int]]:
        """Maskable units: lists of positions (whole words, or single pieces)."""
        units: list[list[int]] = []
        for i, t in enumerate(tokens):
            if t in self.special_ids:
                continue
            continues_word = (
                self.do_whole_word_mask and units and units[-1][-1] == i - 1 and not self.word_start[t]
            )
            if continues_word:
                units[-1].append(i)
            else:
                units.append([i])
        return units

    def sample_ngram(self, rng: random.Random, limit: int) -> int:
        """n in 1..min(max_ngram, limit) with P(n) ∝ 1/n."""
        top = min(self.max_ngram, limit)
        r = rng.random() * self._cumulative[top - 1]
        return int(np.searchsorted(self._cumulative[:top], r, side="right")) + 1

    def spans(self, tokens: Sequence[int], rng: random.Random) -> list[list[int]]:
        """The chosen spans (each a list of positions), in the order chosen."""
        units = self._units(tokens)
        n_tokens = sum(1 for t in tokens if t not in self.special_ids)
        num_to_predict = min(self.max_predictions_per_seq, max(1, int(round(n_tokens * self.masked_lm_prob))))
        starts = list(range(len(units)))
        rng.shuffle(starts)
        covered: set[int] = set()
        chosen: list[list[int]] = []
        count = 0
        for start in starts:
            if count >= num_to_predict:
                break
            n = self.sample_ngram(rng, len(units) - start)
            # Back off to shorter n-grams when the span would pass the budget.
            while n > 1 and count + sum(len(u) for u in units[start : start + n]) > num_to_predict:
                n -= 1
            positions = [p for u in units[start : start + n] for p in u]
            if count + len(positions) > num_to_predict or any(p in covered for p in positions):
                continue
            covered.update(positions)
            chosen.append(positions)
            count += len(positions)
        return chosen

    def __call__(self, tokens: Sequence[int], rng: random.Random) -> tuple[list[int], list[int], list[int]]:
        """(masked tokens, sorted masked positions, original ids at those positions)."""
        output = list(tokens)
        positions = sorted(p for span in self.spans(tokens, rng) for p in span)
        for p in positions:
            r = rng.random()
            if r < 0.8:
                output[p] = self.mask_id
            elif r < 0.9:
                pass  # keep the original token
            else:
                output[p] = int(self.replacements[rng.randrange(len(self.replacements))])
        return output, positions, [int(tokens[p]) for p in positions]


def masker_for(tokenizer, config: PretrainingDataConfig) -> Masker:
    """A `Masker` for an `AlbertTokenizer` (its control/special pieces are never masked nor sampled)."""
    sp = tokenizer.sp_model
    n = sp.get_piece_size()
    special = set(tokenizer.all_special_ids)
    special.update(i for i in range(n) if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i))
    word_start = np.array([sp.id_to_piece(i).startswith("\u2581") for i in range(n)], dtype=bool)
    return Masker(
        n,
        tokenizer.mask_token_id,
        sorted(special),
        word_start,
        config.masked_lm_prob,
        config.max_predictions_per_seq,
        config.max_ngram,
        config.do_whole_word_mask,
    )


def make_example(
    tokens_a,
    tokens_b,
    label,
    masker: Masker,
    rng: random.Random,
    cls_id: int,
    sep_id: int,
    pad_id: int,
    max_seq_length: int,
) -> dict[str, np.ndarray]:
    """One padded pretraining example (numpy int32 arrays with the model's input/label names)."""
    tokens = [cls_id] + list(tokens_a) + [sep_id] + list(tokens_b) + [sep_id]
    types = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
    if len(tokens) > max_seq_length:
        raise ValueError(f"example has {len(tokens)} tokens; max_seq_length is {max_seq_length}")
    masked, positions, labels = masker(tokens, rng)
    pad = max_seq_length - len(tokens)
    p_pad = masker.max_predictions_per_seq - len(positions)
    return {
        "input_ids": np.array(masked + [pad_id] * pad, np.int32),
        "attention_mask": np.array([1] * len(tokens) + [0] * pad, np.int32),
        "token_type_ids": np.array(types + [0] * pad, np.int32),
        "masked_lm_positions": np.array(positions + [0] * p_pad, np.int32),
        "labels": np.array(labels + [IGNORE_INDEX] * p_pad, np.int32),
        "sentence_order_label": np.array(label, np.int32),
    }


# === TFRecords ===
FEATURE_NAMES = (
    "input_ids",
    "attention_mask",
    "token_type_ids",
    "masked_lm_positions",
    "labels",
    "sentence_order_label",
)


def _serialize(example: dict) -> bytes:
    tf = import_tensorflow("tf.data")

    feature = {
        k: tf.train.Feature(int64_list=tf.train.Int64List(value=np.ravel(example[k]).tolist()))
        for k in FEATURE_NAMES
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _write_records(path: str, examples) -> int:
    """Writes to a temp file beside `path` and renames it when done, so a killed run leaves no half file."""
    tf = import_tensorflow("tf.data")

    count = 0
    with writing_file_atomically(path) as tmp, tf.io.TFRecordWriter(tmp) as writer:
        for example in examples:
            writer.write(_serialize(example))
            count += 1
    return count


def _is_eval_document(index: int, lines: list[str], fraction: float) -> bool:
    if fraction <= 0:
        return False
    digest = hashlib.sha1(("\n".join(lines[:3]) + f"#{index}").encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < fraction


def split_documents(documents: list[list[str]], eval_fraction: float) -> tuple[list[int], list[int]]:
    """(training, held-out) document indices: a document is held out by a hash of its first lines and its
    index, so the split depends on the corpus alone (not on the seed) and every run keeps the same
    documents out.

    Example:
    >>> train, held_out = split_documents([["a."], ["b."], ["c."]], 0.0)
    >>> train, held_out
    ([0, 1, 2], [])
    """
    flags = [_is_eval_document(i, d, eval_fraction) for i, d in enumerate(documents)]
    return [i for i, f in enumerate(flags) if not f], [i for i, f in enumerate(flags) if f]


def _tokenizer_fingerprint(tokenizer) -> str:
    return hashlib.sha1(tokenizer.sp_model.serialized_model_proto()).hexdigest()


def iter_examples(documents, indices, dupe: int, shard: int, config, tokenizer, masker):
    """The examples of one pass (`dupe`) over the tokenized `documents` at `indices` (one `shard` of them):
    sentence-order pairs in a shuffled order, each masked by `masker` (`make_example` dicts). A function of
    `config.seed`, `dupe` and `shard`: TFRecords (`write_pretraining_data`) and in-memory passes
    (`pretraining_batches`) get the same examples."""
    rng = random.Random(config.seed * 1_000_003 + dupe * 10_007 + shard)
    order = list(indices)
    rng.shuffle(order)
    pairs = []
    for d in order:
        pairs.extend(create_sop_pairs(documents[d], config.max_seq_length, config.short_seq_prob, rng))
    rng.shuffle(pairs)
    for a, b, label in pairs:
        yield make_example(
            a,
            b,
            label,
            masker,
            rng,
            tokenizer.cls_token_id,
            tokenizer.sep_token_id,
            tokenizer.pad_token_id,
            config.max_seq_length,
        )


def write_pretraining_data(
    corpus, tokenizer, output_dir: str, config: PretrainingDataConfig | None = None, log=print
) -> dict:
    """Builds (or completes) the TFRecords of a corpus in `output_dir`; returns the manifest.

    Files: `train-DDD-SSSSS.tfrecord` per duplicate D and shard S, `eval.tfrecord` (held-out documents,
    one duplicate) and `manifest.json`. Finished files are kept, so calling this again after an
    interruption only writes what is missing; calling it with other settings or another tokenizer raises.

    Example:
    >>> manifest = write_pretraining_data("corpus/", tokenizer, "data/")  # doctest: +SKIP
    >>> manifest["num_train_examples"]  # doctest: +SKIP
    """
    config = config or PretrainingDataConfig()
    os.makedirs(output_dir, exist_ok=True)
    files = corpus_files(corpus)
    settings = {
        "config": config.to_dict(),
        "tokenizer": _tokenizer_fingerprint(tokenizer),
        "corpus": [os.path.basename(f) for f in files],
    }
    manifest_path = os.path.join(output_dir, MANIFEST)
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        if manifest.get("settings") != settings:
            raise ValueError(
                f"{output_dir!r} holds pretraining data made with other settings, tokenizer or corpus "
                f"({manifest.get('settings')}); use another folder or delete it"
            )
        if manifest.get("complete"):
            return manifest
    else:
        _write_json(manifest_path, {"settings": settings, "complete": False})

    documents_text = read_documents(files)
    train_idx, eval_idx = split_documents(documents_text, config.eval_fraction)
    log(f"corpus: {len(files)} files, {len(documents_text)} documents ({len(eval_idx)} held out); tokenizing")
    documents = tokenize_documents(tokenizer, documents_text)
    masker = masker_for(tokenizer, config)
    counts = manifest.get("counts", {})
    jobs = [
        (f"train-{dupe:03d}-{shard:05d}.tfrecord", train_idx[shard :: config.num_shards], dupe, shard)
        for dupe in range(config.dupe_factor)
        for shard in range(config.num_shards)
    ]
    if eval_idx:
        jobs.append(("eval.tfrecord", eval_idx, 0, -1))
    for name, indices, dupe, shard in jobs:
        path = os.path.join(output_dir, name)
        if os.path.exists(path) and name in counts:
            continue
        counts[name] = _write_records(
            path, iter_examples(documents, indices, dupe, shard, config, tokenizer, masker)
        )
        log(f"wrote {name}: {counts[name]} examples")
        _write_json(manifest_path, {"settings": settings, "complete": False, "counts": counts})
    manifest = {
        "settings": settings,
        "complete": True,
        "counts": counts,
        "num_train_examples": sum(v for k, v in counts.items() if k.startswith("train-")),
        "num_eval_examples": counts.get("eval.tfrecord", 0),
    }
    _write_json(manifest_path, manifest)
    return manifest


def _write_json(path: str, content: dict) -> None:
    write_file_atomically(path, json.dumps(content, indent=2, sort_keys=True) + "\n")


def read_manifest(data_dir: str) -> dict:
    path = os.path.join(data_dir, MANIFEST)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no {MANIFEST} in {data_dir!r}: write the data with write_pretraining_data")
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    if not manifest.get("complete"):
        raise ValueError(f"pretraining data in {data_dir!r} is incomplete; run write_pretraining_data again")
    return manifest


def pretraining_dataset(
    data_dir: str,
    batch_size: int,
    split: str = "train",
    shuffle: bool = True,
    repeat: bool = True,
    seed: int = 0,
    skip_batches: int = 0,
    shuffle_buffer: int = 10000,
    drop_remainder: bool = True,
    length_buckets=None,
):
    """`tf.data` of `(features, labels)` batches for `AlbertForPreTraining.fit`.

    Features: `input_ids`, `attention_mask`, `token_type_ids` [B, max_seq_length] and `masked_lm_positions`
    [B, max_predictions_per_seq]; labels: `labels` [B, P] (-100 pads) and `sentence_order_label` [B].
    All shapes are static and the last partial batch is dropped (TPU/XLA friendly; `drop_remainder=False`
    keeps it, for evaluation). The order is a
    function of `seed` alone, so `skip_batches` continues a stream exactly where a run stopped.

    `length_buckets`: None (every batch [B, max_seq_length]: right for TPUs and packed data, where nearly
    every batch has a full row), or "auto" / a list of lengths: each batch cut to the smallest of the shape
    policy's ladder (8, 16, 24, 32, 48, 64, 96, 128, ...) / of the list that holds its longest row — less
    compute when many examples are short, a bounded number of shapes under XLA.

    Example:
    >>> ds = pretraining_dataset("data/", batch_size=64)  # doctest: +SKIP
    >>> model.fit(ds, steps_per_epoch=100, epochs=10)  # doctest: +SKIP
    """
    tf = import_tensorflow("tf.data")

    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    manifest = read_manifest(data_dir)
    cfg = manifest["settings"]["config"]
    seq, preds = cfg["max_seq_length"], cfg["max_predictions_per_seq"]
    names = (
        sorted(k for k in manifest["counts"] if k.startswith("train-"))
        if split == "train"
        else (["eval.tfrecord"] if manifest["counts"].get("eval.tfrecord") else [])
    )
    if not names:
        raise ValueError(f"pretraining data in {data_dir!r} has no {split} examples")
    files = [os.path.join(data_dir, n) for n in names]
    spec = {
        k: tf.io.FixedLenFeature([seq], tf.int64) for k in ("input_ids", "attention_mask", "token_type_ids")
    }
    spec.update({k: tf.io.FixedLenFeature([preds], tf.int64) for k in ("masked_lm_positions", "labels")})
    spec["sentence_order_label"] = tf.io.FixedLenFeature([], tf.int64)

    fixed = streamed_lengths(length_buckets, seq)
    fixed = None if fixed is None else tf.constant(fixed, tf.int32)

    def parse(records):
        ex = {k: tf.cast(v, tf.int32) for k, v in tf.io.parse_example(records, spec).items()}
        features = {
            k: ex[k] for k in ("input_ids", "attention_mask", "token_type_ids", "masked_lm_positions")
        }
        if fixed is not None:  # cut to the shortest fixed length that holds the batch's longest row
            longest = tf.reduce_max(tf.reduce_sum(features["attention_mask"], -1))
            length = tf.gather(fixed, tf.searchsorted(fixed, tf.reshape(longest, [1]))[0])
            for k in ("input_ids", "attention_mask", "token_type_ids"):
                features[k] = features[k][:, :length]
        return features, {"labels": ex["labels"], "sentence_order_label": ex["sentence_order_label"]}

    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 4),
        deterministic=True,
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if skip_batches:
        ds = ds.skip(skip_batches)  # before parsing: skipped batches are read but not decoded
    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
