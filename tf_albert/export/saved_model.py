"""Writing the SavedModel: export options, the ids signature, TF Serving's folder layout, atomic writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import tensorflow as tf

from tf_albert.export.signatures import (  # noqa: F401  (re-exported: part of this module's API)
    ID_INPUTS,
    IDS_SIGNATURE,
    IDS_SIGNATURE_TEXT_FIRST,
    LABELS_FILE,
    METADATA_FILE,
    SIGNATURE_KINDS,
    TEXT_SIGNATURE,
    check_max_length,
    ensure_shapes,
    ids_input_specs,
    length_buckets,
    make_ids_function,
    make_model_runner,
)
from tf_albert.export.text import TextServing
from tf_albert.tasks import model_task_of
from tf_albert.utils.fileio import recover_folder, replace_folder_atomically
from tf_albert.version import __version__



# === Validation of the export options ===
def _check_options(model, signatures, tokenizer, max_length, jit_compile, version, top_k, text_first):
    if model_task_of(model) is None:
        raise TypeError(f"model must be a tf_albert model (AlbertModel, AlbertFor...), got {type(model).__name__}")
    if signatures is None:
        signatures = ("ids", "text") if tokenizer is not None else ("ids",)
    if isinstance(signatures, str):
        signatures = (signatures,)
    signatures = tuple(signatures)
    unknown = [s for s in signatures if s not in SIGNATURE_KINDS]
    if unknown or not signatures:
        raise ValueError(f"signatures must be a non-empty subset of {SIGNATURE_KINDS}, got {signatures!r}")
    if "text" in signatures and tokenizer is None:
        raise ValueError(
            "the 'text' signature needs a tokenizer: pass tokenizer=<AlbertTokenizer, AlbertTokenizerLayer or a "
            "folder holding spiece.model>, or signatures=('ids',)"
        )
    if text_first and "text" not in signatures:
        raise ValueError(f"text_first=True makes the text signature the default, but signatures is {signatures}")
    check_max_length(model, max_length)
    if not isinstance(jit_compile, bool):
        raise TypeError(f"jit_compile must be True or False, got {jit_compile!r}")
    if version is not None and version != "next" and (
        isinstance(version, bool) or not isinstance(version, int) or version < 0
    ):
        raise ValueError(f"version must be None, 'next' or a non-negative int (TF Serving's version folders), "
                         f"got {version!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive int, got {top_k!r}")
    return signatures


# === Writing: TF Serving layout, atomically ===
def _resolve_target(path, version) -> str:
    path = os.path.abspath(os.fspath(path))
    if version is None:
        return path
    if version == "next":
        existing = [int(n) for n in os.listdir(path) if n.isdigit()] if os.path.isdir(path) else []
        version = max(existing, default=0) + 1
    return os.path.join(path, str(version))


def _write_atomically(target: str, write, overwrite: bool) -> None:
    """Runs `write(tmp_dir)` into a hidden sibling folder, then swaps it in as `target`.

    TF Serving polls the model folder for numeric version folders, so it never sees a half-written export;
    a failed export leaves whatever was at `target` untouched. With `overwrite`, the new export replaces
    the old one in one step (see `replace_folder_atomically`).
    """
    recover_folder(target)  # an export that a killed overwrite left set aside counts as existing
    if os.path.lexists(target) and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True (CLI: --overwrite) or another version")
    with replace_folder_atomically(target) as tmp:
        write(tmp)


def _signature_summary(function) -> dict:
    def describe(spec):
        return {"dtype": spec.dtype.name, "shape": spec.shape.as_list() if spec.shape.rank is not None else None}

    specs = tf.nest.flatten(function.structured_input_signature)
    return {
        "inputs": {spec.name: describe(spec) for spec in sorted(specs, key=lambda s: s.name)},
        "outputs": {k: describe(v) for k, v in sorted(function.structured_outputs.items())},
    }


# === The public function ===
def export_saved_model(model, path, *, signatures=None, tokenizer=None, max_length=None, jit_compile=False,
                       version=None, top_k=5, text_first=False, max_answer_length=30, overwrite=False) -> str:
    """Exports `model` as a TF Serving SavedModel and returns the folder written.

    Args:
        model: a tf_albert model (any head); built from its config if it is not built yet.
        path: the folder to write. With `version`, the model's base folder in TF Serving's layout
            (`saved_models/<name>`), and the export goes to `<path>/<version>/`.
        signatures: which signatures to write: `"ids"` (`serving_default`) and/or `"text"`
            (`serving_text`). Default: both when a `tokenizer` is given, else `("ids",)`.
        tokenizer: for the text signature: an `AlbertTokenizer`, an `AlbertTokenizerLayer`, or a folder (or
            file) holding `spiece.model`.
        max_length: None for a dynamic sequence length; an int fixes it (static shapes for servers and XLA).
            The text signature pads/truncates to it (default 512 = max_position_embeddings otherwise).
        jit_compile: compile the model part of every signature with XLA. Id checks stay outside XLA.
        version: None (write `path` itself), an int (`<path>/<int>/`) or `"next"` (one above the highest
            numeric folder in `path`, 1 for the first).
        top_k: how many labels/choices/tokens the text signature returns per prediction.
        text_first: make the text signature `serving_default` (and the ids one `serving_ids`), for clients
            that only call the default.
        max_answer_length: longest span (in tokens) the QA text signature picks.
        overwrite: replace an existing export at the target folder (atomically) instead of raising.

    Returns:
        The absolute path of the SavedModel folder.

    Example:
    >>> import os, tempfile
    >>> import numpy as np, tensorflow as tf
    >>> from tf_albert import AlbertConfig, AlbertForSequenceClassification
    >>> from tf_albert.export import export_saved_model
    >>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_attention_heads=2,
    ...                       intermediate_size=32, num_hidden_layers=2, num_labels=3)
    >>> base = os.path.join(tempfile.mkdtemp(), "classifier")
    >>> folder = export_saved_model(AlbertForSequenceClassification(config), base, version=1)
    >>> os.path.relpath(folder, base)
    '1'
    >>> serve = tf.saved_model.load(folder).signatures["serving_default"]
    >>> ids = tf.constant([[2, 10, 11, 3]])
    >>> serve(input_ids=ids, attention_mask=tf.ones_like(ids), token_type_ids=tf.zeros_like(ids))["logits"].shape
    TensorShape([1, 3])
    """
    signatures = _check_options(model, signatures, tokenizer, max_length, jit_compile, version, top_k, text_first)
    if not model.built:
        model.build()
    target = _resolve_target(path, version)
    root = tf.Module()
    # Track the variables themselves (not the Keras objects) so the SavedModel holds exactly the weights.
    root.model_variables = [v.value if hasattr(v, "value") else v for v in model.variables]
    run = make_model_runner(model, jit_compile, max_length)
    functions = {}
    # The functions go to the SavedModel as signatures only: attached to `root` too, `tf.saved_model.save`
    # would trace each of them a second time.
    if "ids" in signatures:
        functions[IDS_SIGNATURE_TEXT_FIRST if text_first else IDS_SIGNATURE] = make_ids_function(
            model, max_length, run=run)
    asset_dir = tempfile.mkdtemp(prefix="tf-albert-export-")
    try:
        if "text" in signatures:
            text = TextServing(model, tokenizer, run, max_length=max_length, top_k=top_k,
                               max_answer_length=max_answer_length, asset_dir=asset_dir)
            for name, resource in text.resources().items():
                setattr(root, name, resource)
            for key, fn in text.functions().items():
                functions[IDS_SIGNATURE if text_first and key == TEXT_SIGNATURE else key] = fn
        _export(root, functions, target, overwrite, model, max_length, jit_compile,
                top_k if "text" in signatures else None)
    finally:
        shutil.rmtree(asset_dir, ignore_errors=True)
    return target


def _export(root, functions, target, overwrite, model, max_length, jit_compile, top_k):
    concrete = {key: fn.get_concrete_function() for key, fn in functions.items()}
    metadata = {
        "format_version": 1,
        "model_class": type(model).__name__,
        "config": model.config.to_dict(),
        "signatures": {key: _signature_summary(fn) for key, fn in concrete.items()},
        "max_length": max_length,
        "jit_compile": jit_compile,
        # XLA compiles one executable per input shape: an XLA export pads to these (see signatures._bucketed)
        "length_buckets": length_buckets(model.config.max_position_embeddings)
        if jit_compile and max_length is None else None,
        "top_k": top_k,
        "versions": _versions(),
    }

    def write(folder):
        tf.saved_model.save(root, folder, signatures=concrete)
        os.makedirs(os.path.join(folder, "assets.extra"), exist_ok=True)
        with open(os.path.join(folder, METADATA_FILE), "w", encoding="utf-8") as f:
            json.dump(metadata, f, indent=2, sort_keys=True)

    _write_atomically(target, write, overwrite)


def _versions() -> dict:
    import keras

    return {"tf_albert": __version__, "tensorflow": tf.__version__, "keras": keras.__version__}


# === Inspecting an export ===
def signature_op_types(saved_model_dir, signature_key=None) -> set[str]:
    """Op types an export runs: all of them, or only those reachable from one signature.

    Walks `saved_model.pb` (graph + function library) without loading it, so it also works in a process
    that lacks the ops (say, tensorflow-text's) — handy to see what a TF Serving build must provide.

    Example:
    >>> sorted(signature_op_types("saved_models/my-model/1", "serving_text"))  # doctest: +SKIP
    """
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(os.fspath(saved_model_dir), "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    graph = proto.meta_graphs[0].graph_def
    library = {fn.signature.name: fn for fn in graph.library.function}
    if signature_key is None:
        ops = {n.op for n in graph.node} | {n.op for fn in library.values() for n in fn.node_def}
        return ops - set(library)  # a node may call a library function by its name
    signature = proto.meta_graphs[0].signature_def.get(signature_key)
    if signature is None:
        raise KeyError(f"{saved_model_dir} has no signature {signature_key!r}; it has "
                       f"{sorted(proto.meta_graphs[0].signature_def)}")
    nodes = {n.name: n for n in graph.node}
    ops, seen_nodes, seen_functions = set(), set(), set()
    stack = [t.name.split(":")[0] for t in signature.outputs.values()]

    def visit_function(name):
        if name in seen_functions or name not in library:
            return
        seen_functions.add(name)
        for node in library[name].node_def:
            ops.add(node.op)
            if node.op in library:  # a function called by name
                visit_function(node.op)
            visit_attrs(node.attr)

    def visit_attrs(attrs):
        for value in attrs.values():
            if value.HasField("func"):
                visit_function(value.func.name)
            for func in value.list.func:
                visit_function(func.name)

    while stack:
        name = stack.pop().lstrip("^")
        if name in seen_nodes or name not in nodes:
            continue
        seen_nodes.add(name)
        node = nodes[name]
        ops.add(node.op)
        visit_attrs(node.attr)
        stack.extend(i.split(":")[0] for i in node.input)
    return ops - set(library)


_REGISTRY_CHECK = (
    "import json, sys\n"
    "from tensorflow.python.framework import op_def_registry\n"
    "ops = json.load(sys.stdin)\n"
    "print(json.dumps([op for op in ops if op_def_registry.get(op) is None]))\n"
)


def ops_outside_core(saved_model_dir, signature_key=None) -> list[str]:
    """Op types of an export (or of one signature) that core TensorFlow does not register.

    These are what a server must link in beyond TensorFlow itself (for the text signatures: tensorflow-text's
    SentencePiece ops). The check runs in a fresh Python process that imports only TensorFlow, because a
    process that has imported tensorflow-text knows its ops too.

    Example:
    >>> ops_outside_core("saved_models/my-model/1", "serving_default")  # doctest: +SKIP
    []
    """
    ops = sorted(signature_op_types(saved_model_dir, signature_key))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", _REGISTRY_CHECK], input=json.dumps(ops), capture_output=True,
                          text=True, env=env, cwd=tempfile.gettempdir(), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the op check process failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
