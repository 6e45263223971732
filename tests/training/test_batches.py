"""One data path, two feeders: for a seed, tf.data and the `keras.utils.PyDataset` give the same batches,
batch by batch, for every task's dataset; the endless stream that resuming starts in the middle of; the numpy
batches themselves (padding, multiple choice, per-token labels)."""

import numpy as np
import pytest

from tests.helpers import FIXTURE_TOKENIZER
from tf_albert.model.losses import IGNORE_INDEX
from tf_albert.training import datasets as D
from tf_albert.training import qa as Q
from tf_albert.training.batches import Batches, BatchDataset

WORDS = ["Paris", "is", "a", "very", "nice", "city", "in", "France", "and", "Rome", "too", "the", "river"]


@pytest.fixture(scope="module")
def tok():
    from tf_albert.tokenization import AlbertTokenizer

    return AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)


def _sentences(n, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(2.0, 0.6, n).astype(int), 1, 40)
    return [list(rng.choice(WORDS, int(k))) for k in lengths]


def _task_datasets(tok, feeder, **kw):
    """Every task's dataset, built with `feeder` (the same data and options otherwise)."""
    sentences = _sentences(70)
    texts = [" ".join(s) for s in sentences]
    pairs = [" ".join(s[::-1][:5]) for s in sentences]
    out = {
        "classification": D.classification_dataset(tok, texts, [i % 3 for i in range(70)], pairs,
                                                   feeder=feeder, **kw),
        "regression": D.classification_dataset(tok, texts, [i / 7 for i in range(70)],
                                               problem_type="regression", feeder=feeder, **kw),
        "multi_label": D.classification_dataset(tok, texts, [["a", "b"][: i % 3] for i in range(70)],
                                                problem_type="multi_label_classification", feeder=feeder,
                                                **kw),
        "token_classification": D.token_classification_dataset(
            tok, sentences, [["LOC" if w in ("Paris", "Rome", "France") else "O" for w in s]
                             for s in sentences], feeder=feeder, **kw),
        "multiple_choice": D.multiple_choice_dataset(tok, texts, [[t[:8], t, "no"] for t in texts],
                                                     [i % 3 for i in range(70)], feeder=feeder, **kw),
    }
    context = " ".join(WORDS * 6)
    examples = [{"id": str(i), "question": " ".join(s[:4]) + "?", "context": context[: 20 + 7 * i],
                 "answers": {"text": ["Paris"], "answer_start": [0]}} for i, s in enumerate(sentences[:50])]
    out["question_answering"] = Q.question_answering_dataset(tok, examples, max_length=48, doc_stride=16,
                                                             feeder=feeder, **kw)
    return out


def _as_numpy(tree):
    if isinstance(tree, dict):
        return {k: _as_numpy(v) for k, v in tree.items()}
    if isinstance(tree, tuple):
        return tuple(_as_numpy(v) for v in tree)
    return np.asarray(tree)


def _assert_same(a, b, where):
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, tuple):
        assert len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b)):
            _assert_same(u, v, f"{where}/{i}")
    else:
        assert a.dtype == b.dtype and a.shape == b.shape, (where, a.dtype, b.dtype, a.shape, b.shape)
        np.testing.assert_array_equal(a, b, err_msg=where)


def _tf_epochs(ds, epochs):
    """Per epoch, its batches as numpy: one iterator over the repeated dataset, as fit() reads it."""
    it, n = iter(ds.repeat()), int(ds.cardinality())
    return [[_as_numpy(next(it)) for _ in range(n)] for _ in range(epochs)]


def _py_epochs(ds, epochs):
    """Per epoch, its batches, read as Keras' PyDataset adapter reads them (begin, every batch, end)."""
    out = []
    for _ in range(epochs):
        ds.on_epoch_begin()
        out.append([ds[i] for i in range(len(ds))])
        ds.on_epoch_end()
    return out


@pytest.mark.parametrize("shuffle", [True, False])
def test_tf_data_and_the_py_dataset_give_the_same_batches_for_every_task(tok, shuffle):
    kw = dict(batch_size=8, shuffle=shuffle, seed=5, pad_to_multiple_of=8)
    from_tf, from_py = _task_datasets(tok, "tf.data", **kw), _task_datasets(tok, "py_dataset", **kw)
    for task in from_tf:
        tf_ds, py_ds = from_tf[task], from_py[task]
        assert isinstance(py_ds, BatchDataset) and py_ds.feeder == "py_dataset" and tf_ds.feeder == "tf.data"
        assert int(tf_ds.cardinality()) == len(py_ds) == tf_ds.batches.steps
        assert tf_ds.length_buckets == py_ds.length_buckets
        tf_epochs, py_epochs = _tf_epochs(tf_ds, 2), _py_epochs(py_ds, 2)
        for e, (tf_batches, py_batches) in enumerate(zip(tf_epochs, py_epochs)):
            for i, (a, b) in enumerate(zip(tf_batches, py_batches)):
                _assert_same(a, b, f"{task} epoch {e} batch {i}")
        labels = [np.asarray(y if not isinstance(y, dict) else y["start_positions"]).tolist()
                  for _, y in tf_epochs[0]]
        again = [np.asarray(y if not isinstance(y, dict) else y["start_positions"]).tolist()
                 for _, y in tf_epochs[1]]
        assert (labels != again) is shuffle, task  # a new order each epoch, only when shuffled
        if shuffle and task != "question_answering":  # length-grouped: a few padded lengths
            assert {x["input_ids"].shape[-1] for x, _ in tf_epochs[0]} <= set(tf_ds.length_buckets), task


def test_the_endless_stream_continues_epoch_by_epoch_from_any_batch(tok):
    """What a resumed run trains on: the stream from batch `epochs_done * steps` is the uninterrupted
    run's."""
    texts = [" ".join(s) for s in _sentences(40, seed=1)]
    ds = D.classification_dataset(tok, texts, [i % 2 for i in range(40)], batch_size=8, shuffle=True, seed=2,
                                  feeder="py_dataset")
    batches, steps = ds.batches, ds.batches.steps
    epochs = _py_epochs(BatchDataset(batches), 3)
    flat = [b for epoch in epochs for b in epoch]
    for start in (0, steps, 2 * steps - 3):
        tf_stream = D.feed(batches, "tf.data", start=start, endless=True)
        py_stream = D.feed(batches, "py_dataset", start=start, endless=True)
        assert py_stream.num_batches is None and int(tf_stream.cardinality()) < 0  # endless
        tf_it = iter(tf_stream)
        for k in range(start, 3 * steps):
            _assert_same(_as_numpy(next(tf_it)), flat[k], f"tf.data stream from {start}, batch {k}")
            _assert_same(py_stream[k - start], flat[k], f"PyDataset stream from {start}, batch {k}")


def test_a_look_at_one_batch_does_not_end_an_epoch():
    """Keras reads one batch to build the model, then ends that pass: the first epoch is still epoch 0."""
    rows = [[2] + [7] * k + [3] for k in range(1, 20)]
    batches = Batches({"input_ids": rows}, list(range(19)), batch_size=4, shuffle=True, seed=0)
    ds = BatchDataset(batches)
    ds.on_epoch_begin(), ds[0], ds.on_epoch_end()
    assert ds.epoch == 0
    assert [y.tolist() for _, y in _py_epochs(ds, 1)[0]] == [
        batches.batch(rows)[1].tolist() for rows in batches.epoch(0)]
    assert ds.epoch == 1


def test_numpy_batches_pad_rows_choices_and_token_labels():
    ids = [[2, 5, 3], [2, 5, 6, 7, 8, 3], [2, 3]]
    batches = Batches({"input_ids": ids, "attention_mask": [[1] * len(r) for r in ids]},
                      [[0, 1, 0], [0, 1, 1, 0, 1, 0], [0, 1]], per_token_labels=True, batch_size=3,
                      pad_token_id=9, pad_to_multiple_of=4)
    x, y = batches.batch([0, 1, 2])
    assert x["input_ids"].tolist() == [[2, 5, 3, 9, 9, 9, 9, 9], [2, 5, 6, 7, 8, 3, 9, 9], [2, 3] + [9] * 6]
    assert x["attention_mask"].sum(1).tolist() == [3, 6, 2] and x["input_ids"].dtype == np.int32
    assert y.tolist()[2] == [0, 1] + [IGNORE_INDEX] * 6
    assert batches.signature()[0]["input_ids"] == ((None, None), "int32")

    choices = [[[2, 5, 3], [2, 6, 6, 6, 3]], [[2, 3], [2, 7, 3]]]
    mc = Batches({"input_ids": choices}, [1, 0], num_choices=2, batch_size=2, drop_remainder=True)
    x, y = mc.batch([1, 0])
    assert x["input_ids"].shape == (2, 2, 5)
    assert x["input_ids"][0].tolist() == [[2, 3, 0, 0, 0], [2, 7, 3, 0, 0]]
    assert y.tolist() == [0, 1] and mc.signature()[0]["input_ids"] == ((2, 2, None), "int32")
    with pytest.raises(ValueError, match="feeder must be one of"):
        D.feed(mc, "generator")
