"""HF transformers PyTorch checkpoints: `model.safetensors` and `pytorch_model.bin`, single or sharded.

* safetensors is read with `safetensors_io` (numpy only). Files that transformers v4's *TensorFlow* classes
  wrote (`{"format": "tf"}` metadata) use TF weight names and are mapped through `hf_tf`.
* `pytorch_model.bin` is a pickle. It is read only with `torch.load(..., weights_only=True)` (PyTorch's
  restricted unpickler that accepts tensors and containers, nothing executable), and only when PyTorch is
  installed; otherwise the error says how to get a safetensors file instead. No other pickle is ever loaded.

Names stay as the checkpoint has them; `naming.canonical_hf_name` adds the `albert.` prefix of `AlbertModel`
checkpoints and drops buffers such as `position_ids`.
"""

from __future__ import annotations

import os

import numpy as np

from tf_albert.checkpoints import hf_tf, safetensors_io
from tf_albert.checkpoints.naming import canonical_hf_name
from tf_albert.checkpoints.tensors import Entry, TensorSource

SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
WEIGHTS_NAME = "pytorch_model.bin"
WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"


def _add(source: TensorSource, stored_name: str, entry: Entry) -> None:
    name = canonical_hf_name(stored_name)
    if name is None:
        source.ignored[stored_name] = "buffer, not a parameter"
    else:
        source.add(name, entry)


# --- safetensors -----------------------------------------------------------------------------------------
def _read_safetensors_file(source: TensorSource, path: str) -> None:
    header, metadata = safetensors_io.read_header(path)
    fmt = metadata.get("format", "pt")
    if fmt not in ("pt", "tf"):
        raise ValueError(f"{path} holds {fmt!r} weights; tf_albert reads PyTorch ('pt') and TensorFlow ('tf') ones")
    for stored, info in header.items():
        shape = tuple(info["shape"])
        dtype = safetensors_io.dtype_name(info["dtype"])

        def read(stored=stored, transpose=False):
            value = safetensors_io.read_tensor(path, stored, header)
            return value.T if transpose else value

        if fmt == "tf":
            try:
                name, transpose = hf_tf.hf_name_from_tf(stored)
            except KeyError:
                source.ignored[stored] = "not an ALBERT weight name"
                continue
            if transpose:
                shape = shape[::-1]
            source.add(name, Entry(path, stored, shape, dtype, lambda s=stored, t=transpose: read(s, t)))
        else:
            _add(source, stored, Entry(path, stored, shape, dtype, read))


def open_safetensors(path: str) -> TensorSource:
    """A `TensorSource` over `model.safetensors` or `model.safetensors.index.json` and its shards."""
    source = TensorSource("safetensors", path)
    files = hf_tf.shard_files(path) if path.endswith(".json") else [path]
    for file in files:
        _read_safetensors_file(source, file)
    return source


def write_safetensors(path: str, state: dict) -> None:
    """Writes HF-named, PyTorch-layout float arrays with the metadata transformers expects."""
    safetensors_io.write_safetensors(path, state, {"format": "pt"})


# --- pytorch_model.bin -----------------------------------------------------------------------------------
def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError(
            "this checkpoint is a PyTorch pickle (pytorch_model.bin). tf_albert reads it only through "
            "torch.load(weights_only=True), so it needs PyTorch: `pip install torch` (the CPU build is enough). "
            "Or get the model.safetensors version of the checkpoint (most hub repos have one; transformers' "
            "`model.save_pretrained(folder)` writes it), which needs no PyTorch."
        ) from None
    return torch


def _torch_load(path: str):
    torch = _torch()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as e:
            if "mmap" not in str(e):
                raise
            return torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except TypeError as e:
        raise ImportError(f"PyTorch {torch.__version__} cannot load safely (weights_only); need torch >= 2.0: {e}")
    except Exception as e:  # UnpicklingError for disallowed objects, RuntimeError for truncated zips, ...
        raise ValueError(f"cannot read {path} with torch.load(weights_only=True): {type(e).__name__}: {e}") from None


def _to_numpy(tensor) -> np.ndarray:
    torch = _torch()
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return tensor.numpy()


def open_pytorch_bin(path: str) -> TensorSource:
    """A `TensorSource` over `pytorch_model.bin` or `pytorch_model.bin.index.json` and its shards."""
    torch = _torch()
    source = TensorSource("pytorch_model.bin", path)
    files = hf_tf.shard_files(path) if path.endswith(".json") else [path]
    for file in files:
        state = _torch_load(file)
        if not isinstance(state, dict):
            raise ValueError(f"{file} holds a {type(state).__name__}, not a state dict of tensors")
        for stored, tensor in state.items():
            if not isinstance(tensor, torch.Tensor):
                raise ValueError(f"entry {stored!r} in {file} is a {type(tensor).__name__}, not a tensor")
            dtype = str(tensor.dtype).replace("torch.", "")
            _add(source, stored, Entry(file, stored, tuple(tensor.shape), dtype, lambda t=tensor: _to_numpy(t)))
    return source
