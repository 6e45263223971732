"""Length-grouped batches (tf_albert/training/batching.py through datasets.make_dataset): every head, a
bounded set of shapes, little padding, every example once per epoch, a random and seeded order."""

import numpy as np
import pytest

from tests.helpers import FIXTURE_TOKENIZER
from tf_albert.model.losses import IGNORE_INDEX
from tf_albert.utils import batching
from tf_albert.training import datasets as D
from tf_albert.training import qa as Q
from tf_albert.utils import shapes

N = 300
# Real-text lengths: mostly short, a long tail (lognormal around ~18 tokens, cut at 128).
LENGTHS = np.clip(np.random.default_rng(0).lognormal(2.9, 0.55, N).astype(int) + 2, 3, 128)


@pytest.fixture(scope="module")
def tok():
    from tf_albert.tokenization import AlbertTokenizer

    return AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)


def _features(lengths):
    ids = [[2] + [7] * (n - 2) + [3] for n in lengths]
    return {"input_ids": ids, "attention_mask": [[1] * len(r) for r in ids],
            "token_type_ids": [[0] * len(r) for r in ids]}


def _epochs(ds, epochs=3):
    """Per epoch: the batches' (shape, labels); one iterator, as fit() reads a repeated dataset."""
    it, n = iter(ds.repeat()), int(ds.cardinality())
    out = []
    for _ in range(epochs):
        batches = []
        for _ in range(n):
            x, y = next(it)
            real = int(x["attention_mask"].numpy().sum())
            batches.append((tuple(x["input_ids"].shape), y.numpy().tolist(), real))
        out.append(batches)
    return out


def test_grouped_epochs_have_at_most_six_shapes_little_padding_and_every_example_once():
    ds = D.make_dataset(_features(LENGTHS), list(range(N)), batch_size=32, shuffle=True, seed=0)
    plain = D.make_dataset(_features(LENGTHS), list(range(N)), batch_size=32, shuffle=True, seed=0,
                           group_by_length=False, pad_to_multiple_of=8)
    assert int(ds.cardinality()) == int(plain.cardinality()) == -(-N // 32)
    epochs = _epochs(ds)
    for batches in epochs:
        assert sorted(i for _, labels, _ in batches for i in labels) == list(range(N))  # each example once
    grouped_shapes = {shape for batches in epochs for shape, _, _ in batches}
    plain_shapes = {shape for batches in _epochs(plain) for shape, _, _ in batches}
    assert len(grouped_shapes) <= 6 < len(plain_shapes)
    assert {length for _, length in grouped_shapes} <= set(ds.length_buckets)
    real = sum(n for batches in epochs for _, _, n in batches)
    waste = shapes.padding_waste(real, sum(np.prod(s) for batches in epochs for s, _, _ in batches))
    plain_waste = shapes.padding_waste(real, sum(np.prod(s) for b in _epochs(plain) for s, _, _ in b))
    assert waste < 0.33 and plain_waste > 0.6, (waste, plain_waste)  # 300 rows; 1,000 real ones: 25 %


def test_grouped_order_is_random_each_epoch_and_seeded():
    ds = D.make_dataset(_features(LENGTHS), list(range(N)), batch_size=32, shuffle=True, seed=3)
    first, second, _ = _epochs(ds)
    # batch order: the padded lengths do not come longest first, and not in the same order twice
    lengths = [shape[1] for shape, _, _ in first]
    assert lengths != sorted(lengths, reverse=True) and lengths != [s[1] for s, _, _ in second]
    # batch composition: rows of one length are mixed anew each epoch
    compositions = [{frozenset(labels) for _, labels, _ in epoch} for epoch in (first, second)]
    assert len(compositions[0] & compositions[1]) <= 2  # (the longest rows may fill one batch alone)
    again = D.make_dataset(_features(LENGTHS), list(range(N)), batch_size=32, shuffle=True, seed=3)
    assert _epochs(again, 2) == [first, second]
    other = D.make_dataset(_features(LENGTHS), list(range(N)), batch_size=32, shuffle=True, seed=4)
    assert _epochs(other, 1)[0] != first


def test_max_tokens_batches_keep_to_the_budget():
    ds = D.make_dataset(_features(LENGTHS), list(range(N)), shuffle=True, max_tokens=1024)
    batches = _epochs(ds, 2)
    for epoch in batches:
        assert sorted(i for _, labels, _ in epoch for i in labels) == list(range(N))
        assert all(rows * length <= 1024 for (rows, length), _, _ in epoch)
    assert len({shape for epoch in batches for shape, _, _ in epoch}) <= 6
    with pytest.raises(ValueError, match="max_tokens needs group_by_length=True"):
        D.make_dataset(_features(LENGTHS), list(range(N)), shuffle=True, group_by_length=False, max_tokens=64)


def test_explicit_lengths_none_and_errors():
    ds = D.make_dataset(_features(LENGTHS), list(range(N)), shuffle=True, length_buckets=[32, 64, 128])
    assert {s[1] for s, _, _ in _epochs(ds, 1)[0]} <= {32, 64, 128}
    exact = D.make_dataset(_features(LENGTHS), list(range(N)), shuffle=True, length_buckets=None)
    for (rows, length), labels, _ in _epochs(exact, 1)[0]:
        assert length == max(LENGTHS[i] for i in labels)  # each batch padded to its own longest row
    with pytest.raises(ValueError, match="a row has 100 tokens but the longest of length_buckets is 64"):
        D.make_dataset(_features(LENGTHS), list(range(N)), shuffle=True, length_buckets=[32, 64])
    with pytest.raises(ValueError, match="length_buckets must be 'auto'"):
        D.make_dataset(_features(LENGTHS), list(range(N)), shuffle=True, length_buckets="many")


def test_unshuffled_grouped_data_is_sorted_and_says_its_order():
    ds = D.make_dataset(_features(LENGTHS), list(range(N)), batch_size=32, group_by_length=True)
    labels = [i for _, batch, _ in _epochs(ds, 1)[0] for i in batch]
    assert labels == ds.order.tolist()
    padded = [int(ds.padded_lengths[i]) for i in labels]
    assert padded == sorted(padded, reverse=True) and padded[0] == max(ds.length_buckets)
    plain = D.make_dataset(_features(LENGTHS), list(range(N)), batch_size=32)
    assert plain.order.tolist() == list(range(N)) and plain.length_buckets is None


def test_every_head_batches_by_length(tok):
    rng = np.random.default_rng(0)
    words = ["Paris", "is", "a", "very", "nice", "city", "in", "France", "and", "Rome", "too"]
    sentences = [list(rng.choice(words, int(k))) for k in np.clip(LENGTHS[:96] // 3, 1, 30)]
    tags = [["LOC" if w in ("Paris", "Rome", "France") else "O" for w in s] for s in sentences]
    token_ds = D.token_classification_dataset(tok, sentences, tags, batch_size=16, shuffle=True)
    for x, y in token_ds:
        mask = x["attention_mask"].numpy()
        assert y.shape == mask.shape and (y.numpy()[mask == 0] == IGNORE_INDEX).all()
        assert x["input_ids"].shape[1] in token_ds.length_buckets
    texts = [" ".join(s) for s in sentences]
    mc_ds = D.multiple_choice_dataset(tok, texts, [[t[:8], t] for t in texts], [1] * len(texts),
                                      batch_size=16, shuffle=True)
    mc_shapes = {tuple(x["input_ids"].shape) for x, _ in mc_ds}
    assert all(s[1] == 2 and s[2] in mc_ds.length_buckets for s in mc_shapes) and len(mc_shapes) <= 6
    context = " ".join(words * 12)
    examples = [{"id": str(i), "question": " ".join(s[:4]) + "?", "context": context[: 20 + 9 * i],
                 "answers": {"text": ["Paris"], "answer_start": [0]}} for i, s in enumerate(sentences[:40])]
    qa_ds = Q.question_answering_dataset(tok, examples, max_length=64, doc_stride=32, batch_size=8,
                                         shuffle=True)
    qa_shapes = {tuple(x["input_ids"].shape) for x, _ in qa_ds}
    assert len(qa_shapes) <= 6 and all(s[1] in qa_ds.length_buckets for s in qa_shapes)


def test_finetune_pads_to_fitted_lengths_under_xla_only():
    from tf_albert.training.finetune import build_dataset
    from tf_albert.tokenization import AlbertTokenizer

    tokenizer = AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)
    rows = [{"text": " ".join(["word"] * int(n // 2)), "label": i % 2} for i, n in enumerate(LENGTHS[:64])]
    fitted, _ = build_dataset("classification", rows, tokenizer, training=True, batch_size=8)
    exact, _ = build_dataset("classification", rows, tokenizer, training=True, batch_size=8,
                             length_buckets=None)
    assert len(fitted.length_buckets) <= 5 and exact.length_buckets is None
    evaluation, _ = build_dataset("classification", rows, tokenizer, training=False, batch_size=8)
    assert evaluation.order.tolist() != list(range(64))  # sorted by length: fewer padded tokens
    qa = [{"id": "0", "question": "Who?", "context": "Ada wrote it.", "answers": {"text": ["Ada"],
                                                                             "answer_start": [0]}}] * 3
    qa_eval, _ = build_dataset("question_answering", qa, tokenizer, training=False, batch_size=2)
    assert qa_eval.order.tolist() == [0, 1, 2]  # windows stay in order for postprocessing


def test_length_buckets_option_values():
    assert batching.parse_length_buckets("AUTO") == "auto" and batching.parse_length_buckets("none") is None
    assert batching.parse_length_buckets("6") == 6 and batching.parse_length_buckets("16,128") == [16, 128]
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="got 'short'"):
        batching.parse_length_buckets("short")
    assert batching.streamed_lengths(None, 128) is None
    assert batching.for_compiler("auto", compiled=False) is None and batching.for_compiler(4, False) == 4
    with pytest.raises(ValueError, match="streamed data must be None, 'auto' or a list"):
        batching.streamed_lengths(4, 128)


@pytest.mark.slow  # XLA compilations: minutes on a busy 2-core machine
def test_finetune_pads_to_a_few_fitted_lengths_with_xla_and_to_each_batch_without(tmp_path):
    import keras

    from tests.helpers import tiny_config
    from tf_albert import AlbertModel
    from tf_albert.tokenization import AlbertTokenizer
    from tf_albert.training import finetune

    tokenizer = AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)
    keras.utils.set_random_seed(0)
    config = tiny_config(vocab_size=1500, num_hidden_layers=2, max_position_embeddings=64)
    AlbertModel(config).save_pretrained(str(tmp_path / "base"), tokenizer=tokenizer)
    rows = [{"text": " ".join(["good" if i % 2 else "bad"] * int(n // 3)), "label": i % 2}
            for i, n in enumerate(LENGTHS[:40])]
    for jit in (True, False):
        logs = []
        finetune("classification", rows, str(tmp_path / f"run{jit}"), model=str(tmp_path / "base"), epochs=1,
                 batch_size=8, max_length=64, jit_compile=jit, verbose=0, log=logs.append)
        assert ("batches padded to lengths (" in logs[0]) is jit, logs[0]
