"""The benchmark harness (benchmarks/): runs end to end on a tiny config, and its table says what it measured.

No timing assertions: the numbers depend on the machine. Only the plumbing is checked.
"""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from benchmarks import run as bench


def _cell(step_s=None, first_s=None, peak=None, tokens=None, cpu=None):
    cell = {"runs": 1, "ok": 1, "load": (1.0, 2.0)}
    for key, value in (("step_s", step_s), ("first_s", first_s), ("peak_rss_mb", peak), ("tokens_per_s", tokens),
                       ("step_cpu_s", cpu)):
        if value is not None:
            cell[key] = value
    return cell


def test_ratio_table_arithmetic():
    cells = {
        ("tf_albert", 8, 128, "forward"): _cell(step_s=1.0, first_s=3.0, peak=500, tokens=1000.0),
        ("tf_albert", 8, 128, "train"): _cell(step_s=2.0, first_s=10.0, peak=1000, cpu=3.0),
        ("keras_hub", 8, 128, "forward"): _cell(step_s=2.0, first_s=6.0, peak=800, tokens=500.0),
        ("keras_hub", 8, 128, "train"): _cell(step_s=5.0, first_s=40.0, peak=2000, cpu=6.0),
        ("hf_torch", 8, 128, "forward"): {"runs": 1, "ok": 0, "error": "not installed: No module named 'torch'"},
        ("hf_torch", 8, 128, "train"): {"runs": 1, "ok": 0, "error": "not installed: No module named 'torch'"},
    }
    matmul = [{"gflops": {"numpy": 100.0, "tensorflow": 90.0}}, {"gflops": {"numpy": 110.0, "tensorflow": 94.0}}]
    text = bench.format_tables(cells, [(8, 128)], ["tf_albert", "keras_hub", "hf_torch"], matmul)
    row = next(line for line in text.splitlines() if line.startswith("| 8×128 | tf_albert (XLA) | KerasHub (XLA) |"))
    # forward 1000/500, train step 5/2, first step 10/40, peak RSS 1000/2000
    assert row.split("|")[4:10] == [" 2.00× ", " —× ", " 2.50× ", " 2.00× ", " 0.25× ", " 0.50× "]
    assert "| 8×128 | HF PyTorch | not installed: No module named 'torch' |" in text
    assert "| 8×128 | tf_albert (XLA) | HF PyTorch | —× | —× | —× | —× | —× | —× |" in text
    assert "numpy 105, tensorflow 92" in text


def test_aggregate_takes_medians_and_keeps_errors():
    records = [
        {"lib": "tf_albert", "batch": 1, "seq_len": 8, "mode": "train", "step_s": s, "first_s": 1.0,
         "peak_rss_mb": 10.0, "versions": {}, "loadavg_before": [load, 0, 0], "loadavg_after": [load, 0, 0]}
        for s, load in ((3.0, 0.5), (1.0, 2.5), (2.0, 1.0))
    ] + [{"lib": "hf_tf", "batch": 1, "seq_len": 8, "mode": "train", "error": "timed out after 5 s"}]
    cells = bench.aggregate(records)
    assert cells[("tf_albert", 1, 8, "train")]["step_s"] == 2.0
    assert cells[("tf_albert", 1, 8, "train")]["load"] == (0.5, 2.5)
    assert cells[("hf_tf", 1, 8, "train")] == {"runs": 1, "ok": 0, "error": "timed out after 5 s"}


def test_flop_estimate_matches_the_albert_base_reference():
    # ≈ 175 MFLOP/token for albert-base at L=128 (issue 9's reference point).
    assert bench.forward_mflop_per_token(bench.CONFIGS["base"], 128) == pytest.approx(175, rel=0.02)


@pytest.mark.parametrize("bad", [["--shapes", "8by128"], ["--libs", "tf_albert,mxnet"], ["--modes", "predict"],
                                 ["--libs", "keras_hub@xla"]])
def test_bad_arguments_say_what_is_wrong(bad):
    with pytest.raises(SystemExit, match="shapes|mxnet|modes|KEY=VALUE"):
        bench.main(bad)


def test_library_specs_and_labels():
    assert bench.parse_spec("keras_hub@xla=0+threads=2") == ("keras_hub", {"xla": "0", "threads": "2"})
    assert bench.label("keras_hub@xla=0") == "KerasHub (no XLA)"
    assert bench.label("tf_albert@gradient_checkpointing=1") == "tf_albert (XLA, gradient_checkpointing=1)"
    assert bench.label("hf_torch") == "HF PyTorch"
    assert bench.label("tf_albert", ["xla=0"]) == "tf_albert (no XLA)"


def test_harness_runs_on_a_tiny_config(tmp_path, capsys):
    out = tmp_path / "results.json"
    # hf_torch is measured where torch and transformers are installed, reported as an error cell elsewhere.
    cmd = [sys.executable, "-m", "benchmarks.run", "--config", "tiny", "--libs", "tf_albert@xla=0,hf_torch",
           "--shapes", "2x16", "--repeats", "1", "--steps", "1", "--train-steps", "1", "--matmul-n", "128",
           "--json", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| 2×16 | tf_albert (no XLA) |" in proc.stdout
    assert "| 2×16 | KerasHub" not in proc.stdout
    data = json.loads(out.read_text())
    assert data["machine"]["cpus"] == os.cpu_count()
    ours = {r["mode"]: r for r in data["records"] if r["lib"] == "tf_albert"}
    assert set(ours) == {"forward", "train"}
    for record in ours.values():
        assert "error" not in record, record
        assert record["step_s"] > 0 and record["first_s"] > 0 and record["peak_rss_mb"] > 0
        assert record["versions"]["xla"] is False
        assert len(record["loadavg_before"]) == 3
    assert ours["forward"]["tokens_per_s"] == pytest.approx(2 * 16 / ours["forward"]["step_s"])
    torch_records = [r for r in data["records"] if r["lib"] == "hf_torch"]
    assert len(torch_records) == 2
    assert all("step_s" in r or r["error"].startswith("not installed") for r in torch_records)
    assert next(m for m in data["records"] if m["lib"] == "matmul")["gflops"]["numpy"] > 0
    # The tables can be printed again from the saved records.
    assert bench.main(["--report", str(out), str(out)]) == 0
    again = capsys.readouterr().out
    assert "| 2×16 | tf_albert (no XLA) |" in again and "median of 2 process(es)" in again


def test_serving_benchmark_mixed_shapes_and_compile_count():
    from benchmarks import bench_serving

    shapes = bench_serving.MIXED_SHAPES
    assert len(shapes) == 24 and all(1 <= b <= 8 and 8 <= n <= 256 for b, n in shapes)
    line = ("I0000 00:00:1795786915.244203   23621 device_compilation_profiler.cc:113] Compiled __inference_f_9 1 "
            "times, compile time: 72537 us, cumulative: 72537 us (0 us / 72.5 ms)\n")
    assert bench_serving.count_compilations("other line\n" + line * 3) == 3


def test_deploy_table_ratios_and_mixed_batches():
    from benchmarks import bench_deploy

    batches = bench_deploy.speed_batches("mixed")
    assert [ids.shape[0] for ids, _ in batches] == [8, 8]
    assert all(ids.shape[1] % 8 == 0 and mask[:, :1].all() for ids, mask in batches)
    assert bench_deploy.speed_batches("8x128")[0][0].shape == (8, 128)

    def run(round_, seconds, load=1.5):
        cells = {shape: {"times": [seconds], "p50": seconds, "tokens": 1024} for shape in bench_deploy.SHAPES}
        return {**cells, "round": round_, "loadavg_before": load, "loadavg_after": load + 0.1}

    # Per round: the reference's p50 / the system's; rounds 0-2 give 3.0, 1.5, 2.0 -> median 2.0, range 1.5-3.0.
    report = {"speed": {"tflite_int8_static": [run(0, 1.0), run(1, 2.0, load=3.2), run(2, 1.5)],
                        "hf_onnx_int8": [run(0, 3.0), run(1, 3.0), run(2, 3.0)]},
              "accuracy": {"tflite_int8_static": bench_deploy.agreement([[1.0, 0.0], [0.0, 2.0]],
                                                                        [[2.0, 0.0], [1.0, 1.0]])},
              "sizes": {"tflite_int8_static": 11.8e6}, "loadavg_before": 1.4, "loadavg_after": 1.6}
    text = bench_deploy.table(report)
    row = next(line for line in text.splitlines() if line.startswith("| tf_albert TFLite int8 (static) |"))
    assert row.split(" | ")[1:] == ["1500", "1500", "1500", "2.00× [1.50–3.00]", "2.00× [1.50–3.00]",
                                    "2.00× [1.50–3.00]", "11.8", "0.500", "0.8536 (0.7071) |"]
    assert "1-minute load: 1.40 before, 1.50–3.30 during the rounds, 1.60 after" in text
    assert "| HF PyTorch → ONNX → ORT int8 | 3000 | 3000 | 3000 | 1.00× [1.00–1.00]" in text


def test_deploy_calibration_and_evaluation_sentences_differ():
    from benchmarks import bench_deploy

    held_out, labels = bench_deploy.polarity_held_out()
    calibration = bench_deploy.polarity_calibration()
    assert len(held_out) == len(labels) == 384 and len(calibration) == 300
    assert not set(held_out) & set(calibration)


def test_deploy_harness_runs_on_a_tiny_config(tmp_path):
    # One round, tiny widths: a static-int8 export against the reference, each in its own process.
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    out = tmp_path / "deploy.json"
    cmd = [sys.executable, "-m", "benchmarks.bench_deploy", "--config", "tiny", "--rounds", "1",
           "--accuracy-model", "none", "--formats", "onnx_int8_static,hf_onnx_int8", "--out", str(tmp_path),
           "--json", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| tf_albert ONNX → ORT int8 (static) |" in proc.stdout
    assert "1 interleaved round(s), a fresh process per system and round" in proc.stdout
    data = json.loads(out.read_text())
    assert data["rounds"] == 1 and set(data["speed"]) == {"onnx_int8_static", "hf_onnx_int8"}
    for runs in data["speed"].values():
        assert len(runs) == 1 and all(runs[0][s]["p50"] > 0 for s in ("1x128", "8x128", "mixed"))
        assert runs[0]["loadavg_before"] >= 0
    assert data["sizes"]["onnx_int8_static"] > 0


def test_worker_process_gives_its_last_record_or_says_why_not():
    from benchmarks import processes

    record, error = processes.run_json_worker([sys.executable, "-c", "print('noise'); print('{\"x\": 1}')"], 60)
    assert error is None and record["x"] == 1 and record["wall_s"] > 0
    record, error = processes.run_json_worker([sys.executable, "-c", "import sys; sys.exit('boom')"], 60)
    assert record is None and error == "exit 1: boom"
    record, error = processes.run_json_worker([sys.executable, "-c", "import time; time.sleep(30)"], 0.5)
    assert (record, error) == (None, "timed out after 0.5 s")


def test_per_round_values_are_written_as_median_and_range():
    import doctest

    from benchmarks import processes

    assert doctest.testmod(processes) == (0, 2)  # (failed, attempted): the docstring's examples hold
    assert processes.median_range([3.0, 1.0, 2.0, 10.0]) == "2.50× (1.00–10.00)"  # even count: the mean of two
