"""Eager against fused attention (`attn_implementation="eager"` / `"sdpa"`), per Keras backend, side by side:
the measurement behind `DEFAULT_ATTN_IMPLEMENTATION` (tf_albert/model/layers.py).

    python -m benchmarks.bench_attention --json /tmp/attention.json              # 5 rounds, every backend
    python -m benchmarks.bench_attention --backends torch --rounds 7
    python -m benchmarks.bench_attention --report /tmp/attention.json            # the table again

Each (backend, implementation) runs in a fresh process (the backend is chosen when Keras is imported); in every
round each backend's two implementations run back to back, in an order that alternates between rounds, and
the ratio eager / sdpa is taken per round, so drift in the machine's load hits both alike. A process builds
albert-base widths (H 768, 12 heads, FFN 3072, `--layers` layers sharing one block; random weights),
compiles it with the backend's defaults (`jit_compile="auto"`: XLA on JAX, a tf.function on TensorFlow's CPU,
eager PyTorch) and times `predict_on_batch` on random ids with padding in every row (a realistic mask) at
each shape: one warm-up call (tracing, compilation), then `--calls` timed calls, median. The 1-minute load
average is recorded before and after each process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")
IMPLEMENTATIONS = ("eager", "sdpa")
SHAPES = "8x128,8x512"


def _parse_shapes(text: str) -> list[tuple[int, int]]:
    """'8x128,8x512' → [(8, 128), (8, 512)]."""
    return [tuple(int(n) for n in item.split("x")) for item in text.split(",") if item]


# --- worker: one (backend, implementation) in this process ------------------------------------------------
def worker(implementation: str, layers: int, calls: int, shapes: str) -> dict:
    import keras
    import numpy as np

    import tf_albert

    load_before = os.getloadavg()[0]
    keras.utils.set_random_seed(0)
    config = tf_albert.AlbertConfig.from_preset("albert-base-v2", num_hidden_layers=layers)
    model = tf_albert.AlbertModel(config, attn_implementation=implementation)
    model.build()
    model.compile()
    rng = np.random.default_rng(0)
    times = {}
    for batch, length in _parse_shapes(shapes):
        ids = rng.integers(5, config.vocab_size, size=(batch, length)).astype("int32")
        mask = np.ones((batch, length), "int32")
        for row, n in enumerate(rng.integers(length // 2, length + 1, size=batch)):
            mask[row, n:] = 0
        x = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        model.predict_on_batch(x)  # tracing / compilation
        samples = []
        for _ in range(calls):
            t0 = time.perf_counter()
            model.predict_on_batch(x)
            samples.append(time.perf_counter() - t0)
        times[f"{batch}x{length}"] = statistics.median(samples)
    return {"backend": keras.backend.backend(), "implementation": implementation, "layers": layers,
            "seconds": times, "load": [load_before, os.getloadavg()[0]],
            "versions": {"keras": keras.__version__}}


# --- driver ------------------------------------------------------------------------------------------------
def measure(backends, rounds: int, layers: int, calls: int, shapes: str, python: str) -> list[dict]:
    from benchmarks import processes

    records = []
    for r in range(rounds):
        for backend in backends:
            order = IMPLEMENTATIONS if r % 2 == 0 else IMPLEMENTATIONS[::-1]
            for implementation in order:
                cmd = [python, "-m", "benchmarks.bench_attention", "--worker", implementation,
                       "--layers", str(layers), "--calls", str(calls), "--shapes", shapes]
                record, why = processes.run_json_worker(cmd, timeout=900, extra_env={"KERAS_BACKEND": backend})
                if record is None:
                    print(f"round {r}: {backend}/{implementation} failed: {why}", file=sys.stderr)
                    continue
                record["round"] = r
                records.append(record)
                print(f"round {r} {backend:10s} {implementation:5s} "
                      + " ".join(f"{k} {v * 1000:7.1f} ms" for k, v in record["seconds"].items())
                      + f"  load {record['load'][0]:.2f}-{record['load'][1]:.2f}", file=sys.stderr)
    return records


def table(records: list[dict]) -> str:
    """Markdown: per backend and shape, each implementation's median time over the rounds and the per-round
    ratio eager / sdpa (median and range: > 1 means sdpa is faster), the load over those processes."""
    lines = ["| backend | shape | eager ms (median) | sdpa ms (median) | eager / sdpa per round: median (range) "
             "| rounds | faster | load (1-min) |", "|---|---|---:|---:|---|---:|---|---|"]
    for backend in BACKENDS:
        mine = [r for r in records if r["backend"] == backend]
        if not mine:
            continue
        for shape in sorted({s for r in mine for s in r["seconds"]}, key=lambda s: _parse_shapes(s)[0]):
            by_round = {}
            for r in mine:
                by_round.setdefault(r["round"], {})[r["implementation"]] = r["seconds"][shape]
            pairs = [v for v in by_round.values() if len(v) == 2]
            if not pairs:
                continue
            ratios = [p["eager"] / p["sdpa"] for p in pairs]
            eager = statistics.median(p["eager"] for p in pairs) * 1000
            sdpa = statistics.median(p["sdpa"] for p in pairs) * 1000
            ratio = statistics.median(ratios)
            loads = [x for r in mine for x in r["load"]]
            lines.append(f"| {backend} | {shape} | {eager:.1f} | {sdpa:.1f} | {ratio:.2f} "
                         f"({min(ratios):.2f}-{max(ratios):.2f}) | {len(pairs)} | "
                         f"{'sdpa' if ratio > 1 else 'eager'} | {min(loads):.1f}-{max(loads):.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--layers", type=int, default=4, help="layers sharing the block (albert-base has 12)")
    parser.add_argument("--calls", type=int, default=5, help="timed calls per shape and process")
    parser.add_argument("--shapes", default=SHAPES, help="BATCHxLENGTH,... (default %(default)s)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the measured processes")
    parser.add_argument("--json", help="write every process's record here")
    parser.add_argument("--report", nargs="+", help="print the table of earlier --json files")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.layers, args.calls, args.shapes)))
        return 0
    if args.report:
        records = [r for path in args.report for r in json.load(open(path))["records"]]
    else:
        backends = [b for b in args.backends.split(",") if b]
        unknown = sorted(set(backends) - set(BACKENDS))
        if unknown:
            raise SystemExit(f"unknown backend(s) {unknown} in --backends; choose from {list(BACKENDS)}")
        records = measure(backends, args.rounds, args.layers, args.calls, args.shapes, args.python)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"records": records, "argv": sys.argv[1:]}, f, indent=1)
    print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
