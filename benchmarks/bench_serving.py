"""Serving latency of one loaded SavedModel export: p50/p99 per call at batch 1 and 8, sequence length 128.

    python -m benchmarks.bench_serving                     # tiny and base configs, dynamic-shape export
    python -m benchmarks.bench_serving --configs base --jit --calls 100
    python -m benchmarks.bench_serving --mixed --configs tiny   # XLA exports fed 24 mixed shapes

For each config an `AlbertForSequenceClassification` with random weights is exported (ids signature, as TF
Serving would load it), then a fresh process that imports only TensorFlow loads the export once and calls
`serving_default` back to back from one thread: warm-up calls first, then `--calls` timed calls per batch
size, each timed from the call to the outputs being numpy arrays. The load average is printed with the
table: on a shared machine the absolute numbers move with the neighbours' load.

`--mixed`: a client that keeps changing shapes. The XLA export (lengths padded to
`tf_albert.export.signatures.length_buckets`, batches to powers of two) and the same export without that
padding (one XLA compilation per new input shape, as before the buckets) each get `MIXED_SHAPES` (24
(batch, length) pairs drawn once with a fixed seed: batch 1-8, length 8-256): the first pass over them is
timed (cold: it includes the compilations, counted from TensorFlow's own compilation log), then each shape
is called `--repeats` more times and the p50 of those warm calls is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
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
# --mixed: 24 (batch, length) pairs, drawn once (seed 0): what a client with changing inputs sends.
_MIXED = random.Random(0)
MIXED_SHAPES = [(_MIXED.randint(1, 8), _MIXED.randint(8, 256)) for _ in range(24)]
# TensorFlow logs one "Compiled <function> N times, compile time: ..." line per XLA compilation with this.
XLA_COMPILE_LOG = {"TF_CPP_MIN_LOG_LEVEL": "0", "TF_CPP_VMODULE": "device_compilation_profiler=1"}


def count_compilations(log: str) -> int:
    """The XLA compilations in a log written with `XLA_COMPILE_LOG`."""
    return len(re.findall(r"Compiled \S+ \d+ times, compile time", log))


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


def _measure_mixed(path: str, repeats: int, seed: int = 0) -> dict:
    """In this (fresh) process: the `MIXED_SHAPES` once (cold, compiling), then `repeats` warm calls each."""
    import numpy as np
    import tensorflow as tf

    fn = tf.saved_model.load(path).signatures["serving_default"]
    with open(os.path.join(path, "assets.extra", "tf_albert.json"), encoding="utf-8") as f:
        vocab = json.load(f)["config"]["vocab_size"]
    rng = np.random.default_rng(seed)
    feeds = []
    for batch, length in MIXED_SHAPES:
        ids = tf.constant(rng.integers(5, vocab, size=(batch, length)).astype("int32"))
        feeds.append({"input_ids": ids, "attention_mask": tf.ones_like(ids), "token_type_ids": tf.zeros_like(ids)})

    def call(feed):
        start = time.perf_counter()
        {k: v.numpy() for k, v in fn(**feed).items()}
        return time.perf_counter() - start

    cold = [call(feed) for feed in feeds]
    warm = [call(feed) for _ in range(repeats) for feed in feeds]
    ms = np.asarray(warm) * 1000.0
    return {"cold_s": float(sum(cold)), "p50": float(np.percentile(ms, 50)), "p90": float(np.percentile(ms, 90)),
            "calls": len(warm)}


def _export(config_name: str, folder: str, jit: bool, buckets: bool = True) -> str:
    from tf_albert import AlbertConfig, AlbertForSequenceClassification
    from tf_albert.export import export_saved_model, signatures

    spec = CONFIGS[config_name]
    config = AlbertConfig.from_preset(spec, num_labels=2) if isinstance(spec, str) else AlbertConfig(**spec)
    model = AlbertForSequenceClassification(config)
    model.build()
    bucketed = signatures._bucketed
    if not buckets:  # the export as it was before the buckets: the compiled model on the shapes as they come
        signatures._bucketed = lambda compiled, model, max_length: compiled
    try:
        return export_saved_model(
            model, os.path.join(folder, config_name + ("-xla" if jit else "") + ("" if buckets else "-exact")),
            signatures=("ids",), jit_compile=jit)
    finally:
        signatures._bucketed = bucketed


def _run_mixed(configs, repeats: int) -> int:
    import tensorflow as tf

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as folder:
        for name in configs:
            for buckets in (False, True):
                path = _export(name, folder, jit=True, buckets=buckets)
                load_before = os.getloadavg()[0]
                proc = subprocess.run(
                    [sys.executable, "-m", "benchmarks.bench_serving", "--measure-mixed", path,
                     "--repeats", str(repeats)],
                    capture_output=True, text=True, check=False, env={**os.environ, **XLA_COMPILE_LOG},
                    cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
                if proc.returncode != 0:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    return 1
                m = json.loads(proc.stdout.strip().splitlines()[-1])
                rows.append((name, "buckets" if buckets else "exact shapes", count_compilations(proc.stderr), m,
                             load_before))
    print(f"\nXLA SavedModel export fed {len(MIXED_SHAPES)} mixed (batch, length) shapes, "
          f"{len({tuple(s) for s in MIXED_SHAPES})} distinct, one thread, TensorFlow {tf.__version__}, "
          f"{os.cpu_count()} CPUs visible")
    print(f"{'config':<8} {'padding':<13} {'compiles':>8} {'cold s':>8} {'warm p50 ms':>12} {'p90 ms':>8} "
          f"{'calls':>6} {'load avg':>9}")
    for name, kind, compiles, m, load in rows:
        print(f"{name:<8} {kind:<13} {compiles:>8} {m['cold_s']:>8.1f} {m['p50']:>12.2f} {m['p90']:>8.2f} "
              f"{m['calls']:>6} {load:>9.2f}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="tiny,base", help="comma-separated: tiny, base")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--calls", type=int, help="timed calls per batch size (default: tiny 300, base 60)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--jit", action="store_true", help="also measure the XLA-compiled (jit_compile) export")
    parser.add_argument("--mixed", action="store_true",
                        help="XLA exports with and without length buckets, fed 24 mixed shapes")
    parser.add_argument("--repeats", type=int, default=5, help="--mixed: warm calls per shape")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the fresh measuring process
    parser.add_argument("--measure-mixed", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    if args.measure:
        print(json.dumps(_measure(args.measure, batches, args.calls, args.warmup)))
        return 0
    if args.measure_mixed:
        print(json.dumps(_measure_mixed(args.measure_mixed, args.repeats)))
        return 0

    configs = [c.strip() for c in args.configs.split(",")]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {unknown}; choose from {sorted(CONFIGS)}")
    if args.mixed:
        return _run_mixed(configs, args.repeats)
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
