"""What the benchmark drivers (run.py, bench_finetune.py, bench_resume.py) share: the `name@key=value+...`
spec of a system to measure, one measurement run in a fresh process that prints its record as a JSON line,
and how a set of per-round values is written in a table (median and range)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_spec(spec: str, choices, what: str, flag: str) -> tuple[str, dict]:
    """'keras_hub@xla=0+foo=1' → ('keras_hub', {'xla': '0', 'foo': '1'}).

    Args:
        spec: the spec as given on the command line.
        choices: the known names, in the order the error lists them.
        what: what a name is, for errors ("library", "system").
        flag: the command-line option the spec came from, for errors ("--libs").

    Returns:
        The name and its options (values are strings).

    Raises:
        SystemExit: an unknown name, or an option that is not KEY=VALUE.
    """
    name, _, rest = spec.partition("@")
    if name not in choices:
        raise SystemExit(f"unknown {what} {name!r} in {flag}; choose from {list(choices)}")
    options = {}
    for item in filter(None, rest.split("+")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{what} options take KEY=VALUE joined by '+', got {spec!r}")
        options[key] = value
    return name, options


def run_json_worker(cmd: list, timeout: float, extra_env: dict | None = None) -> tuple[dict | None, str | None]:
    """Runs `cmd` from the repository root (the repository on PYTHONPATH, TensorFlow's start-up chatter off).

    Args:
        cmd: the command, e.g. `[python, "-m", "benchmarks.workers", ...]`.
        timeout: seconds before the process is killed.
        extra_env: environment variables to set on top of this process's.

    Returns:
        `(record, None)`: the last line the process printed that starts with "{", parsed, plus `wall_s`; or
        `(None, why)` when it timed out, failed or printed no record.
    """
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "TF_CPP_MIN_LOG_LEVEL": "2", **(extra_env or {})}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return None, f"exit {proc.returncode}: " + " | ".join(tail)
    record = json.loads(lines[-1])
    record["wall_s"] = time.perf_counter() - t0
    return record, None


def median_range(values, fmt: str = ".2f", unit: str = "×") -> str:
    """Per-round values as a table cell: their median, then their range.

    >>> median_range([1.1, 0.9, 1.3])
    '1.10× (0.90–1.30)'
    >>> median_range([36.6, 31.3, 38.5], ".1f", " s")
    '36.6 s (31.3–38.5)'
    """
    return f"{statistics.median(values):{fmt}}{unit} ({min(values):{fmt}}–{max(values):{fmt}})"
