"""A toy pretraining run that every backend can learn in a few dozen steps, and how to judge it.

Each document of the corpus is about two of 12 words: its lines repeat one or the other, so a masked word
follows from the words around it, while always guessing the most frequent piece scores about a tenth.
`tf-albert pretrain` trains a 47-piece tokenizer (each word one piece) and a 173 k-parameter ALBERT on it for
80 LAMB steps of 64 × 32; `judge(out)` reads the run folder: the held-out MLM accuracy and loss from
results.json, the first and last epoch's training loss from log.csv, and the held-out set's unigram
baseline (the share of its most frequent masked piece).

tests/backends/test_pretraining_backends.py runs it on JAX and PyTorch with TensorFlow hidden;
tests/training/test_pretrain_command.py on TensorFlow.
"""

import csv
import json
import os
import random

import numpy as np

WORDS = "file object string class function list module value method type data path".split()
STEPS = 80


def write_corpus(path, documents=160, seed=0):
    rng = random.Random(seed)
    docs = []
    for _ in range(documents):
        topic = rng.sample(WORDS, 2)
        lines = [" ".join([topic[i % 2]] * rng.randint(4, 9)) for i in range(rng.randint(3, 6))]
        docs.append("\n".join(lines))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n\n".join(docs) + "\n")
    return path


def command(corpus, out, *extra):
    """`tf-albert pretrain`'s arguments for the toy run."""
    model = ["embedding_size=64", "hidden_size=128", "num_attention_heads=2", "intermediate_size=256",
             "num_hidden_layers=2", "max_position_embeddings=64"]
    return (["--corpus", str(corpus), "--out", str(out), "--vocab-size", "47", "--config", "tiny"]
            + [a for m in model for a in ("--set", m)]
            + ["--max-seq-length", "32", "--max-predictions-per-seq", "5", "--eval-fraction", "0.2",
               "--batch-size", "64", "--num-train-steps", str(STEPS), "--steps-per-epoch", "20",
               "--learning-rate", "2e-2", "--seed", "0", "--quiet", "--save-formats", "safetensors",
               *map(str, extra)])


def judge(out) -> dict:
    """The run's held-out numbers, its first and last epoch's training loss and the unigram baseline."""
    from tf_albert import AlbertTokenizer
    from tf_albert.training.pretraining_batches import PretrainingExamples
    from tf_albert.training.pretraining_data import PretrainingDataConfig

    results = json.load(open(os.path.join(out, "results.json"), encoding="utf-8"))
    rows = list(csv.DictReader(open(os.path.join(out, "log.csv"), encoding="utf-8")))
    tokenizer = AlbertTokenizer.from_pretrained(os.path.join(out, "model"))
    config = PretrainingDataConfig(max_seq_length=32, max_predictions_per_seq=5, eval_fraction=0.2, seed=0)
    held_out = PretrainingExamples.from_corpus(os.path.join(os.path.dirname(out), "corpus.txt"), tokenizer,
                                               config).held_out_examples()
    labels = held_out["labels"][held_out["labels"] >= 0].astype(np.int64)
    return {"mlm_accuracy": results["mlm_accuracy"], "mlm_loss": results["mlm_loss"],
            "sop_accuracy": results["sop_accuracy"], "steps": results["steps"],
            "masked_tokens": results["masked_tokens"], "backend": results["backend"], "data": results["data"],
            "first_loss": float(rows[0]["loss"]), "last_loss": float(rows[-1]["loss"]),
            "unigram_baseline": float(np.bincount(labels).max() / len(labels)),
            "baseline_tokens": int(len(labels))}


def check(measured: dict) -> None:
    """It learned: the training loss fell and held-out MLM accuracy is well above the unigram baseline."""
    assert measured["steps"] == STEPS, measured
    assert measured["masked_tokens"] == measured["baseline_tokens"], measured  # the same held-out examples
    assert measured["last_loss"] < measured["first_loss"] - 0.3, measured
    assert measured["mlm_accuracy"] > 1.5 * measured["unigram_baseline"], measured
