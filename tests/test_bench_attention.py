"""benchmarks/bench_attention.py: its per-round ratios and its table, and one tiny real round."""

import json
import os
import subprocess
import sys

from benchmarks import bench_attention
from tests.helpers import REPO


def _record(backend, implementation, round_, seconds, load=1.0):
    return {"backend": backend, "implementation": implementation, "round": round_, "seconds": seconds,
            "load": [load, load + 0.2]}


def test_table_takes_the_ratio_per_round():
    records = []
    for r, (eager, sdpa) in enumerate([(2.0, 1.0), (3.0, 1.0), (1.0, 1.0)]):
        records += [_record("torch", "eager", r, {"8x128": eager}), _record("torch", "sdpa", r, {"8x128": sdpa})]
    records.append(_record("torch", "eager", 3, {"8x128": 9.0}))  # a round with one side only: left out
    [row] = [line for line in bench_attention.table(records).splitlines() if line.startswith("| torch")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    # medians of each side over the 3 paired rounds; per-round ratios 2, 3, 1: median 2, range 1-3
    assert cells == ["torch", "8x128", "2000.0", "1000.0", "2.00 (1.00-3.00)", "3", "sdpa", "1.0-1.2"]


def test_one_tiny_round_on_tensorflow(tmp_path):
    out = tmp_path / "attention.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_attention", "--backends", "tensorflow",
                           "--rounds", "1", "--layers", "1", "--calls", "1", "--shapes", "2x16",
                           "--json", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(out.read_text())["records"]
    assert sorted(r["implementation"] for r in records) == ["eager", "sdpa"]
    assert all(r["backend"] == "tensorflow" and r["seconds"]["2x16"] > 0 for r in records)
    assert "| tensorflow | 2x16 |" in proc.stdout


def test_accelerator_checks_pretrain_command_is_one_the_command_accepts():
    """(d) of benchmarks/accelerator_check.py runs `tf-albert pretrain`: every flag it passes exists and the
    values parse into the run it means (tf-albert-small continued with a time budget, bf16, XLA)."""
    from benchmarks import accelerator_check
    from tf_albert.training.pretrain_options import build_parser, pretrain_arguments

    cmd = accelerator_check.pretrain_command("corpus.txt", "out", 300.7, 1024)
    assert cmd[1:4] == ["-m", "tf_albert.cli", "pretrain"]
    run = pretrain_arguments(build_parser().parse_args(cmd[4:]))
    assert run["train_seconds"] == 300 and run["batch_size"] == 1024 and run["jit_compile"] is True
    assert run["init_checkpoint"].endswith(os.path.join("pretrained", "tf-albert-small"))
