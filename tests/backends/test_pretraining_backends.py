"""`tf-albert pretrain` on JAX and PyTorch with TensorFlow hidden (tests/backends/no_tensorflow.py), each in
its own process: a toy run that must learn (held-out MLM accuracy well above the unigram baseline, the
training loss falling), and on JAX the time-budget options that replaced tools/pretrain_on_accelerator.py
(mixed bfloat16, XLA, worker processes, periodic saves, a budget resumed by rerunning the command). The
TensorFlow run of the same toy is in tests/training/test_pretrain_command.py; the numbers are printed
(`pytest -s`).
"""

import json
import re

import numpy as np
import pytest

from tests.backends import pretraining_toy as toy
from tests.backends.test_backends import HIDE_TF_THEN, _need, _run
from tf_albert.training.pretrain_run import rate_at


def _check_on(backend, out, budget=False):
    _need(backend)
    code = (HIDE_TF_THEN + "from tests.backends.pretraining_check import main\n"
            f"main({str(out)!r}, budget={budget!r})")
    proc = _run(code, backend, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    found = dict(re.findall(r"^(TOY|BUDGET) (\{.*\})$", proc.stdout, re.M))
    return {k: json.loads(v) for k, v in found.items()}


@pytest.mark.slow  # the same command as on JAX below, whose run is the one a GPU machine makes
def test_pretrain_learns_on_torch_without_tensorflow(tmp_path):
    measured = _check_on("torch", tmp_path)["TOY"]
    print("toy pretraining on torch:", measured)
    assert measured["backend"] == "torch" and measured["data"] == "memory"
    toy.check(measured)


def test_pretrain_learns_on_jax_and_trains_for_a_time_budget_without_tensorflow(tmp_path):
    found = _check_on("jax", tmp_path, budget=True)
    measured = found["TOY"]
    print("toy pretraining on jax:", measured)
    assert measured["backend"] == "jax" and measured["data"] == "memory"
    toy.check(measured)

    run = found["BUDGET"]
    assert run["tensorflow_imported"] is False
    first, rows = run["first_sitting"], run["rows"]
    rates = [float(r["budget_learning_rate"]) for r in rows]
    spent = [float(r["budget_seconds"]) for r in rows]
    # The compile epoch runs at rate 0 and does not count; then warm-up over half of the budget, then decay.
    assert rates[0] == 0 and spent[0] == 0 and len(first) >= 2, first
    assert all(0 <= r <= 1e-3 for r in rates) and max(rates) > 0.3e-3, rates
    # The second sitting resumed the first one's budget: its first epoch ran at the rate of the time spent.
    n = len(first)
    resumed_at = run["spent_after_first"][str(n)]
    assert [int(r["epoch"]) for r in rows[n:]] == list(range(n, len(rows))) and len(rows) > n, rows
    expected = rate_at(resumed_at / 4, 1e-3, 0.5)
    assert float(rows[n]["budget_learning_rate"]) == pytest.approx(expected, rel=1e-3)
    assert float(rows[n]["budget_seconds"]) == pytest.approx(resumed_at, abs=0.06)  # the compile epoch again
    assert spent[-1] >= 4 and np.all(np.diff(spent) >= 0), spent
    results = run["results"]
    assert results["steps"] == 4 * len(rows) and results["budget_seconds_spent"] >= 4
    assert 0 <= results["mlm_accuracy"] <= 1 and results["examples"] > 0

