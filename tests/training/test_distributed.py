"""tf.distribute (MirroredStrategy on 2 logical CPUs, MultiWorkerMirroredStrategy with 2 worker processes) and
kill-and-resume. Each runs in fresh processes: logical devices and TF_CONFIG must be set before TF starts."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tests.helpers import REPO

# A tiny classification task and model, the same in every process (seeded; no dropout so that replicas and
# the single device compute exactly the same thing).
COMMON = textwrap.dedent("""
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np

    def dataset(shuffle=False, n=32, batch_size=8):
        from tf_albert.training.datasets import make_dataset
        rng = np.random.default_rng(0)
        lengths = rng.integers(6, 14, n)
        ids = [[2] + rng.integers(5, 99, k - 2).tolist() + [3] for k in lengths]
        labels = [int(row[1] > 50) for row in ids]
        features = {"input_ids": ids, "attention_mask": [[1] * len(r) for r in ids],
                    "token_type_ids": [[0] * len(r) for r in ids]}
        return make_dataset(features, labels, batch_size=batch_size, shuffle=shuffle, seed=0)

    def model(strategy=None, dropout=0.0, steps=8):
        import keras
        from tf_albert import AlbertConfig, AlbertForSequenceClassification
        from tf_albert.training.distribute import strategy_scope
        from tf_albert.training.optimization import create_optimizer
        keras.utils.set_random_seed(0)
        config = AlbertConfig(vocab_size=99, embedding_size=8, hidden_size=16, num_attention_heads=2,
                              intermediate_size=24, num_hidden_layers=2, max_position_embeddings=32,
                              num_labels=2, classifier_dropout_prob=dropout)
        with strategy_scope(strategy):
            m = AlbertForSequenceClassification(config)  # a plain model: it handles the strategy itself
            m.build()
            m.compile(optimizer=create_optimizer("adamw", 1e-2, num_train_steps=steps, num_warmup_steps=2),
                      jit_compile=False)
        return m

    def weights(m):
        return [np.asarray(v.numpy(), dtype=np.float64).tolist() for v in m.trainable_variables]
""")


def _python(script: str, env_extra=None, **popen):
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3", **(env_extra or {})}
    env.pop("TF_CONFIG", None)
    env.update(env_extra or {})
    return subprocess.Popen(
        [sys.executable, "-c", COMMON + textwrap.dedent(script)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _result(proc, timeout=240):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"subprocess timed out after {timeout}s; stderr tail:\n{err[-3000:]}")
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _max_diff(a, b):
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a, b))


def test_mirrored_strategy_on_two_logical_cpus_equals_one_device():
    proc = _python("""
        from tf_albert.training.distribute import logical_cpu_devices, num_replicas
        devices = logical_cpu_devices(2)
        import tensorflow as tf
        single = model()
        h1 = single.fit(dataset(), epochs=2, verbose=0).history["loss"]
        strategy = tf.distribute.MirroredStrategy(devices)
        mirrored = model(strategy)
        h2 = mirrored.fit(dataset(), epochs=2, verbose=0).history["loss"]
        print(json.dumps({"replicas": num_replicas(strategy), "single": h1, "mirrored": h2,
                          "w_single": weights(single), "w_mirrored": weights(mirrored)}))
    """)
    r = _result(proc)
    assert r["replicas"] == 2
    np.testing.assert_allclose(r["mirrored"], r["single"], rtol=1e-5)
    assert _max_diff(r["w_mirrored"], r["w_single"]) < 1e-5


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_multi_worker_mirrored_strategy_two_processes_equal_one_device():
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    script = """
        from tf_albert.training.distribute import get_strategy, num_replicas, is_chief
        strategy = get_strategy("multi_worker")
        m = model(strategy)
        h = m.fit(dataset(), epochs=2, verbose=0).history["loss"]
        out = {"replicas": num_replicas(strategy), "chief": is_chief(), "loss": h, "w": weights(m)}
        if is_chief():  # the single-device reference, outside the strategy's scope
            single = model()
            out["ref_loss"] = single.fit(dataset(), epochs=2, verbose=0).history["loss"]
            out["ref_w"] = weights(single)
        print(json.dumps(out))
    """
    procs = [
        _python(
            script,
            {
                "TF_CONFIG": json.dumps(
                    {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}
                )
            },
        )
        for i in range(2)
    ]
    try:
        results = [_result(p, timeout=240) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [r["replicas"] for r in results] == [2, 2]
    assert [r["chief"] for r in results] == [True, False]
    ref_loss, ref_w = results[0]["ref_loss"], results[0]["ref_w"]
    for r in results:
        np.testing.assert_allclose(r["loss"], ref_loss, rtol=1e-5)
        assert _max_diff(r["w"], ref_w) < 1e-5


KILLABLE = '''
    import keras, time
    from tf_albert.training.callbacks import fit_resumable
    backup, log, marker = sys.argv[1], sys.argv[2], sys.argv[3]

    class Stall(keras.callbacks.Callback):
        """Marks mid-epoch 3 and then waits there to be killed."""
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if marker != "-" and self.epoch == 2 and batch == 1:
                open(marker, "w").close()
                time.sleep(600)

    m = model(dropout=0.2, steps=4 * 4)  # dropout on: the resumed run must draw the same masks
    h = fit_resumable(m, dataset(shuffle=True), epochs=4, backup_dir=backup, verbose=0,
                      callbacks=[keras.callbacks.CSVLogger(log, append=True), Stall()])
    print(json.dumps({"loss": h.history["loss"], "iterations": int(m.optimizer.iterations.numpy()),
                      "w": weights(m)}))
'''


def _killable(args):
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-c", COMMON + textwrap.dedent(KILLABLE), *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _log_losses(path):
    lines = open(path).read().strip().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    return [int(r["epoch"]) for r in rows], [float(r["loss"]) for r in rows]


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path):
    marker = tmp_path / "stalled"
    uninterrupted = _killable([str(tmp_path / "b0"), str(tmp_path / "log0.csv"), "-"])
    victim = _killable([str(tmp_path / "b1"), str(tmp_path / "log1.csv"), str(marker)])
    try:
        deadline = time.time() + 180
        while not marker.exists():
            assert victim.poll() is None, victim.communicate()[1][-3000:]
            assert time.time() < deadline, "the training process never reached the middle of epoch 3"
            time.sleep(0.2)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        assert victim.returncode == -signal.SIGKILL
        epochs, _ = _log_losses(tmp_path / "log1.csv")
        assert epochs == [0, 1], "killed during epoch 3: two epochs done"
        resumed = _killable([str(tmp_path / "b1"), str(tmp_path / "log1.csv"), "-"])
        done, ref = _result(resumed), _result(uninterrupted)
    finally:
        for p in (uninterrupted, victim):
            if p.poll() is None:
                p.kill()
    epochs, losses = _log_losses(tmp_path / "log1.csv")
    assert epochs == [0, 1, 2, 3], "every epoch once: none lost, none repeated in the log"
    _, ref_losses = _log_losses(tmp_path / "log0.csv")
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
    np.testing.assert_allclose(done["loss"], ref["loss"][2:], rtol=1e-5)
    assert done["iterations"] == ref["iterations"] == 4 * 4, "no optimizer step lost or repeated"
    assert _max_diff(done["w"], ref["w"]) < 1e-5
