"""Serving latency of one loaded SavedModel export: p50/p99 per call at batch 1 and 8, sequence length 128.

    python -m benchmarks.bench_serving                     # tiny and base configs, dynamic-shape export
    python -m benchmarks.bench_serving --configs base --jit --calls 100

For each config an `AlbertForSequenceClassification` with random weights is exported (ids signature, as TF
Serving would load it), then a fresh process that imports only TensorFlow loads the export once and calls
`serving_default` back to back from one thread: warm-up calls first, then `--calls` timed calls per batch
size, each timed from the call to the outputs being numpy arrays. The load average is printed with the
table: on a shared machine the absolute numbers move with the neighbours' load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEQ_LEN = 128
CONFIGS = {
    "tiny": {"vocab_size": 1000, "embedding_size": 16, "hidden_size": 64, "num_hidden_layers": 4,
             "num_attention_heads": 4, "intermediate_size": 128, "max_position_embeddings": 512, "num_labels": 2},
    "base": "albert-base-v2",
}
DEFAULT_CALLS = {"tiny": 300, "base": 60}


def _measure(path: str, batches: list[int], calls: int, warmup: int, seed: int = 0) -> dict:
    """In this (fresh) process: load the export once, time `calls` calls per batch size."""
    import numpy as np
    import tensorflow as tf

    fn = tf.saved_model.load(path).signatures["serving_default"]
    with open(os.path.join(path, "assets.extra", "tf_albert.json"), encoding="utf-8") as f:
        vocab = json.load(f)["config"]["vocab_size"]
    rng = np.random.default_rng(seed)
    results = {}
    for batch in batches:
        ids = tf.constant(rng.integers(5, vocab, size=(batch, SEQ_LEN)).astype("int32"))
        feed = {"input_ids": ids, "attention_mask": tf.ones_like(ids), "token_type_ids": tf.zeros_like(ids)}
        for _ in range(warmup):
            {k: v.numpy() for k, v in fn(**feed).items()}
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            {k: v.numpy() for k, v in fn(**feed).items()}
            times.append(time.perf_counter() - start)
        ms = np.asarray(times) * 1000.0
        results[batch] = {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)),
                          "mean": float(ms.mean()), "calls": calls}
    return results


def _export(config_name: str, folder: str, jit: bool) -> str:
    from tf_albert import AlbertConfig, AlbertForSequenceClassification
    from tf_albert.export import export_saved_model

    spec = CONFIGS[config_name]
    config = AlbertConfig.from_preset(spec, num_labels=2) if isinstance(spec, str) else AlbertConfig(**spec)
    model = AlbertForSequenceClassification(config)
    model.build()
    return export_saved_model(model, os.path.join(folder, config_name + ("-xla" if jit else "")),
                              signatures=("ids",), jit_compile=jit)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="tiny,base", help="comma-separated: tiny, base")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--calls", type=int, help="timed calls per batch size (default: tiny 300, base 60)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--jit", action="store_true", help="also measure the XLA-compiled (jit_compile) export")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the fresh measuring process
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    if args.measure:
        print(json.dumps(_measure(args.measure, batches, args.calls, args.warmup)))
        return 0

    configs = [c.strip() for c in args.configs.split(",")]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {unknown}; choose from {sorted(CONFIGS)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as folder:
        for name in configs:
            for jit in (False, True) if args.jit else (False,):
                path = _export(name, folder, jit)
                calls = args.calls or DEFAULT_CALLS[name]
                load_before = os.getloadavg()[0]
                proc = subprocess.run(
                    [sys.executable, "-m", "benchmarks.bench_serving", "--measure", path, "--batches",
                     args.batches, "--calls", str(calls), "--warmup", str(args.warmup)],
                    capture_output=True, text=True, check=False,
                    cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
                if proc.returncode != 0:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    return 1
                measured = json.loads(proc.stdout.strip().splitlines()[-1])
                for batch, m in measured.items():
                    rows.append((name + (" XLA" if jit else ""), int(batch), m, load_before))
    import tensorflow as tf

    print(f"\nSavedModel serving latency, AlbertForSequenceClassification, seq_len {SEQ_LEN}, one thread, "
          f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs visible")
    print(f"{'config':<10} {'batch':>5} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9} {'calls':>6} {'load avg':>9}")
    for name, batch, m, load in rows:
        print(f"{name:<10} {batch:>5} {m['p50']:>9.2f} {m['p99']:>9.2f} {m['mean']:>9.2f} {m['calls']:>6} "
              f"{load:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
