"""`tf-albert finetune` on JAX and on PyTorch with TensorFlow hidden (as on a GPU machine that has none): the
command learns a toy task (held-out accuracy), and a run killed mid-epoch resumes when the same command runs
again. That a resumed run's losses equal an uninterrupted one's on each backend is
tests/backends/backend_suite.py's test; on TensorFlow, tests/training/test_distributed.py's."""

import csv
import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

from tests.backends.test_backends import HIDE_TF_THEN, _need
from tests.helpers import FIXTURE_TOKENIZER, REPO, tiny_config

# Patches fit_resumable so that the run kills itself at the third batch of epoch 3 (SIGKILL: nothing is
# saved or closed), after epochs 1 and 2 are backed up.
KILL_IN_EPOCH_3 = """
import os, signal, keras
import tf_albert.training.callbacks as C
fit = C.fit_resumable
class Kill(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 2 and batch == 2:
            os.kill(os.getpid(), signal.SIGKILL)
C.fit_resumable = lambda *a, callbacks=(), **k: fit(*a, callbacks=[*callbacks, Kill()], **k)
"""
FINETUNE = """
import keras
hits = []
if keras.backend.backend() == "jax":
    import jax.monitoring
    jax.monitoring.register_event_listener(
        lambda event, **kw: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None)
from tf_albert.cli import main
status = main(sys.argv[1:])
print("tensorflow imported:", "tensorflow" in sys.modules)
print("compile cache hits:", len(hits))
sys.exit(status)
"""
ANIMALS = "cat dog horse bird fish cow sheep goat mouse lion".split()
FOOD = "bread rice soup cake apple milk cheese egg meat salt".split()
OTHER = "the a one my your this that big small old".split()


def _toy_task(folder):
    """train.csv (128 rows) and eval.csv (64): is a short text about animals or food? And a tiny model folder
    (random weights, the fixture tokenizer)."""
    rng = np.random.default_rng(0)
    for name, n in (("train", 128), ("eval", 64)):
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            for _ in range(n):
                label = int(rng.integers(2))
                own = ANIMALS if label else FOOD
                words = [rng.choice(own) if rng.random() < 0.75 else rng.choice(OTHER)
                         for _ in range(int(rng.integers(4, 9)))]
                words[int(rng.integers(len(words)))] = rng.choice(own)
                writer.writerow([" ".join(words), "animal" if label else "food"])
    from tf_albert import AlbertModel
    from tf_albert.tokenization import AlbertTokenizer

    tokenizer = AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)
    config = tiny_config(vocab_size=len(tokenizer), max_position_embeddings=64)
    AlbertModel(config).save_pretrained(str(folder / "base"), tokenizer=tokenizer)


def _finetune(code, args, backend):
    # The tiny model's programs compile in well under the command's 0.5 s threshold: keep them all.
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": REPO,
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run([sys.executable, "-c", HIDE_TF_THEN + code, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def _logged_epochs(run):
    with open(run / "log.csv", encoding="utf-8") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_finetune_command_learns_and_resumes_after_a_kill_without_tensorflow(backend, tmp_path):
    _need(backend)
    _toy_task(tmp_path)
    run = tmp_path / "run"
    args = ["finetune", "--task", "classification", "--train", str(tmp_path / "train.csv"), "--eval",
            str(tmp_path / "eval.csv"), "--model", str(tmp_path / "base"), "--out", str(run), "--epochs", "5",
            "--batch-size", "8", "--learning-rate", "3e-3", "--max-length", "32", "--length-buckets", "16,32",
            "--quiet"]

    killed = _finetune(KILL_IN_EPOCH_3 + FINETUNE, args, backend)
    assert killed.returncode == -signal.SIGKILL, (killed.stdout + killed.stderr)[-4000:]
    assert _logged_epochs(run) == [0, 1]  # killed in epoch 3: two epochs done and backed up

    resumed = _finetune(FINETUNE, args, backend)
    output = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, output[-4000:]
    assert "tensorflow imported: False" in resumed.stdout
    assert "Epoch 3/5" in output and "Epoch 1/5" not in output  # it went on from the backup
    # On JAX the resumed run read the killed run's compiled programs back from --out/compile_cache.
    hits = int(re.search(r"compile cache hits: (\d+)", resumed.stdout).group(1))
    if backend == "jax":
        assert hits > 0 and any((run / "compile_cache").iterdir()), output[-3000:]
    else:
        assert hits == 0 and not (run / "compile_cache").exists()
    assert _logged_epochs(run) == [0, 1, 2, 3, 4]  # every epoch once
    stdout = resumed.stdout
    metrics = json.loads(stdout[stdout.rindex("\n{") + 1:stdout.rindex("}") + 1])
    print(f"\nheld-out toy-task accuracy of tf-albert finetune on {backend}: {metrics['accuracy']:.3f} "
          f"({metrics['examples']} examples)")
    assert metrics["examples"] == 64 and metrics["split"] == "eval"
    assert metrics["accuracy"] >= 0.9, output[-3000:]
    assert json.loads((run / "metrics.json").read_text()) == metrics
    saved = json.loads((run / "model" / "config.json").read_text())
    assert saved["id2label"] == {"0": "animal", "1": "food"}


def test_fine_tuning_on_jax_does_not_import_installed_tensorflow(tmp_path):
    """With TensorFlow installed but Keras on JAX: `import tf_albert.training`, a dataset and `fit` on it
    leave TensorFlow unimported (the PyDataset feeds the batches; tf.data only when asked for)."""
    _need("jax")
    code = ("import sys, keras, numpy as np\n"
            "import tf_albert.training as T\n"
            "from tests.helpers import SPM, tiny_config\n"
            "from tf_albert import AlbertForSequenceClassification, AlbertTokenizer\n"
            "tok = AlbertTokenizer(SPM)\n"
            "ds = T.classification_dataset(tok, ['a b', 'c', 'd e f'] * 4, [0, 1, 1] * 4, batch_size=4,\n"
            "                              shuffle=True)\n"
            "model = AlbertForSequenceClassification(tiny_config(num_labels=2, vocab_size=tok.vocab_size))\n"
            "model.compile(optimizer='adam')\n"
            "model.fit(ds, epochs=1, verbose=0)\n"
            "print(type(ds).__name__, 'tensorflow' in sys.modules)")
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": REPO}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "BatchDataset False"
