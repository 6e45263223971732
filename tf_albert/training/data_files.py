"""Fine-tuning data files → Python rows: CSV/TSV (header row), JSONL, JSON lists and SQuAD JSON, and the
column names tried when none is given.

`read_rows(source)` takes a file path, a SQuAD dict or a list of dicts; `load_examples(path)` reads one file;
`flatten_squad(data)` turns SQuAD's nested JSON into one row per question; `pick_column` finds a column.
Building `tf.data` pipelines from the rows is `tf_albert.training.datasets`' job.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence

# Column names tried in order when none is given (GLUE, SWAG, CoNLL and SQuAD conventions).
TEXT_COLUMNS = ("text", "sentence", "sentence1", "premise", "question1", "startphrase")
PAIR_COLUMNS = ("text_pair", "sentence2", "hypothesis", "question2")
LABEL_COLUMNS = ("label", "labels", "score")
WORD_COLUMNS = ("tokens", "words")
TAG_COLUMNS = ("ner_tags", "tags", "labels", "label")
CONTEXT_COLUMNS = ("context", "sent1", "startphrase", "text")
QUESTION_COLUMNS = ("question", "sent2")
CHOICE_COLUMNS = ("choices", "endings", "options")


def read_rows(source) -> list[dict]:
    """Rows from a data file (see `load_examples`), a SQuAD dict (`{"data": [...]}`) or a list of dicts."""
    if isinstance(source, (str, os.PathLike)):
        return load_examples(source)
    if isinstance(source, dict) and "data" in source:
        return flatten_squad(source)
    rows = list(source)
    if not rows or not isinstance(rows[0], dict):
        raise TypeError("data must be a file path or a non-empty list of dicts (one per example)")
    return rows


def load_examples(path) -> list[dict]:
    """Rows of a `.csv`, `.tsv`, `.jsonl` (one JSON object per line) or `.json` file (a list of objects, or
    `{"data": [...]}`; a SQuAD file is returned as its flat question list, see `flatten_squad`).

    Example:
    >>> load_examples("train.csv")[0]  # doctest: +SKIP
    {'text': 'a fine film', 'label': '1'}
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data file not found: {path!r}")
    lower = path.lower()
    if lower.endswith((".csv", ".tsv")):
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t" if lower.endswith(".tsv") else ","))
        if not rows:
            raise ValueError(f"{path!r} has no rows (a header line and at least one row are needed)")
        return rows
    if lower.endswith(".jsonl"):
        rows = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except ValueError as e:
                        raise ValueError(f"{path!r} line {n} is not JSON: {e}") from None
                    if not isinstance(rows[-1], dict):
                        raise ValueError(
                            f"{path!r} line {n} must be a JSON object, got {type(rows[-1]).__name__}"
                        )
        return rows
    if lower.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            if data["data"] and isinstance(data["data"][0], dict) and "paragraphs" in data["data"][0]:
                return flatten_squad(data)
            data = data["data"]
        if not isinstance(data, list):
            raise ValueError(f"{path!r} must hold a list of objects (or {{'data': [...]}})")
        return data
    raise ValueError(f"unsupported data file {path!r}: use .csv, .tsv, .jsonl or .json")


def flatten_squad(data: Mapping) -> list[dict]:
    """SQuAD JSON (`{"data": [{"paragraphs": [{"context", "qas": [...]}]}]}`) → flat examples
    `{"id", "question", "context", "answers": {"text": [...], "answer_start": [...]}, "is_impossible"}`.

    Example:
    >>> qa = {"id": "q", "question": "Who?", "answers": [{"text": "Ada", "answer_start": 0}]}
    >>> flatten_squad({"data": [{"paragraphs": [{"context": "Ada wrote it.", "qas": [qa]}]}]})[0]["answers"]
    {'text': ['Ada'], 'answer_start': [0]}
    """
    out = []
    for article in data.get("data", []):
        for paragraph in article.get("paragraphs", []):
            context = paragraph["context"]
            for qa in paragraph.get("qas", []):
                answers = qa.get("answers", [])
                out.append(
                    {
                        "id": str(qa.get("id", len(out))),
                        "question": qa["question"],
                        "context": context,
                        "answers": {
                            "text": [a["text"] for a in answers],
                            "answer_start": [int(a["answer_start"]) for a in answers],
                        },
                        "is_impossible": bool(qa.get("is_impossible", not answers)),
                    }
                )
    return out


def pick_column(
    rows: Sequence[Mapping], given: str | None, candidates: Sequence[str], what: str, required: bool = True
) -> str | None:
    """The column to use: `given` (checked), else the first of `candidates` present in the first row."""
    if not rows:
        raise ValueError("no examples")
    keys = list(rows[0].keys())
    if given is not None:
        if given not in rows[0]:
            raise ValueError(f"{what} column {given!r} not found; the data has columns {keys}")
        return given
    for name in candidates:
        if name in rows[0]:
            return name
    if required:
        raise ValueError(
            f"no {what} column: give one (tried {list(candidates)}); the data has columns {keys}"
        )
    return None
