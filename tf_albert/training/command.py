"""What `tf-albert finetune` and `tf-albert pretrain` share: the run options and how a run ends.

Exit status: 0 and the results as JSON on stdout; 2 for bad arguments or data, or an option the Keras
backend cannot run (the message, no traceback); 1 when training diverged.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from tf_albert.training.callbacks import TrainingDivergedError
from tf_albert.training.distribute import get_strategy
from tf_albert.utils.backends import BackendError

JIT_CHOICES = {"auto": None, "on": True, "off": False}


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """--strategy, --jit and --quiet."""
    p.add_argument("--strategy", default="default",
                   help="default | mirrored | multi_worker | tpu[:ADDRESS] (these: TensorFlow only)")
    p.add_argument(
        "--jit",
        choices=tuple(JIT_CHOICES),
        default="auto",
        help=("XLA-compile the training step (auto: with a GPU/TPU, except torch.compile for pretrain; finetune "
              "also on JAX's CPU, whose steps run op by op without it)"),
    )
    p.add_argument("--quiet", action="store_true", help="one line per epoch instead of a progress bar")


def run_options(args: argparse.Namespace) -> dict:
    """`strategy`, `jit_compile` and `verbose` for `finetune(...)` / `pretrain(...)` from the parsed options
    (call it inside `run_command`: an unknown strategy is a bad argument)."""
    return {
        "strategy": get_strategy(args.strategy),
        "jit_compile": JIT_CHOICES[args.jit],
        "verbose": 2 if args.quiet else "auto",
    }


def run_command(name: str, train: Callable[[], dict]) -> int:
    """Run `train()` and turn its outcome into the command's output and exit status."""
    try:
        results = train()
    except (ValueError, TypeError, FileNotFoundError, BackendError) as e:
        print(f"tf-albert {name}: error: {e}", file=sys.stderr)
        return 2
    except TrainingDivergedError as e:
        print(f"tf-albert {name}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(results, indent=2))
    return 0
