"""The safetensors file format, read and written with numpy alone (no pickle, no extra dependency).

Layout (https://github.com/huggingface/safetensors): 8 bytes little-endian header length N, N bytes of JSON
`{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`, then the raw
little-endian tensor bytes, offsets relative to the end of the header. The reader validates every field
against the file size before anything is read, so a truncated or corrupt file fails with the file and
tensor named instead of producing garbage.

Example:
>>> import numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
>>> write_safetensors(path, {"a.weight": np.ones((2, 3), "float32")}, {"format": "pt"})
>>> header, meta = read_header(path)
>>> header["a.weight"]["shape"], meta
([2, 3], {'format': 'pt'})
>>> read_tensor(path, "a.weight").sum()
np.float32(6.0)
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

from tf_albert.checkpoints.tensors import bfloat16_to_float32

# safetensors dtype -> (numpy dtype of the stored bits, our dtype name)
_DTYPES = {
    "F64": ("<f8", "float64"),
    "F32": ("<f4", "float32"),
    "F16": ("<f2", "float16"),
    "BF16": ("<u2", "bfloat16"),
    "I64": ("<i8", "int64"),
    "I32": ("<i4", "int32"),
    "I16": ("<i2", "int16"),
    "I8": ("i1", "int8"),
    "U8": ("u1", "uint8"),
    "BOOL": ("?", "bool"),
}
_TO_CODE = {"float64": "F64", "float32": "F32", "float16": "F16", "int64": "I64", "int32": "I32",
            "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}
_MAX_HEADER = 100 * 1024 * 1024  # the reference implementation's limit


def dtype_name(code: str) -> str:
    return _DTYPES[code][1]


def read_header(path: str) -> tuple[dict, dict]:
    """({tensor name: {"dtype", "shape", "data_offsets"}}, metadata) after validating the whole header."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                raise ValueError(f"{path} is not a safetensors file: it has only {size} bytes (truncated?)")
            (n,) = struct.unpack("<Q", prefix)
            if n > _MAX_HEADER or 8 + n > size:
                raise ValueError(
                    f"{path} is not a valid safetensors file: its header claims {n} bytes but the file has "
                    f"{size} bytes (truncated or not a safetensors file)"
                )
            raw = f.read(n)
    except FileNotFoundError:
        raise FileNotFoundError(f"weights file not found: {path}") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} has a corrupt safetensors header (not valid JSON: {e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path} has a corrupt safetensors header (a JSON {type(header).__name__}, not an object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: safetensors __metadata__ must be an object, got {metadata!r}")
    data_size = size - 8 - n
    spans = []
    for name, info in header.items():
        where = f"tensor {name!r} in {path}"
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise ValueError(f"{where}: corrupt header entry {info!r}")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if code not in _DTYPES:
            raise ValueError(f"{where} has unsupported dtype {code!r}; supported: {sorted(_DTYPES)}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ValueError(f"{where}: corrupt shape {shape!r}")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1]):
            raise ValueError(f"{where}: corrupt data_offsets {offsets!r}")
        begin, end = offsets
        itemsize = np.dtype(_DTYPES[code][0]).itemsize
        expected = int(np.prod(shape, dtype=np.int64)) * itemsize
        if end - begin != expected:
            raise ValueError(
                f"{where}: shape {shape} of {code} needs {expected} bytes but data_offsets {offsets} span "
                f"{end - begin} (corrupt header)"
            )
        if end > data_size:
            raise ValueError(
                f"{where} needs bytes [{begin}, {end}) but {path} holds only {data_size} data bytes "
                "(the file is truncated)"
            )
        spans.append((begin, end, name))
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ValueError(f"{path}: tensors {n0!r} and {n1!r} overlap in the file (corrupt header)")
    return header, metadata


def read_tensor(path: str, name: str, header: dict | None = None) -> np.ndarray:
    """One tensor as a numpy array (bfloat16 comes back as float32). Validates the header if not given."""
    if header is None:
        header, _ = read_header(path)
    info = header[name]
    stored, _ = _DTYPES[info["dtype"]]
    begin, end = info["data_offsets"]
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        f.seek(8 + n + begin)
        raw = f.read(end - begin)
    if len(raw) != end - begin:
        raise ValueError(f"tensor {name!r} in {path}: file ended after {len(raw)} of {end - begin} bytes (truncated)")
    array = np.frombuffer(raw, dtype=stored).reshape(info["shape"])
    if info["dtype"] == "BF16":
        return bfloat16_to_float32(array)
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def write_safetensors(path: str, tensors: dict, metadata: dict | None = None) -> None:
    """Writes numpy arrays (C order, little endian) to `path`; tensors in name order."""
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    arrays = {}
    offset = 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        code = _TO_CODE.get(array.dtype.name)
        if code is None:
            raise TypeError(f"cannot write tensor {name!r} of dtype {array.dtype} to safetensors")
        array = array.astype(np.dtype(_DTYPES[code][0]), copy=False)
        arrays[name] = array
        header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # keep the data 8-byte aligned, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name in sorted(arrays):
            f.write(arrays[name].tobytes())
