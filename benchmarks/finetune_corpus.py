"""A fine-tuning corpus with a real length mix that builds offline: sentences from the Python standard
library's own docstrings, labelled by the area of the library they document.

Each example is one sentence of a docstring — or, one time in four, two to five consecutive sentences of
it, as real inputs are sometimes a short paragraph — so lengths are short with a long tail (median ≈ 20
tokens, a few past 100 with the tf-albert-tiny vocabulary). The label is the topic of the module the
docstring comes from (4 classes, balanced):

    files    os, shutil, pathlib, glob, tempfile, zipfile, tarfile, io, gzip, ...
    network  email, http, urllib, smtplib, socket, ssl, xmlrpc, asyncio, ...
    text     string, re, textwrap, difflib, codecs, html, xml, json, csv, argparse, ...
    data     collections, itertools, functools, heapq, dataclasses, enum, typing, decimal, datetime, ...

The source is the interpreter's own `Lib/` (read with `ast`, nothing imported or downloaded), under the PSF
License. The same Python version and seed give the same corpus; held-out rows are other examples of the
same topics, never a text that is also in training.

    python -m benchmarks.finetune_corpus --out /tmp/corpus --train 1000 --test 400
"""

from __future__ import annotations

import argparse
import ast
import glob
import json
import os
import random
import re

TOPICS = {
    "files": ["os", "shutil", "pathlib", "glob", "tempfile", "zipfile", "tarfile", "filecmp", "fileinput",
              "io", "_pyio", "gzip", "bz2", "lzma", "posixpath", "ntpath", "stat", "fnmatch"],
    "network": ["email", "http", "urllib", "smtplib", "imaplib", "poplib", "ftplib", "socket", "socketserver",
                "ssl", "xmlrpc", "mailbox", "ipaddress", "wsgiref", "selectors", "asyncio"],
    "text": ["string", "re", "textwrap", "difflib", "codecs", "locale", "gettext", "html", "xml", "json",
             "csv", "tokenize", "shlex", "configparser", "argparse", "sre_parse", "sre_compile"],
    "data": ["collections", "itertools", "functools", "heapq", "bisect", "dataclasses", "enum", "typing",
             "statistics", "decimal", "_pydecimal", "fractions", "random", "copy", "pickle", "datetime",
             "_strptime", "calendar", "numbers", "weakref"],
}
LABELS = list(TOPICS)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_CODE_LIKE = re.compile(r"[{}<>=\[\]]|__|::|\.\.\.|>>>")


def _library_root() -> str:
    return os.path.dirname(os.__file__)


def _files(module: str) -> list[str]:
    path = os.path.join(_library_root(), module)
    if os.path.isdir(path):
        return sorted(f for f in glob.glob(os.path.join(path, "**", "*.py"), recursive=True)
                      if "test" not in os.path.relpath(f, path))
    return [path + ".py"] if os.path.exists(path + ".py") else []


def docstring_sentences(doc: str) -> list[list[str]]:
    """Prose paragraphs of a docstring, each a list of sentences (lists, examples, code dropped)."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", doc):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines or any(line.startswith((">>>", "...", ":", "-", "*", "+", "|", "#")) for line in lines):
            continue
        text = " ".join(lines)
        if text.count("(") != text.count(")"):
            continue
        sentences = [s for s in _SENTENCE_END.split(text)
                     if len(s.split()) >= 4 and s[-1] in ".!?" and not _CODE_LIKE.search(s)]
        if sentences:
            paragraphs.append(sentences)
    return paragraphs


def topic_examples(topic: str, rng: random.Random) -> list[str]:
    """Every example of one topic: single sentences, and one time in four a run of 2-5 sentences."""
    out, seen = [], set()
    for module in TOPICS[topic]:
        for path in _files(module):
            try:
                with open(path, encoding="utf-8") as f:
                    tree = ast.parse(f.read())
            except (SyntaxError, UnicodeDecodeError, OSError):
                continue
            for node in ast.walk(tree):
                if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                doc = ast.get_docstring(node)
                for sentences in docstring_sentences(doc or ""):
                    k = 0
                    while k < len(sentences):
                        take = 1 if rng.random() < 0.75 else rng.randint(2, 5)
                        text = " ".join(sentences[k:k + take])
                        k += take
                        if text not in seen:
                            seen.add(text)
                            out.append(text)
    return out


def make_corpus(train: int = 1000, test: int = 400, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(train rows, held-out rows) of {"text", "label"}, balanced over the 4 topics, shuffled."""
    rng = random.Random(seed)
    per_topic_train, per_topic_test = -(-train // len(TOPICS)), -(-test // len(TOPICS))
    train_rows, test_rows = [], []
    for label, topic in enumerate(TOPICS):
        examples = topic_examples(topic, rng)
        rng.shuffle(examples)
        need = per_topic_train + per_topic_test
        if len(examples) < need:
            raise ValueError(f"topic {topic!r} has {len(examples)} examples, fewer than the {need} asked for")
        train_rows += [{"text": t, "label": label} for t in examples[:per_topic_train]]
        test_rows += [{"text": t, "label": label} for t in examples[per_topic_train:need]]
    rng.shuffle(train_rows)
    rng.shuffle(test_rows)
    return train_rows[:train], test_rows[:test]


def write_corpus(folder: str, train: int = 1000, test: int = 400, seed: int = 0) -> dict:
    """Writes train.jsonl and test.jsonl into `folder`; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for name, rows in zip(("train", "test"), make_corpus(train, test, seed)):
        paths[name] = os.path.join(folder, f"{name}.jsonl")
        with open(paths[name], "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    return paths


def read_rows(path: str) -> tuple[list[str], list[int]]:
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--train", type=int, default=1000)
    p.add_argument("--test", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(json.dumps(write_corpus(args.out, args.train, args.test, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
