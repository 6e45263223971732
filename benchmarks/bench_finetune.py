"""Fine-tuning on real-length text, side by side: tf_albert (XLA and the CPU default, length-grouped and as
before), KerasHub's AlbertTextClassifier (its preprocessor at its default sequence length and at 128) and HF
PyTorch (dynamic padding, and HF's length-grouped sampler). One process per run, the systems interleaved.

    python -m benchmarks.bench_finetune --json /tmp/ft.json                    # the issue's table
    python -m benchmarks.bench_finetune --systems tf_albert@xla=0,hf_torch@group=1 --epochs 2
    python -m benchmarks.bench_finetune --seeds 0,1,2 --systems SPEC,...       # held-out accuracy over seeds
    python -m benchmarks.bench_finetune --report /tmp/ft.json                  # the tables again
    python -m benchmarks.bench_finetune --config small4 --train 640 --rounds 5 \
        --systems hf_torch@group=1,tf_albert@xla=0,tf_albert@xla=1             # issue 26's first-epoch table

The corpus (`benchmarks/finetune_corpus.py`): docstring sentences of the Python standard library, labelled
with one of 4 topics, 1,000 for training and 400 held out (`--train`, `--test`); median ≈ 17 tokens, a
tail to 128. Every run: the same architecture (`--config base4`: albert-base widths, 4 layers; random
weights), AdamW with warm-up and linear decay, batch 32, `--epochs` epochs, then held-out accuracy.

Per run: the seconds of each epoch (the first includes tracing/compilation; "steady" is the median of the
others; "compile" = first - steady), padding waste (share of computed positions that are padding), the
distinct batch shapes (each a compilation under XLA), peak RSS, held-out accuracy and the machine's load
before and after. KerasHub runs in `--kerashub-python`, HF in `--hf-python` (their own venvs); a system
whose interpreter is missing is left out with a note.

`--rounds N` runs every system N times, interleaved (each round starts one system later), and reports
each tf_albert run's ratios to HF's length-grouped run per round: the median and range over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile

from benchmarks import processes
from benchmarks.finetune_corpus import write_corpus
from benchmarks.finetune_workers import SYSTEMS

# Interleaved: ours and theirs take turns, so drift in the machine's load hits both alike.
DEFAULT_SYSTEMS = ("hf_torch@group=1,tf_albert@xla=1,hf_torch@group=0,tf_albert@xla=0,keras_hub@seq=128,"
                   "tf_albert@xla=1+group=0,tf_albert@xla=0+group=0,keras_hub@seq=512")
PYTHONS = {"keras_hub": "/work/venvs/kerashub/bin/python", "hf_torch": "/work/venvs/hf5/bin/python"}


def parse_spec(spec: str) -> tuple[str, dict]:
    """'tf_albert@xla=1+group=0' → ('tf_albert', {'xla': '1', 'group': '0'})."""
    return processes.parse_spec(spec, sorted(SYSTEMS), "system", "--systems")


def label(spec: str) -> str:
    """A row name: 'tf_albert@xla=1' → 'tf_albert, XLA, length-grouped'."""
    system, o = parse_spec(spec)
    if system == "tf_albert":
        words = ["XLA" if o.get("xla", "1") == "1" else "no XLA",
                 "length-grouped" if o.get("group", "1") == "1" else "shuffled (before)"]
        if o.get("backend", "tensorflow") != "tensorflow":
            words.insert(0, {"jax": "JAX", "torch": "PyTorch"}.get(o["backend"], o["backend"]))
        words += [f"{k}={v}" for k, v in o.items() if k not in ("xla", "group", "backend")]
        return "tf_albert, " + ", ".join(words)
    if system == "keras_hub":
        return f"KerasHub AlbertTextClassifier, seq {o.get('seq', '512')}"
    return "HF PyTorch, " + ("LengthGroupedSampler" if o.get("group", "0") == "1" else "dynamic padding")


def run_worker(python: str, spec: str, args, seed: int) -> dict:
    system, options = parse_spec(spec)
    cmd = [python, "-m", "benchmarks.finetune_workers", "--system", system, "--data", args.data,
           "--config", args.config, "--epochs", str(args.epochs), "--batch", str(args.batch),
           "--learning-rate", str(args.learning_rate), "--seed", str(seed)]
    for key, value in options.items():
        cmd += ["--option", f"{key}={value}"]
    record, error = processes.run_json_worker(cmd, args.timeout)
    if error is not None:
        return {"spec": spec, "seed": seed, "error": error}
    record["spec"] = spec
    return record


def summarize(record: dict) -> dict:
    """The table's numbers of one run."""
    if "error" in record:
        return {"error": record["error"]}
    epochs, cpu = record["epoch_s"], record.get("epoch_cpu_s") or [None]
    steady = statistics.median(epochs[1:]) if len(epochs) > 1 else None
    return {
        "first_s": epochs[0], "steady_s": steady,
        "steady_cpu_s": statistics.median(cpu[1:]) if len(cpu) > 1 else None,
        "compile_s": None if steady is None else epochs[0] - steady,
        "waste": 1 - record["real_tokens"] / record["padded_tokens"], "shapes": len(record["shapes"]),
        "peak_rss_mb": record["peak_rss_mb"], "accuracy": record["accuracy"],
        "load": (min(record["loadavg_before"][0], record["loadavg_after"][0]),
                 max(record["loadavg_before"][0], record["loadavg_after"][0])),
    }


def _fmt(value, spec, suffix=""):
    return "—" if value is None else format(value, spec) + suffix


def _cells(records):
    cells = {}
    for r in records:
        cells.setdefault(r["spec"], []).append(summarize(r))
    out = {}
    for spec, runs in cells.items():
        ok = [c for c in runs if "error" not in c]
        if not ok:
            out[spec] = runs[-1]
            continue
        cell = {}
        for k in ("first_s", "steady_s", "steady_cpu_s", "compile_s", "waste", "shapes", "peak_rss_mb"):
            values = [c[k] for c in ok if c[k] is not None]
            cell[k] = statistics.median(values) if values else None
        accuracies = [c["accuracy"] for c in ok]
        cell.update(accuracy=statistics.mean(accuracies), accuracy_sd=statistics.pstdev(accuracies),
                    accuracies=accuracies, runs=len(ok),
                    load=(min(c["load"][0] for c in ok), max(c["load"][1] for c in ok)))
        out[spec] = cell
    return out


def format_table(records, specs) -> str:
    """Markdown: one row per system (medians over its runs; accuracy: mean ± sd over runs/seeds), then the
    ratios of each tf_albert run against HF's length-grouped run and KerasHub at 128."""
    cells = _cells(records)
    lines = ["| system | 1st epoch s | steady epoch s | steady epoch CPU s | compile s | padding waste | "
             "shapes | peak RSS MB | held-out acc. | runs | load (1-min) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for spec in specs:
        c = cells.get(spec)
        if c is None:
            continue
        if "error" in c:
            lines.append(f"| {label(spec)} | {c['error'][:120]} ||||||||||")
            continue
        acc = f"{c['accuracy']:.3f}" + (f" ± {c['accuracy_sd']:.3f}" if c["runs"] > 1 else "")
        lines.append(f"| {label(spec)} | {_fmt(c['first_s'], '.1f')} | {_fmt(c['steady_s'], '.1f')} | "
                     f"{_fmt(c['steady_cpu_s'], '.1f')} | {_fmt(c['compile_s'], '.1f')} | "
                     f"{_fmt(100 * c['waste'], '.0f', ' %')} | {c['shapes']:.0f} | {c['peak_rss_mb']:.0f} | "
                     f"{acc} | {c['runs']} | {c['load'][0]:.1f}–{c['load'][1]:.1f} |")
    references = [s for s in specs if s in cells and "error" not in cells[s] and (
        s.startswith("hf_torch") and parse_spec(s)[1].get("group") == "1"
        or s.startswith("keras_hub") and parse_spec(s)[1].get("seq") == "128")]
    ours = [s for s in specs if s.startswith("tf_albert") and s in cells and "error" not in cells[s]]
    if references and ours:
        lines += ["", "Ratios: steady-epoch speed = their steady epoch / ours (> 1: tf_albert faster); "
                  "first-epoch time = our first epoch / theirs (< 1: tf_albert faster).", "",
                  "| tf_albert | vs | steady-epoch speed | first-epoch time |", "|---|---|---:|---:|"]
        for mine in ours:
            for ref in references:
                a, b = cells[mine], cells[ref]
                steady = b["steady_s"] / a["steady_s"] if a["steady_s"] and b["steady_s"] else None
                lines.append(f"| {label(mine)} | {label(ref)} | {_fmt(steady, '.2f', '×')} | "
                             f"{_fmt(a['first_s'] / b['first_s'], '.2f', '×')} |")
    return "\n".join(lines)


def round_ratios(records, specs) -> list[dict]:
    """Per tf_albert system and HF's length-grouped reference: the first-epoch time ratio (ours / theirs) and
    the steady-epoch speed ratio (theirs / ours) of each round both ran in, with their median and range."""
    by_round = {}
    for r in records:
        if "error" not in r:
            by_round.setdefault(r.get("round", 0), {})[r["spec"]] = summarize(r)
    refs = [s for s in specs if s.startswith("hf_torch") and parse_spec(s)[1].get("group") == "1"]
    out = []
    for mine in (s for s in specs if s.startswith("tf_albert")):
        for ref in refs:
            first, steady, loads = [], [], []
            for cells in by_round.values():
                if mine in cells and ref in cells:
                    a, b = cells[mine], cells[ref]
                    first.append(a["first_s"] / b["first_s"])
                    if a["steady_s"] and b["steady_s"]:
                        steady.append(b["steady_s"] / a["steady_s"])
                    loads += [*a["load"], *b["load"]]
            if first:
                out.append({"ours": mine, "ref": ref, "first": first, "steady": steady,
                            "load": (min(loads), max(loads))})
    return out


def format_round_ratios(rows) -> str:
    def cell(values):
        if not values:
            return "—"
        return processes.median_range(values)

    lines = ["Per round (each system in its own process, interleaved): first-epoch time = our first epoch / "
             "HF's (≤ 1: as fast or faster); steady-epoch speed = HF's steady epoch / ours (> 1: faster). "
             "Median (range) over the rounds.", "",
             "| tf_albert | rounds | first-epoch time vs HF | steady-epoch speed vs HF | load (1-min) |",
             "|---|---:|---:|---:|---|"]
    for row in rows:
        lines.append(f"| {label(row['ours'])} | {len(row['first'])} | {cell(row['first'])} | "
                     f"{cell(row['steady'])} | {row['load'][0]:.1f}–{row['load'][1]:.1f} |")
    return "\n".join(lines)


def report(records, specs, machine=None, note="") -> None:
    if machine:
        print("# machine: " + "; ".join(f"{k}: {v}" for k, v in machine.items()))
    if note:
        print(note)
    print(format_table(records, specs))
    print()
    rows = round_ratios(records, specs)
    if rows and max(len(r["first"]) for r in rows) > 1:
        print(format_round_ratios(rows))
        print()
    for spec in specs:
        versions = next((r.get("versions") for r in records if r["spec"] == spec and "versions" in r), None)
        if versions:
            print(f"{label(spec)}: " + ", ".join(f"{k} {v}" for k, v in versions.items()))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", default=DEFAULT_SYSTEMS, help="comma-separated SYSTEM@KEY=VALUE+... runs")
    p.add_argument("--data", help="a folder with train.jsonl/test.jsonl (default: the corpus, made anew)")
    p.add_argument("--train", type=int, default=1000, help="training sentences of the corpus")
    p.add_argument("--test", type=int, default=400, help="held-out sentences of the corpus")
    p.add_argument("--config", default="base4", choices=("base4", "base2", "small4", "tiny"))
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--seeds", default="0", help="comma-separated seeds: one run per system and seed")
    p.add_argument("--rounds", type=int, default=1,
                   help="runs of every system per seed, interleaved; ratios to HF per round")
    p.add_argument("--kerashub-python", default=PYTHONS["keras_hub"])
    p.add_argument("--hf-python", default=PYTHONS["hf_torch"])
    p.add_argument("--timeout", type=int, default=3600, help="seconds per run")
    p.add_argument("--json", help="also write every record and the machine description here")
    p.add_argument("--report", nargs="+", metavar="JSON",
                   help="run nothing: print the tables of earlier runs")
    args = p.parse_args(argv)
    if args.report:
        data = [json.load(open(path)) for path in args.report]
        records = [r for d in data for r in d["records"]]
        report(records, list(dict.fromkeys(r["spec"] for r in records)), data[0].get("machine"))
        return 0
    specs = [s for s in args.systems.split(",") if s]
    for spec in specs:
        parse_spec(spec)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    pythons = {"tf_albert": sys.executable, "keras_hub": args.kerashub_python, "hf_torch": args.hf_python}
    for spec in list(specs):
        python = pythons[parse_spec(spec)[0]]
        if not os.path.exists(python):
            print(f"# {spec} left out: no interpreter at {python}", file=sys.stderr)
            specs.remove(spec)
    if args.data is None:
        args.data = tempfile.mkdtemp(prefix="finetune-corpus-")
        write_corpus(args.data, args.train, args.test)
    from benchmarks.run import machine_description

    machine = machine_description()
    records = []
    plan = [(seed, n) for seed in seeds for n in range(args.rounds)]
    for k, (seed, n) in enumerate(plan):
        order = specs[k % len(specs):] + specs[:k % len(specs)]
        for spec in order:
            record = run_worker(pythons[parse_spec(spec)[0]], spec, args, seed)
            record["round"] = k
            records.append(record)
            s = summarize(record)
            print(f"# {spec:32} seed {seed} round {n} " + (s.get("error") or (
                f"epochs {[round(x, 1) for x in record['epoch_s']]} waste {s['waste']:.0%} "
                f"shapes {s['shapes']} acc {s['accuracy']:.3f} load {s['load'][0]:.1f}-{s['load'][1]:.1f}")),
                flush=True)
            if args.json:  # rewritten after every run, so an interrupted run keeps what it measured
                with open(args.json + ".tmp", "w") as f:
                    json.dump({"machine": machine, "argv": sys.argv, "records": records}, f, indent=1)
                os.replace(args.json + ".tmp", args.json)
    print()
    report(records, specs, machine, f"config {args.config}, {args.train} training / {args.test} held-out "
           f"sentences, batch {args.batch}, {args.epochs} epochs, seeds {seeds}")
    return 1 if records and all("error" in r for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
