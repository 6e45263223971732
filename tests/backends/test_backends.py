"""The model core on JAX and PyTorch: each backend in its own process (Keras picks its backend once).

* `KERAS_BACKEND=jax` and `KERAS_BACKEND=torch`, with TensorFlow hidden (tests/backends/no_tensorflow.py: as
  if it were not installed): the HF parity fixtures (tests/model/test_parity.py) and tests/backends/
  backend_suite.py (own-loss fit with and without `jit_compile` — JAX's without it under `-m slow` —, a
  held-out toy task, checkpoint and `.keras` round trips, mixed_bfloat16, gradient checkpointing, the
  TensorFlow-only features' errors);
* JAX data parallelism (`keras.distribution.DataParallel`) on 2 host devices against one device;
* benchmarks/accelerator_check.py with its tiny CPU shapes, TensorFlow hidden;
* `tf-albert pretrain` on each backend: tests/backends/test_pretraining_backends.py.

The test extra installs jax[cpu], torch and transformers; without them these tests skip.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from tests.helpers import REPO

HIDE_TF_THEN = "import sys, tests.backends.no_tensorflow as hide; hide.install(); "


def _need(*modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (pip install -e '.[test]')")


def _run(code, backend, timeout=900, extra_env=None):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", **(extra_env or {})}
    env.pop("PYTEST_XDIST_WORKER", None)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    return proc


def _pytest_on(backend, marks):
    _need(backend)
    args = ["-q", "-p", "no:cacheprovider", "-o", "addopts=", "-m", marks, "-s", "-W",
            "ignore::DeprecationWarning", "tests/model/test_parity.py", "tests/backends/backend_suite.py"]
    proc = _run(HIDE_TF_THEN + f"import pytest; sys.exit(pytest.main({args!r}))", backend)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    return output


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_parity_and_fit_on_backend_without_tensorflow(backend):
    output = _pytest_on(backend, "not slow")
    passed = int(re.search(r"(\d+) passed", output).group(1))
    assert passed >= 35, output[-3000:]  # the parity tests and the suite, none silently skipped
    accuracy = float(re.search(rf"held-out toy-task accuracy on {backend}: ([\d.]+)", output).group(1))
    assert accuracy >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_head_and_torch_compile_on_backend(backend):
    output = _pytest_on(backend, "slow")
    assert int(re.search(r"(\d+) passed", output).group(1)) >= 5, output[-3000:]


def test_jax_data_parallel_on_two_devices_equals_one_device():
    _need("jax")
    proc = _run("import runpy; runpy.run_module('tests.backends.data_parallel_check', run_name='__main__')",
                "jax", timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["weight_devices"] == [1, 2] and result["batch_shards"] == 2, result
    assert result["parallel_losses"] == pytest.approx(result["single_losses"], rel=1e-5), result
    assert result["single_losses"][-1] < result["single_losses"][0]  # it trained
    assert result["max_weight_diff"] < 1e-5, result


def test_accelerator_check_runs_on_cpu_without_tensorflow(tmp_path):
    """The prepared GPU run, with its tiny CPU plan: parity of both attention implementations on JAX and on
    Keras' PyTorch backend, the speed cells, the pretraining step's rate, and its two output files."""
    _need("jax", "torch", "transformers")
    out = tmp_path / "results"
    code = (HIDE_TF_THEN + "import runpy; sys.argv = ['accelerator_check.py', '--out', "
            f"{str(out)!r}]; runpy.run_path('benchmarks/accelerator_check.py', run_name='__main__')")
    proc = _run(code, "jax")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    result = json.loads((out / "results.json").read_text())
    assert result["versions"]["tensorflow_imported"] is False
    assert {(r["backend"], r["implementation"]) for r in result["parity"]} == {
        (b, i) for b in ("jax", "torch") for i in ("eager", "sdpa")}, result["parity"]
    for row in result["parity"]:
        assert row["fp32_vs_hf_sdpa"] <= 1e-4 and row["fp32_vs_hf_eager"] <= 1e-4 and row["bf16_ok"], row
    [cell] = result["speed"]
    assert sorted(cell["ours"]) == ["JAX eager", "JAX sdpa", "PyTorch eager", "PyTorch sdpa"], cell
    for timing in [cell["hf"], *cell["ours"].values()]:
        assert all(first > 0 and step > 0 for first, step in timing.values()), cell
    assert [(r["config"], r["implementation"]) for r in result["pretrain_rate"]] == [("tiny", "sdpa")]
    assert all(r["positions_per_s"] > 0 and r["tflops"] > 0 for r in result["pretrain_rate"])
    markdown = (out / "results.md").read_text()
    assert "| jax | sdpa |" in markdown and "| 2×16 | fine-tune step | PyTorch sdpa |" in markdown, markdown


def test_import_on_jax_does_not_import_installed_tensorflow():
    _need("jax")
    code = ("import sys, numpy as np, tf_albert, tf_albert.checkpoints, tf_albert.tokenization\n"
            "import tf_albert.pipelines\n"
            "from tests.helpers import tiny_config\n"
            "out = tf_albert.AlbertForMaskedLM(tiny_config())(np.array([[2, 10, 4, 3]]))\n"
            "print(tuple(out['logits'].shape), 'tensorflow' in sys.modules)")
    proc = _run(code, "jax", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "(1, 4, 99) False"
