"""The fine-tuning benchmark (benchmarks/bench_finetune.py, finetune_workers.py, finetune_corpus.py): the
corpus, the table's arithmetic, and one end-to-end run on a tiny config. No timing assertions."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from benchmarks import bench_finetune as bench  # noqa: E402
from benchmarks import finetune_corpus as corpus  # noqa: E402


def test_corpus_is_balanced_offline_and_has_a_long_tail(tmp_path):
    paths = corpus.write_corpus(str(tmp_path), 200, 40)
    train = [json.loads(line) for line in open(paths["train"])]
    test = [json.loads(line) for line in open(paths["test"])]
    assert len(train) == 200 and len(test) == 40
    assert sorted({r["label"] for r in train}) == [0, 1, 2, 3]
    assert not {r["text"] for r in train} & {r["text"] for r in test}
    words = sorted(len(r["text"].split()) for r in train)
    assert 8 <= words[len(words) // 2] <= 20 and words[-1] >= 3 * words[len(words) // 2]  # short, long tail
    import random

    once, again = (corpus.topic_examples("text", random.Random(0)) for _ in range(2))
    assert once == again and len(once) > 500  # the same examples every time


def _record(spec, epochs, real, padded, shapes, accuracy, load=1.0):
    return {"spec": spec, "epoch_s": epochs, "epoch_cpu_s": [2 * e for e in epochs], "real_tokens": real,
            "padded_tokens": padded, "shapes": shapes, "accuracy": accuracy, "peak_rss_mb": 100.0,
            "loadavg_before": [load, 0, 0], "loadavg_after": [load + 1, 0, 0]}


def test_table_arithmetic():
    records = [_record("tf_albert@xla=1", [30.0, 10.0, 12.0], 750, 1000, [[32, 16], [8, 16]], 0.5),
               _record("hf_torch@group=1", [20.0, 20.0, 22.0], 700, 1000, [[32, 17]], 0.4),
               _record("tf_albert@xla=1", [26.0, 10.0, 10.0], 750, 1000, [[32, 16], [8, 16]], 0.7),
               {"spec": "keras_hub@seq=128", "error": "not installed: No module named 'keras_hub'"}]
    text = bench.format_table(records, ["tf_albert@xla=1", "hf_torch@group=1", "keras_hub@seq=128"])
    ours = next(line for line in text.splitlines() if line.startswith("| tf_albert, XLA, length-grouped |"))
    # median first epoch 28, steady median(11, 10) = 10.5, CPU 21, compile median(30 - 11, 26 - 10) = 17.5
    assert ours.split("|")[2:10] == [" 28.0 ", " 10.5 ", " 21.0 ", " 17.5 ", " 25 % ", " 2 ", " 100 ",
                                     " 0.600 ± 0.100 "]
    assert "| KerasHub AlbertTextClassifier, seq 128 | not installed" in text
    ratio = next(line for line in text.splitlines() if "| HF PyTorch, LengthGroupedSampler | " in line
                 and line.startswith("| tf_albert"))
    assert ratio.split("|")[3:5] == [" 2.00× ", " 1.40× "]  # 21 / 10.5; 28 / 20


def test_round_ratios_median_and_range():
    # Round 0: ours 6 / HF 4 first (1.5), steady HF 4 / ours 2 (2.0); round 1: 5 / 5 (1.0), 5 / 2.5 (2.0);
    # round 2: 8 / 4 (2.0), 3 / 3 (1.0). A round where one system failed is left out.
    records = []
    for k, (ours, theirs) in enumerate([([6, 2, 2], [4, 4, 4]), ([5, 2.5, 2.5], [5, 5, 5]),
                                        ([8, 3, 3], [4, 3, 3])]):
        records += [dict(_record("tf_albert@xla=1+backend=jax", ours, 1, 2, [[2, 8]], 1.0), round=k),
                    dict(_record("hf_torch@group=1", theirs, 1, 2, [[2, 8]], 1.0, load=2.5), round=k)]
    records.append({"spec": "tf_albert@xla=1+backend=jax", "error": "exit 1", "round": 3})
    rows = bench.round_ratios(records, ["hf_torch@group=1", "tf_albert@xla=1+backend=jax"])
    assert len(rows) == 1 and rows[0]["first"] == [1.5, 1.0, 2.0] and rows[0]["steady"] == [2.0, 2.0, 1.0]
    assert rows[0]["load"] == (1.0, 3.5)
    line = bench.format_round_ratios(rows).splitlines()[-1]
    assert line == "| tf_albert, JAX, XLA, length-grouped | 3 | 1.50× (1.00–2.00) | 2.00× (1.00–2.00) | 1.0–3.5 |"


def test_specs_labels_and_bad_arguments():
    assert bench.parse_spec("tf_albert@xla=0+group=0") == ("tf_albert", {"xla": "0", "group": "0"})
    assert bench.label("tf_albert@xla=0+group=0") == "tf_albert, no XLA, shuffled (before)"
    assert bench.label("keras_hub") == "KerasHub AlbertTextClassifier, seq 512"
    assert bench.label("hf_torch@group=1") == "HF PyTorch, LengthGroupedSampler"
    with pytest.raises(SystemExit, match="unknown system 'mxnet'"):
        bench.main(["--systems", "mxnet"])


def test_harness_runs_on_a_tiny_config(tmp_path):
    data, out = tmp_path / "data", tmp_path / "ft.json"
    data.mkdir()
    for name, n in (("train", 64), ("test", 16)):  # short texts and a long tail, 4 labels
        rows = [{"text": " ".join(["word"] * (3 + (i * 7) % 20 + (40 if i % 16 == 0 else 0))), "label": i % 4}
                for i in range(n)]
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cmd = [sys.executable, "-m", "benchmarks.bench_finetune", "--config", "tiny", "--data", str(data),
           "--epochs", "2", "--systems", "tf_albert@xla=0,tf_albert@xla=0+backend=torch", "--json", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| tf_albert, no XLA, length-grouped |" in proc.stdout
    records = json.loads(out.read_text())["records"]
    assert "| tf_albert, PyTorch, no XLA, length-grouped |" in proc.stdout
    assert [r["versions"]["backend"] for r in records] == ["tensorflow", "torch"], records
    record = records[0]
    assert "error" not in record, record
    assert len(record["epoch_s"]) == len(record["epoch_cpu_s"]) == 2 and record["steps_per_epoch"] == 2
    assert 0 <= record["accuracy"] <= 1 and len(record["loadavg_before"]) == 3 and record["peak_rss_mb"] > 0
    longest = max(length for _, length in record["shapes"])
    assert record["padded_tokens"] < 0.7 * 64 * longest  # grouped: the short rows are not padded to the long
    assert len(record["shapes"]) == 2  # 2 batches per epoch, the same shapes in both epochs
