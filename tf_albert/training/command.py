"""What `tf-albert finetune` and `tf-albert pretrain` share: the run options and how a run ends.

Exit status: 0 and the results as JSON on stdout; 2 for bad arguments or data, or an option the Keras
backend cannot run (the message, no traceback); 1 when training diverged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

from tf_albert.training.callbacks import TrainingDivergedError
from tf_albert.training.distribute import get_strategy
from tf_albert.utils.backends import BackendError, backend

JIT_CHOICES = {"auto": None, "on": True, "off": False}


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """--strategy, --jit, --compile-cache and --quiet."""
    p.add_argument("--strategy", default="default",
                   help="default | mirrored | multi_worker | tpu[:ADDRESS] (these: TensorFlow only)")
    p.add_argument(
        "--jit",
        choices=tuple(JIT_CHOICES),
        default="auto",
        help=("XLA-compile the training step (auto: with a GPU/TPU, except torch.compile for pretrain; finetune "
              "also on JAX's CPU, whose steps run op by op without it)"),
    )
    p.add_argument("--compile-cache", metavar="DIR",
                   help=("JAX: keep XLA's compiled programs in DIR, so that a resumed or repeated run reads "
                         "them back instead of compiling again (default: --out/compile_cache; 'none': off; "
                         "ignored on TensorFlow and PyTorch)"))
    p.add_argument("--quiet", action="store_true", help="one line per epoch instead of a progress bar")


def run_options(args: argparse.Namespace) -> dict:
    """`strategy`, `jit_compile` and `verbose` for `finetune(...)` / `pretrain(...)` from the parsed options
    (call it inside `run_command`: an unknown strategy is a bad argument), after turning on the compile cache
    that `--compile-cache` asks for."""
    strategy = get_strategy(args.strategy)
    folder = args.compile_cache or os.path.join(args.out, "compile_cache")
    if folder != "none":
        keep_compiled_programs(folder)
    return {"strategy": strategy, "jit_compile": JIT_CHOICES[args.jit], "verbose": 2 if args.quiet else "auto"}


def keep_compiled_programs(folder: str) -> bool:
    """On JAX, makes this process keep its compiled programs in `folder` (JAX's persistent compilation
    cache) and returns True; elsewhere, or when the user has set a cache folder already (e.g.
    `JAX_COMPILATION_CACHE_DIR`), does nothing and returns False.

    A command's process calls it before anything compiles, since JAX decides at its first compilation whether
    the process uses a cache. Programs that compile in 0.5 s or more are kept (JAX's default is 1 s; the
    update program of a small model compiles in about 1.1-1.5 s on a 2-core CPU), unless
    `JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS` says otherwise.
    """
    if backend() != "jax":
        return False
    import jax

    if jax.config.jax_compilation_cache_dir is not None:
        return False
    jax.config.update("jax_compilation_cache_dir", os.path.abspath(folder))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    return True


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
