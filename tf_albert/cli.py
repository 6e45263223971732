"""The `tf-albert` command (also `python -m tf_albert`): dispatch only; each command lives with its library.

    tf-albert run --task TASK --model FOLDER [--device cpu|gpu:0|0] [--top-k K] [--format json|text] < inputs.txt
    tf-albert convert SRC DST        any ALBERT checkpoint → an HF-layout folder
    tf-albert export MODEL           a TF Serving SavedModel
    tf-albert finetune | pretrain    training (tf_albert.training)
    tf-albert demo                   the end-to-end fine-tuning demo

The `run` command is in :mod:`tf_albert.pipelines.cli`, `convert` in :mod:`tf_albert.checkpoints.convert`,
`export` in :mod:`tf_albert.export.cli`, `finetune` / `pretrain` in :mod:`tf_albert.training`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from tf_albert.version import __version__

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROG = "tf-albert"

# command → (candidate "module:function" entry points, one-line description). Imported when the command runs,
# so `tf-albert --help` starts fast and a command whose extra is not installed says so.
COMMANDS = {
    "run": (("tf_albert.pipelines.cli:main",), "run a pipeline on standard input, one input per line"),
    "convert": (("tf_albert.checkpoints.convert:main",),
                "convert an ALBERT checkpoint (HF, Google TF1, hub id) into an HF-layout folder"),
    "export": (("tf_albert.export.cli:main",), "export a model folder as a TF Serving SavedModel"),
    "finetune": (("tf_albert.training:finetune_main", "tf_albert.training.finetune:finetune_main"),
                 "fine-tune a model on a classification / tagging / QA dataset"),
    "pretrain": (("tf_albert.training:pretrain_main", "tf_albert.training.pretrain:pretrain_main"),
                 "pretrain ALBERT (MLM + SOP) on a text corpus"),
    "demo": (("tf_albert.demo:main",),
             "the README's main job, offline: fill-mask, fine-tune and export round trip on tf-albert-small"),
}
DELEGATED = COMMANDS  # the name of tf_albert 0.1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="ALBERT for TensorFlow / Keras: pipelines, checkpoint conversion, export, training.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"tf_albert {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, description) in COMMANDS.items():
        sub.add_parser(name, help=description, add_help=False)
    return parser


# === Entry point ===============================================================================================
def main(argv=None) -> int:
    """Entry point of `tf-albert`; returns the exit status (0 ok, 1 run-time failure, 2 usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return _delegate(argv[0], argv[1:])
    parser = build_parser()
    try:
        parser.parse_args(argv)
    except SystemExit as e:
        return _exit_code(e)
    parser.print_help(sys.stderr)  # no command given
    return 2


def _exit_code(e: SystemExit) -> int:
    if e.code is None:
        return 0
    return e.code if isinstance(e.code, int) else 2


def _delegate(command: str, argv: list) -> int:
    candidates, _ = COMMANDS[command]
    function, reasons = None, []
    for spec in candidates:
        module_name, attr = spec.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and module_name.startswith(e.name):
                reasons.append(f"{module_name} is not installed")
                continue
            raise
        function = getattr(module, attr, None)
        if function is not None:
            break
        reasons.append(f"{module_name} has no {attr}")
    if function is None:
        print(f"{PROG} {command}: not available in this installation ({'; '.join(reasons)})", file=sys.stderr)
        return 1
    handler = _log_to_stderr()
    try:
        status = function(argv)
    except SystemExit as e:
        return _exit_code(e)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        logging.getLogger("tf_albert").removeHandler(handler)
    return 0 if status is None else int(status)


class _Formatter(logging.Formatter):
    def format(self, record):
        record = logging.makeLogRecord(record.__dict__)
        record.levelname = record.levelname.lower()
        return super().format(record)


def _log_to_stderr() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(f"{PROG}: %(levelname)s: %(message)s"))
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger("tf_albert")
    logger.addHandler(handler)
    return handler
