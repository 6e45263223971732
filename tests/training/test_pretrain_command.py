"""`tf-albert pretrain` on the TensorFlow backend, and what every backend shares: the in-memory batches, the
resumable fit over either feeder, the time budget.

The JAX and PyTorch runs of the same toy (TensorFlow hidden): tests/backends/test_pretraining_backends.py.
"""

import json
import os

import keras
import numpy as np
import pytest

from tests.backends import pretraining_toy as toy
from tests.helpers import FIXTURE_TOKENIZER
from tf_albert.training.pretrain_run import TimeBudget, fit_pretraining, rate_at
from tf_albert.training.pretraining_batches import PretrainingBatches, PretrainingExamples
from tf_albert.training.pretraining_data import PretrainingDataConfig


def test_pretrain_learns_on_tensorflow_from_tfrecords(tmp_path):
    from tf_albert.training.pretrain import pretrain_main

    corpus = toy.write_corpus(str(tmp_path / "corpus.txt"))
    assert pretrain_main(toy.command(corpus, tmp_path / "run")) == 0
    measured = toy.judge(str(tmp_path / "run"))
    print("toy pretraining on tensorflow:", measured)
    assert measured["backend"] == "tensorflow" and measured["data"] == "tfrecords"
    toy.check(measured)


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    from tf_albert import AlbertTokenizer

    corpus = toy.write_corpus(str(tmp_path_factory.mktemp("toy") / "corpus.txt"))
    config = PretrainingDataConfig(max_seq_length=32, max_predictions_per_seq=5, eval_fraction=0.2,
                                   num_shards=2, seed=4)
    return PretrainingExamples.from_corpus(corpus, AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER), config)


def test_batches_are_a_function_of_the_seed_and_start_where_asked(examples):
    stream = PretrainingBatches(examples, 8, seed=3, length_buckets="auto")
    first = [stream[i] for i in range(40)]  # more than a pass: 40 * 8 > the examples of one pass
    assert stream.locate(39)[0] >= 1
    for x, y in first:
        assert set(x) == {"input_ids", "attention_mask", "token_type_ids", "masked_lm_positions"}
        assert x["input_ids"].dtype == np.int32 and x["input_ids"].shape[0] == 8
        length = x["input_ids"].shape[1]  # the shortest of the ladder that holds the longest row
        shorter = {8: 0, 16: 8, 24: 16, 32: 24}[length]
        assert x["attention_mask"].sum(-1).max() > shorter
        assert y["labels"].shape == (8, 5) and y["sentence_order_label"].shape == (8,)
    resumed = PretrainingBatches(examples, 8, seed=3, length_buckets="auto", start=25)
    for (x, y), (x2, y2) in zip(first[25:], (resumed[i] for i in range(15))):
        for k in x:
            np.testing.assert_array_equal(x[k], x2[k])
        np.testing.assert_array_equal(y["labels"], y2["labels"])
    forked = PretrainingBatches(examples, 8, seed=3, length_buckets="auto", workers=1)
    try:
        for (x, _), (x2, _) in zip(first, (forked[i] for i in range(40))):
            np.testing.assert_array_equal(x["input_ids"], x2["input_ids"])
    finally:
        forked.close()
    other = PretrainingBatches(examples, 8, seed=4, length_buckets="auto")
    assert not np.array_equal(other[0][1]["labels"], first[0][1]["labels"])


def test_held_out_batches_hold_every_held_out_example_once(examples):
    held_out = examples.held_out_examples()
    batches = PretrainingBatches(examples, 8, split="eval")
    got = np.concatenate([batches[i][0]["input_ids"] for i in range(len(batches))])
    np.testing.assert_array_equal(got, held_out["input_ids"])
    assert len(batches) == -(-len(got) // 8)
    with pytest.raises(ValueError, match="batch_size"):
        PretrainingBatches(examples, 100_000)[0]


def _tiny_model():
    from tf_albert import AlbertForPreTraining
    from tf_albert.training.optimization import create_optimizer
    from tests.helpers import tiny_config

    keras.utils.set_random_seed(0)
    model = AlbertForPreTraining(tiny_config(vocab_size=1500, max_position_embeddings=32))
    model.build()
    model.compile(optimizer=create_optimizer("lamb", 1e-2, num_train_steps=6, num_warmup_steps=1))
    return model


def test_killed_in_memory_run_resumes_with_the_batches_it_would_have_seen(examples, tmp_path):
    """A run stopped after its first epoch (its backup holds 1 epoch), rerun for 3, ends where an
    uninterrupted 3-epoch run ends: the stream restarts at the first batch not trained on, the weights at
    the backup."""
    def run(folder, epochs):
        model = _tiny_model()
        data = PretrainingBatches(examples, 4, seed=1)
        return model, fit_pretraining(model, data, str(folder), epochs=epochs, steps_per_epoch=2, verbose=0)

    straight, done = run(tmp_path / "a", 3)
    assert done == 3
    run(tmp_path / "b", 1)
    resumed, done = run(tmp_path / "b", 3)
    assert done == 3
    for a, b in zip(straight.weights, resumed.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6, err_msg=a.path)
    log = open(tmp_path / "b" / "log.csv", encoding="utf-8").read().splitlines()
    assert [line.split(",")[0] for line in log[1:]] == ["0", "1", "2"]
    assert os.path.isfile(tmp_path / "b" / "checkpoints" / "latest.weights.h5")


def test_time_budget_resumes_from_the_backed_up_epoch(tmp_path):
    state = tmp_path / "budget.json"
    state.write_text(json.dumps({"seconds": 10, "spent_after_epoch": {"1": 0.0, "2": 4.0, "3": 10.5}}))
    budget = TimeBudget(10, 1e-3, 0.1, state_path=str(state))
    assert not budget.finished(2) and budget.finished(3) and not budget.finished(0)
    budget.resume(2)
    assert budget.spent() == 4.0  # the clock of this sitting starts after its first (compile) epoch
    assert rate_at(budget.spent() / 10, 1e-3, 0.1) == pytest.approx(1e-3 * 0.6 / 0.9)
    budget.resume(0)
    assert budget.spent() == 0.0
    for bad in (0, -1):
        with pytest.raises(ValueError, match="budget"):
            TimeBudget(bad, 1e-3)
    with pytest.raises(ValueError, match="warmup_fraction"):
        TimeBudget(10, 1e-3, 1.0)


def test_options_of_the_folded_tool():
    from tf_albert.training.pretrain_options import build_parser, pretrain_arguments

    base = ["--corpus", "c", "--out", "o"]
    budget = pretrain_arguments(build_parser().parse_args(
        base + ["--train-seconds", "600", "--dtype-policy", "mixed_bfloat16", "--save-every", "120",
                "--workers", "2", "--data", "memory", "--warmup-fraction", "0.05"]))
    assert (budget["train_seconds"], budget["dtype"], budget["save_every"], budget["workers"], budget["data"],
            budget["warmup_fraction"]) == (600, "mixed_bfloat16", 120, 2, "memory", 0.05)
    assert budget["steps_per_epoch"] == 25  # a short first epoch: it runs at rate 0 while XLA compiles
    steps = pretrain_arguments(build_parser().parse_args(base))
    assert (steps["steps_per_epoch"], steps["train_seconds"], steps["dtype"]) == (200, None, None)
    assert steps["data"] == "auto"
    assert steps["workers"] == "auto" and steps["jit_compile"] is None
