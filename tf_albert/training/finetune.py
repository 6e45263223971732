"""Fine-tuning from files or lists in one call (`finetune`) or one command (`tf-albert finetune`).

Reads the data, tokenizes it with the model's tokenizer, builds the head, trains with AdamW + linear
warm-up/decay in a resumable `fit` (backup per epoch; rerun the same command to continue), evaluates
(accuracy/F1, Pearson, exact match/F1 as fits the task) and writes `save_pretrained` + `metrics.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import keras
import numpy as np

from tf_albert.checkpoints.resolve import local_path
from tf_albert.model import modeling
from tf_albert.pretrained import DEFAULT_MODEL
from tf_albert.tasks import TRAINING_MODEL_CLASS_NAMES, training_task
from tf_albert.tokenization.tokenizer import AlbertTokenizer
from tf_albert.training import data_files as F
from tf_albert.training import datasets as D
from tf_albert.training import metrics as M
from tf_albert.training import qa as Q
from tf_albert.utils.batching import for_compiler, parse_length_buckets
from tf_albert.training.callbacks import claim_run_folder, file_digest, fit_in_run_folder
from tf_albert.training.command import add_run_arguments, run_command, run_options
from tf_albert.training.distribute import check_strategy, is_chief, strategy_scope
from tf_albert.training.optimization import create_optimizer
from tf_albert.utils.backends import accelerator, backend

#: training task → model class name (the one task vocabulary's table).
TASK_MODELS = TRAINING_MODEL_CLASS_NAMES
PROBLEM_TYPES = {
    "classification": "single_label_classification",
    "regression": "regression",
    "multi_label": "multi_label_classification",
}


def _words(value):
    return value.split() if isinstance(value, str) else list(value)


def _choices(row, column):
    if column is not None:
        value = row[column]
        return json.loads(value) if isinstance(value, str) and value.startswith("[") else list(value)
    for prefix in ("ending", "choice", "option"):
        keys = sorted(
            (k for k in row if k.startswith(prefix) and k[len(prefix) :].isdigit()),
            key=lambda k: int(k[len(prefix) :]),
        )
        if keys:
            return [row[k] for k in keys]
    raise ValueError(
        f"no choices column: give choices_column (tried {list(F.CHOICE_COLUMNS)} and "
        f"ending0/choice0/option0...); the data has columns {list(row)}"
    )


def build_dataset(
    task: str,
    rows,
    tokenizer,
    *,
    training: bool,
    label2id=None,
    columns: dict | None = None,
    max_length: int = 128,
    doc_stride: int = 128,
    max_query_length: int = 64,
    batch_size: int = 32,
    seed: int = 0,
    pad_to_multiple_of: int | None = None,
    group_by_length: bool = True,
    length_buckets="auto",
    max_tokens: int | None = None,
    feeder: str = "auto",
):
    """The dataset of one split for `task`, plus what evaluation needs (label2id, gold labels, QA windows).

    Training data is shuffled and (`group_by_length`) batched by length, with `max_tokens` if given;
    evaluation data is sorted by length (question answering keeps its windows in order) in batches of
    `batch_size`. Both pad to `length_buckets` (see `datasets.make_dataset`); `feeder` picks tf.data or a
    `keras.utils.PyDataset` ("auto": tf.data on TensorFlow, else the PyDataset)."""
    training_task(task)
    c = dict(columns or {})
    kw = dict(feeder=feeder, batch_size=batch_size, shuffle=training, seed=seed,
              pad_to_multiple_of=pad_to_multiple_of,
              group_by_length=group_by_length and (training or task != "question_answering"),
              length_buckets=length_buckets, max_tokens=max_tokens if training else None)
    if task == "question_answering":
        ds = Q.question_answering_dataset(
            tokenizer,
            rows,
            max_length=max_length,
            doc_stride=doc_stride,
            max_query_length=max_query_length,
            with_labels=training,
            **kw,
        )
        return ds, {"features": ds.features}
    if task == "token_classification":
        wc = F.pick_column(rows, c.get("text"), F.WORD_COLUMNS, "words")
        lc = F.pick_column(rows, c.get("label"), F.TAG_COLUMNS, "tags")
        words = [_words(r[wc]) for r in rows]
        tags = [_words(r[lc]) for r in rows]
        ds = D.token_classification_dataset(
            tokenizer, words, tags, max_length=max_length, label2id=label2id, **kw
        )
        return ds, {"label2id": ds.label2id}
    if task == "multiple_choice":
        cc = F.pick_column(rows, c.get("text"), F.CONTEXT_COLUMNS, "context")
        qc = F.pick_column(rows, c.get("question"), F.QUESTION_COLUMNS, "question", required=False)
        ch = F.pick_column(rows, c.get("choices"), F.CHOICE_COLUMNS, "choices", required=False)
        lc = F.pick_column(rows, c.get("label"), F.LABEL_COLUMNS, "label")
        labels = [int(r[lc]) for r in rows]
        ds = D.multiple_choice_dataset(
            tokenizer,
            [r[cc] for r in rows],
            [_choices(r, ch) for r in rows],
            labels,
            [r[qc] for r in rows] if qc else None,
            max_length=max_length,
            **kw,
        )
        return ds, {"labels": np.array(labels)}
    tc = F.pick_column(rows, c.get("text"), F.TEXT_COLUMNS, "text")
    pc = F.pick_column(rows, c.get("text_pair"), F.PAIR_COLUMNS, "text pair", required=False)
    lc = F.pick_column(rows, c.get("label"), F.LABEL_COLUMNS, "label")
    labels = [r[lc] for r in rows]
    if task == "multi_label":
        labels = [_words(v) if isinstance(v, str) else list(v) for v in labels]
    ds = D.classification_dataset(
        tokenizer,
        [r[tc] for r in rows],
        labels,
        [r[pc] for r in rows] if pc else None,
        max_length=max_length,
        label2id=label2id,
        problem_type=PROBLEM_TYPES[task],
        num_labels=len(label2id) if label2id else None,
        **kw,
    )
    gold = [float(v) for v in labels] if task == "regression" else None
    return ds, {"label2id": ds.label2id, "gold": gold}


def evaluate_task(model, task: str, dataset, extras: dict) -> dict:
    """Task metrics on a dataset built by `build_dataset(training=False)`."""
    if task == "question_answering":
        starts, ends = Q.predict_windows(model, dataset)
        predictions = Q.postprocess(extras["features"], starts, ends)
        return Q.squad_metrics(predictions, extras["features"]["examples"])
    gold, pred = [], []
    for x, y in dataset:
        logits = np.asarray(model.predict_on_batch(x)["logits"])
        gold.append(np.asarray(y))
        pred.append(logits)
    if task == "token_classification":
        g = np.concatenate([a.ravel() for a in gold])
        p = np.concatenate([b.argmax(-1)[:, : a.shape[1]].ravel() for a, b in zip(gold, pred)])
        n = model.config.num_labels
        return {"accuracy": M.accuracy(g, p), **M.f1_scores(g, p, n), "tokens": int((g != -100).sum())}
    g, p = np.concatenate(gold), np.concatenate(pred)
    if task == "regression":
        p = p.reshape(-1)
        return {"mse": float(np.mean((p - g) ** 2)), "pearson": M.pearson(g, p), "examples": len(g)}
    if task == "multi_label":
        hits = (p > 0) == (g > 0.5)
        return {
            "subset_accuracy": float(hits.all(-1).mean()),
            "label_accuracy": float(hits.mean()),
            "examples": len(g),
        }
    out = {"accuracy": M.accuracy(g, p.argmax(-1)), "examples": len(g)}
    if task == "classification":
        out.update(M.f1_scores(g, p.argmax(-1), p.shape[-1]))
    return out


def finetune(
    task: str,
    train,
    output_dir: str,
    model: str = DEFAULT_MODEL,
    eval=None,
    *,
    tokenizer=None,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    max_length: int = 128,
    doc_stride: int = 128,
    max_query_length: int = 64,
    columns: dict | None = None,
    label_names=None,
    seed: int = 0,
    strategy=None,
    jit_compile=None,
    pad_to_multiple_of: int | None = 8,
    group_by_length: bool = True,
    length_buckets="auto",
    max_tokens: int | None = None,
    feeder: str = "auto",
    verbose="auto",
    log=print,
    overwrite: bool = False,
) -> dict:
    """Fine-tunes a pretrained ALBERT on one task and saves it; rerun the same call to resume.

    Args:
        task: "classification", "regression", "multi_label", "token_classification", "multiple_choice" or
            "question_answering".
        train, eval: a .csv/.tsv/.jsonl/.json file (SQuAD JSON for QA) or a list of dicts.
        output_dir: gets `backup/`, `checkpoints/latest.weights.h5`, `log.csv`, `model/` (save_pretrained +
            tokenizer) and `metrics.json`.
        model: an embedded model name (default "tf-albert-small"), a local folder or a hub id.
        tokenizer: an `AlbertTokenizer` or its folder (default: the model's folder).
        epochs, batch_size (global), learning_rate, warmup_ratio, weight_decay: AdamW with linear warm-up
            over `warmup_ratio` of the steps and linear decay to 0.
        max_length, doc_stride, max_query_length: tokenization (doc_stride/max_query_length: QA windows).
        columns: {"text", "text_pair", "label", "question", "choices"} column names when not the defaults.
        label_names: the class names in id order (default: sorted labels of the training data).
        strategy: a `tf.distribute.Strategy` (TensorFlow only); None for the default.
        jit_compile: XLA-compile the training step; None: `default_jit_compile()` (with a GPU or TPU, and
            always on JAX).
        group_by_length, length_buckets, max_tokens, pad_to_multiple_of: batching and padding (see
            `datasets.make_dataset`). By default training batches are shuffled and grouped by length; with
            XLA they are padded to the 5 lengths that pad the data least (with the one short batch at most
            6 compiled shapes, `length_buckets="auto"`), without XLA each batch to its longest row rounded
            up to `pad_to_multiple_of`.
        feeder: how batches reach `fit`: "auto" (tf.data on TensorFlow, a `keras.utils.PyDataset` on JAX
            and PyTorch), "tf.data" or "py_dataset" — the same batches either way, so a run resumes with
            either.
        overwrite: `output_dir` holds another run (other data, arguments or labels; recorded in its
            `run.json`): delete that run's files and start fresh instead of raising ValueError.

    Returns:
        The evaluation metrics (on `eval`, else on `train`), plus `train_seconds`.

    Example:
    >>> rows = [{"text": "a fine film", "label": 1}, {"text": "dull and long", "label": 0}] * 8
    >>> metrics = finetune("classification", rows, "out/sst", epochs=2, batch_size=4)  # doctest: +SKIP
    """
    training_task(task)
    check_strategy(strategy)
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not 0.0 <= float(warmup_ratio) < 1.0:
        raise ValueError(f"warmup_ratio must be in [0, 1), got {warmup_ratio!r}")
    started = time.time()
    model_path = local_path(model) or model
    tokenizer_source = tokenizer  # for the run's identity: a path, None (the model's own) or an instance
    if tokenizer is None or isinstance(tokenizer, (str, os.PathLike)):
        source = (local_path(tokenizer) or tokenizer) if tokenizer is not None else model_path
        try:
            tokenizer = AlbertTokenizer.from_pretrained(source)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f"{e}; pass the tokenizer (a folder with spiece.model) explicitly"
            ) from None
    label2id = None
    if label_names is not None:
        label2id = {str(n): i for i, n in enumerate(label_names)}

    train_rows = F.read_rows(train)
    jit = default_jit_compile() if jit_compile is None else bool(jit_compile)
    common = dict(
        columns=columns,
        max_length=max_length,
        doc_stride=doc_stride,
        max_query_length=max_query_length,
        batch_size=batch_size,
        seed=seed,
        pad_to_multiple_of=pad_to_multiple_of,
        group_by_length=group_by_length,
        length_buckets=length_buckets,
        max_tokens=max_tokens,
    )
    # "auto": fixed lengths for XLA; the feeder is not part of the run (both give the same batches)
    padding = dict(common, length_buckets=for_compiler(length_buckets, jit), feeder=feeder)
    train_ds, train_extras = _naming_file(
        train, lambda: build_dataset(task, train_rows, tokenizer, training=True, label2id=label2id, **padding)
    )
    label2id = train_extras.get("label2id") or label2id
    eval_rows = F.read_rows(eval) if eval is not None else train_rows
    eval_ds, eval_extras = _naming_file(
        eval if eval is not None else train,
        lambda: build_dataset(task, eval_rows, tokenizer, training=False, label2id=label2id, **padding),
    )
    identity = {
        "task": task,
        "data": {"train": file_digest(train), "eval": file_digest(eval)},
        "model": _described(model),
        "tokenizer": _described(tokenizer_source),
        "arguments": dict(common, epochs=epochs, learning_rate=learning_rate, warmup_ratio=warmup_ratio,
                          weight_decay=weight_decay),
        "labels": sorted(label2id, key=label2id.get) if label2id else None,  # the names in id order
    }
    done = claim_run_folder(output_dir, identity, overwrite=overwrite, chief=is_chief())
    if done >= epochs:
        log(f"{output_dir}: this run finished its {epochs} epochs already; evaluating and saving its model")
    fit_eval_ds = None
    if eval is not None and task != "question_answering":
        fit_eval_ds = eval_ds

    overrides = {}
    if task in PROBLEM_TYPES:
        overrides["problem_type"] = PROBLEM_TYPES[task]
        if task == "regression":
            overrides["num_labels"] = 1
    if label2id:
        overrides["id2label"] = {i: n for n, i in label2id.items()}
        overrides["label2id"] = dict(label2id)
    keras.utils.set_random_seed(seed)
    steps_per_epoch = train_ds.batches.steps
    total = steps_per_epoch * epochs
    with strategy_scope(strategy):
        cls = getattr(modeling, TASK_MODELS[task])
        net = cls.from_pretrained(model_path, **overrides)
        optimizer = create_optimizer(
            "adamw",
            learning_rate=learning_rate,
            num_train_steps=total,
            num_warmup_steps=int(round(warmup_ratio * total)),
            weight_decay=weight_decay,
        )
        metrics = []
        if task == "multi_label":
            metrics = [keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")]
        elif task != "regression":
            metrics = [
                M.MaskedAccuracy(name="start_accuracy" if task == "question_answering" else "accuracy")
            ]
        net.compile(
            optimizer=optimizer,
            metrics=metrics,
            jit_compile=jit,
        )
    log(
        f"{task}: {len(train_rows)} training examples, {steps_per_epoch} steps/epoch x {epochs} epochs, "
        f"{type(net).__name__} from {model}"
        + (f"; batches padded to lengths {train_ds.length_buckets}" if train_ds.length_buckets else "")
    )
    fit_in_run_folder(
        net,
        train_ds,
        output_dir,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        chief=is_chief(),
        validation_data=fit_eval_ds,
        verbose=verbose,
    )
    results = evaluate_task(net, task, eval_ds, eval_extras)
    results["train_seconds"] = round(time.time() - started, 1)
    results["split"] = "eval" if eval is not None else "train"
    if is_chief():
        net.save_pretrained(os.path.join(output_dir, "model"), tokenizer=tokenizer)
        with open(os.path.join(output_dir, "metrics.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    log(
        "metrics: "
        + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in results.items())
    )
    return results


def default_jit_compile() -> bool:
    """Whether `finetune` XLA-compiles the training step by default: on a GPU or TPU, and always on JAX
    (whose steps run op by op without it); not on a CPU under TensorFlow or PyTorch (`torch.compile`
    recompiles for minutes), where steps on real-length text are as fast without it."""
    return backend() == "jax" or accelerator() != "cpu"


def _described(value):
    """A path, name or None as it is; any other object by its repr (for the run's identity)."""
    if value is None or isinstance(value, (str, os.PathLike)):
        return value if value is None else os.fspath(value)
    return repr(value)


def _naming_file(source, make):
    """`make()`; a ValueError about the data is prefixed by the file the data came from."""
    try:
        return make()
    except ValueError as e:
        if isinstance(source, (str, os.PathLike)):
            raise ValueError(f"{os.fspath(source)}: {e}") from None
        raise


# === Command line ===
def build_parser(prog: str = "tf-albert finetune") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Fine-tune ALBERT on a task with AdamW + linear warm-up/decay; evaluates, checkpoints "
        "each "
        "epoch (rerun the same command to resume) and writes a save_pretrained folder.",
        epilog="Data: .csv/.tsv (header row), .jsonl (one object per line) or .json (list, or SQuAD for "
        "QA).\n"
        "Default columns: text/sentence/sentence1 (+ text_pair/sentence2) and label for classification;\n"
        "tokens + ner_tags/tags for token_classification; context/sent1 (+ question/sent2) + choices or\n"
        "ending0..N + label for multiple_choice; question, context, answers {text, answer_start} for QA.\n"
        "Example:\n  tf-albert finetune --task classification --train train.csv --eval dev.csv "
        "--out runs/sst   (fine-tunes the embedded tf-albert-small)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--task", required=True, choices=tuple(TASK_MODELS))
    p.add_argument("--train", required=True, help="training data file")
    p.add_argument("--eval", help="evaluation data file (metrics each epoch and at the end)")
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"embedded model name, folder or hub id (default {DEFAULT_MODEL})",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--tokenizer", help="tokenizer folder or spiece.model (default: the model's)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32, help="global batch size")
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--warmup-ratio", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--doc-stride", type=int, default=128, help="QA: tokens between window starts")
    p.add_argument("--max-query-length", type=int, default=64, help="QA: question tokens kept")
    p.add_argument("--text-column"), p.add_argument("--text-pair-column"), p.add_argument("--label-column")
    p.add_argument("--question-column"), p.add_argument("--choices-column")
    p.add_argument(
        "--labels", help="comma-separated class names in id order (default: sorted training labels)"
    )
    p.add_argument("--pad-to-multiple-of", type=int, default=8, help="round padded lengths up (0: off)")
    p.add_argument("--no-group-by-length", dest="group_by_length", action="store_false",
                   help="plain shuffled batches (default: shuffled, then grouped by length)")
    p.add_argument("--length-buckets", type=parse_length_buckets, default="auto",
                   help="lengths batches are padded to: 'auto' (with XLA the 5 that pad the data least, "
                   "else each batch's longest row), a count (e.g. 4), a list (16,32,64,128) or 'none' "
                   "(each batch's longest row)")
    p.add_argument("--max-tokens", type=int,
                   help="token budget per training batch (rows x padded length) instead of --batch-size rows")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="--out holds another run (other data, arguments or labels): delete it and start fresh "
        "(without this, rerunning the same command resumes the run; any other is refused)",
    )
    add_run_arguments(p)
    return p


def finetune_main(argv=None) -> int:
    """`tf-albert finetune`: returns the exit status (0 ok, 1 diverged, 2 bad arguments or data)."""
    args = build_parser().parse_args(argv)

    columns = {
        k: v
        for k, v in dict(
            text=args.text_column,
            text_pair=args.text_pair_column,
            label=args.label_column,
            question=args.question_column,
            choices=args.choices_column,
        ).items()
        if v
    }
    return run_command(
        "finetune",
        lambda: finetune(
            args.task,
            args.train,
            args.out,
            model=args.model,
            eval=args.eval,
            tokenizer=args.tokenizer,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            warmup_ratio=args.warmup_ratio,
            weight_decay=args.weight_decay,
            max_length=args.max_length,
            doc_stride=args.doc_stride,
            max_query_length=args.max_query_length,
            columns=columns,
            label_names=args.labels.split(",") if args.labels else None,
            seed=args.seed,
            pad_to_multiple_of=args.pad_to_multiple_of or None,
            group_by_length=args.group_by_length,
            length_buckets=args.length_buckets,
            max_tokens=args.max_tokens,
            overwrite=args.overwrite,
            **run_options(args),
        ),
    )


if __name__ == "__main__":
    sys.exit(finetune_main())
