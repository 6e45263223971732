"""ALBERT pretraining: SentencePiece training, data, LAMB, a resumable `fit`, held-out MLM/SOP accuracy.

`pretrain(corpus, output_dir)` does everything a fresh start needs and continues an interrupted run when
called again with the same arguments:

1. tokenizer: `--spm` when given, else a SentencePiece unigram model trained on the corpus with ALBERT's
   settings (`<pad>` 0, `<unk>` 1, control symbols `[CLS]` 2, `[SEP]` 3, `[MASK]` 4, lower-cased text);
2. data: TFRecords of SOP pairs with n-gram masking (`pretraining_data`), written once;
3. model: `AlbertForPreTraining` whose MLM head runs only at the masked positions;
4. training: LAMB with linear warm-up and polynomial decay, weight decay without LayerNorm and biases,
   `BackupAndRestore` each epoch, `TerminateOnNaN`, a CSV log and the latest weights;
5. evaluation on held-out documents (MLM and SOP accuracy) and the final model folder.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np

from tf_albert.model.config import AlbertConfig
from tf_albert.model.losses import IGNORE_INDEX
from tf_albert.model.modeling import AlbertForPreTraining
from tf_albert.tokenization.tokenizer import AlbertTokenizer, preprocess_text
from tf_albert.training.batching import parse_length_buckets
from tf_albert.training.callbacks import fit_in_run_folder, last_epoch_weights
from tf_albert.training.command import add_run_arguments, run_command, run_options
from tf_albert.training.distribute import is_chief, strategy_scope
from tf_albert.training.metrics import MaskedAccuracy
from tf_albert.training.optimization import create_optimizer
from tf_albert.training.pretraining_data import (
    PretrainingDataConfig,
    corpus_files,
    pretraining_dataset,
    read_documents,
    read_manifest,
    write_pretraining_data,
)
from tf_albert.utils.backends import import_tensorflow

#: The embedded tf-albert-tiny architecture (vocab_size comes from the tokenizer).
TINY_CONFIG = dict(
    embedding_size=128,
    hidden_size=256,
    num_attention_heads=4,
    intermediate_size=1024,
    num_hidden_layers=6,
    num_hidden_groups=1,
    inner_group_num=1,
    max_position_embeddings=256,
    hidden_act="gelu_new",
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)
#: tf-albert-small: wider than TINY_CONFIG (H 384), with 512 positions; about 16 MB with a 16k vocabulary.
SMALL_CONFIG = dict(TINY_CONFIG, hidden_size=384, num_attention_heads=6, intermediate_size=1536,
                    max_position_embeddings=512)

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


def resolve_config(config=None, vocab_size: int | None = None, overrides: dict | None = None):
    """An `AlbertConfig` from None (the tiny default), "tiny" / "small" (the embedded models'
    architectures), a preset name, a config.json or a model folder.

    >>> small = resolve_config("small", vocab_size=16000)
    >>> small.hidden_size, small.max_position_embeddings, resolve_config(None, vocab_size=6000).hidden_size
    (384, 512, 256)
    """
    if config is None or config in ("tiny", "small"):
        base = AlbertConfig(**(SMALL_CONFIG if config == "small" else TINY_CONFIG))
    elif isinstance(config, AlbertConfig):
        base = config
    elif isinstance(config, dict):
        base = AlbertConfig(**config)
    else:
        base = AlbertConfig.from_pretrained(config)
    extra = dict(overrides or {})
    if vocab_size is not None:
        extra["vocab_size"] = vocab_size
    return base.copy(**extra) if extra else base


def evaluate_pretraining(model, dataset, steps: int | None = None) -> dict:
    """Held-out MLM accuracy (over masked positions) and SOP accuracy, with their losses.

    Example:
    >>> eval_ds = pretraining_dataset("data/", 64, split="eval", repeat=False)  # doctest: +SKIP
    >>> evaluate_pretraining(model, eval_ds)  # doctest: +SKIP
    {'mlm_accuracy': ..., 'sop_accuracy': ..., 'mlm_loss': ..., 'sop_loss': ..., 'examples': ...}
    """
    tf = import_tensorflow("tf.data")

    @tf.function(autograph=False)
    def step(x):
        out = model(x, training=False)
        return out["prediction_logits"], out["sop_logits"]

    mlm_hit = mlm_n = sop_hit = n = 0
    mlm_nll = sop_nll = 0.0
    for i, (x, y) in enumerate(dataset):
        if steps is not None and i >= steps:
            break
        mlm_logits, sop_logits = (t.numpy().astype(np.float64) for t in step(x))
        labels, sop = y["labels"].numpy(), y["sentence_order_label"].numpy().reshape(-1)
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
    verbose="auto",
    log=print,
) -> dict:
    """Pretrains ALBERT on a text corpus (MLM + SOP); rerun with the same arguments to resume.

    Args:
        corpus: folder of `*.txt` files (one sentence per line, empty line between documents), a file or
            a list of them.
        output_dir: gets `tokenizer/`, `data/`, `backup/`, `checkpoints/latest.weights.h5`, `log.csv`,
            `model/` (the final model + tokenizer) and `results.json`. Under multi-worker training it must
            be a folder every worker sees; the chief writes tokenizer, data and model, the others wait.
        spm: a SentencePiece model file or tokenizer folder; None trains one (`vocab_size` pieces).
        config: None (the tiny default `TINY_CONFIG`), a preset name, config.json or model folder;
            `vocab_size` is always the tokenizer's. `config_overrides`: fields to change.
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
        jit_compile: XLA-compile the training step; None: only when a GPU or TPU is present (on 2 CPU
            cores XLA ran the pretraining step 0.88-1.20x as fast as without it: docs/performance.md).
        strategy: a `tf.distribute.Strategy` (see `tf_albert.training.distribute`); None for the default.
        eval_steps: batches of held-out data to evaluate (None: all).
        save_formats: weight files of the final model folder ("safetensors", "h5").
        length_buckets: None (batches of max_seq_length, one static shape) or "auto" / a list of lengths:
            each batch cut to the shortest that holds its longest row (see `pretraining_dataset`).

    Returns:
        dict with the held-out `mlm_accuracy`, `sop_accuracy`, losses, steps and wall time.

    Example:
    >>> results = pretrain("corpus/", "out/", num_train_steps=2000, batch_size=64)  # doctest: +SKIP
    >>> results["mlm_accuracy"], results["sop_accuracy"]  # doctest: +SKIP
    """
    import keras
    tf = import_tensorflow("tf.data")

    start_time = time.time()
    if not isinstance(num_train_steps, int) or num_train_steps < 1:
        raise ValueError(f"num_train_steps must be a positive int, got {num_train_steps!r}")
    if not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be a positive int, got {steps_per_epoch!r}")
    os.makedirs(output_dir, exist_ok=True)
    data_config = data_config or PretrainingDataConfig()

    # 1. tokenizer (under multi-worker training the chief writes tokenizer and data, the others wait)
    chief = is_chief()
    tok_dir = os.path.join(output_dir, "tokenizer")
    if spm is not None:
        tokenizer = AlbertTokenizer.from_pretrained(spm)
    else:
        spiece = os.path.join(tok_dir, "spiece.model")
        if not os.path.exists(spiece):
            if chief:
                train_sentencepiece(corpus, tok_dir, vocab_size=vocab_size, seed=seed, log=log)
            else:
                _wait_for(lambda: os.path.exists(spiece), "the chief's tokenizer", log)
        tokenizer = AlbertTokenizer.from_pretrained(tok_dir)
    expected = {"<pad>": 0, "<unk>": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
    got = {t: tokenizer.convert_tokens_to_ids(t) for t in expected}
    if got != expected:
        log(f"note: the tokenizer's special ids are {got} (ALBERT's are {expected})")

    # 2. data
    data_dir = os.path.join(output_dir, "data")
    if chief:
        manifest = write_pretraining_data(corpus, tokenizer, data_dir, data_config, log=log)
    else:
        _wait_for(lambda: _complete(data_dir), "the chief's pretraining data", log)
        manifest = read_manifest(data_dir)
    log(
        f"data: {manifest['num_train_examples']} training and {manifest['num_eval_examples']} "
        "held-out examples"
    )

    # 3. model and optimizer
    model_config = resolve_config(config, vocab_size=len(tokenizer), overrides=config_overrides)
    if data_config.max_seq_length > model_config.max_position_embeddings:
        raise ValueError(
            f"max_seq_length {data_config.max_seq_length} exceeds max_position_embeddings "
            f"{model_config.max_position_embeddings}"
        )
    keras.utils.set_random_seed(seed)
    if jit_compile is None:
        jit_compile = has_accelerator()
    warmup = int(round(0.1 * num_train_steps)) if warmup_steps is None else warmup_steps
    with strategy_scope(strategy):
        model = AlbertForPreTraining(model_config)
        model.build()
        if init_checkpoint is not None:
            start_from(model, init_checkpoint)
            log(f"initial weights: {init_checkpoint}")
        optimizer = create_optimizer(
            "lamb",
            learning_rate=learning_rate,
            num_train_steps=num_train_steps,
            num_warmup_steps=warmup,
            weight_decay=weight_decay,
        )
        model.compile(
            optimizer=optimizer, metrics=[MaskedAccuracy(name="mlm_accuracy")], jit_compile=jit_compile
        )
    log(
        f"model: {model.count_params():,} parameters; {num_train_steps} steps of {batch_size} "
        f"(warm-up {warmup}), LAMB lr {learning_rate}"
    )

    # 4. training
    epochs = math.ceil(num_train_steps / steps_per_epoch)
    train_ds = pretraining_dataset(data_dir, batch_size, seed=seed, length_buckets=length_buckets)
    fit_in_run_folder(
        model,
        train_ds,
        output_dir,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        chief=chief,
        verbose=verbose,
    )
    train_seconds = time.time() - start_time

    # 5. held-out evaluation and the final model
    results = {
        "steps": epochs * steps_per_epoch,
        "batch_size": batch_size,
        "max_seq_length": data_config.max_seq_length,
        "parameters": int(model.count_params()),
        "train_examples": manifest["num_train_examples"],
    }
    if manifest["num_eval_examples"]:
        eval_ds = pretraining_dataset(
            data_dir, batch_size, split="eval", shuffle=False, repeat=False, drop_remainder=False,
            length_buckets=length_buckets,
        )
        results.update(evaluate_pretraining(model, eval_ds, eval_steps))
        log(
            f"held-out: MLM accuracy {results['mlm_accuracy']:.4f}, "
            f"SOP accuracy {results['sop_accuracy']:.4f}"
        )
    results["wall_seconds_this_run"] = round(train_seconds, 1)
    if chief:
        # Positions beyond the pretraining length are untrained: make that the tokenizer's default limit.
        tokenizer.model_max_length = min(data_config.max_seq_length, model_config.max_position_embeddings)
        save_model_folder(model, tokenizer, os.path.join(output_dir, "model"), formats=save_formats)
        with open(os.path.join(output_dir, "results.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    del tf
    return results


def start_from(model, init_checkpoint) -> None:
    """Sets `model`'s weights to those of `init_checkpoint`, which must have its shapes: a model folder (or
    embedded name), or the output folder of an earlier `pretrain`, finished or stopped, whose last finished
    epoch's weights (`checkpoints/latest.weights.h5`) it takes."""
    last_epoch = last_epoch_weights(init_checkpoint)
    if os.path.isfile(last_epoch):
        try:
            model.load_weights(last_epoch)
        except ValueError as e:
            _misfit(init_checkpoint, " ".join(str(e).split()).split(" List of objects")[0])
        return
    init = AlbertForPreTraining.from_pretrained(init_checkpoint, strict=True)
    if len(model.weights) != len(init.weights):
        _misfit(init_checkpoint, f"{len(init.weights)} weights, the model has {len(model.weights)}")
    for a, b in zip(model.weights, init.weights):
        if tuple(a.shape) != tuple(b.shape):
            _misfit(init_checkpoint, f"{a.path}: {tuple(a.shape)} vs {tuple(b.shape)}")
    model.set_weights(init.get_weights())


def _misfit(init_checkpoint, what: str) -> None:
    raise ValueError(f"init_checkpoint {init_checkpoint!r} does not fit the model being trained ({what}): "
                     "it must have the same architecture and vocabulary")


def _complete(data_dir: str) -> bool:
    try:
        read_manifest(data_dir)
        return True
    except (FileNotFoundError, ValueError):
        return False


def _wait_for(ready, what: str, log, timeout: float = 6 * 3600, every: float = 5.0) -> None:
    deadline = time.time() + timeout
    log(f"waiting for {what}")
    while not ready():
        if time.time() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(every)


def has_accelerator() -> bool:
    """True when TensorFlow sees a GPU or TPU."""
    tf = import_tensorflow("tf.data")

    return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


# === Command line ===
def _override(text: str):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def build_parser(prog: str = "tf-albert pretrain") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Pretrain ALBERT (masked LM with n-gram masking + sentence-order prediction, LAMB) on a "
        "plain-text corpus. Rerun the same command to resume after an interruption.",
        epilog="Corpus format: UTF-8 *.txt files, one sentence per line, an empty line between documents.\n"
        "Example:\n  tf-albert pretrain --corpus corpus/ --out runs/tiny --num-train-steps 2000 "
        "--batch-size 64",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--corpus", required=True, help="folder of *.txt files, or a text file")
    p.add_argument("--out", required=True, help="output folder (tokenizer, data, backups, log, final model)")
    p.add_argument("--spm", help="SentencePiece model or tokenizer folder; default: train one on the corpus")
    p.add_argument("--init-checkpoint", help="model folder to start from instead of random weights (same "
                   "architecture), e.g. from tools/distributional_init.py, or an earlier --out folder (its "
                   "last finished epoch's weights, also of a stopped run)")
    p.add_argument(
        "--vocab-size", type=int, default=8000, help="pieces of a trained tokenizer (default 8000)"
    )
    p.add_argument(
        "--config",
        help="'tiny' (the default: E128 H256, 4 heads, 6 shared layers), 'small' (H384, 6 heads, 512 "
        "positions), a preset name, config.json or model folder",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=_override,
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set num_hidden_layers=12 (repeatable)",
    )
    d = PretrainingDataConfig()
    p.add_argument("--max-seq-length", type=int, default=d.max_seq_length)
    p.add_argument("--max-predictions-per-seq", type=int, default=d.max_predictions_per_seq)
    p.add_argument("--masked-lm-prob", type=float, default=d.masked_lm_prob)
    p.add_argument("--max-ngram", type=int, default=d.max_ngram, help="longest masked n-gram (P(n) ∝ 1/n)")
    p.add_argument("--short-seq-prob", type=float, default=d.short_seq_prob)
    p.add_argument(
        "--dupe-factor", type=int, default=d.dupe_factor, help="passes over the corpus, new masks each"
    )
    p.add_argument("--eval-fraction", type=float, default=d.eval_fraction, help="held-out share of documents")
    p.add_argument("--num-shards", type=int, default=d.num_shards, help="TFRecord files per pass")
    p.add_argument("--batch-size", type=int, default=64, help="global batch size")
    p.add_argument("--num-train-steps", type=int, default=10000)
    p.add_argument("--steps-per-epoch", type=int, default=200, help="steps between backups")
    p.add_argument("--learning-rate", type=float, default=2e-3, help="LAMB peak learning rate")
    p.add_argument("--warmup-steps", type=int, help="linear warm-up steps (default 10%% of the steps)")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-steps", type=int, help="held-out batches to evaluate (default: all)")
    p.add_argument("--length-buckets", type=parse_length_buckets, default=None,
                   help="'none' (default: every batch max-seq-length long), 'auto' (each batch cut to the "
                   "shortest of 8, 16, 24, 32, 48, 64, 96, 128, ... holding its longest row) or a list")
    p.add_argument(
        "--save-formats",
        default="safetensors,h5",
        help="weight files of the final model: safetensors, h5 or both (default both)",
    )
    add_run_arguments(p)
    return p


def pretrain_main(argv=None) -> int:
    """`tf-albert pretrain`: returns the exit status (0 ok, 1 failed, 2 bad arguments)."""
    args = build_parser().parse_args(argv)

    def train():
        data_config = PretrainingDataConfig(
            max_seq_length=args.max_seq_length,
            max_predictions_per_seq=args.max_predictions_per_seq,
            masked_lm_prob=args.masked_lm_prob,
            max_ngram=args.max_ngram,
            short_seq_prob=args.short_seq_prob,
            dupe_factor=args.dupe_factor,
            eval_fraction=args.eval_fraction,
            num_shards=args.num_shards,
            seed=args.seed,
        )
        return pretrain(
            args.corpus,
            args.out,
            spm=args.spm,
            config=args.config,
            config_overrides=dict(args.overrides),
            init_checkpoint=args.init_checkpoint,
            vocab_size=args.vocab_size,
            data_config=data_config,
            batch_size=args.batch_size,
            num_train_steps=args.num_train_steps,
            steps_per_epoch=args.steps_per_epoch,
            learning_rate=args.learning_rate,
            warmup_steps=args.warmup_steps,
            weight_decay=args.weight_decay,
            seed=args.seed,
            eval_steps=args.eval_steps,
            save_formats=tuple(f for f in args.save_formats.split(",") if f),
            length_buckets=args.length_buckets,
            **run_options(args),
        )

    return run_command("pretrain", train)


__all__ = [
    "TINY_CONFIG",
    "SMALL_CONFIG",
    "train_sentencepiece",
    "pretrain",
    "evaluate_pretraining",
    "pretrain_main",
    "save_model_folder",
    "read_manifest",
]


if __name__ == "__main__":
    sys.exit(pretrain_main())
