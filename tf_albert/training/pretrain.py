"""ALBERT pretraining: SentencePiece training, data, LAMB, a resumable `fit`, held-out MLM/SOP accuracy.

`pretrain(corpus, output_dir)` does everything a fresh start needs and continues an interrupted run when
called again with the same arguments, on any Keras backend (TensorFlow, JAX, PyTorch; no TensorFlow needed
off the TensorFlow backend):

1. tokenizer: `--spm` when given, else the `--init-checkpoint` model's own, else a SentencePiece unigram model
   trained on the corpus with ALBERT's settings (`<pad>` 0, `<unk>` 1, control symbols `[CLS]` 2, `[SEP]` 3,
   `[MASK]` 4, lower-cased text);
2. data: SOP pairs with n-gram masking (`pretraining_data`), either written once as TFRecords and read by
   tf.data (`data="tfrecords"`, the TensorFlow default) or made in memory and fed as numpy batches through a
   `keras.utils.PyDataset` (`data="memory"`, the default on JAX and PyTorch; `pretraining_batches`): for a
   seed the same examples;
3. model: `AlbertForPreTraining` whose MLM head runs only at the masked positions, float32 or mixed precision;
4. training: LAMB with linear warm-up and decay over a number of steps, or over a time budget
   (`train_seconds`, `pretrain_run.TimeBudget`), weight decay without LayerNorm and biases,
   `BackupAndRestore` each epoch, `TerminateOnNaN`, a CSV log, the latest weights and, every `save_every`
   seconds, the model folder;
5. evaluation on held-out documents (MLM and SOP accuracy) and the final model folder.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time

import numpy as np

from tf_albert.model.losses import IGNORE_INDEX
from tf_albert.model.modeling import AlbertForPreTraining
from tf_albert.tokenization.tokenizer import AlbertTokenizer, preprocess_text
from tf_albert.training.command import run_command
from tf_albert.training.distribute import is_chief, strategy_scope
from tf_albert.training.metrics import MaskedAccuracy
from tf_albert.training.optimization import create_optimizer
from tf_albert.training.pretrain_options import build_parser, pretrain_arguments
from tf_albert.training.pretrain_run import BUDGET_FILE, SaveEvery, TimeBudget, fit_pretraining
from tf_albert.training.pretraining_batches import PretrainingBatches, PretrainingExamples
from tf_albert.training.pretraining_data import (
    PretrainingDataConfig,
    corpus_files,
    pretraining_dataset,
    read_documents,
    read_manifest,
    write_pretraining_data,
)
from tf_albert.training.pretraining_setup import (
    SMALL_CONFIG,
    TINY_CONFIG,
    has_tokenizer,
    model_folder,
    pretraining_config,
    resolve_config,
    start_from,
    wait_for,
)
from tf_albert.utils.backends import accelerator, backend, import_tensorflow


#: ALBERT's `spm_train` settings (its README), plus lower-casing done before training. SentencePiece reads
#: the symbol list as CSV, so the double quote is written as a quoted field: `""""`.
SPM_SETTINGS = dict(
    model_type="unigram",
    pad_id=0,
    unk_id=1,
    bos_id=-1,
    eos_id=-1,
    control_symbols="[CLS],[SEP],[MASK]",
    user_defined_symbols='(,),"""",-,.,–,£,€',
    shuffle_input_sentence=True,
    character_coverage=0.99995,
)


def train_sentencepiece(
    corpus,
    output_dir: str,
    vocab_size: int = 8000,
    input_sentence_size: int = 2_000_000,
    seed: int = 0,
    log=print,
) -> str:
    """Trains `output_dir/spiece.model` on the corpus with ALBERT's settings; returns the folder.

    The text is normalised as `AlbertTokenizer` will see it (lower-cased, NFKD without accents) before
    training. Ids: `<pad>` 0, `<unk>` 1, `[CLS]` 2, `[SEP]` 3, `[MASK]` 4. Writes `tokenizer_config.json` too.

    Example:
    >>> folder = train_sentencepiece("corpus/", "out/tokenizer", vocab_size=8000)  # doctest: +SKIP
    >>> AlbertTokenizer.from_pretrained(folder).convert_ids_to_tokens([0, 1, 2, 3, 4])  # doctest: +SKIP
    ['<pad>', '<unk>', '[CLS]', '[SEP]', '[MASK]']
    """
    import sentencepiece as spm

    if not isinstance(vocab_size, int) or vocab_size < 16:
        raise ValueError(f"vocab_size must be an int >= 16, got {vocab_size!r}")
    os.makedirs(output_dir, exist_ok=True)
    lines = [
        preprocess_text(line, do_lower_case=True)
        for doc in read_documents(corpus_files(corpus))
        for line in doc
    ]
    if not lines:
        raise ValueError("the corpus has no text to train a tokenizer on")
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "text.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        prefix = os.path.join(tmp, "spiece")
        try:
            spm.SentencePieceTrainer.train(
                input=text,
                model_prefix=prefix,
                vocab_size=vocab_size,
                input_sentence_size=input_sentence_size,
                seed_sentencepiece_size=1_000_000,
                num_threads=1,
                minloglevel=2,
                **SPM_SETTINGS,
            )
        except RuntimeError as e:  # e.g. "Vocabulary size too high (8000). Please set it to a value <= 50."
            raise ValueError(
                f"SentencePiece training failed for vocab_size={vocab_size}: {str(e).split('] ')[-1]}"
            ) from None
        tokenizer = AlbertTokenizer(vocab_file=prefix + ".model")
        staged = os.path.join(tmp, "tokenizer")
        tokenizer.save_pretrained(staged)
        for name in sorted(os.listdir(staged), key=lambda n: n == "spiece.model"):  # spiece.model last
            os.replace(os.path.join(staged, name), os.path.join(output_dir, name))
    log(f"trained a {vocab_size}-piece SentencePiece model on {len(lines)} lines -> {output_dir}")
    return output_dir


def pretraining_tokenizer(corpus, output_dir: str, *, spm=None, init_checkpoint=None, vocab_size: int = 8000,
                          seed: int = 0, chief: bool = True, log=print) -> AlbertTokenizer:
    """The run's tokenizer: `spm` when given, else the `init_checkpoint` model's own when it has one, else
    `output_dir/tokenizer/` (trained on the corpus by the chief the first time; the other workers wait)."""
    init_folder = model_folder(init_checkpoint)
    if spm is not None:
        tokenizer = AlbertTokenizer.from_pretrained(spm)
    elif init_folder is not None and has_tokenizer(init_folder):
        tokenizer = AlbertTokenizer.from_pretrained(init_folder)
        log(f"tokenizer: {init_folder}'s")
    else:
        tok_dir = os.path.join(output_dir, "tokenizer")
        spiece = os.path.join(tok_dir, "spiece.model")
        if not os.path.exists(spiece):
            if chief:
                train_sentencepiece(corpus, tok_dir, vocab_size=vocab_size, seed=seed, log=log)
            else:
                wait_for(lambda: os.path.exists(spiece), "the chief's tokenizer", log)
        tokenizer = AlbertTokenizer.from_pretrained(tok_dir)
    expected = {"<pad>": 0, "<unk>": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
    got = {t: tokenizer.convert_tokens_to_ids(t) for t in expected}
    if got != expected:
        log(f"note: the tokenizer's special ids are {got} (ALBERT's are {expected})")
    return tokenizer


def evaluate_pretraining(model, dataset, steps: int | None = None) -> dict:
    """Held-out MLM accuracy (over masked positions) and SOP accuracy, with their losses.

    Args:
        model: an `AlbertForPreTraining`.
        dataset: `(features, labels)` batches: a tf.data dataset (`pretraining_dataset(split="eval")`), a
            `PretrainingBatches(split="eval")` or any iterable of numpy batches.
        steps: batches to evaluate (None: all).

    Example:
    >>> eval_ds = pretraining_dataset("data/", 64, split="eval", repeat=False)  # doctest: +SKIP
    >>> evaluate_pretraining(model, eval_ds)  # doctest: +SKIP
    {'mlm_accuracy': ..., 'sop_accuracy': ..., 'mlm_loss': ..., 'sop_loss': ..., 'examples': ...}
    """
    import keras

    def logits(x):
        out = model(x, training=False)
        return out["prediction_logits"], out["sop_logits"]

    if backend() == "tensorflow":
        logits = import_tensorflow("tf.data").function(logits, autograph=False)
    if isinstance(dataset, keras.utils.PyDataset):
        batches = dataset
        dataset = (batches[i] for i in range(len(batches)))
    mlm_hit = mlm_n = sop_hit = n = 0
    mlm_nll = sop_nll = 0.0
    for i, (x, y) in enumerate(dataset):
        if steps is not None and i >= steps:
            break
        mlm_logits, sop_logits = (keras.ops.convert_to_numpy(t).astype(np.float64) for t in logits(x))
        labels = keras.ops.convert_to_numpy(y["labels"])
        sop = keras.ops.convert_to_numpy(y["sentence_order_label"]).reshape(-1)
        counted = labels != IGNORE_INDEX
        safe = np.where(counted, labels, 0)
        mlm_logp = mlm_logits - _logsumexp(mlm_logits)
        mlm_nll -= np.take_along_axis(mlm_logp, safe[..., None], -1)[..., 0][counted].sum()
        mlm_hit += (mlm_logits.argmax(-1) == labels)[counted].sum()
        mlm_n += counted.sum()
        sop_logp = sop_logits - _logsumexp(sop_logits)
        sop_nll -= np.take_along_axis(sop_logp, sop[:, None], -1).sum()
        sop_hit += (sop_logits.argmax(-1) == sop).sum()
        n += len(sop)
    if n == 0:
        raise ValueError("the evaluation dataset is empty")
    return {
        "mlm_accuracy": float(mlm_hit / max(mlm_n, 1)),
        "sop_accuracy": float(sop_hit / n),
        "mlm_loss": float(mlm_nll / max(mlm_n, 1)),
        "sop_loss": float(sop_nll / n),
        "examples": int(n),
        "masked_tokens": int(mlm_n),
    }


def _logsumexp(x):
    m = x.max(-1, keepdims=True)
    return m + np.log(np.exp(x - m).sum(-1, keepdims=True))


def save_model_folder(model, tokenizer, folder: str, formats=("safetensors", "h5")) -> list[str]:
    """Writes the model in HF layout (`config.json` + `model.safetensors` and/or `tf_model.h5`, see
    `tf_albert.checkpoints.api.save_pretrained`) and the tokenizer files into `folder`, atomically."""
    model.save_pretrained(folder, tokenizer=tokenizer, formats=tuple(formats))
    return sorted(os.listdir(folder))


def pretrain(
    corpus,
    output_dir: str,
    spm: str | None = None,
    config=None,
    config_overrides: dict | None = None,
    init_checkpoint: str | None = None,
    vocab_size: int = 8000,
    data_config: PretrainingDataConfig | None = None,
    batch_size: int = 64,
    num_train_steps: int = 10000,
    steps_per_epoch: int = 200,
    learning_rate: float = 2e-3,
    warmup_steps: int | None = None,
    weight_decay: float = 0.01,
    seed: int = 0,
    jit_compile=None,
    strategy=None,
    eval_steps: int | None = None,
    save_formats=("safetensors", "h5"),
    length_buckets=None,
    train_seconds: float | None = None,
    warmup_fraction: float = 0.1,
    save_every: float | None = None,
    dtype: str | None = None,
    data: str = "auto",
    workers="auto",
    verbose="auto",
    log=print,
) -> dict:
    """Pretrains ALBERT on a text corpus (MLM + SOP) on any Keras backend; rerun the same call to resume.

    Args:
        corpus: folder of `*.txt` files (one sentence per line, empty line between documents), a file or
            a list of them.
        output_dir: gets `tokenizer/` (a trained one), `data/` (TFRecords), `backup/`,
            `checkpoints/latest.weights.h5`, `log.csv`, `budget.json` (a time budget's seconds spent),
            `model/` (the final model + tokenizer) and `results.json`. Under multi-worker training it must
            be a folder every worker sees; the chief writes tokenizer, data and model, the others wait.
        spm: a SentencePiece model file or tokenizer folder; None: the tokenizer of `init_checkpoint` when it
            has one, else one trained on the corpus (`vocab_size` pieces).
        config: None (the `init_checkpoint` model's architecture, else the tiny default `TINY_CONFIG`),
            "tiny", "small", a preset name, config.json or model folder; `vocab_size` is always the
            tokenizer's. `config_overrides`: fields to change.
        init_checkpoint: the weights the run starts from instead of random ones (Google ALBERT's
            `--init_checkpoint`), of the same architecture: a model folder or embedded name (e.g. the
            distributional embeddings of `tools/distributional_init.py`), or an earlier run's output folder
            (the weights of its last finished epoch, also when it was stopped); a resumed run continues from
            its backup instead.
        data_config: `PretrainingDataConfig` (sequence length, masking, duplication, ...).
        batch_size: global batch size (split over the replicas of `strategy`).
        num_train_steps, steps_per_epoch: optimizer steps in total and per epoch (a backup per epoch).
        learning_rate, warmup_steps, weight_decay: LAMB with linear warm-up (default 10 % of the steps)
            and linear decay to 0; no weight decay on LayerNorm and biases.
        jit_compile: XLA-compile the training step; None: only on a GPU or TPU and where the backend
            compiles with XLA (TensorFlow, JAX; on 2 CPU cores XLA ran the pretraining step 0.88-1.20x as
            fast as without it: docs/performance.md).
        strategy: a `tf.distribute.Strategy` (TensorFlow; see `tf_albert.training.distribute`).
        eval_steps: batches of held-out data to evaluate (None: all).
        save_formats: weight files of the final model folder ("safetensors", "h5").
        length_buckets: None (batches of max_seq_length, one static shape) or "auto" / a list of lengths:
            each batch cut to the shortest that holds its longest row (see `pretraining_dataset`).
        train_seconds: train for this many seconds instead of `num_train_steps` (which is then ignored): the
            rate warms up over `warmup_fraction` of the time and decays linearly to 0 at its end, set from
            the elapsed share at every epoch start; each sitting's first epoch (compilation) is not counted.
        save_every: write the model folder every this many seconds (at an epoch end), as well as at the end.
        dtype: the compute dtype policy: None / "float32", "mixed_bfloat16" or "mixed_float16" (float32
            weights either way).
        data: "tfrecords" (written once, read by tf.data: TensorFlow only), "memory" (made in memory, fed as
            numpy batches: any backend, no files) or "auto" (TFRecords on the TensorFlow backend).
        workers: processes making in-memory passes ahead (0: none; "auto": up to 8 where the machine has at
            least 4 cores).

    Returns:
        dict with the held-out `mlm_accuracy`, `sop_accuracy`, losses, steps and wall time.

    Example:
    >>> results = pretrain("corpus/", "out/", num_train_steps=2000, batch_size=64)  # doctest: +SKIP
    >>> results["mlm_accuracy"], results["sop_accuracy"]  # doctest: +SKIP
    """
    import keras

    start_time = time.time()
    if not isinstance(num_train_steps, int) or num_train_steps < 1:
        raise ValueError(f"num_train_steps must be a positive int, got {num_train_steps!r}")
    if not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be a positive int, got {steps_per_epoch!r}")
    for name, value in (("train_seconds", train_seconds), ("save_every", save_every)):
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be > 0 seconds, got {value!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(str(d) for d in DTYPES)}, got {dtype!r}")
    data = ("tfrecords" if backend() == "tensorflow" else "memory") if data == "auto" else data
    if data not in ("tfrecords", "memory"):
        raise ValueError(f"data must be 'auto', 'tfrecords' or 'memory', got {data!r}")
    if data == "tfrecords":
        import_tensorflow("tf.data")
    os.makedirs(output_dir, exist_ok=True)
    data_config = data_config or PretrainingDataConfig()
    chief = is_chief()  # under multi-worker training the chief writes tokenizer, data and model

    # 1. tokenizer
    tokenizer = pretraining_tokenizer(corpus, output_dir, spm=spm, init_checkpoint=init_checkpoint,
                                      vocab_size=vocab_size, seed=seed, chief=chief, log=log)

    # 2. data: TFRecords read by tf.data, or made in memory (worker processes fork here, before any model)
    data_dir = os.path.join(output_dir, "data")
    if data == "tfrecords":
        if chief:
            manifest = write_pretraining_data(corpus, tokenizer, data_dir, data_config, log=log)
        else:
            wait_for(lambda: _complete(data_dir), "the chief's pretraining data", log)
            manifest = read_manifest(data_dir)
        log(f"data: {manifest['num_train_examples']} training and {manifest['num_eval_examples']} held-out "
            "examples (TFRecords)")
        train_data = pretraining_dataset(data_dir, batch_size, seed=seed, length_buckets=length_buckets)
    else:
        examples = PretrainingExamples.from_corpus(corpus, tokenizer, data_config)
        if workers == "auto":
            workers = min(8, os.cpu_count() - 2) if (os.cpu_count() or 1) >= 4 else 0
        train_data = PretrainingBatches(examples, batch_size, seed=seed, length_buckets=length_buckets,
                                        workers=workers)
        log(f"data: {len(examples.train)} training and {len(examples.held_out)} held-out documents, examples "
            f"made in memory ({workers} worker processes)")

    try:
        # 3. model and optimizer
        model_config = pretraining_config(config, init_checkpoint, len(tokenizer), config_overrides)
        if data_config.max_seq_length > model_config.max_position_embeddings:
            raise ValueError(f"max_seq_length {data_config.max_seq_length} exceeds max_position_embeddings "
                             f"{model_config.max_position_embeddings}")
        # Positions beyond the pretraining length are untrained: make that the tokenizer's default limit.
        tokenizer.model_max_length = min(data_config.max_seq_length, model_config.max_position_embeddings)
        keras.utils.set_random_seed(seed)
        if jit_compile is None:
            jit_compile = has_accelerator() and backend() != "torch"  # XLA where the backend has it
        warmup = int(round(0.1 * num_train_steps)) if warmup_steps is None else warmup_steps
        policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy(dtype or "float32")
        try:
            with strategy_scope(strategy):
                model = AlbertForPreTraining(model_config)
                model.build()
                if init_checkpoint is not None:
                    start_from(model, init_checkpoint)
                    log(f"initial weights: {init_checkpoint}")
                optimizer = create_optimizer("lamb", learning_rate=learning_rate,
                                             num_train_steps=None if train_seconds else num_train_steps,
                                             num_warmup_steps=0 if train_seconds else warmup,
                                             weight_decay=weight_decay)
                model.compile(optimizer=optimizer, metrics=[MaskedAccuracy(name="mlm_accuracy")],
                              jit_compile=jit_compile)
        finally:
            keras.config.set_dtype_policy(policy)
        schedule = (f"a {train_seconds:g} s budget (warm-up {warmup_fraction:.0%})" if train_seconds
                    else f"{num_train_steps} steps (warm-up {warmup})")
        log(f"model: {model.count_params():,} parameters on {backend()} ({accelerator()}, "
            f"{dtype or 'float32'}, XLA {'on' if jit_compile else 'off'}); {schedule} of {batch_size}, "
            f"LAMB lr {learning_rate}")

        # 4. training
        def save(trained):
            save_model_folder(trained, tokenizer, os.path.join(output_dir, "model"), formats=save_formats)

        budget = None
        if train_seconds:
            budget = TimeBudget(train_seconds, learning_rate, warmup_fraction,
                                state_path=os.path.join(output_dir, BUDGET_FILE), writer=chief)
        epochs = 10**9 if train_seconds else math.ceil(num_train_steps / steps_per_epoch)
        callbacks = [SaveEvery(save_every, save)] if save_every and chief else []
        done = fit_pretraining(model, train_data, output_dir, epochs=epochs, steps_per_epoch=steps_per_epoch,
                               chief=chief, callbacks=callbacks, budget=budget, verbose=verbose)
        train_seconds_run = time.time() - start_time

        # 5. held-out evaluation and the final model
        results = {
            "steps": done * steps_per_epoch,
            "batch_size": batch_size,
            "max_seq_length": data_config.max_seq_length,
            "parameters": int(model.count_params()),
            "backend": backend(),
            "data": data,
        }
        if budget is not None:
            results["budget_seconds_spent"] = round(budget.spent(), 1)
        eval_data = None
        if data == "tfrecords":
            results["train_examples"] = manifest["num_train_examples"]
            if manifest["num_eval_examples"]:
                eval_data = pretraining_dataset(data_dir, batch_size, split="eval", shuffle=False,
                                                repeat=False, drop_remainder=False,
                                                length_buckets=length_buckets)
        elif examples.held_out:
            eval_data = PretrainingBatches(examples, batch_size, split="eval", length_buckets=length_buckets)
        if eval_data is not None:
            results.update(evaluate_pretraining(model, eval_data, eval_steps))
            log(f"held-out: MLM accuracy {results['mlm_accuracy']:.4f}, "
                f"SOP accuracy {results['sop_accuracy']:.4f}")
    finally:
        if data == "memory":
            train_data.close()
    results["wall_seconds_this_run"] = round(train_seconds_run, 1)
    if chief:
        save(model)
        with open(os.path.join(output_dir, "results.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return results


#: `pretrain(dtype=...)` values: the compute dtype policy (weights stay float32).
DTYPES = (None, "float32", "mixed_bfloat16", "mixed_float16")


def _complete(data_dir: str) -> bool:
    try:
        read_manifest(data_dir)
        return True
    except (FileNotFoundError, ValueError):
        return False


def has_accelerator() -> bool:
    """True when the Keras backend computes on a GPU or TPU."""
    return accelerator() != "cpu"


def pretrain_main(argv=None) -> int:
    """`tf-albert pretrain`: returns the exit status (0 ok, 1 failed, 2 bad arguments)."""
    args = build_parser().parse_args(argv)
    return run_command("pretrain", lambda: pretrain(**pretrain_arguments(args)))


__all__ = [
    "TINY_CONFIG",
    "SMALL_CONFIG",
    "SPM_SETTINGS",
    "resolve_config",
    "build_parser",
    "train_sentencepiece",
    "pretrain",
    "evaluate_pretraining",
    "pretrain_main",
    "save_model_folder",
    "read_manifest",
]


if __name__ == "__main__":
    sys.exit(pretrain_main())
