"""Tokenizer throughput: batch-encode 10,000 sentences with tf_albert's AlbertTokenizer vs Hugging Face's.

    python benchmarks/bench_tokenizer.py                      # ours vs HF v5 (tokenizers) on the fixture
    model python benchmarks/bench_tokenizer.py --model path/to/spiece.model --repeats 5 --layer

The reference is transformers v5's `AlbertTokenizer` (backed by the Rust `tokenizers` library), built from the
same spiece.model. Each library runs in its own fresh process (HF from `--hf-python`, default
/work/venv-hf5/bin/python when it exists, else this interpreter); the two take turns for `--repeats` rounds
and the median is reported. Both encode the whole list in one call (`tok(sentences)`: special tokens, no
padding), with their default threading. `--layer` adds the in-graph AlbertTokenizerLayer (tensorflow-text) on
batches of 256 inside tf.data.

The sentences are the first 10,000 sentences of the docstrings of the Python standard library of the
interpreter that runs this script (deterministic, offline), i.e. real English prose with code, numbers and
punctuation.
"""

from __future__ import annotations

import argparse
import ast
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = os.path.join(REPO, "tests", "fixtures", "tokenizer", "spiece.model")
DEFAULT_HF_PYTHON = "/work/venv-hf5/bin/python"


def sentences(n: int) -> list[str]:
    out: list[str] = []
    for path in sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py"))):
        try:
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read())
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node) or ""
                for s in re.split(r"(?<=[.!?])\s+", " ".join(doc.split())):
                    if len(s) >= 20:
                        out.append(s)
                        if len(out) == n:
                            return out
    if len(out) < n:  # a small stdlib: repeat
        out = (out * (n // max(len(out), 1) + 1))[:n]
    return out


def load(kind: str, model: str):
    if kind == "ours" or kind == "layer":
        sys.path.insert(0, REPO)
        from tf_albert.tokenization import AlbertTokenizer

        tok = AlbertTokenizer(model)
        if kind == "ours":
            return lambda xs: tok(xs)["input_ids"]
        import tensorflow as tf

        from tf_albert.tokenization.layer import AlbertTokenizerLayer

        layer = AlbertTokenizerLayer.from_tokenizer(tok)

        def run(xs):
            ds = (
                tf.data.Dataset.from_tensor_slices(xs)
                .batch(256)
                .map(layer, num_parallel_calls=tf.data.AUTOTUNE)
            )
            out = []
            for batch in ds:
                ids, mask = batch["input_ids"].numpy(), batch["attention_mask"].numpy()
                out.extend(r[m == 1].tolist() for r, m in zip(ids, mask))
            return out

        return run
    import tempfile

    from transformers import AlbertTokenizer as HFAlbertTokenizer

    folder = tempfile.mkdtemp()
    with open(model, "rb") as src, open(os.path.join(folder, "spiece.model"), "wb") as dst:
        dst.write(src.read())
    tok = HFAlbertTokenizer.from_pretrained(folder)
    return lambda xs: tok(xs)["input_ids"]


def worker(kind: str, model: str, n: int, rounds: int) -> dict:
    xs = sentences(n)
    encode = load(kind, model)
    encode(xs[:256])  # warm-up (and tracing for the layer)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        ids = encode(xs)
        times.append(time.perf_counter() - start)
    best = min(times)
    return {
        "kind": kind,
        "seconds": best,
        "sentences_per_s": n / best,
        "tokens": sum(len(i) for i in ids),
        "ids": ids,
    }


def run_worker(python: str, kind: str, args) -> dict:
    cmd = [
        python,
        os.path.abspath(__file__),
        "--worker",
        kind,
        "--model",
        args.model,
        "-n",
        str(args.n),
        "--rounds",
        str(args.rounds),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TRANSFORMERS_VERBOSITY="error", HF_HUB_OFFLINE="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise SystemExit(f"{kind} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="spiece.model to load in both libraries")
    parser.add_argument("-n", type=int, default=10_000, help="number of sentences")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds of fresh processes")
    parser.add_argument("--rounds", type=int, default=3, help="timed encodes per process (the best is kept)")
    parser.add_argument(
        "--hf-python",
        default=DEFAULT_HF_PYTHON if os.path.exists(DEFAULT_HF_PYTHON) else sys.executable,
        help="interpreter with transformers>=5 and tokenizers",
    )
    parser.add_argument("--layer", action="store_true", help="also time AlbertTokenizerLayer in tf.data")
    parser.add_argument("--worker", choices=["ours", "hf", "layer"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.model, args.n, args.rounds)))
        return

    kinds = [("ours", sys.executable), ("hf", args.hf_python)] + (
        [("layer", sys.executable)] if args.layer else []
    )
    results: dict[str, list[dict]] = {k: [] for k, _ in kinds}
    for r in range(args.repeats):
        for kind, python in kinds[r % len(kinds) :] + kinds[: r % len(kinds)]:  # rotate the order
            results[kind].append(run_worker(python, kind, args))
    rate = {k: statistics.median(x["sentences_per_s"] for x in v) for k, v in results.items()}
    same = sum(a == b for a, b in zip(results["ours"][0]["ids"], results["hf"][0]["ids"]))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{args.n} sentences, model {os.path.relpath(args.model)}, {os.cpu_count()} CPUs, load {load:.2f}, "
        f"median of {args.repeats} processes x best of {args.rounds}"
    )
    names = {
        "ours": "tf_albert AlbertTokenizer (sentencepiece)",
        "hf": "HF v5 AlbertTokenizer (tokenizers)",
        "layer": "tf_albert AlbertTokenizerLayer (tf.data, batch 256)",
    }
    for kind in results:
        print(f"  {names[kind]:<52} {rate[kind]:>10,.0f} sentences/s")
    print(
        f"  ratio ours / HF: {rate['ours'] / rate['hf']:.2f}x"
        + (f"; layer / HF: {rate['layer'] / rate['hf']:.2f}x" if "layer" in rate else "")
    )
    print(
        f"  identical ids: {same}/{args.n} (HF v5 differs from HF v4 on some inputs; see the fixture README)"
    )
    if "layer" in results:
        same_layer = sum(a == b for a, b in zip(results["ours"][0]["ids"], results["layer"][0]["ids"]))
        print(f"  layer ids identical to ours: {same_layer}/{args.n}")


if __name__ == "__main__":
    main()
