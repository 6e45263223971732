"""`tf-albert finetune` on JAX killed after its first epoch and run again, with and without the compile cache
(`--out/compile_cache`, JAX's persistent compilation cache), side by side.

Each round, every run in its own fresh process:

1. the first sitting twice, in an empty run folder, ended as by a kill at the first batch of epoch 2: once
   with the cache (default) and once with `--compile-cache none` — what the cache costs a first run;
2. the cached sitting's folder copied without its cache; both folders resumed by the same command, one with
   the cache it filled and one with `--compile-cache none` — what the cache saves a resumed run.

The order of the two systems alternates between rounds; the ratios (cache / none) are taken per round and
reported as median (range), with the load average seen before each run.

    python -m benchmarks.bench_resume --rounds 5 --train 640 --test 400 --json /tmp/resume.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

from benchmarks.finetune_corpus import write_corpus
from benchmarks.processes import median_range, run_json_worker

SYSTEMS = ("cache", "none")


def worker(argv) -> int:
    """One `tf-albert finetune` process: prints `{"epoch_s": {epoch: seconds}, "total_s": ...}` as its last
    line; `--kill-after-first` ends it at once at the first batch of its second epoch (`os._exit`: nothing
    saved or closed, as a kill), after the first epoch's backup."""
    import time

    import keras

    import tf_albert.training.callbacks as C
    from tf_albert.cli import main

    kill = "--kill-after-first" in argv
    argv = [a for a in argv if a != "--kill-after-first"]
    epoch_s, started, stdout = {}, time.perf_counter(), sys.stdout

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t, self.first = time.perf_counter(), not epoch_s

        def on_train_batch_begin(self, batch, logs=None):
            if kill and not self.first:
                print(json.dumps({"epoch_s": epoch_s, "total_s": time.perf_counter() - started}), file=stdout,
                      flush=True)
                os._exit(0)

        def on_epoch_end(self, epoch, logs=None):
            epoch_s[epoch] = time.perf_counter() - self.t

    fit = C.fit_resumable
    C.fit_resumable = lambda *a, callbacks=(), **k: fit(*a, callbacks=[*callbacks, Timer()], **k)
    with open(os.devnull, "w") as quiet:  # the command's own JSON would be taken for the record
        sys.stdout = quiet
        try:
            status = main(argv)
        finally:
            sys.stdout = stdout
    print(json.dumps({"epoch_s": epoch_s, "total_s": time.perf_counter() - started, "status": status}))
    return status


def _run(args, system, out, kill):
    command = ["finetune", "--task", "classification", "--train", os.path.join(args.data, "train.jsonl"),
               "--eval", os.path.join(args.data, "test.jsonl"), "--model", args.model, "--epochs",
               str(args.epochs), "--out", out, "--quiet"]
    if system == "none":
        command += ["--compile-cache", "none"]
    load = os.getloadavg()[0]
    record, why = run_json_worker([sys.executable, "-m", "benchmarks.bench_resume", "--worker", *command,
                                   *(["--kill-after-first"] if kill else [])], args.timeout,
                                  {"KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"})
    if record is None:
        raise SystemExit(f"{system} run in {out} failed: {why}")
    record["load"] = load
    return record


def report(rounds) -> str:
    """The markdown table of the rounds' measurements: medians (ranges), the per-round ratios cache / none."""
    def first(r):
        return r["epoch_s"][min(r["epoch_s"], key=int)]

    def last(r):
        return r["epoch_s"][max(r["epoch_s"], key=int)]

    rows = [("a first run's first epoch, empty folder", "first", first),
            ("the resumed run's first epoch", "resumed", first),
            ("the resumed process, start to end", "resumed", lambda r: r["total_s"]),
            ("the resumed run's steady epoch", "resumed", last)]
    lines = ["| | with `--out/compile_cache` | `--compile-cache none` | cache / none, per round |",
             "|---|---:|---:|---:|"]
    for name, kind, value in rows:
        cache = [value(r[kind]["cache"]) for r in rounds]
        none = [value(r[kind]["none"]) for r in rounds]
        lines.append(f"| {name} | {median_range(cache, '.1f', ' s')} | {median_range(none, '.1f', ' s')} | "
                     f"{median_range([c / n for c, n in zip(cache, none)])} |")
    loads = [r[kind][s]["load"] for r in rounds for kind in ("first", "resumed") for s in SYSTEMS]
    sizes = sorted({r["cache_mb"] for r in rounds})
    lines.append(f"\n{len(rounds)} rounds; load average before the runs {min(loads):.1f}–{max(loads):.1f}; "
                 f"the cache folder held {sizes[0]:.1f}–{sizes[-1]:.1f} MB.")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker(argv[1:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="a folder with train.jsonl/test.jsonl (default: the corpus, made anew)")
    p.add_argument("--train", type=int, default=640, help="training sentences of the corpus")
    p.add_argument("--test", type=int, default=400, help="held-out sentences of the corpus")
    p.add_argument("--model", default="tf-albert-small", help="what `tf-albert finetune --model` gets")
    p.add_argument("--epochs", type=int, default=3,
                   help="the run's epochs (at least 3: resumed, then steady)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--timeout", type=int, default=1800, help="seconds per run")
    p.add_argument("--json", help="also write the rounds' records here")
    args = p.parse_args(argv)
    if args.epochs < 3:
        p.error("--epochs must be at least 3: the resumed run needs a first and a steady epoch")
    work = tempfile.mkdtemp(prefix="bench-resume-")
    if args.data is None:
        args.data = os.path.join(work, "data")
        write_corpus(args.data, args.train, args.test)
    rounds = []
    for n in range(args.rounds):
        order = SYSTEMS if n % 2 == 0 else SYSTEMS[::-1]
        record = {"first": {}, "resumed": {}}
        for system in order:
            out = os.path.join(work, f"round{n}-{system}")
            record["first"][system] = _run(args, system, out, kill=True)
        cached, bare = os.path.join(work, f"round{n}-cache"), os.path.join(work, f"round{n}-none")
        cache_dir = os.path.join(cached, "compile_cache")
        record["cache_mb"] = sum(os.path.getsize(os.path.join(cache_dir, f))
                                 for f in os.listdir(cache_dir)) / 2**20
        shutil.rmtree(bare)
        shutil.copytree(cached, bare, ignore=shutil.ignore_patterns("compile_cache"))
        for system in order:
            record["resumed"][system] = _run(args, system, cached if system == "cache" else bare, kill=False)
        rounds.append(record)
        print(f"# round {n}: " + json.dumps(record), flush=True)
        if args.json:
            with open(args.json + ".tmp", "w", encoding="utf-8") as f:
                json.dump({"argv": sys.argv, "rounds": rounds}, f, indent=1)
            os.replace(args.json + ".tmp", args.json)
    print(report(rounds))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
