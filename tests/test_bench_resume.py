"""The compile-cache benchmark (benchmarks/bench_resume.py): the table's arithmetic, and (`-m slow`) one
round end to end on the embedded tiny model. No timing assertions."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from benchmarks import bench_resume as bench  # noqa: E402


def _run(epochs, total, load):
    return {"epoch_s": {str(k): v for k, v in epochs.items()}, "total_s": total, "load": load}


def _round(first, resumed, cache_mb=1.5, load=1.0):
    """first / resumed: {system: (epoch seconds by epoch, total seconds)}."""
    return {"first": {s: _run(*first[s], load) for s in bench.SYSTEMS},
            "resumed": {s: _run(*resumed[s], load + 0.5) for s in bench.SYSTEMS}, "cache_mb": cache_mb}


def test_table_takes_ratios_per_round_and_medians_and_ranges():
    rounds = [
        _round({"cache": ({0: 30.0}, 40), "none": ({0: 30.0}, 40)},
               {"cache": ({1: 20.0, 2: 10.0}, 50), "none": ({1: 40.0, 2: 10.0}, 100)}, load=0.5),
        _round({"cache": ({0: 33.0}, 40), "none": ({0: 30.0}, 40)},
               {"cache": ({1: 12.0, 2: 11.0}, 60), "none": ({1: 20.0, 2: 10.0}, 80)}, cache_mb=2.0),
        _round({"cache": ({0: 27.0}, 40), "none": ({0: 30.0}, 40)},
               {"cache": ({1: 30.0, 2: 9.0}, 70), "none": ({1: 40.0, 2: 10.0}, 70)}, load=1.5),
    ]
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:] for line in bench.report(rounds).splitlines()
            if line.startswith("| ") and "---" not in line}
    assert rows["a first run's first epoch, empty folder"] == [
        "30.0 s (27.0–33.0)", "30.0 s (30.0–30.0)", "1.00× (0.90–1.10) |"]
    # resumed first epochs 20/40, 12/20, 30/40: ratios 0.5, 0.6, 0.75 (the median ratio, not 20 / 40)
    assert rows["the resumed run's first epoch"] == ["20.0 s (12.0–30.0)", "40.0 s (20.0–40.0)",
                                                     "0.60× (0.50–0.75) |"]
    assert rows["the resumed process, start to end"][2] == "0.75× (0.50–1.00) |"
    assert rows["the resumed run's steady epoch"][0] == "10.0 s (9.0–11.0)"  # the last epoch, not epoch 1
    last = bench.report(rounds).splitlines()[-1]
    assert last == "3 rounds; load average before the runs 0.5–2.0; the cache folder held 1.5–2.0 MB."


def test_fewer_than_three_epochs_is_refused():
    with pytest.raises(SystemExit):
        bench.main(["--epochs", "2"])


@pytest.mark.slow
def test_one_round_on_the_tiny_model(tmp_path):
    pytest.importorskip("jax")
    out = tmp_path / "resume.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_resume", "--rounds", "1", "--train", "48",
                           "--test", "16", "--model", "tf-albert-tiny", "--json", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| the resumed run's first epoch |" in proc.stdout and out.exists()
    assert "1 rounds; load average" in proc.stdout
