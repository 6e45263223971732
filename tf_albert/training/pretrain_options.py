"""`tf-albert pretrain`'s options: the parser, and the `pretrain(...)` arguments it gives."""

from __future__ import annotations

import argparse
import json

from tf_albert.utils.batching import parse_length_buckets
from tf_albert.training.command import add_run_arguments, run_options
from tf_albert.training.pretraining_data import PretrainingDataConfig


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
        "plain-text corpus, on the TensorFlow, JAX or PyTorch backend (KERAS_BACKEND). Rerun the same "
        "command to resume after an interruption.",
        epilog="Corpus format: UTF-8 *.txt files, one sentence per line, an empty line between documents.\n"
        "Examples:\n  tf-albert pretrain --corpus corpus/ --out runs/tiny --num-train-steps 2000 "
        "--batch-size 64\n"
        "  KERAS_BACKEND=jax tf-albert pretrain --corpus corpus/ --init-checkpoint tf-albert-small "
        "--out runs/gpu \\\n    --train-seconds 600 --batch-size 512 --dtype mixed_bfloat16 --jit on "
        "--save-every 120",
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
    p.add_argument("--steps-per-epoch", type=int, help="steps between backups (default 200; 25 with "
                   "--train-seconds, whose first epoch runs at rate 0 while XLA compiles)")
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
    p.add_argument("--train-seconds", type=float, help="train for this many seconds instead of "
                   "--num-train-steps: warm-up over --warmup-fraction of the time, then linear decay to 0 at "
                   "its end, set from the elapsed share at every epoch start; each sitting's first epoch "
                   "(compilation) is not counted")
    p.add_argument("--warmup-fraction", type=float, default=0.1,
                   help="with --train-seconds: the share of the budget for the warm-up (default 0.1)")
    p.add_argument("--save-every", type=float, help="seconds between model folders written during training "
                   "(at epoch ends, aside then swapped in); the final one is always written")
    p.add_argument("--dtype", "--dtype-policy", dest="dtype", default=None,
                   choices=("float32", "mixed_bfloat16", "mixed_float16"),
                   help="compute dtype policy (weights stay float32); default float32")
    p.add_argument("--data", choices=("auto", "tfrecords", "memory"), default="auto",
                   help="tfrecords: written once to --out/data and read by tf.data (TensorFlow only); "
                   "memory: the same examples made in memory, a fresh pass after another, fed as numpy "
                   "batches on any backend; auto (default): tfrecords on the TensorFlow backend, memory on "
                   "JAX and PyTorch")
    p.add_argument("--workers", type=lambda v: v if v == "auto" else int(v), default="auto",
                   help="with --data memory: processes making passes ahead (0: none; auto: up to 8 on a "
                   "machine with 4 or more cores)")
    add_run_arguments(p)
    return p


def pretrain_arguments(args: argparse.Namespace) -> dict:
    """The keyword arguments of `pretrain(...)` for parsed options (call it inside `run_command`: an unknown
    strategy is a bad argument)."""
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
    return dict(
        corpus=args.corpus,
        output_dir=args.out,
        spm=args.spm,
        config=args.config,
        config_overrides=dict(args.overrides),
        init_checkpoint=args.init_checkpoint,
        vocab_size=args.vocab_size,
        data_config=data_config,
        batch_size=args.batch_size,
        num_train_steps=args.num_train_steps,
        steps_per_epoch=args.steps_per_epoch or (25 if args.train_seconds else 200),
        learning_rate=args.learning_rate,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        seed=args.seed,
        eval_steps=args.eval_steps,
        save_formats=tuple(f for f in args.save_formats.split(",") if f),
        length_buckets=args.length_buckets,
        train_seconds=args.train_seconds,
        warmup_fraction=args.warmup_fraction,
        save_every=args.save_every,
        dtype=args.dtype,
        data=args.data,
        workers=args.workers,
        **run_options(args),
    )


__all__ = ["build_parser", "pretrain_arguments"]
