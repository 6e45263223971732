"""HF transformers v4 TensorFlow checkpoints: `tf_model.h5` (Keras 2 HDF5 weights), read and written with h5py.

The layout `TFAlbert*.save_pretrained` writes (transformers 4.x, tf-keras):

* file attrs `layer_names` = the model's top-level layers (`albert`, `predictions`, `sop_classifier`,
  `classifier`, `qa_outputs`; dropout layers with no weights), `backend`, `keras_version`;
* one group per layer, attr `weight_names` = full variable names such as
  `tf_albert_for_pre_training/albert/encoder/albert_layer_groups_._0/albert_layers_._0/ffn/kernel:0`, and a
  dataset at that path inside the group. The first component is the model's name, which the loader ignores;
* Keras layouts: Dense kernels `[in, out]`, LayerNorm `gamma`/`beta`, word embeddings `weight`, position and
  token-type tables `embeddings`;
* the MLM head has two biases: `predictions/bias` and `predictions/decoder/bias`. v4's TF forward pass adds
  `decoder/bias`; the PyTorch ones are one tied tensor. The `predictions` group also repeats the embedding
  weights (the head holds the embedding layer), in Keras 2's weight order.

Sharded files (`tf_model.h5.index.json`) hold one dataset per weight at its name (model prefix removed), listed
in the file attr `layer_names`. TF-format safetensors (`{"format": "tf"}`) use the same names.
"""

from __future__ import annotations

import os
import re

import numpy as np

from tf_albert.checkpoints.tensors import Entry, TensorSource
from tf_albert.model.config import read_json_object

TF_WEIGHTS_NAME = "tf_model.h5"
TF_WEIGHTS_INDEX_NAME = "tf_model.h5.index.json"
_HEADER_LIMIT = 64512  # Keras 2's HDF5_OBJECT_HEADER_LIMIT: longer attributes are split into name0, name1...

# transformers v4's default Keras names of the TF model classes (the first component of every weight name).
TF_MODEL_NAMES = {
    "AlbertModel": "tf_albert_model",
    "AlbertForPreTraining": "tf_albert_for_pre_training",
    "AlbertForMaskedLM": "tf_albert_for_masked_lm",
    "AlbertForSequenceClassification": "tf_albert_for_sequence_classification",
    "AlbertForMultipleChoice": "tf_albert_for_multiple_choice",
    "AlbertForTokenClassification": "tf_albert_for_token_classification",
    "AlbertForQuestionAnswering": "tf_albert_for_question_answering",
}

_TF_LEAF = {"kernel": ("weight", True), "gamma": ("weight", False), "beta": ("bias", False),
            "embeddings": ("weight", False), "weight": ("weight", False), "bias": ("bias", False)}
_NORMS = ("LayerNorm", "full_layer_layer_norm")


def hf_name_from_tf(tf_name: str) -> tuple[str, bool]:
    """(HF PyTorch name, needs transpose) of a v4 TF weight name without the model prefix.

    >>> hf_name_from_tf("albert/encoder/albert_layer_groups_._1/albert_layers_._0/ffn/kernel:0")
    ('albert.encoder.albert_layer_groups.1.albert_layers.0.ffn.weight', True)
    """
    name = re.sub(r":\d+$", "", tf_name)
    parts = name.split("/")
    leaf = parts[-1]
    if leaf not in _TF_LEAF or len(parts) < 2:
        raise KeyError(f"not an ALBERT TF weight name: {tf_name!r}")
    hf_leaf, transpose = _TF_LEAF[leaf]
    module = re.sub(r"_\._(\d+)", r".\1", ".".join(parts[:-1]))
    return f"{module}.{hf_leaf}", transpose


def tf_name_from_hf(hf_name: str) -> tuple[str, bool]:
    """(v4 TF weight name without model prefix, needs transpose) of an HF PyTorch name.

    >>> tf_name_from_hf("albert.embeddings.position_embeddings.weight")
    ('albert/embeddings/position_embeddings/embeddings:0', False)
    """
    parts = hf_name.split(".")
    module, leaf = parts[:-1], parts[-1]
    last = module[-1]
    if hf_name == "predictions.bias":
        tf_leaf, transpose = "bias", False
    elif last in _NORMS:
        tf_leaf, transpose = ("gamma" if leaf == "weight" else "beta"), False
    elif last == "word_embeddings":
        tf_leaf, transpose = "weight", False
    elif last in ("position_embeddings", "token_type_embeddings"):
        tf_leaf, transpose = "embeddings", False
    else:
        tf_leaf, transpose = ("kernel", True) if leaf == "weight" else ("bias", False)
    path = "/".join(module)
    path = re.sub(r"(albert_layer_groups|albert_layers)/(\d+)", r"\1_._\2", path)
    return f"{path}/{tf_leaf}:0", transpose


# --- reading --------------------------------------------------------------------------------------------
def _h5py():
    import h5py

    return h5py


def _attr_list(obj, name: str) -> list[str] | None:
    """A string-list attribute, joined back from Keras 2's chunks (`name0`, `name1`, ...) when split."""
    if name in obj.attrs:
        values = list(obj.attrs[name])
    elif f"{name}0" in obj.attrs:
        values, i = [], 0
        while f"{name}{i}" in obj.attrs:
            values.extend(obj.attrs[f"{name}{i}"])
            i += 1
    else:
        return None
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _open_file(path: str):
    h5py = _h5py()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"cannot open {path} as HDF5 (truncated or corrupt file?): {e}") from None


def _dataset_entry(source: TensorSource, path: str, dataset, stored_name: str, tf_name: str) -> None:
    try:
        hf_name, transpose = hf_name_from_tf(tf_name)
    except KeyError:
        source.ignored.setdefault(stored_name, "not an ALBERT weight name")
        return
    if hf_name in source.entries:
        return  # the `predictions` group repeats the embedding weights

    def read(dataset=dataset, transpose=transpose):
        value = dataset[()]
        return value.T if transpose else value

    shape = tuple(dataset.shape)
    source.add(hf_name, Entry(path, stored_name, shape[::-1] if transpose else shape, dataset.dtype.name, read))


def _read_file(source: TensorSource, path: str) -> None:
    f = _open_file(path)
    source._closers.append(f.close)
    layer_names = _attr_list(f, "layer_names")
    if layer_names is None:
        raise ValueError(f"{path} is not a Keras/transformers TF weights file (no `layer_names` attribute)")
    h5py = _h5py()
    for layer in layer_names:
        if layer not in f:
            raise ValueError(f"{path} is corrupt: layer {layer!r} is listed in layer_names but missing")
        obj = f[layer]
        if isinstance(obj, h5py.Dataset):  # a shard of a sharded checkpoint
            _dataset_entry(source, path, obj, layer, layer)
            continue
        for weight_name in _attr_list(obj, "weight_names") or []:
            if weight_name not in obj:
                raise ValueError(f"{path} is corrupt: weight {weight_name!r} of layer {layer!r} is missing")
            tf_name = "/".join(weight_name.split("/")[1:])
            _dataset_entry(source, path, obj[weight_name], f"{layer}/{weight_name}", tf_name)


def open_tf_h5(path: str) -> TensorSource:
    """A `TensorSource` over `tf_model.h5` or a `tf_model.h5.index.json` and its shards."""
    source = TensorSource("tf_model.h5", path)
    try:
        if path.endswith(".json"):
            for shard in shard_files(path):
                _read_file(source, shard)
        else:
            _read_file(source, path)
    except BaseException:
        source.close()
        raise
    return source


def shard_files_listed(index_path: str) -> list[str]:
    """The shard file names an HF `*.index.json` lists (validated: plain names inside its folder)."""
    weight_map = read_json_object(index_path, "index file").get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise ValueError(f"{index_path} has no `weight_map` object")
    files = []
    for name, shard in weight_map.items():
        if not isinstance(shard, str) or os.path.basename(shard) != shard or shard in ("", ".", ".."):
            raise ValueError(f"{index_path}: weight {name!r} points to {shard!r}, which is not a file in the folder")
        if shard not in files:
            files.append(shard)
    return files


def shard_files(index_path: str) -> list[str]:
    """Paths of the shards an HF `*.index.json` lists, checked to exist next to it."""
    folder = os.path.dirname(os.path.abspath(index_path))
    paths = [os.path.join(folder, s) for s in shard_files_listed(index_path)]
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"shard {os.path.basename(p)} listed in {index_path} is missing")
    return paths


# --- writing --------------------------------------------------------------------------------------------
def _block_names(config) -> list[str]:
    names = []
    for g in range(config.num_hidden_groups):
        for i in range(config.inner_group_num):
            base = f"albert.encoder.albert_layer_groups.{g}.albert_layers.{i}."
            for part in ("attention.query", "attention.key", "attention.value", "attention.dense",
                         "attention.LayerNorm", "ffn", "ffn_output", "full_layer_layer_norm"):
                names += [base + part + ".weight", base + part + ".bias"]
    return names


_EMBEDDINGS = ["albert.embeddings.word_embeddings.weight", "albert.embeddings.token_type_embeddings.weight",
               "albert.embeddings.position_embeddings.weight", "albert.embeddings.LayerNorm.weight",
               "albert.embeddings.LayerNorm.bias"]


def tf_layers(model, state: dict) -> list[tuple[str, list[tuple[str, np.ndarray]]]]:
    """[(layer name, [(TF weight name without model prefix, Keras-layout array)])] in Keras 2's order.

    `state` maps HF names (PyTorch layout) to arrays; the MLM decoder bias is written from `predictions.bias`.
    """

    def tf(hf_names):
        out = []
        for hf in hf_names:
            tf_name, transpose = tf_name_from_hf(hf)
            value = state[hf]
            out.append((tf_name, value.T if transpose else value))
        return out

    config = model.config
    backbone = _EMBEDDINGS + ["albert.encoder.embedding_hidden_mapping_in.weight",
                              "albert.encoder.embedding_hidden_mapping_in.bias"] + _block_names(config)
    if "albert.pooler.weight" in state:
        backbone += ["albert.pooler.weight", "albert.pooler.bias"]
    layers = [("albert", tf(backbone))]
    if "predictions.bias" in state:
        head = tf(["predictions.bias"])
        head.append(("predictions/decoder/bias:0", state["predictions.bias"]))
        head += tf(["predictions.dense.weight", "predictions.dense.bias", "predictions.LayerNorm.weight",
                    "predictions.LayerNorm.bias"]) + tf(_EMBEDDINGS)
        layers.append(("predictions", head))
    for prefix, layer in (("sop_classifier.classifier", "sop_classifier"), ("classifier", "classifier"),
                          ("qa_outputs", "qa_outputs")):
        if f"{prefix}.weight" in state:
            layers.append((layer, tf([f"{prefix}.weight", f"{prefix}.bias"])))
    return layers


def _set_attr_list(obj, name: str, values: list[str]) -> None:
    data = np.asarray([v.encode("utf-8") for v in values]) if values else np.asarray([], dtype="float64")
    chunks = 1
    parts = np.array_split(data, chunks)
    while any(p.nbytes > _HEADER_LIMIT for p in parts):
        chunks += 1
        parts = np.array_split(data, chunks)
    if chunks == 1:
        obj.attrs[name] = data
    else:
        for i, part in enumerate(parts):
            obj.attrs[f"{name}{i}"] = part


def write_tf_h5(path: str, model, state: dict) -> None:
    """Writes `tf_model.h5` exactly as transformers v4's `TFAlbert*.save_pretrained` lays it out."""
    import keras

    h5py = _h5py()
    prefix = TF_MODEL_NAMES.get(type(model).__name__, "tf_albert_model")
    layers = tf_layers(model, state)
    with h5py.File(path, "w") as f:
        _set_attr_list(f, "layer_names", [name for name, _ in layers])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = keras.__version__.encode("utf-8")
        for layer, weights in layers:
            group = f.create_group(layer)
            full_names = [f"{prefix}/{tf_name}" for tf_name, _ in weights]
            _set_attr_list(group, "weight_names", full_names)
            for full_name, (_, value) in zip(full_names, weights):
                value = np.ascontiguousarray(value, dtype=np.float32)
                group.create_dataset(full_name, data=value)
        _set_attr_list(f.create_group("top_level_model_weights"), "weight_names", [])
