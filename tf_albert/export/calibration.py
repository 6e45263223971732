"""Calibration data for static (calibrated) int8: sample inputs on which an exporter measures the range of
every activation it quantizes.

Static int8 stores a fixed scale for each activation tensor (TFLite full-integer quantization, onnxruntime's
`quantize_static`), where dynamic-range int8 measures activations again on every call. The scales come
from running the float model on examples like those it will serve: a few hundred sentences suffice.

Calibration data, in any of these forms:

* a list of strings (one example each; a tab-separated ``"first\\tsecond"`` string is a pair), tokenized
  with the given tokenizer;
* a list of ``(first, second)`` string pairs, likewise;
* a list of id dicts (``input_ids``, optional ``attention_mask`` / ``token_type_ids``), one example
  (1-D) or a batch (2-D; 3-D ``[batch, choices, seq]`` for multiple choice) each, used as they are.

From the command line, ``--calibration-data FILE``: a UTF-8 text file, one example a line (blank lines
skipped), read by :func:`read_calibration_file`.

Every example is padded to one common length (the longest example, at most `max_length`): TFLite's
calibrator runs the model at one shape, and padded positions are what a server sees too.
"""

from __future__ import annotations

import os

import numpy as np

ID_KEYS = ("input_ids", "attention_mask", "token_type_ids")
DEFAULT_MAX_LENGTH = 128
DEFAULT_LIMIT = 512  # examples used at most: the scales settle after a few hundred


def read_calibration_file(path) -> list[str]:
    """The examples of a calibration text file: one a line (tab-separated pairs kept as they are), blank lines
    skipped.

    Raises:
        FileNotFoundError: no such file. IsADirectoryError: `path` is a folder.
        ValueError: the file is not UTF-8 (the line and byte are named), or holds no example.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"calibration data {path} is a folder; give a text file, one example a line")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such calibration data file: {path}")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ValueError(f"calibration data {path} is not UTF-8 text: byte {e.start} (line {line}) is "
                         f"{raw[e.start:e.start + 1]!r}; save it as UTF-8") from None
    lines = [line.rstrip("\r") for line in text.split("\n")]
    examples = [line for line in lines if line.strip()]
    if not examples:
        raise ValueError(f"calibration data {path} holds no example (empty or blank lines only); give one "
                         "example a line, a few hundred lines")
    return examples


def _text_rows(data, tokenizer, max_length) -> list[dict]:
    if tokenizer is None:
        raise ValueError("calibration data given as text needs a tokenizer (tokenizer=... / the model folder's "
                         "spiece.model); or pass a list of id dicts")
    rows = []
    for i, example in enumerate(data):
        if isinstance(example, str):
            first, sep, second = example.partition("\t")
            pair = (first, second) if sep else (first,)
        elif isinstance(example, (tuple, list)) and len(example) == 2 and all(isinstance(s, str) for s in example):
            pair = tuple(example)
        else:
            raise TypeError(f"calibration example {i} must be a string, a (first, second) pair of strings or an "
                            f"id dict, got {type(example).__name__}")
        encoded = tokenizer(*pair, truncation=True, max_length=max_length, return_token_type_ids=True,
                            return_attention_mask=True)
        rows.append({k: np.asarray(encoded[k], np.int64)[None] for k in ID_KEYS})
    return rows


def _id_rows(data) -> list[dict]:
    rows = []
    for i, example in enumerate(data):
        if not isinstance(example, dict) or "input_ids" not in example:
            raise TypeError(f"calibration example {i} must be an id dict with 'input_ids' (like the others), got "
                            f"{type(example).__name__}")
        ids = np.asarray(example["input_ids"])
        if ids.ndim == 1:
            ids = ids[None]
        if ids.ndim not in (2, 3) or ids.shape[-1] == 0 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"calibration example {i}: input_ids must be integer [seq], [batch, seq] or "
                             f"[batch, choices, seq], got {ids.dtype} {list(ids.shape)}")
        row = {"input_ids": ids.astype(np.int64)}
        for key, default in (("attention_mask", np.ones_like), ("token_type_ids", np.zeros_like)):
            value = example.get(key)
            value = default(ids) if value is None else np.asarray(value).reshape(ids.shape)
            row[key] = value.astype(np.int64)
        rows.append(row)
    return rows


def calibration_examples(data, tokenizer=None, *, model=None, max_length=None, limit=DEFAULT_LIMIT) -> list[dict]:
    """`data` (see the module docstring) as id dicts of int64 arrays ``[batch, seq]`` (or ``[batch, choices,
    seq]``), all padded to one length.

    Args:
        data: a non-empty list of strings, string pairs or id dicts.
        tokenizer: what tokenizes text (an AlbertTokenizer or anything with its call surface).
        model: the model being exported: its pad id, `max_position_embeddings` and input rank are used.
        max_length: the longest calibration sequence (default 128, at most `max_position_embeddings`);
            longer text is truncated.
        limit: use at most this many examples (the first ones).

    Raises:
        ValueError: empty data, text for a multiple-choice model, ids of the wrong shape.
        TypeError: an example that is none of the accepted forms.
    """
    if isinstance(data, (str, bytes, dict)) or not hasattr(data, "__len__"):
        raise TypeError(f"calibration_data must be a list of strings, string pairs or id dicts, got "
                        f"{type(data).__name__}; a text file goes through read_calibration_file (the CLI's "
                        "--calibration-data FILE)")
    data = list(data)[:limit]
    if not data:
        raise ValueError("calibration_data is empty; give a few hundred examples like those the model will serve")
    config = getattr(model, "config", None)
    positions = config.max_position_embeddings if config is not None else None
    max_length = min(max_length or DEFAULT_MAX_LENGTH, positions or DEFAULT_MAX_LENGTH)
    if all(isinstance(example, dict) for example in data):
        rows = _id_rows(data)
    else:
        if model is not None and getattr(model, "input_rank", 2) == 3:
            raise ValueError("calibration text cannot be used for a multiple-choice model; pass id dicts of "
                             "[batch, choices, seq] arrays")
        rows = _text_rows(data, tokenizer, max_length)
    rank = rows[0]["input_ids"].ndim
    if any(row["input_ids"].ndim != rank for row in rows):
        raise ValueError("calibration id dicts mix shapes of different ranks; give them all as [batch, seq] "
                         "(or all as [batch, choices, seq])")
    if model is not None and rank != getattr(model, "input_rank", rank):
        raise ValueError(f"calibration ids have rank {rank}; {type(model).__name__} takes rank "
                         f"{model.input_rank} inputs")
    length = max(row["input_ids"].shape[-1] for row in rows)
    if positions is not None and length > positions:
        raise ValueError(f"calibration ids are {length} long; the model's max_position_embeddings is {positions}")
    pad_id = config.pad_token_id if config is not None else 0
    pads = {"input_ids": pad_id, "attention_mask": 0, "token_type_ids": 0}
    padded = []
    for row in rows:
        extra = length - row["input_ids"].shape[-1]
        widths = [(0, 0)] * (rank - 1) + [(0, extra)]
        padded.append({k: np.pad(row[k], widths, constant_values=pads[k]) for k in ID_KEYS})
    return padded


def as_batches(examples: list[dict], batch_size: int, dtype=np.int64) -> list[dict]:
    """The padded `examples` regrouped into batches of at most `batch_size` rows, as `dtype`."""
    rows = {k: np.concatenate([e[k] for e in examples]) for k in ID_KEYS}
    total = len(rows["input_ids"])
    return [{k: v[i:i + batch_size].astype(dtype) for k, v in rows.items()} for i in range(0, total, batch_size)]
