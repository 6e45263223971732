"""Side-by-side benchmark: tf_albert vs KerasHub vs HF PyTorch vs HF v4 TFAlbert, one process per run.

    python -m benchmarks.run                       # the full table (albert-base, 3 shapes, 3 repeats)
    python -m benchmarks.run --shapes 8x128 --repeats 1 --libs tf_albert,keras_hub
    python -m benchmarks.run --config tiny --shapes 2x16 --repeats 1 --steps 1   # seconds (smoke test)
    python -m benchmarks.run --report a.json b.json   # the tables again, from saved runs (pooled)

Every (library, shape, mode) measurement runs in a fresh process (benchmarks/workers.py), and the
libraries take turns within each repeat (the order rotates from one repeat to the next), so slow drift in
the machine's load hits every library alike; each cell is the median over repeats. The load average is
recorded next to every measurement and printed with the table: numbers taken on a busy machine are
only good as ratios, and even those get noisy.

HF v4 TFAlbert needs transformers 4.x + tf-keras, which cannot share a venv with transformers 5: give
that venv's interpreter with `--hf4-python` (default /work/venv-hf4/bin/python when it exists, else the
library is left out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

from benchmarks import processes
from benchmarks.workers import CONFIGS, LIBS

DEFAULT_HF4_PYTHON = "/work/venv-hf4/bin/python"
LABELS = {"tf_albert": "tf_albert", "keras_hub": "KerasHub", "hf_torch": "HF PyTorch", "hf_tf": "HF v4 TFAlbert"}
TF_LIBS = ("tf_albert", "keras_hub", "hf_tf")
# tf_albert first without XLA: that is what Keras' default (jit_compile="auto") gives fit/predict on a CPU,
# and the faster setting here (oneDNN matmuls beat XLA:CPU's); the XLA run is listed too.
DEFAULT_LIBS = "tf_albert@xla=0,tf_albert,keras_hub,keras_hub@xla=0,hf_torch,hf_tf"


def parse_spec(spec):
    """'keras_hub@xla=0+foo=1' → ('keras_hub', {'xla': '0', 'foo': '1'})."""
    return processes.parse_spec(spec, LIBS, "library", "--libs")


def label(spec, extra_options=()):
    """'keras_hub@xla=0' → 'KerasHub (no XLA)'; TF libraries run with XLA unless xla=0."""
    lib, options = parse_spec(spec)
    for item in extra_options:
        key, _, value = item.partition("=")
        options.setdefault(key, value)
    words = []
    if lib in TF_LIBS:
        words.append("no XLA" if options.pop("xla", "1") == "0" else "XLA")
    words += [f"{k}={v}" for k, v in options.items()]
    return LABELS[lib] + (f" ({', '.join(words)})" if words else "")


def parse_shapes(text):
    shapes = []
    for item in text.split(","):
        try:
            b, l = item.lower().split("x")
            shapes.append((int(b), int(l)))
        except ValueError:
            raise SystemExit(f"--shapes takes BATCHxSEQ_LEN[,...], e.g. 8x128; got {item!r}") from None
    return shapes


def run_worker(python, spec, args, timeout, extra_env=None):
    """Runs one measurement in a fresh process; returns its JSON record (or one with an `error`)."""
    lib, options = parse_spec(spec) if spec != "matmul" else (spec, {})
    cmd = [python, "-m", "benchmarks.workers", "--lib", lib, *args]
    for key, value in options.items():
        cmd += ["--option", f"{key}={value}"]
    record, error = processes.run_json_worker(cmd, timeout, extra_env)
    if error is not None:
        return {"lib": lib, "spec": spec, "error": error}
    record["spec"] = spec
    return record


def machine_description():
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=False).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "L3 cache", "Flags"):
                value = value.strip()
                if key.strip() == "Flags":
                    value = " ".join(f for f in value.split() if f.startswith(("avx", "fma", "amx")))
                info[key.strip()] = value
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        with open("/proc/meminfo") as f:
            info["MemTotal"] = f.readline().split(":")[1].strip()
    except OSError:
        pass
    return info


def aggregate(records):
    """{(spec, batch, seq_len, mode): cell} with medians over repeats and the load seen."""
    groups = {}
    for r in records:
        if r.get("lib") == "matmul":
            continue
        groups.setdefault((r.get("spec", r["lib"]), r["batch"], r["seq_len"], r["mode"]), []).append(r)
    cells = {}
    for key, runs in groups.items():
        ok = [r for r in runs if "error" not in r]
        cell = {"runs": len(runs), "ok": len(ok)}
        if not ok:
            cell["error"] = runs[-1]["error"]
        else:
            for field in ("step_s", "first_s", "peak_rss_mb", "tokens_per_s", "step_cpu_s"):
                if field in ok[0]:
                    cell[field] = statistics.median(r[field] for r in ok)
            cell["versions"] = ok[-1]["versions"]
        loads = [r["loadavg_before"][0] for r in runs if "loadavg_before" in r]
        loads += [r["loadavg_after"][0] for r in runs if "loadavg_after" in r]
        if loads:
            cell["load"] = (min(loads), max(loads))
        cells[key] = cell
    return cells


def _fmt(value, spec):
    return "—" if value is None else format(value, spec)


def _ratio(num, den):
    return None if num is None or den is None or den == 0 else num / den


def format_tables(cells, shapes, specs, matmul, matmul_n=2048, labels=None):
    """Markdown: raw numbers per shape and library, then every tf_albert run's ratios against every
    other library's."""
    labels = labels or {spec: label(spec) for spec in specs}
    lines = [("| shape | library | fwd tok/s | fwd 1st call s | fwd peak RSS MB | train step s | "
              "train step CPU s | 1st train step s | train peak RSS MB | load (1-min) |"),
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for b, l in shapes:
        for spec in specs:
            fwd, tr = cells.get((spec, b, l, "forward"), {}), cells.get((spec, b, l, "train"), {})
            if not (fwd or tr):
                continue
            present = [c for c in (fwd, tr) if c]
            if all("error" in c for c in present):
                error = present[0]["error"]
                lines.append(f"| {b}×{l} | {labels[spec]} | {error[:100]} ||||||||")
                continue
            loads = [c["load"] for c in (fwd, tr) if "load" in c]
            load = (f"{min(x[0] for x in loads):.1f}–{max(x[1] for x in loads):.1f}" if loads else "—")
            lines.append(
                f"| {b}×{l} | {labels[spec]} | {_fmt(fwd.get('tokens_per_s'), '.0f')} | "
                f"{_fmt(fwd.get('first_s'), '.1f')} | {_fmt(fwd.get('peak_rss_mb'), '.0f')} | "
                f"{_fmt(tr.get('step_s'), '.2f')} | {_fmt(tr.get('step_cpu_s'), '.2f')} | "
                f"{_fmt(tr.get('first_s'), '.1f')} | "
                f"{_fmt(tr.get('peak_rss_mb'), '.0f')} | {load} |"
            )
    ours = [spec for spec in specs if parse_spec(spec)[0] == "tf_albert"]
    others = [spec for spec in specs if parse_spec(spec)[0] != "tf_albert"]
    if ours and others:
        lines += ["", ("Ratios of tf_albert against each library: speeds > 1 and time / memory < 1 mean "
                       "tf_albert is better."), "",
                  ("| shape | tf_albert | vs | forward speed | forward speed (CPU s) | train step speed | "
                   "train step speed (CPU s) | 1st train step time | train peak RSS |"),
                  "|---|---|---|---:|---:|---:|---:|---:|---:|"]
        for b, l in shapes:
            for mine in ours:
                ours_f, ours_t = cells.get((mine, b, l, "forward"), {}), cells.get((mine, b, l, "train"), {})
                for spec in others:
                    f, t = cells.get((spec, b, l, "forward"), {}), cells.get((spec, b, l, "train"), {})
                    lines.append(
                        f"| {b}×{l} | {labels[mine]} | {labels[spec]} | "
                        f"{_fmt(_ratio(ours_f.get('tokens_per_s'), f.get('tokens_per_s')), '.2f')}× | "
                        f"{_fmt(_ratio(f.get('step_cpu_s'), ours_f.get('step_cpu_s')), '.2f')}× | "
                        f"{_fmt(_ratio(t.get('step_s'), ours_t.get('step_s')), '.2f')}× | "
                        f"{_fmt(_ratio(t.get('step_cpu_s'), ours_t.get('step_cpu_s')), '.2f')}× | "
                        f"{_fmt(_ratio(ours_t.get('first_s'), t.get('first_s')), '.2f')}× | "
                        f"{_fmt(_ratio(ours_t.get('peak_rss_mb'), t.get('peak_rss_mb')), '.2f')}× |"
                    )
    if matmul:
        g = {}
        for m in matmul:
            for name, value in m.get("gflops", {}).items():
                g.setdefault(name, []).append(value)
        if g:
            lines += ["", f"Machine fp32 matmul ({matmul_n}³), median GFLOP/s: "
                      + ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in g.items())]
    return "\n".join(lines)


def forward_mflop_per_token(config, seq_len):
    """Multiply-adds ×2 of the encoder per token (projections, FFN, attention scores and context)."""
    h, i, n = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    e = config["embedding_size"]
    per_layer = 2 * (4 * h * h + 2 * h * i) + 2 * 2 * seq_len * h
    return (n * per_layer + 2 * e * h) / 1e6


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--libs", default=DEFAULT_LIBS,
                   help=f"comma-separated runs, each a library of {','.join(LIBS)} with optional "
                        "@KEY=VALUE[+KEY=VALUE] options (xla=0|1, threads=N, an AlbertEncoder attribute)")
    p.add_argument("--shapes", default="1x128,8x128,8x512", help="BATCHxSEQ_LEN,...")
    p.add_argument("--modes", default="forward,train")
    p.add_argument("--config", choices=sorted(CONFIGS), default="base")
    p.add_argument("--repeats", type=int, default=3, help="processes per cell; the cell is their median")
    p.add_argument("--steps", type=int, default=5, help="timed forward calls per process (after the first)")
    p.add_argument("--train-steps", type=int, default=3, help="timed train steps per process (after the first)")
    p.add_argument("--hf4-python", default=DEFAULT_HF4_PYTHON,
                   help="interpreter of a venv with transformers 4.x + tf-keras, for hf_tf")
    p.add_argument("--option", action="append", default=[], metavar="LIB:KEY=VALUE",
                   help="passed to that library's worker, e.g. tf_albert:gradient_checkpointing=1, "
                        "keras_hub:xla=0")
    p.add_argument("--matmul-n", type=int, default=2048, help="size of the square fp32 matmul that gauges the CPU")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per worker process")
    p.add_argument("--json", help="also write every raw record and the machine description here")
    p.add_argument("--report", nargs="+", metavar="JSON",
                   help="run nothing: print the tables from earlier --json files (records pooled)")
    args = p.parse_args(argv)
    if args.report:
        return report_from_json(args.report)

    specs = [x for x in args.libs.split(",") if x]
    for spec in specs:
        parse_spec(spec)
    modes = [m for m in args.modes.split(",") if m]
    if any(m not in ("forward", "train") for m in modes):
        raise SystemExit(f"--modes takes forward,train; got {args.modes!r}")
    shapes = parse_shapes(args.shapes)
    if any(parse_spec(spec)[0] == "hf_tf" for spec in specs) and not os.path.exists(args.hf4_python):
        print(f"# hf_tf left out: no interpreter at {args.hf4_python} (see --hf4-python)", file=sys.stderr)
        specs = [spec for spec in specs if parse_spec(spec)[0] != "hf_tf"]
    pythons = {spec: args.hf4_python if parse_spec(spec)[0] == "hf_tf" else sys.executable for spec in specs}
    options = {spec: [] for spec in specs}
    for item in args.option:
        lib, sep, kv = item.partition(":")
        if not sep or lib not in LIBS or "=" not in kv:
            raise SystemExit(f"--option takes LIB:KEY=VALUE with LIB in {list(LIBS)}; got {item!r}")
        for spec in specs:
            if parse_spec(spec)[0] == lib:
                options[spec] += ["--option", kv]
    labels = {spec: label(spec, options[spec][1::2]) for spec in specs}

    machine = machine_description()
    print("# machine: " + "; ".join(f"{k}: {v}" for k, v in machine.items()), flush=True)
    records, matmul = [], []

    def log(record):
        records.append(record)
        if args.json:  # rewritten after every process, so an interrupted run keeps what it measured
            with open(args.json + ".tmp", "w") as f:
                json.dump({"machine": machine, "argv": sys.argv, "records": records}, f, indent=1)
            os.replace(args.json + ".tmp", args.json)
        shape = f"{record.get('batch')}x{record.get('seq_len')}"
        what = record.get("error") or (
            f"step {record['step_s']:.3f}s first {record['first_s']:.1f}s peak {record['peak_rss_mb']:.0f}MB"
            if "step_s" in record else json.dumps(record.get("gflops")))
        load = record.get("loadavg_before", [float("nan")])[0]
        if record["lib"] == "matmul":
            shape = ""
        print(f"# {record.get('spec', record['lib']):20} {record.get('mode', ''):7} {shape:7} load {load:4.1f}  "
              f"{what}", flush=True)

    matmul.append(run_worker(sys.executable, "matmul", ["--matmul-n", str(args.matmul_n)], args.timeout))
    log(matmul[-1])
    for repeat in range(args.repeats):
        order = specs[repeat % len(specs):] + specs[:repeat % len(specs)]
        for b, l in shapes:
            for mode in modes:
                steps = args.steps if mode == "forward" else args.train_steps
                for spec in order:
                    worker_args = ["--mode", mode, "--config", args.config, "--batch", str(b),
                                   "--seq-len", str(l), "--steps", str(steps), *options[spec]]
                    env = {"TF_USE_LEGACY_KERAS": "1"} if parse_spec(spec)[0] == "hf_tf" else None
                    log(run_worker(pythons[spec], spec, worker_args, args.timeout, env))
    matmul.append(run_worker(sys.executable, "matmul", ["--matmul-n", str(args.matmul_n)], args.timeout))
    log(matmul[-1])

    report(records, matmul, shapes, specs, labels, args.config,
           f"{args.steps} timed forward calls / {args.train_steps} timed train steps per process after the first",
           args.matmul_n)
    failed = [r for r in records if "error" in r]
    return 1 if failed and len(failed) == len(records) else 0


def report(records, matmul, shapes, specs, labels, config, note, matmul_n):
    cells = aggregate(records)
    counts = sorted({c["runs"] for c in cells.values()})
    print()
    print(f"config {config}; each cell is the median of {'/'.join(map(str, counts))} process(es); {note}")
    gflops = [m["gflops"].get("tensorflow") for m in matmul if "gflops" in m]
    gflops = statistics.median([g for g in gflops if g]) if any(gflops) else None
    for seq_len in sorted({l for _, l in shapes}):
        mflop = forward_mflop_per_token(CONFIGS[config], seq_len)
        bound = f", ≤ {gflops * 1e3 / mflop:.0f} tokens/s at the measured matmul rate" if gflops else ""
        print(f"forward at L={seq_len}: {mflop:.1f} MFLOP/token{bound}")
    print(format_tables(cells, shapes, specs, matmul, matmul_n=matmul_n, labels=labels))
    print()
    for spec in specs:
        versions = next((c["versions"] for k, c in cells.items() if k[0] == spec and "versions" in c), {})
        print(f"{labels[spec]}: " + ", ".join(f"{k} {v}" for k, v in versions.items()))


def report_from_json(paths):
    """Re-prints the tables from one or more --json files (their records pooled, e.g. two sessions)."""
    records = []
    for path in paths:
        with open(path) as f:
            records += json.load(f)["records"]
    matmul = [r for r in records if r.get("lib") == "matmul" and "gflops" in r]
    runs = [r for r in records if r.get("lib") != "matmul" and "batch" in r]
    specs = list(dict.fromkeys(r.get("spec", r["lib"]) for r in runs))
    shapes = list(dict.fromkeys((r["batch"], r["seq_len"]) for r in runs))
    config = runs[0]["config"] if runs else "base"
    report(runs, matmul, shapes, specs, {spec: label(spec) for spec in specs}, config,
           f"pooled from {', '.join(paths)}", matmul[0].get("matmul_n", 2048) if matmul else 2048)
    return 0


if __name__ == "__main__":
    sys.exit(main())
