"""`tf-albert pretrain` on the backend this process runs (JAX or PyTorch, TensorFlow hidden by the caller):

1. the toy run of tests/backends/pretraining_toy.py (examples made in memory, numpy batches through a
   PyDataset; `--jit on` on JAX): its held-out numbers, printed as `TOY {json}`;
2. with `--budget` (JAX), first, while the process has not started JAX's runtime (the worker process forks
   before it): what tools/pretrain_on_accelerator.py did, now options of the command: the toy model for a
   time budget in mixed bfloat16 with XLA, passes made by a worker process, the model folder saved every half
   second; then the same command with a longer budget and no workers, which resumes the first sitting's
   budget. Printed as `BUDGET {json}`.

tests/backends/test_pretraining_backends.py runs it (`main(OUT, budget=...)`) in a process per backend.
"""

import csv
import json
import os
import sys

from tests.backends import pretraining_toy as toy
from tf_albert.training.pretrain import pretrain_main


def _rows(path):
    return list(csv.DictReader(open(path, encoding="utf-8")))


def budget_runs(out):
    run = os.path.join(out, "budget")
    args = toy.command(os.path.join(out, "corpus.txt"), run)
    args = args[: args.index("--batch-size")] + [
        "--batch-size", "16", "--steps-per-epoch", "4", "--learning-rate", "1e-3", "--warmup-fraction", "0.5",
        "--save-every", "0.5", "--dtype", "mixed_bfloat16", "--jit", "on", "--quiet", "--save-formats",
        "safetensors", "--seed", "1"]
    assert pretrain_main(args + ["--train-seconds", "2", "--workers", "1"]) == 0
    first = _rows(os.path.join(run, "log.csv"))
    spent = json.load(open(os.path.join(run, "budget.json"), encoding="utf-8"))["spent_after_epoch"]
    # the same run with a longer budget: resumed (passes made in this process now that JAX runs here)
    assert pretrain_main(args + ["--train-seconds", "4", "--workers", "0"]) == 0
    rows = _rows(os.path.join(run, "log.csv"))
    results = json.load(open(os.path.join(run, "results.json"), encoding="utf-8"))
    return {"first_sitting": first, "spent_after_first": spent, "rows": rows, "results": results,
            "tensorflow_imported": "tensorflow" in sys.modules}


def main(out, budget=False):
    import keras

    os.makedirs(out, exist_ok=True)
    corpus = toy.write_corpus(os.path.join(out, "corpus.txt"))
    jit = ["--jit", "on"] if keras.backend.backend() == "jax" else []
    if budget:
        print("BUDGET", json.dumps(budget_runs(out)), flush=True)
    assert pretrain_main(toy.command(corpus, os.path.join(out, "run"), *jit)) == 0
    print("TOY", json.dumps(toy.judge(os.path.join(out, "run"))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], "--budget" in sys.argv[2:])
