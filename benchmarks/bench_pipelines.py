"""Pipeline throughput: length-bucketed batches against padding every input to 128 tokens.

    python -m benchmarks.bench_pipelines                          # albert-base sizes, 128 texts of 8-64 tokens
    python -m benchmarks.bench_pipelines --config tiny --texts 64 --repeats 1     # seconds (smoke test)

Both runs use the same model object (random weights, albert-base-v2 sizes with the fixture SentencePiece
vocabulary; no download) and the same texts, whose lengths are drawn uniformly from 8 to 64 tokens. The bucketed
pipeline is the default one (sorted by length, padded to a multiple of 8, results in input order); the other has
`pad_to_length=128`, i.e. one static shape as a fixed-shape export would use. Each mode is warmed up once
(tracing, and XLA compilation with --jit-compile), then timed `--repeats` times, alternating; the median
is reported with the ratio. The two modes' scores are compared too: they must agree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER = os.path.join(REPO, "tests", "fixtures", "tokenizer")
CONFIGS = {
    "base": dict(embedding_size=128, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072),
    "tiny": dict(embedding_size=16, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=128),
}


def make_texts(tokenizer, n: int, low: int, high: int, seed: int) -> list[str]:
    """`n` texts whose token counts (with [CLS] and [SEP]) are uniform in [low, high]."""
    import numpy as np

    rng = np.random.default_rng(seed)
    words = [p[1:] for p in (tokenizer.convert_ids_to_tokens(i) for i in range(5, tokenizer.vocab_size))
             if p.startswith("\u2581") and len(p) > 2 and p[1:].isalpha()]
    words = [w for w in words if len(tokenizer(w, add_special_tokens=False)["input_ids"]) == 1]
    texts = []
    for length in rng.integers(low, high + 1, size=n):
        text = " ".join(rng.choice(words, size=int(length) - 2))
        assert len(tokenizer(text)["input_ids"]) == length, text
        texts.append(text)
    return texts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_pipelines", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="base")
    parser.add_argument("--task", choices=("text-classification", "feature-extraction", "fill-mask"),
                        default="text-classification")
    parser.add_argument("--texts", type=int, default=128)
    parser.add_argument("--min-tokens", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--pad-to", type=int, default=128, help="the fixed length of the padded run (128)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jit-compile", action="store_true", help="XLA-compile the forward passes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from tf_albert import AlbertConfig, AlbertForMaskedLM, AlbertForSequenceClassification, AlbertModel
    from tf_albert.pipelines import pipeline
    from tf_albert.tokenization import AlbertTokenizer

    keras.utils.set_random_seed(args.seed)
    tokenizer = AlbertTokenizer.from_pretrained(TOKENIZER)
    config = AlbertConfig(vocab_size=len(tokenizer), max_position_embeddings=512, **CONFIGS[args.config])
    cls = {"text-classification": AlbertForSequenceClassification, "feature-extraction": AlbertModel,
           "fill-mask": AlbertForMaskedLM}[args.task]
    model = cls(config)
    model.build()
    texts = make_texts(tokenizer, args.texts, args.min_tokens, args.max_tokens, args.seed)
    if args.task == "fill-mask":
        texts = [t.split(" ", 1)[0] + " [MASK] " + t.split(" ", 1)[1] if " " in t else t + " [MASK]" for t in texts]
    tokens = [len(tokenizer(t)["input_ids"]) for t in texts]
    options = {"pooling": "mean"} if args.task == "feature-extraction" else {}
    common = dict(model=model, tokenizer=tokenizer, batch_size=args.batch_size, jit_compile=args.jit_compile,
                  **options)
    modes = {
        "bucketed": pipeline(args.task, **common),
        f"padded to {args.pad_to}": pipeline(args.task, pad_to_length=args.pad_to, **common),
    }
    print(f"{args.task}, {args.config} sizes (H={config.hidden_size}, {config.num_hidden_layers} layers), "
          f"{len(texts)} texts of {min(tokens)}-{max(tokens)} tokens (mean {np.mean(tokens):.1f}), "
          f"batch {args.batch_size}, XLA {'on' if args.jit_compile else 'off'}, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    results, times = {}, {name: [] for name in modes}
    for name, pipe in modes.items():  # warm-up: traces (and compiles) every shape the run needs
        start = time.perf_counter()
        results[name] = pipe(texts)
        print(f"  warm-up {name}: {time.perf_counter() - start:.1f} s, shapes {sorted(pipe.forward_shapes)}")
    for _ in range(args.repeats):
        for name, pipe in modes.items():
            start = time.perf_counter()
            pipe(texts)
            times[name].append(time.perf_counter() - start)

    names = list(modes)
    for name in names:
        median = statistics.median(times[name])
        print(f"  {name:>14}: {median:7.2f} s  {len(texts) / median:8.1f} texts/s  "
              f"(runs: {', '.join(f'{t:.2f}' for t in times[name])})")
    ratio = statistics.median(times[names[1]]) / statistics.median(times[names[0]])
    print(f"bucketed / padded-to-{args.pad_to} throughput ratio: {ratio:.2f}x")
    diff = _max_score_diff(results[names[0]], results[names[1]])
    print(f"max |score difference| between the two modes: {diff:.2e}")
    return 0 if diff < 1e-3 else 1


def _max_score_diff(a, b) -> float:
    import numpy as np

    def scores(x):
        if isinstance(x, dict):
            return [x["score"]] if "score" in x else []
        if isinstance(x, list):
            return [s for item in x for s in scores(item)] if x and not isinstance(x[0], float) else list(x)
        return []

    sa, sb = np.array(scores(a)), np.array(scores(b))
    return float(np.max(np.abs(sa - sb))) if sa.size else 0.0


if __name__ == "__main__":
    sys.exit(main())
