"""`tf-albert run`: a pipeline over standard input, one input per line, one result per line.

`run` reads one input per line: a text (fill-mask, token-classification, feature-extraction), a text or
`text<TAB>text_pair` (text-classification), `question<TAB>context` (question-answering); it writes one result
per line. Malformed lines are skipped with a warning on stderr and counted at the end. Exit status: 0 when every
line gave a result, 1 when something failed at run time or lines were skipped, 2 for a usage error (bad option,
unknown task, missing model folder).

`--device 0` is HF's "first GPU": on a machine without a GPU it runs on the CPU with a warning (HF's PyTorch CLI
fails instead), so examples written for a GPU still run; `--device gpu:0` insists on the GPU and fails without one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from tf_albert.tasks import PIPELINE_ALIASES, PIPELINE_TASKS
from tf_albert.pipelines import TASKS, check_task, pipeline
from tf_albert.pretrained import DEFAULT_MODEL

PROG = "tf-albert"
TASK_NAMES = tuple(PIPELINE_TASKS) + tuple(PIPELINE_ALIASES)

# run option → the tasks it applies to (None: all)
_TASK_OPTIONS = {
    "targets": ("fill-mask",),
    "function_to_apply": ("text-classification",),
    "aggregation_strategy": ("token-classification",),
    "stride": ("token-classification",),
    "max_answer_len": ("question-answering",),
    "doc_stride": ("question-answering",),
    "max_seq_len": ("question-answering",),
    "handle_impossible_answer": ("question-answering",),
    "pooling": ("feature-extraction",),
    "truncation": ("fill-mask", "text-classification", "feature-extraction"),
    "top_k": ("fill-mask", "text-classification", "question-answering"),
}


class UsageError(Exception):
    """A problem with the command line; exit status 2."""



# === Parser ====================================================================================================
def _top_k(value: str):
    if value == "all":
        return value
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise argparse.ArgumentTypeError(f"must be a positive integer (or 'all' for text-classification), got {value!r}")


def _positive(value: str) -> int:
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise argparse.ArgumentTypeError(f"must be a positive integer, got {value!r}")


def _non_negative(value: str) -> int:
    if value.isdigit():
        return int(value)
    raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value!r}")


def build_run_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The options of `tf-albert run`."""
    parser = parser or argparse.ArgumentParser(prog=f"{PROG} run")
    parser.description = ("Run a pipeline on standard input, one input per line, one result per line on standard "
                          "output. Lines: a text (fill-mask, token-classification, feature-extraction); a text or "
                          "text<TAB>text_pair (text-classification); question<TAB>context (question-answering).")
    parser.epilog = ("Exit status: 0 every line gave a result; 1 a run-time failure or skipped malformed lines; "
                     "2 a usage error.\nExamples:\n  echo \"Plants create [MASK] through a process known as "
                     f"photosynthesis.\" | tf-albert run --task fill-mask\n  (the embedded {DEFAULT_MODEL}) and, "
                     "with a folder on a GPU: ... | tf-albert run --task fill-mask --model ./albert-base-v2 "
                     "--device 0")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    g = parser.add_argument_group("what to run")
    g.add_argument("--task", required=True, choices=TASK_NAMES, metavar="TASK",
                   help=f"one of {', '.join(TASK_NAMES)}")
    with_default = " and ".join(task for task, cls in TASKS.items() if cls.default_model_usable)
    g.add_argument("--model", help="model folder (HF layout or our save_pretrained; Google TF1), a model shipped "
                                   "with tf_albert by name, or a hub id (online); default: the embedded "
                                   f"{DEFAULT_MODEL}, for {with_default}")
    g.add_argument("--tokenizer", help="tokenizer folder or spiece.model (default: the model folder's)")
    g.add_argument("--device", help="cpu, gpu:N, or an int as in HF: -1 = CPU, N = GPU N (without a GPU, an "
                                    "int falls back to the CPU with a warning; gpu:N fails)")
    g.add_argument("--dtype", choices=("float32", "bfloat16", "float16"),
                   help="mixed-precision compute dtype (variables stay float32)")
    g.add_argument("--batch-size", type=_positive, default=32, help="model rows per forward pass (default 32)")
    g.add_argument("--jit-compile", choices=("auto", "on", "off"), default="auto",
                   help="XLA-compile the forward pass per bucket shape (auto: on a GPU, and for an int8 model)")
    g = parser.add_argument_group("input and output")
    g.add_argument("--input", default="-", help="read inputs from this file instead of standard input")
    g.add_argument("--format", choices=("json", "text"), default="json",
                   help="json: one JSON value per line, shaped like HF's pipeline output (default); text: a short "
                        "human-readable line")
    g.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="progress bar on stderr (auto: when stderr is a terminal and there are over 100 lines)")
    g = parser.add_argument_group("task options")
    g.add_argument("--top-k", type=_top_k, help="fill-mask: tokens per mask (5); text-classification: labels "
                                                "per input ('all' for every label); question-answering: answers (1)")
    g.add_argument("--targets", nargs="+", metavar="TOKEN", help="fill-mask: only score these tokens")
    g.add_argument("--function-to-apply", choices=("softmax", "sigmoid", "none"),
                   help="text-classification: score function (default: the model's problem type)")
    g.add_argument("--aggregation-strategy", choices=("none", "simple", "first", "max", "average"),
                   help="token-classification: how tokens are grouped into entities (default none)")
    g.add_argument("--stride", type=_non_negative, help="token-classification: read long texts in windows that "
                                                        "overlap by this many tokens")
    g.add_argument("--max-answer-len", type=_positive, help="question-answering: longest answer in tokens (15)")
    g.add_argument("--doc-stride", type=_non_negative,
                   help="question-answering: overlap of the windows of a long context (128)")
    g.add_argument("--max-seq-len", type=_positive, help="question-answering: tokens per window (384)")
    g.add_argument("--handle-impossible-answer", action="store_true",
                   help="question-answering: allow the empty answer")
    g.add_argument("--pooling", choices=("cls", "mean", "pooler"),
                   help="feature-extraction: one vector per input instead of one per token")
    g.add_argument("--truncation", action="store_true",
                   help="cut inputs longer than the model takes (default: such lines are skipped)")
    return parser



def main(argv=None) -> int:
    """`tf-albert run ARGS`; returns the exit status (0 ok, 1 run-time failure, 2 usage error)."""
    parser = build_run_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as e:
        return 0 if e.code is None else (e.code if isinstance(e.code, int) else 2)
    try:
        return run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


# === run =======================================================================================================
def run(args) -> int:
    """`tf-albert run` with parsed arguments."""
    try:
        task = check_task(args.task)
        params = _task_params(args, task)
        source = _open_input(args.input)
    except UsageError as e:
        return _fail(str(e), 2)
    try:
        pipe = _build(args, task, params)
    except (FileNotFoundError, ValueError, TypeError, ImportError) as e:
        return _fail(str(e), 2)
    except Exception as e:  # a broken checkpoint, an out-of-memory device...: no traceback, a message
        return _fail(f"could not load the model: {type(e).__name__}: {e}", 1)

    interactive = source.isatty() if hasattr(source, "isatty") else False
    out = sys.stdout
    skipped: list[int] = []
    total = 0
    start = time.perf_counter()
    try:
        if interactive:  # answer each line as it is typed
            chunks = ([(n, line)] for n, line in enumerate(source, 1))
            progress = None
        else:
            lines = list(enumerate(source, 1))
            chunk_size = max(1024, 64 * args.batch_size)
            chunks = (lines[i:i + chunk_size] for i in range(0, len(lines), chunk_size))
            show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty() and len(lines) > 100)
            progress = Progress(len(lines)) if show else None
        done = 0
        for chunk in chunks:
            items, numbers = [], []
            for number, line in chunk:
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                parsed = _parse_line(task, line)
                if isinstance(parsed, Malformed):
                    _warn_skip(number, str(parsed), skipped)
                    continue
                items.append(parsed)
                numbers.append(number)
            total += len([1 for _, line in chunk if line.strip()])
            report = None
            if progress is not None:
                base, size = done, len(chunk)
                report = lambda d, n, base=base, size=size: progress.update(base + int(size * d / max(n, 1)))
            for index, result in pipe.run(items, progress=report):
                if isinstance(result, Exception):
                    _warn_skip(numbers[index], str(result), skipped)
                    continue
                out.write(_format(task, result, args.format) + "\n")
            out.flush()
            done += len(chunk)
            if progress is not None:
                progress.update(done)
    except BrokenPipeError:  # `| head`: the reader is gone; not an error
        _quiet_broken_pipe()
        return 0
    except Exception as e:
        return _fail(f"{type(e).__name__}: {e}", 1)
    finally:
        if source is not sys.stdin:
            source.close()
    if progress is not None:
        progress.close(time.perf_counter() - start)
    if skipped:
        shown = ", ".join(map(str, skipped[:20])) + (", ..." if len(skipped) > 20 else "")
        print(f"{PROG} run: {len(skipped)} of {total} input lines skipped (see the warnings above): line(s) "
              f"{shown}", file=sys.stderr)
        return 1
    return 0


def _fail(message: str, status: int) -> int:
    print(f"{PROG} run: error: {message}", file=sys.stderr)
    return status


def _warn_skip(number: int, reason: str, skipped: list) -> None:
    skipped.append(number)
    reason = reason.replace("pass truncation=True", "use --truncation")
    print(f"{PROG} run: warning: line {number} skipped: {reason}", file=sys.stderr)


def _quiet_broken_pipe() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _open_input(path: str):
    if path == "-":
        return sys.stdin
    if not os.path.isfile(path):
        raise UsageError(f"input file not found: {path}")
    return open(path, encoding="utf-8")


def _task_params(args, task: str) -> dict:
    params = {}
    for name, tasks in _TASK_OPTIONS.items():
        value = getattr(args, name)
        if value is None or value is False:
            continue
        if task not in tasks:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} does not apply to --task {args.task} (it is for {', '.join(tasks)})")
        params[name] = value
    if params.get("top_k") == "all":
        if task != "text-classification":
            raise UsageError("--top-k all is for text-classification only")
        params["top_k"] = None
    if args.format == "text" and task == "feature-extraction" and not args.pooling:
        raise UsageError("--format text with feature-extraction needs --pooling (one vector per line)")
    return params


def _build(args, task: str, params: dict):
    jit = {"auto": None, "on": True, "off": False}[args.jit_compile]
    return pipeline(task, model=args.model, tokenizer=args.tokenizer, device=args.device, dtype=args.dtype,
                    batch_size=args.batch_size, jit_compile=jit, **params)


class Malformed(str):
    """Why an input line cannot be read."""


def _parse_line(task: str, line: str):
    """The pipeline input of one line, or `Malformed` saying why the line cannot be one."""
    fields = line.split("\t")
    if task == "question-answering":
        if len(fields) != 2:
            return Malformed(f"expected question<TAB>context, got {len(fields)} tab-separated field(s)")
        question, context = fields
        if not question.strip() or not context.strip():
            return Malformed("the question or the context is empty")
        return {"question": question, "context": context}
    if task == "text-classification":
        if len(fields) > 2:
            return Malformed(f"expected text or text<TAB>text_pair, got {len(fields)} tab-separated fields")
        return fields[0] if len(fields) == 1 else {"text": fields[0], "text_pair": fields[1]}
    return line


# === Output ====================================================================================================
def _format(task: str, result, fmt: str) -> str:
    if task == "text-classification" and isinstance(result, dict):
        result = [result]  # HF's shape for one text without top_k
    if fmt == "json":
        return json.dumps(result, ensure_ascii=False)
    if task == "fill-mask":
        groups = result if result and isinstance(result[0], list) else [result]
        return " || ".join(" | ".join(f"{r['token_str']} ({r['score']:.4f})" for r in g) for g in groups)
    if task == "text-classification":
        return " | ".join(f"{r['label']} ({r['score']:.4f})" for r in result)
    if task == "token-classification":
        return " | ".join(f"{e['word']} {e.get('entity_group', e.get('entity'))} ({e['score']:.4f}) "
                          f"[{e['start']}:{e['end']}]" for e in result)
    if task == "question-answering":
        answers = result if isinstance(result, list) else [result]
        return " | ".join(f"{a['answer']} ({a['score']:.4f}) [{a['start']}:{a['end']}]" for a in answers)
    return " ".join(f"{x:.6g}" for x in result)  # feature-extraction with pooling: one vector


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise."""

    def __init__(self, total: int, stream=None):
        self.total, self.stream = max(total, 1), stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start, self.last_draw, self.last_decile = time.perf_counter(), 0.0, -1

    def update(self, done: int) -> None:
        done = min(done, self.total)
        now = time.perf_counter()
        if self.tty:
            if now - self.last_draw < 0.1 and done < self.total:
                return
            self.last_draw = now
            width = 30
            filled = int(width * done / self.total)
            rate = done / max(now - self.start, 1e-9)
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} lines "
                              f"({rate:.1f}/s)")
        else:
            decile = 10 * done // self.total
            if decile == self.last_decile:
                return
            self.last_decile = decile
            self.stream.write(f"{PROG} run: {done}/{self.total} lines\n")
        self.stream.flush()

    def close(self, seconds: float) -> None:
        end = "\n" if self.tty else ""
        self.stream.write(f"{end}{PROG} run: {self.total} lines in {seconds:.1f} s "
                          f"({self.total / max(seconds, 1e-9):.1f} lines/s)\n")
        self.stream.flush()


if __name__ == "__main__":
    sys.exit(main())
