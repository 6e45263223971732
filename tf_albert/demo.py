"""The README's main job: an end-to-end run with no network.

Builds a small ALBERT (one shared TransformerBlock), fine-tunes `AlbertForSequenceClassification` with
Keras `fit()` (XLA) on a sentiment-like task it generates, and prints the accuracy it reached and a few
predictions.

    python -m tf_albert.demo [--epochs 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

POSITIVE = range(10, 20)  # "good" words
NEGATIVE = range(20, 30)  # "bad" words
CLS, SEP, PAD = 2, 3, 0


def make_dataset(n: int, seq_len: int, vocab_size: int, rng: np.random.Generator):
    """Sequences of neutral words with some good and bad ones; the label is which kind is in the majority."""
    ids = rng.integers(30, vocab_size, size=(n, seq_len)).astype("int32")
    lengths = rng.integers(seq_len // 2, seq_len + 1, size=n)
    labels = np.zeros(n, "int32")
    for i in range(n):
        body = lengths[i] - 2
        n_pos, n_neg = rng.choice([(3, 1), (1, 3), (4, 2), (2, 4), (2, 0), (0, 2)])
        slots = rng.choice(np.arange(1, body + 1), size=n_pos + n_neg, replace=False)
        ids[i, slots[:n_pos]] = rng.choice(POSITIVE, size=n_pos)
        ids[i, slots[n_pos:]] = rng.choice(NEGATIVE, size=n_neg)
        ids[i, 0], ids[i, body + 1] = CLS, SEP
        ids[i, body + 2:] = PAD
        labels[i] = int(n_pos > n_neg)
    mask = (np.arange(seq_len)[None, :] < lengths[:, None]).astype("int32")
    return {"input_ids": ids, "attention_mask": mask}, labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tf_albert.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-size", type=int, default=2048)
    args = parser.parse_args(argv)

    import keras

    from tf_albert import AlbertConfig, AlbertForSequenceClassification

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    config = AlbertConfig(
        vocab_size=200, embedding_size=32, hidden_size=64, num_attention_heads=4, intermediate_size=128,
        num_hidden_layers=4, max_position_embeddings=64, id2label={0: "negative", 1: "positive"},
    )
    model = AlbertForSequenceClassification(config)
    x_train, y_train = make_dataset(args.train_size, 24, config.vocab_size, rng)
    x_test, y_test = make_dataset(512, 24, config.vocab_size, rng)

    print(f"ALBERT: {config.num_hidden_layers} layers sharing "
          f"{config.num_hidden_groups * config.inner_group_num} TransformerBlock, H={config.hidden_size}, "
          f"E={config.embedding_size}, vocab={config.vocab_size}")
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.01), jit_compile=True,
                  metrics=["accuracy"])
    model.build()
    print(f"parameters: {model.count_params():,}")
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=2)
    print(f"fine-tuning took {time.perf_counter() - start:.1f} s")
    result = model.evaluate(x_test, y_test, batch_size=64, verbose=0, return_dict=True)
    print(f"held-out accuracy: {result['accuracy']:.3f} (loss {result['loss']:.3f}, chance 0.5)")

    logits = model.predict({k: v[:5] for k, v in x_test.items()}, verbose=0)["logits"]
    for i in range(5):
        words = x_test["input_ids"][i][x_test["attention_mask"][i] == 1]
        good = int(np.isin(words, POSITIVE).sum())
        bad = int(np.isin(words, NEGATIVE).sum())
        probs = np.exp(logits[i] - logits[i].max())
        probs /= probs.sum()
        label = config.id2label[int(np.argmax(probs))]
        print(f"  example {i}: {good} good / {bad} bad words → {label} (p={probs.max():.2f}), "
              f"true: {config.id2label[int(y_test[i])]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
