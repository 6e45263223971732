"""Pretraining throughput against what the machine can do: tokens/s of `tf-albert pretrain`'s training step
for a few batch/sequence/XLA settings, next to the achievable rate (measured matmul GFLOP/s ÷ FLOPs per
token of the config).

    python -m benchmarks.bench_pretrain --corpus /work/corpus/english --json /tmp/pretrain.json
    python -m benchmarks.bench_pretrain --report /tmp/pretrain.json

1. The machine: fp32 GFLOP/s of `tf.matmul` at the model's own shapes ([rows, H] x [H, I], rows = a
   training batch's positions) and at 2048², the best of 5 runs each, with TensorFlow's default threads.
2. FLOPs per token of the config (`flops_per_token`): the matmuls of the forward pass — per layer
   Q, K, V, O (4·2·H²), the feed-forward block (2·2·H·I) and attention (2·2·L·H) — the embedding projection
   (2·E·H) and the MLM head at the masked positions only (2·(H·E + E·V) per masked token), times 3 for
   the backward pass. The achievable tokens/s is GFLOP/s ÷ that; the fraction reached is the "efficiency".
3. The step: each setting in its own process — `AlbertForPreTraining` with LAMB, as `tf-albert pretrain`
   compiles it, fed from `pretraining_dataset` over data written once from `--corpus` with the tokenizer
   of `--tokenizer`; `--warmup` steps (tracing, compilation), then `--steps` timed steps. Tokens/s counts
   every position computed (padding included: what the matmul units do) and the real tokens separately.

Settings are `NAME:KEY=VALUE,...` with keys batch, seq (max_seq_length of the data), xla (0/1), buckets
(none/auto: `--length-buckets`), config (tiny/small).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SETTINGS = (
    "before:batch=32,seq=64,xla=0,buckets=none",
    "xla:batch=32,seq=64,xla=1,buckets=none",
    "batch128:batch=128,seq=64,xla=0,buckets=none",
    "batch128-xla:batch=128,seq=64,xla=1,buckets=none",
    "seq128-batch64:batch=64,seq=128,xla=0,buckets=none",
    "seq128-batch64-xla:batch=64,seq=128,xla=1,buckets=none",
)


def flops_per_token(config: dict, seq: int, masked_fraction: float) -> float:
    """Training FLOPs per position (forward matmuls x 3) of an ALBERT config at sequence length `seq`."""
    h, i, e, v = config["hidden_size"], config["intermediate_size"], config["embedding_size"], config["vocab_size"]
    layer = 4 * 2 * h * h + 2 * 2 * h * i + 2 * 2 * seq * h
    forward = config["num_hidden_layers"] * layer + 2 * e * h + masked_fraction * 2 * (h * e + e * v)
    return 3.0 * forward


def matmul_gflops(shapes, repeats: int = 5) -> dict:
    import numpy as np
    import tensorflow as tf

    out = {}
    for m, k, n in shapes:
        a = tf.constant(np.random.default_rng(0).standard_normal((m, k)), tf.float32)
        b = tf.constant(np.random.default_rng(1).standard_normal((k, n)), tf.float32)
        run = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
        run(a, b)
        loops = max(1, int(2e10 // (2 * m * k * n)))
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(loops):
                run(a, b).numpy()
            best = min(best, (time.perf_counter() - t0) / loops)
        out[f"{m}x{k}x{n}"] = round(2 * m * k * n / best / 1e9, 1)
    return out


def _config(name: str, vocab_size: int) -> dict:
    from tf_albert.training.pretrain import SMALL_CONFIG, TINY_CONFIG

    return {**{"tiny": TINY_CONFIG, "small": SMALL_CONFIG}[name], "vocab_size": vocab_size}


def worker(args) -> dict:
    """One setting, in this process: the timed training steps."""
    import keras
    import numpy as np

    from tf_albert import AlbertConfig, AlbertForPreTraining, AlbertTokenizer
    from tf_albert.training.metrics import MaskedAccuracy
    from tf_albert.training.optimization import create_optimizer
    from tf_albert.training.pretraining_data import pretraining_dataset, read_manifest

    o = dict(item.split("=", 1) for item in args.setting.split(":", 1)[1].split(","))
    batch, seq, xla = int(o["batch"]), int(o["seq"]), o.get("xla", "0") == "1"
    buckets = None if o.get("buckets", "none") == "none" else o["buckets"]
    data_dir = os.path.join(args.data, f"seq{seq}")
    read_manifest(data_dir)  # complete data, or an error
    keras.utils.set_random_seed(0)
    config = AlbertConfig(**_config(o.get("config", "tiny"), len(AlbertTokenizer.from_pretrained(args.tokenizer))))
    model = AlbertForPreTraining(config)
    model.build()
    total = args.warmup + args.steps
    model.compile(optimizer=create_optimizer("lamb", 2e-3, num_train_steps=10 * total, num_warmup_steps=total),
                  metrics=[MaskedAccuracy(name="mlm_accuracy")], jit_compile=xla)
    ds = pretraining_dataset(data_dir, batch, seed=0, length_buckets=buckets)
    positions = real = masked = 0
    for x, y in ds.take(args.steps):  # what the timed steps see (the dataset is seeded: the same batches)
        positions += int(np.prod(x["input_ids"].shape))
        real += int(x["attention_mask"].numpy().sum())
        masked += int((y["labels"].numpy() != -100).sum())
    model.fit(ds, steps_per_epoch=args.warmup, epochs=1, verbose=0)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(ds, steps_per_epoch=args.steps, epochs=1, verbose=0)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    masked_fraction = masked / positions
    # what this setting's steps cost in matmul FLOPs (average sequence length of its batches)
    flops = flops_per_token(config.to_dict(), positions / (args.steps * batch), masked_fraction) * positions
    return {"setting": args.setting, "seconds": seconds, "cpu_seconds": cpu, "positions_per_s": positions / seconds,
            "real_tokens_per_s": real / seconds, "padding": 1 - real / positions, "gflops": flops / seconds / 1e9,
            "parameters": int(model.count_params()), "config": o.get("config", "tiny"),
            "loadavg": os.getloadavg()}


def write_data(corpus: str, tokenizer: str, folder: str, seqs, max_lines: int) -> None:
    from tf_albert.tokenization import AlbertTokenizer
    from tf_albert.training.pretraining_data import PretrainingDataConfig, write_pretraining_data

    tok = AlbertTokenizer.from_pretrained(tokenizer)
    source = os.path.join(folder, "corpus.txt")
    with open(os.path.join(corpus, "corpus.txt") if os.path.isdir(corpus) else corpus, encoding="utf-8") as f:
        lines = [line for _, line in zip(range(max_lines), f)]
    with open(source, "w", encoding="utf-8") as f:
        f.writelines(lines)
    for seq in seqs:
        config = PretrainingDataConfig(max_seq_length=seq, max_predictions_per_seq=max(10, round(0.15 * seq)),
                                       dupe_factor=1, num_shards=1, eval_fraction=0.0)
        write_pretraining_data(source, tok, os.path.join(folder, f"seq{seq}"), config, log=lambda *_: None)


def report(records, machine) -> str:
    rows = ["| setting | params | tokens/s (positions) | real tokens/s | padding | GFLOP/s | of achievable "
            "| vs before | load |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    best = max(machine["matmul_gflops"].values())
    before = records[0]["positions_per_s"] if records else 1.0
    for r in records:
        rows.append(f"| {r['setting']} | {r['parameters']:,} | {r['positions_per_s']:.0f} | "
                    f"{r['real_tokens_per_s']:.0f} | {100 * r['padding']:.0f} % | {r['gflops']:.1f} | "
                    f"{100 * r['gflops'] / best:.0f} % | {r['positions_per_s'] / before:.2f}× | "
                    f"{r['loadavg'][0]:.1f} |")
    head = (f"matmul fp32 GFLOP/s (best of 5): {machine['matmul_gflops']}; achievable = the best, "
            f"{best:.0f} GFLOP/s")
    return head + "\n\n" + "\n".join(rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", default="/work/corpus/english")
    p.add_argument("--tokenizer", default=os.path.join(REPO, "tf_albert", "pretrained", "tf-albert-tiny"))
    p.add_argument("--settings", default=",".join(DEFAULT_SETTINGS).replace(",", ";"),
                   help="NAME:KEY=VALUE,... settings separated by ';'")
    p.add_argument("--lines", type=int, default=20000, help="corpus lines to write data from")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--json")
    p.add_argument("--report")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--setting", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if args.report:
        with open(args.report, encoding="utf-8") as f:
            saved = json.load(f)
        print(report(saved["records"], saved["machine"]))
        return
    settings = [s for s in args.settings.split(";") if s]
    with tempfile.TemporaryDirectory() as data:
        seqs = sorted({int(dict(i.split("=") for i in s.split(":", 1)[1].split(","))["seq"]) for s in settings})
        write_data(args.corpus, args.tokenizer, data, seqs, args.lines)
        machine = {"matmul_gflops": matmul_gflops([(32 * 64, 256, 1024), (64 * 128, 256, 1024), (2048, 2048, 2048)]),
                   "cpus": os.cpu_count()}
        print(machine, flush=True)
        records = []
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": REPO}
        for setting in settings:
            proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_pretrain", "--worker", "--setting",
                                   setting, "--data", data, "--tokenizer", args.tokenizer, "--warmup", str(args.warmup), "--steps",
                                   str(args.steps)], env=env, cwd=REPO, capture_output=True, text=True)
            if proc.returncode:
                print(f"{setting}: failed\n{proc.stderr[-3000:]}", flush=True)
                continue
            records.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(json.dumps(records[-1]), flush=True)
    print(report(records, machine))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"records": records, "machine": machine}, f, indent=1)


if __name__ == "__main__":
    main()
