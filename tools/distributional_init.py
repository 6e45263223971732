"""Word embeddings from the corpus's co-occurrence statistics, as the starting point of `tf-albert pretrain`.

    python tools/distributional_init.py --corpus corpus/english/corpus.txt --tokenizer runs/small/tokenizer \
        --config small --out runs/small-init
    tf-albert pretrain ... --spm runs/small/tokenizer --init-checkpoint runs/small-init

Masked-LM pretraining from random weights first spends thousands of steps predicting frequent words whatever
the context (the "unigram plateau"); on two CPU cores that is most of the budget. This script gives the
embedding table a head start that costs a minute: the positive pointwise mutual information (PPMI) of
SentencePiece pieces co-occurring within `--window` pieces in the same sentence (weights 1/distance, context
counts smoothed with exponent 0.75), factored by a truncated SVD into `embedding_size` dimensions
(`U * sqrt(S)`, Levy & Goldberg's symmetric split, so the same vectors serve as ALBERT's tied input and output
embeddings), scaled to `--std` (0.1: five times the random init's 0.02, so that the tied output layer's dot
products, not only its bias, can tell words apart from the first step). Pieces that never occur keep their
random vectors, as do the other weights (seeded) but one: the MLM output bias starts at log P(piece) over the
corpus, the frequency guess that training from zeros spends its first hundreds of steps learning. The
result is an ordinary model folder (AlbertForPreTraining + tokenizer).
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def cooccurrence(ids, vocab_size: int, window: int):
    """[V, V] float64 counts of piece pairs at most `window` apart in one line, weighted 1/distance.

    `ids`: one int64 array per line."""
    import numpy as np

    index, weight = [], []
    for d in range(1, window + 1):
        left = np.concatenate([t[:-d] for t in ids if len(t) > d])
        right = np.concatenate([t[d:] for t in ids if len(t) > d])
        index += [left * vocab_size + right, right * vocab_size + left]
        weight += [np.full(2 * len(left), 1.0 / d)]
    pairs, weights = np.concatenate(index), np.concatenate(weight)
    counts = np.bincount(pairs, weights=weights, minlength=vocab_size * vocab_size)
    return counts.reshape(vocab_size, vocab_size)


def unigram_log_probs(ids, vocab_size: int):
    """log P(piece) over the corpus (add-0.5 smoothing): the MLM output bias that predicts by frequency."""
    import numpy as np

    counts = np.bincount(np.concatenate(ids), minlength=vocab_size) + 0.5
    return np.log(counts / counts.sum()).astype(np.float32)


def ppmi(counts, alpha: float = 0.75):
    """Positive PMI with context-distribution smoothing (P_alpha(c) ∝ count(c)^alpha), float32."""
    import numpy as np

    total = counts.sum()
    word = counts.sum(1)
    context = counts.sum(0) ** alpha
    context = context / context.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(counts / total) - np.log(word / total)[:, None] - np.log(context)[None, :]
    return np.maximum(np.nan_to_num(pmi, nan=0.0, neginf=0.0, posinf=0.0), 0).astype(np.float32)


def truncated_svd_embeddings(matrix, dim: int, seed: int = 0, power_iterations: int = 4):
    """`U[:, :dim] * sqrt(S[:dim])` of a symmetric-ish matrix by randomized SVD (Halko et al.)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    q = matrix @ rng.standard_normal((matrix.shape[1], dim + 16)).astype(np.float32)
    for _ in range(power_iterations):
        q, _ = np.linalg.qr(q)
        q = matrix @ (matrix.T @ q)
    q, _ = np.linalg.qr(q)
    u, s, _ = np.linalg.svd(q.T @ matrix, full_matrices=False)
    return (q @ u[:, :dim]) * np.sqrt(s[:dim])[None, :]


def build(corpus: str, tokenizer_dir: str, config, out: str, window: int = 5, std: float = 0.1, seed: int = 0,
          log=print) -> dict:
    import keras
    import numpy as np

    from tf_albert import AlbertForPreTraining, AlbertTokenizer
    from tf_albert.training.pretrain import resolve_config

    start = time.time()
    tokenizer = AlbertTokenizer.from_pretrained(tokenizer_dir)
    cfg = resolve_config(config, vocab_size=len(tokenizer))
    with open(corpus, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    ids = [np.asarray(tokenizer.encode(line, add_special_tokens=False), np.int64) for line in lines]
    counts = cooccurrence(ids, cfg.vocab_size, window)
    log(f"co-occurrence of {len(lines):,} lines in {time.time() - start:.0f} s")
    vectors = truncated_svd_embeddings(ppmi(counts), cfg.embedding_size, seed=seed)
    seen = counts.sum(1) > 0
    vectors *= std / vectors[seen].std()

    keras.utils.set_random_seed(seed)
    model = AlbertForPreTraining(cfg)
    model.build()
    table = model.albert.embeddings.word_embeddings.embeddings
    values = np.asarray(table.numpy() if hasattr(table, "numpy") else keras.ops.convert_to_numpy(table))
    values[seen] = vectors[seen]
    table.assign(values)
    model.predictions.bias.assign(unigram_log_probs(ids, cfg.vocab_size))
    model.save_pretrained(out, tokenizer=tokenizer, formats=("safetensors",))
    log(f"{int(seen.sum()):,} of {cfg.vocab_size:,} pieces initialised from PPMI-SVD; wrote {out} "
        f"in {time.time() - start:.0f} s")
    return {"pieces": int(seen.sum()), "seconds": round(time.time() - start, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", required=True, help="a text file, one sentence per line")
    p.add_argument("--tokenizer", required=True, help="the tokenizer folder the pretraining will use")
    p.add_argument("--config", default="small", help="'tiny', 'small', a config.json or model folder")
    p.add_argument("--out", required=True, help="the model folder to write")
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--std", type=float, default=0.1, help="the embedding table's standard deviation")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    build(args.corpus, args.tokenizer, args.config, args.out,
          window=args.window, std=args.std, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
