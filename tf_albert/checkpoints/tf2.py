"""TF2 ALBERT checkpoints: the TF Model Garden's `AlbertEncoder` (`official.nlp.modeling.networks`), saved
with `tf.train.Checkpoint(encoder=...)` / `(model=...)`, and TF Hub's TF2 SavedModels (`variables/variables`).

A TF2 checkpoint keys each tensor by its object path (`encoder/layer_with_weights-5/_attention_layer/...`),
which depends on how the model was wrapped when it was saved. The checkpoint's object graph also records
each variable's own name (`transformer/self_attention/query/kernel`), which does not, and that is what is
read here. Names (tf-keras, any prefix before them is ignored), and the HF weight each becomes ("T":
transposed; attention kernels `[H, heads, head_dim]` are reshaped to `[H, H]` first):

    {word_embeddings,position_embedding,type_embeddings}/embeddings   albert.embeddings.*_embeddings
    embeddings/layer_norm/{gamma,beta}                     albert.embeddings.LayerNorm
    embedding_projection/{kernel,bias}                     albert.encoder.embedding_hidden_mapping_in (T)
    transformer/self_attention/{query,key,value}/*         ...albert_layers.0.attention.{query,key,value} (T)
    transformer/self_attention/attention_output/*          ...attention.dense (T)
    transformer/self_attention_layer_norm/*                ...attention.LayerNorm
    transformer/intermediate/*, transformer/output/*       ...ffn, ...ffn_output (T)
    transformer/output_layer_norm/*                        ...full_layer_layer_norm
    pooler_transform/{kernel,bias}                         albert.pooler (T)

The Model Garden encoder has one shared block (no groups); the config comes from the `albert_config.json` its
checkpoints ship with (Google's format, see `google_tf1`). Other variables (pretraining heads, optimizer
slots) are listed as not used.

>>> hf_name_from_tf2("albert_encoder/transformer/self_attention/attention_output/kernel")
('albert.encoder.albert_layer_groups.0.albert_layers.0.attention.dense.weight', 'attention_output')
"""

from __future__ import annotations

import re

import numpy as np

from tf_albert.checkpoints.tensors import Entry, TensorSource

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_BLOCK = "albert.encoder.albert_layer_groups.0.albert_layers.0."
_NAMES = [  # (regex on the variable name's tail, HF module, layout kind)
    (r"word_embeddings/embeddings", "albert.embeddings.word_embeddings", "plain"),
    (r"position_embedding/embeddings", "albert.embeddings.position_embeddings", "plain"),
    (r"type_embeddings/embeddings", "albert.embeddings.token_type_embeddings", "plain"),
    (r"embeddings/layer_norm/(gamma|beta)", "albert.embeddings.LayerNorm", "plain"),
    (r"embedding_projection/(kernel|bias)", "albert.encoder.embedding_hidden_mapping_in", "dense"),
    (r"transformer/self_attention/(query|key|value)/(kernel|bias)", _BLOCK + "attention.", "qkv"), (
        r"transformer/self_attention/attention_output/(kernel|bias)",
        _BLOCK + "attention.dense",
        "attention_output",
    ),
    (r"transformer/self_attention_layer_norm/(gamma|beta)", _BLOCK + "attention.LayerNorm", "plain"),
    (r"transformer/intermediate/(kernel|bias)", _BLOCK + "ffn", "dense"),
    (r"transformer/output/(kernel|bias)", _BLOCK + "ffn_output", "dense"),
    (r"transformer/output_layer_norm/(gamma|beta)", _BLOCK + "full_layer_layer_norm", "plain"),
    (r"pooler_transform/(kernel|bias)", "albert.pooler", "dense"),
]
_PATTERNS = [(re.compile(rf"(^|/){p}(:0)?$"), module, kind) for p, module, kind in _NAMES]
_LEAF = {"kernel": "weight", "gamma": "weight", "embeddings": "weight", "beta": "bias", "bias": "bias"}


def hf_name_from_tf2(name: str) -> tuple[str, str] | None:
    """(HF name, layout kind) of a Model Garden ALBERT variable name, or None for other variables."""
    for pattern, module, kind in _PATTERNS:
        m = pattern.search(name)
        if m is None:
            continue
        leaf = name.split(":")[0].rsplit("/", 1)[1]
        if kind == "qkv":
            return f"{module}{m.group(2)}.{_LEAF[leaf]}", kind
        return f"{module}.{_LEAF[leaf]}", kind
    return None


def _layout(kind: str, leaf: str):
    """Model Garden layout -> PyTorch layout."""
    if leaf != "kernel":
        return (lambda a: a.reshape(-1)) if kind == "qkv" else (lambda a: a)
    if kind == "qkv":  # [H, heads, head_dim] -> [heads*head_dim, H]
        return lambda a: a.reshape(a.shape[0], -1).T
    if kind == "attention_output":  # [heads, head_dim, H] -> [H, heads*head_dim]
        return lambda a: a.reshape(-1, a.shape[-1]).T
    return lambda a: a.T


def variable_names(reader) -> dict:
    """{checkpoint key: the variable's own name}, from a TF2 checkpoint's object graph ({} for TF1)."""
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    if not reader.has_tensor(OBJECT_GRAPH_KEY):
        return {}
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(reader.get_tensor(OBJECT_GRAPH_KEY))
    return {
        a.checkpoint_key: a.full_name
        for node in graph.nodes
        for a in node.attributes
        if a.name == "VARIABLE_VALUE" and a.full_name
    }


def is_tf2_albert(reader) -> bool:
    """True when a checkpoint's object graph names at least one Model Garden ALBERT variable."""
    return any(hf_name_from_tf2(n) for n in variable_names(reader).values())


def _reader(prefix: str):
    import tensorflow as tf

    try:
        return tf.train.load_checkpoint(prefix)
    except Exception as e:  # DataLossError / NotFoundError with a long TF message
        raise ValueError(
            f"cannot open TF checkpoint {prefix} (missing or corrupt .index/.data files): "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from None


def checkpoint_format(prefix: str) -> str:
    """`"tf2"` for a TF2 checkpoint of a Model Garden ALBERT encoder, else `"tf1"` (Google's, or unknown)."""
    return "tf2" if is_tf2_albert(_reader(prefix)) else "tf1"


def open_tf2(prefix: str) -> TensorSource:
    """A `TensorSource` over a TF2 checkpoint of a Model Garden ALBERT encoder (see the module docstring)."""
    reader = _reader(prefix)
    source = TensorSource("tf2", prefix)
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    names = variable_names(reader)
    data_file = f"{prefix}.data-*"
    for key in sorted(shapes):
        if key == OBJECT_GRAPH_KEY:
            continue
        name = names.get(key)
        mapped = hf_name_from_tf2(name) if name else None
        if mapped is None:
            source.ignored[key] = f"not an ALBERT encoder weight ({name or 'no variable name'})"
            continue
        if "/.OPTIMIZER_SLOT/" in key:
            source.ignored[key] = "optimizer slot"
            continue
        hf, kind = mapped
        layout = _layout(kind, name.split(":")[0].rsplit("/", 1)[1])
        shape = layout(np.zeros(shapes[key], np.float32)).shape

        def read(key=key, layout=layout):
            return layout(reader.get_tensor(key))

        source.add(hf, Entry(data_file, f"{key} ({name})", tuple(shape), dtypes[key].name, read))
    return source
