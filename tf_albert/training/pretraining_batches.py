"""Pretraining examples made in memory, fed as numpy batches through a `keras.utils.PyDataset` on any backend.

The TensorFlow path writes the examples to TFRecords once and reads them with tf.data
(`pretraining_data.pretraining_dataset`). This path makes the same examples in memory with the same functions
(`pretraining_data.iter_examples`: sentence-order pairs, n-gram whole-word masking), so it needs no
TensorFlow and runs on JAX and PyTorch too:

* pass `k` over the training documents is exactly TFRecord duplicate `k` (its shards, in shard order) for the
  same `PretrainingDataConfig` (seed included); where the TFRecords stop at `dupe_factor` passes, this stream
  keeps making fresh ones (new pairs and masks) for as long as training runs;
* each pass is shuffled (by `seed` and the pass number) and cut into full batches; the stream of batches is
  a function of the seed alone, so a resumed run starts at batch `epochs_done * steps_per_epoch` and sees
  what an uninterrupted one would have;
* the held-out examples are those of `eval.tfrecord` (the documents held out by a hash of their text);
* the shape policy is the tf.data path's (`batching.streamed_lengths`): with `length_buckets` each batch is
  cut to the shortest fixed length that holds its longest row.

With `workers > 0` (Linux) passes are made ahead by forked worker processes, which need neither Keras' backend
nor the device (they fork before the model is built); with 0, in this process, one pass at a time.

Example:
>>> examples = PretrainingExamples.from_corpus("corpus/", tokenizer)  # doctest: +SKIP
>>> batches = PretrainingBatches(examples, batch_size=64)  # doctest: +SKIP
>>> model.fit(batches, steps_per_epoch=100, epochs=10)  # doctest: +SKIP
"""

from __future__ import annotations

import multiprocessing
import sys

import keras
import numpy as np

from tf_albert.utils.batching import streamed_lengths
from tf_albert.training.pretraining_data import (
    PretrainingDataConfig,
    corpus_files,
    iter_examples,
    masker_for,
    read_documents,
    split_documents,
    tokenize_documents,
)

#: dtypes that hold every value of an example (vocabularies up to 32,767 pieces), so that passes are small.
COMPACT = {
    "input_ids": np.int16,
    "attention_mask": np.int8,
    "token_type_ids": np.int8,
    "masked_lm_positions": np.int16,
    "labels": np.int16,
    "sentence_order_label": np.int8,
}
FEATURES = ("input_ids", "attention_mask", "token_type_ids", "masked_lm_positions")
LABELS = ("labels", "sentence_order_label")
_SEQUENCE = ("input_ids", "attention_mask", "token_type_ids")

_FORKED = {}  # the examples the worker processes make passes of (set before they fork; they inherit it)


class PretrainingExamples:
    """A corpus tokenized once, and the passes of pretraining examples made from it.

    Args:
        documents: token ids per line, per document (`pretraining_data.tokenize_documents`).
        train, held_out: document indices (`pretraining_data.split_documents`).
        config: `PretrainingDataConfig` (lengths, masking, shards, seed).
        tokenizer: the `AlbertTokenizer` (special ids and the masker's pieces).
    """

    def __init__(self, documents, train, held_out, config: PretrainingDataConfig, tokenizer):
        self.documents, self.train, self.held_out = documents, list(train), list(held_out)
        self.config, self.tokenizer = config, tokenizer
        self.masker = masker_for(tokenizer, config)
        self.compact = dict(COMPACT)
        if len(tokenizer) > np.iinfo(np.int16).max:
            self.compact.update(input_ids=np.int32, labels=np.int32)

    @classmethod
    def from_corpus(cls, corpus, tokenizer, config: PretrainingDataConfig | None = None):
        """Reads, splits (held-out documents as the TFRecords hold them out) and tokenizes a corpus."""
        config = config or PretrainingDataConfig()
        text = read_documents(corpus_files(corpus))
        train, held_out = split_documents(text, config.eval_fraction)
        return cls(tokenize_documents(tokenizer, text), train, held_out, config, tokenizer)

    def _arrays(self, rows) -> dict[str, np.ndarray]:
        c = self.config
        if not rows:
            empty = {k: (c.max_seq_length,) for k in _SEQUENCE}
            predictions = (c.max_predictions_per_seq,)
            empty.update(masked_lm_positions=predictions, labels=predictions, sentence_order_label=())
            return {k: np.zeros((0, *empty[k]), t) for k, t in self.compact.items()}
        return {k: np.stack([r[k] for r in rows]).astype(t) for k, t in self.compact.items()}

    def train_pass(self, k: int) -> dict[str, np.ndarray]:
        """Pass `k` over the training documents: TFRecord duplicate `k`'s examples, shard after shard."""
        c = self.config
        rows = [row for shard in range(c.num_shards)
                for row in iter_examples(self.documents, self.train[shard::c.num_shards], k, shard, c,
                                         self.tokenizer, self.masker)]
        return self._arrays(rows)

    def held_out_examples(self) -> dict[str, np.ndarray]:
        """The held-out examples (those of `eval.tfrecord`)."""
        return self._arrays(list(iter_examples(self.documents, self.held_out, 0, -1, self.config,
                                               self.tokenizer, self.masker)))


def _forked_pass(k: int) -> dict[str, np.ndarray]:
    return _FORKED["examples"].train_pass(k)


def _batch(arrays, index, fixed) -> tuple[dict, dict]:
    x = {k: arrays[k][index].astype(np.int32) for k in FEATURES}
    y = {k: arrays[k][index].astype(np.int32) for k in LABELS}
    if fixed is not None:  # the shortest fixed length that holds the batch's longest row (as on tf.data)
        longest = int(x["attention_mask"].sum(-1).max()) if len(index) else 1
        length = fixed[int(np.searchsorted(fixed, longest))]
        for k in _SEQUENCE:
            x[k] = x[k][:, :length]
    return x, y


class PretrainingBatches(keras.utils.PyDataset):
    """`(features, labels)` numpy batches of `PretrainingExamples` for `AlbertForPreTraining.fit`.

    Features: `input_ids`, `attention_mask`, `token_type_ids` [B, L] and `masked_lm_positions` [B, P]; labels:
    `labels` [B, P] (-100 pads) and `sentence_order_label` [B], all int32 — the tf.data path's batches.

    Args:
        examples: `PretrainingExamples`.
        batch_size: rows per batch.
        split: "train" (an endless stream: shuffled passes, full batches) or "eval" (the held-out examples in
            order, once, the last batch partial).
        seed: the order of the batches (each pass is shuffled by `seed` and its number).
        length_buckets: None (every batch `max_seq_length` long), "auto" or a list of lengths (see
            `batching.streamed_lengths`).
        start: the stream's first batch (a resumed run's `epochs_done * steps_per_epoch`).
        workers: processes that make passes ahead (0: in this process); Linux only (`fork`).
    """

    def __init__(self, examples: PretrainingExamples, batch_size: int, *, split: str = "train", seed: int = 0,
                 length_buckets=None, start: int = 0, workers: int = 0):
        super().__init__()
        if split not in ("train", "eval"):
            raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.examples, self.batch_size, self.split, self.seed = examples, batch_size, split, seed
        self.start = int(start)
        self.fixed = streamed_lengths(length_buckets, examples.config.max_seq_length)
        self._passes: dict[int, dict] = {}  # pass number -> arrays (the current pass and the one before)
        self._sizes: list[int] = []  # batches of each pass made so far
        self._pending: dict = {}
        self._pool = None
        if split == "eval":
            self._held_out = examples.held_out_examples()
            if not len(self._held_out["input_ids"]):
                raise ValueError("the corpus has no held-out documents (eval_fraction is 0 or too small)")
        elif workers and workers > 0 and sys.platform.startswith("linux"):
            _FORKED["examples"] = examples
            self._pool = multiprocessing.get_context("fork").Pool(int(workers))
            self._ahead = int(workers)

    @property
    def num_batches(self):
        if self.split == "train":
            return None  # endless
        return -(-len(self._held_out["input_ids"]) // self.batch_size)

    def __len__(self):
        if self.split == "train":
            raise TypeError("the training stream is endless: give steps_per_epoch")
        return self.num_batches

    def _make(self, k: int) -> dict:
        if self._pool is None:
            return self.examples.train_pass(k)
        for ahead in range(k, k + self._ahead + 1):
            if ahead not in self._pending and ahead not in self._passes:
                self._pending[ahead] = self._pool.apply_async(_forked_pass, (ahead,))
        return self._pending.pop(k).get()

    def _pass(self, k: int) -> dict:
        if k not in self._passes:
            arrays = self._make(k)
            if k == len(self._sizes):
                self._sizes.append(len(arrays["input_ids"]) // self.batch_size)
                if not self._sizes[-1]:
                    raise ValueError(f"pass {k} over the corpus holds {len(arrays['input_ids'])} examples, "
                                     f"fewer than batch_size={self.batch_size}: use a smaller batch or a "
                                     "larger corpus")
            self._passes = {p: a for p, a in self._passes.items() if p >= k - 1}
            self._passes[k] = arrays
        return self._passes[k]

    def locate(self, index: int) -> tuple[int, int]:
        """(pass, batch within it) of the stream's batch `index` (counted from the stream's start)."""
        k, rest = 0, int(index)
        while True:
            if k == len(self._sizes):
                self._pass(k)
            if rest < self._sizes[k]:
                return k, rest
            rest -= self._sizes[k]
            k += 1

    def __getitem__(self, index):
        if self.split == "eval":
            n = len(self._held_out["input_ids"])
            if not 0 <= index < self.num_batches:
                raise IndexError(f"batch {index} of {self.num_batches}")
            rows = np.arange(index * self.batch_size, min(n, (index + 1) * self.batch_size))
            return _batch(self._held_out, rows, self.fixed)
        k, b = self.locate(self.start + int(index))
        arrays = self._pass(k)
        order = np.random.default_rng([self.seed, k]).permutation(len(arrays["input_ids"]))
        return _batch(arrays, order[b * self.batch_size : (b + 1) * self.batch_size], self.fixed)

    def close(self) -> None:
        """Stops the worker processes."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
            self._pending.clear()


__all__ = ["PretrainingExamples", "PretrainingBatches"]
