"""A checkpoint seen as named tensors: the one interface every format reader produces.

Each reader (safetensors, PyTorch `.bin`, HF `tf_model.h5`, Google TF1) turns its file(s) into a
`TensorSource`: tensors under their HF PyTorch names (`albert.encoder.embedding_hidden_mapping_in.weight`),
in PyTorch layout (Linear weights `[out, in]`), read lazily one at a time, each remembering the file and the
name it had there so that every error can name both. Tensors a format stores that are not model weights
(optimizer slots, step counters, buffers) are listed in `ignored` with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


@dataclass
class Entry:
    """One tensor of a checkpoint: where it lives and how to read it (in PyTorch layout)."""

    file: str
    stored_name: str
    shape: tuple
    dtype: str
    read: Callable[[], np.ndarray]

    def where(self) -> str:
        return f"tensor {self.stored_name!r} in {self.file}"


@dataclass
class TensorSource:
    """Named tensors of one checkpoint (see module docstring). `format` is a short label for reports."""

    format: str
    path: str
    entries: dict[str, Entry] = field(default_factory=dict)
    ignored: dict[str, str] = field(default_factory=dict)  # stored name -> why it is not a weight
    notes: list[str] = field(default_factory=list)
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def add(self, name: str, entry: Entry) -> None:
        if name in self.entries:
            first = self.entries[name]
            raise ValueError(
                f"{entry.where()} and {first.where()} both map to weight {name!r}; the checkpoint is ambiguous"
            )
        self.entries[name] = entry

    def read(self, name: str) -> np.ndarray:
        """The tensor as a numpy array, checked against its declared shape."""
        return read_entry(self.entries[name])

    def close(self) -> None:
        for closer in self._closers:
            closer()
        self._closers.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_entry(entry: Entry) -> np.ndarray:
    """Reads one entry; any failure becomes a ValueError naming the file and tensor."""
    try:
        value = np.asarray(entry.read())
    except Exception as e:  # OSError, tf.errors.DataLossError, h5py and torch errors alike: say which tensor
        message = str(e).splitlines()[0] if str(e) else ""
        raise ValueError(f"cannot read {entry.where()}: {type(e).__name__}: {message}") from e
    if tuple(value.shape) != tuple(entry.shape):
        raise ValueError(f"{entry.where()} has shape {tuple(value.shape)}, its header says {entry.shape}")
    return value


def check_float(entry: Entry) -> None:
    """Model weights are floating point; an integer or bool tensor means the wrong file or a corrupt one."""
    if entry.dtype not in FLOAT_DTYPES:
        raise ValueError(
            f"{entry.where()} has dtype {entry.dtype}; ALBERT weights must be floating point "
            f"({', '.join(FLOAT_DTYPES)})"
        )


def bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
    """bfloat16 bits (as uint16) -> float32: bfloat16 is the top half of a float32."""
    return (raw.astype(np.uint32) << 16).view(np.float32)


def display_path(path: str) -> str:
    return os.fspath(path)
