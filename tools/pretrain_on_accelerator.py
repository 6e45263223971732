"""ALBERT pretraining on a GPU under Keras' JAX backend, for a machine that has JAX but no TensorFlow.

`tf-albert pretrain` reads its examples through tf.data, so it needs TensorFlow; the GPU machines this
project can borrow have JAX, PyTorch and transformers only. This script runs the same recipe there:

* the same examples: `tf_albert.training.pretraining_data` (the held-out split by document hash, sentence-
  order pairs, n-gram whole-word masking 80/10/10), made in memory by worker processes, one fresh pass over
  the training documents (new pairs and masks) after another: pass k is `iter_examples(..., dupe=k)` with
  `--seed`, the examples a TFRecord run with that seed writes for duplicate k;
* the same model, loss and optimizer: `AlbertForPreTraining` from `--init-checkpoint`, LAMB with
  `create_optimizer`'s settings (weight decay 0.01 except LayerNorm and biases, clipping at 1.0);
* what differs: it trains for a **time budget** (`--train-seconds`) rather than a step count, because how
  many steps fit is not known before the machine is measured: the rate warms up linearly over
  `--warmup-fraction` of the budget and decays linearly to 0 at its end, set from the elapsed time at the
  start of every `--steps-per-epoch` steps; the first epoch (XLA compilation) runs at rate 0 and the budget
  starts after it. Mixed precision (`--dtype-policy mixed_bfloat16`, float32 weights) and XLA
  (`jit_compile=True`).

It writes `--out/model/` (the model folder, HF names, safetensors; aside, then renamed) every
`--save-every` seconds and at the end, and `--out/log.csv` (one row per epoch). The held-out numbers are
measured afterwards where TensorFlow is (`evaluate_pretraining` on the TFRecords of tests/fixtures).

    KERAS_BACKEND=jax python tools/pretrain_on_accelerator.py --corpus corpus/english/corpus.txt \\
        --init-checkpoint tf_albert/pretrained/tf-albert-small --out runs/gpu --train-seconds 360

Without a GPU it runs on JAX's CPU (slowly): tests/backends/test_backends.py runs it so on a tiny corpus
and model, TensorFlow hidden.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tf_albert.training import pretraining_data as data  # noqa: E402

COMPACT = {  # dtypes that hold every value, to keep many passes in memory
    "input_ids": np.int16,
    "attention_mask": np.int8,
    "token_type_ids": np.int8,
    "masked_lm_positions": np.int16,
    "labels": np.int16,
    "sentence_order_label": np.int8,
}
FEATURES = ("input_ids", "attention_mask", "token_type_ids", "masked_lm_positions")

_WORKER = {}  # set in the parent before the pool forks: the workers inherit it


def _make_pass(dupe: int) -> dict[str, np.ndarray]:
    w = _WORKER
    rows = list(data.iter_examples(w["documents"], w["train"], dupe, 0, w["config"], w["tokenizer"],
                                   w["masker"]))
    return {k: np.stack([r[k] for r in rows]).astype(t) for k, t in COMPACT.items()}


def batches(pool, batch_size: int, seed: int, ahead: int):
    """(features, labels) int32 batches, pass after pass, `ahead` passes made ahead by the pool."""
    rng = np.random.default_rng(seed)
    pending = [pool.apply_async(_make_pass, (k,)) for k in range(ahead)]
    k = ahead
    while True:
        arrays = pending.pop(0).get()
        pending.append(pool.apply_async(_make_pass, (k,)))
        k += 1
        n = len(arrays["input_ids"])
        order = rng.permutation(n)
        for i in range(0, n - batch_size + 1, batch_size):
            idx = order[i : i + batch_size]
            x = {f: arrays[f][idx].astype(np.int32) for f in FEATURES}
            y = {f: arrays[f][idx].astype(np.int32) for f in ("labels", "sentence_order_label")}
            yield x, y


def rate_at(fraction: float, peak: float, warmup_fraction: float) -> float:
    """Linear warm-up over `warmup_fraction` of the budget, then linear decay to 0 at its end.

    >>> [round(rate_at(f, 1e-3, 0.1), 6) for f in (0.0, 0.05, 0.1, 0.55, 1.0, 1.5)]
    [0.0, 0.0005, 0.001, 0.0005, 0.0, 0.0]
    """
    if fraction < warmup_fraction:
        return peak * fraction / warmup_fraction
    return peak * max(0.0, 1.0 - fraction) / (1.0 - warmup_fraction)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", required=True, help="text file or folder, as tf-albert pretrain's")
    p.add_argument("--init-checkpoint", required=True, help="model folder (or embedded name) to start from")
    p.add_argument("--out", required=True)
    p.add_argument("--train-seconds", type=float, required=True, help="the budget, after compilation")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--learning-rate", type=float, default=1e-3, help="LAMB's peak rate")
    p.add_argument("--warmup-fraction", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--max-predictions-per-seq", type=int, default=20)
    p.add_argument("--steps-per-epoch", type=int, default=50)
    p.add_argument("--save-every", type=float, default=120.0, help="seconds between model folders")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=max(1, min(8, (os.cpu_count() or 2) - 2)))
    p.add_argument("--dtype-policy", default="mixed_bfloat16")
    a = p.parse_args(argv)
    for name in ("train_seconds", "batch_size", "learning_rate", "steps_per_epoch", "save_every"):
        if getattr(a, name) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be > 0, got {getattr(a, name)!r}")
    if not 0 <= a.warmup_fraction < 1:
        raise ValueError(f"--warmup-fraction must be in [0, 1), got {a.warmup_fraction!r}")

    from tf_albert import AlbertTokenizer

    start = time.time()
    tokenizer = AlbertTokenizer.from_pretrained(a.init_checkpoint)
    config = data.PretrainingDataConfig(
        max_seq_length=a.max_seq_length, max_predictions_per_seq=a.max_predictions_per_seq, seed=a.seed
    )
    text = data.read_documents(data.corpus_files(a.corpus))
    train, held_out = data.split_documents(text, config.eval_fraction)
    _WORKER.update(documents=data.tokenize_documents(tokenizer, text), train=train, config=config,
                   tokenizer=tokenizer, masker=data.masker_for(tokenizer, config))
    print(f"corpus: {len(text)} documents ({len(held_out)} held out), "
          f"tokenized in {time.time() - start:.0f}s", flush=True)
    # Fork before JAX starts its runtime (a fork after that is unsafe); the workers need no JAX.
    pool = multiprocessing.get_context("fork").Pool(a.workers)

    import jax

    from tf_albert.model.modeling import AlbertForPreTraining
    from tf_albert.training.metrics import MaskedAccuracy
    from tf_albert.training.optimization import create_optimizer

    keras.mixed_precision.set_global_policy(a.dtype_policy)
    keras.utils.set_random_seed(a.seed)
    model = AlbertForPreTraining.from_pretrained(a.init_checkpoint)
    optimizer = create_optimizer("lamb", learning_rate=a.learning_rate, num_train_steps=None,
                                 weight_decay=a.weight_decay)
    model.compile(optimizer=optimizer, metrics=[MaskedAccuracy(name="mlm_accuracy")], jit_compile=True)
    print(f"model: {model.count_params():,} parameters on {jax.devices()[0].device_kind}; batch "
          f"{a.batch_size} x {a.max_seq_length}, LAMB peak {a.learning_rate}, {a.train_seconds:.0f}s budget",
          flush=True)
    os.makedirs(a.out, exist_ok=True)
    schedule = TimeBudget(a, tokenizer)
    model.fit(batches(pool, a.batch_size, a.seed, ahead=a.workers), epochs=10**9,
              steps_per_epoch=a.steps_per_epoch, callbacks=[schedule], shuffle=False, verbose=0)
    schedule.save(model)
    pool.terminate()
    summary = {"steps": schedule.steps, "examples": schedule.steps * a.batch_size,
               "train_seconds": round(time.time() - schedule.start, 1),
               "wall_seconds": round(time.time() - start, 1), "device": jax.devices()[0].device_kind,
               "tensorflow_imported": "tensorflow" in sys.modules, "args": vars(a)}
    with open(os.path.join(a.out, "run.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary), flush=True)
    return 0


class TimeBudget(keras.callbacks.Callback):
    """Sets the rate from the elapsed share of the budget at every epoch start, logs, saves, stops."""

    def __init__(self, args, tokenizer):
        super().__init__()
        self.a, self.tokenizer = args, tokenizer
        self.start = None  # set when the compile epoch ends
        self.steps = 0
        self.last_save = time.time()
        self.log_path = os.path.join(args.out, "log.csv")
        with open(self.log_path, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(["epoch", "step", "seconds", "learning_rate", "loss", "mlm_accuracy"])

    def fraction(self) -> float:
        return 0.0 if self.start is None else (time.time() - self.start) / self.a.train_seconds

    def on_epoch_begin(self, epoch, logs=None):
        rate = 0.0 if self.start is None else rate_at(self.fraction(), self.a.learning_rate,
                                                      self.a.warmup_fraction)
        self.model.optimizer.learning_rate.assign(rate)

    def on_epoch_end(self, epoch, logs=None):
        self.steps += self.a.steps_per_epoch
        if self.start is None:
            self.start = time.time()
        logs = logs or {}
        seconds = time.time() - self.start
        loss, accuracy = logs.get("loss", float("nan")), logs.get("mlm_accuracy", float("nan"))
        used = float(self.model.optimizer.learning_rate)  # the rate the epoch ran with (synced back)
        row = [epoch, self.steps, round(seconds, 1), f"{used:.3g}", f"{loss:.4f}", f"{accuracy:.4f}"]
        with open(self.log_path, "a", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(row)
        if epoch % 10 == 0:
            print("epoch", *row, flush=True)
        if self.fraction() >= 1.0:
            self.model.stop_training = True
        elif time.time() - self.last_save > self.a.save_every:
            self.save(self.model)

    def save(self, model):
        """The model folder; `save_pretrained` writes it aside and swaps it in, so it is never half written."""
        self.tokenizer.model_max_length = self.a.max_seq_length
        model.save_pretrained(os.path.join(self.a.out, "model"), tokenizer=self.tokenizer,
                              formats=("safetensors",))
        self.last_save = time.time()


if __name__ == "__main__":
    sys.exit(main())
