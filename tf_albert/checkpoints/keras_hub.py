"""KerasHub ALBERT presets: the folders `AlbertBackbone.save_to_preset` writes, read and written.

A preset folder holds

    config.json                      {"registered_name": "keras_hub>AlbertBackbone", "config": {...}}
    model.weights.h5                 the backbone's weights (a Keras 3 weights file)
    tokenizer.json                   KerasHub's tokenizer *config* (not HF's tokenizer.json)
    assets/tokenizer/vocabulary.spm  the SentencePiece model
    metadata.json                    versions, parameter count
    task.json, task.weights.h5       only in task presets (`AlbertTextClassifier`, `AlbertMaskedLM`)

In `model.weights.h5` every layer's weights sit in `layers/<auto name>/.../vars/<i>`; the group `vars` carries
the layer's own name as its `name` attribute, which is how they are read here (the auto names depend on the
order the layers were made in). KerasHub names and the HF weight each becomes ("T": transposed; attention
kernels `[H, heads, head_dim]` are reshaped to `[H, H]` first):

    token_embedding / position_embedding / segment_embedding
    albert.embeddings.{word,position,token_type}_embeddings
    embeddings_layer_norm                                       albert.embeddings.LayerNorm
    embedding_projection                                        albert.encoder.embedding_hidden_mapping_in (T)
    group_{g}_inner_layer_{i}/ albert.encoder.albert_layer_groups.{g}.albert_layers.{i}.
        _self_attention_layer/{query,key,value}_dense               attention.{query,key,value} (T)
        _self_attention_layer/output_dense                          attention.dense (T)
        _self_attention_layer_norm                                  attention.LayerNorm
        _feedforward_intermediate_dense / _feedforward_output_dense ffn / ffn_output (T)
        _feedforward_layer_norm                                     full_layer_layer_norm
    pooled_dense                                                albert.pooler (T)
    task.weights.h5: logits (AlbertTextClassifier)              classifier (T)
    task.weights.h5: mlm_head, its _intermediate_dense/_layer_norm  predictions.bias, predictions.dense (T),
    .LayerNorm

KerasHub's ALBERT uses `gelu_approximate` (HF's `gelu_new`), LayerNorm eps 1e-12 and one `dropout` for hidden
states and attention. Its `MaskedLMHead` normalises with eps 1e-5 (HF: 1e-12), so `AlbertForMaskedLM` from an
`AlbertMaskedLM` preset is close to, not bit-identical with, KerasHub's logits. KerasHub's tokenizer is plain
SentencePiece: it does **not** lower-case nor strip accents, and a preset's tokenizer is loaded that way
(`do_lower_case=False, keep_accents=True`; see `tokenization.files`).

Example:
>>> import os, tempfile
>>> from tf_albert import AlbertConfig, AlbertModel
>>> config = AlbertConfig(vocab_size=50, embedding_size=8, hidden_size=16, num_attention_heads=2,
...                       intermediate_size=32, num_hidden_layers=2)
>>> folder = os.path.join(tempfile.mkdtemp(), "preset")
>>> _ = AlbertModel(config).save_pretrained(folder, formats=("keras_hub",))
>>> sorted(os.listdir(folder)), is_preset(folder)
(['config.json', 'metadata.json', 'model.weights.h5'], True)
>>> read_config(folder).num_hidden_layers
2
"""

from __future__ import annotations

import json
import os
import re

import h5py
import numpy as np

from tf_albert.checkpoints.tensors import Entry, TensorSource
from tf_albert.model.config import AlbertConfig, read_json_object
from tf_albert.utils.fileio import write_file_atomically

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.weights.h5"
TASK_CONFIG_NAME = "task.json"
TASK_WEIGHTS_NAME = "task.weights.h5"
TOKENIZER_CONFIG_NAME = "tokenizer.json"
VOCAB_PATH = os.path.join("assets", "tokenizer", "vocabulary.spm")
BACKBONE = "keras_hub>AlbertBackbone"
# KerasHub task class -> our class
TASKS = {"AlbertTextClassifier": "AlbertForSequenceClassification", "AlbertMaskedLM": "AlbertForMaskedLM"}
_KERAS_HUB_VERSION = "0.32.0"  # the version whose layout this writes (and the fixtures were made with)

_BLOCK = {  # sub-layer path inside a TransformerEncoder -> HF module inside albert_layers.{i}
    "_self_attention_layer/query_dense": "attention.query",
    "_self_attention_layer/key_dense": "attention.key",
    "_self_attention_layer/value_dense": "attention.value",
    "_self_attention_layer/output_dense": "attention.dense",
    "_self_attention_layer_norm": "attention.LayerNorm",
    "_feedforward_intermediate_dense": "ffn",
    "_feedforward_output_dense": "ffn_output",
    "_feedforward_layer_norm": "full_layer_layer_norm",
}
_TOP = {  # layer name -> (HF module, weight names of vars/0, vars/1, transpose vars/0)
    "token_embedding": ("albert.embeddings.word_embeddings", ("weight",), False),
    "position_embedding": ("albert.embeddings.position_embeddings", ("weight",), False),
    "segment_embedding": ("albert.embeddings.token_type_embeddings", ("weight",), False),
    "embeddings_layer_norm": ("albert.embeddings.LayerNorm", ("weight", "bias"), False),
    "embedding_projection": ("albert.encoder.embedding_hidden_mapping_in", ("weight", "bias"), True),
    "pooled_dense": ("albert.pooler", ("weight", "bias"), True),
    "logits": ("classifier", ("weight", "bias"), True),
}
_GROUP_RE = re.compile(r"^group_(\d+)_inner_layer_(\d+)$")


def is_preset(folder: str) -> bool:
    """True when `folder` holds a KerasHub ALBERT preset (a config.json naming keras_hub>AlbertBackbone)."""
    path = os.path.join(folder, CONFIG_NAME)
    if not os.path.isfile(path):
        return False
    try:
        return read_json_object(path).get("registered_name") == BACKBONE
    except (OSError, ValueError):
        return False


def read_config(folder: str, **overrides) -> AlbertConfig:
    """The preset's AlbertConfig: the backbone's `config.json`, and num_labels / architectures / dropout of
    the classifier from `task.json` when there is one."""
    path = os.path.join(folder, CONFIG_NAME)
    data = read_json_object(path)
    if data.get("registered_name") != BACKBONE:
        raise ValueError(
            f"{path} is not a KerasHub ALBERT preset config (registered_name "
            f"{data.get('registered_name')!r}, expected {BACKBONE!r})"
        )
    c = data.get("config") or {}
    try:
        fields = dict(
            vocab_size=c["vocabulary_size"],
            num_hidden_layers=c["num_layers"],
            num_attention_heads=c["num_heads"],
            num_hidden_groups=c.get("num_groups", 1),
            inner_group_num=c.get("num_inner_repetitions", 1),
            embedding_size=c["embedding_dim"],
            hidden_size=c["hidden_dim"],
            intermediate_size=c["intermediate_dim"],
            hidden_dropout_prob=c.get("dropout", 0.0),
            attention_probs_dropout_prob=c.get("dropout", 0.0),
            max_position_embeddings=c.get("max_sequence_length", 512),
            type_vocab_size=c.get("num_segments", 2),
            hidden_act="gelu_new",
            layer_norm_eps=1e-12,
        )
    except KeyError as e:
        raise ValueError(f"{path}: the AlbertBackbone config has no {e.args[0]!r}") from None
    task_file = os.path.join(folder, TASK_CONFIG_NAME)
    if os.path.isfile(task_file):
        task = read_json_object(task_file)
        name = task.get("class_name")
        if name in TASKS:
            fields["architectures"] = [TASKS[name]]
        tc = task.get("config") or {}
        if name == "AlbertTextClassifier":
            fields["num_labels"] = tc.get("num_classes", 2)
            fields["classifier_dropout_prob"] = tc.get("dropout", 0.1)
    fields.update(overrides)
    return AlbertConfig(**fields)


def _layers(f: h5py.File) -> dict:
    """{layer name: its h5 group} of a Keras 3 weights file (names from the `vars` groups' attribute)."""
    out = {}
    group = f.get("layers")
    for key in group if group is not None else ():
        vars_group = group[key].get("vars")
        name = vars_group.attrs.get("name") if vars_group is not None else None
        out[name.decode() if isinstance(name, bytes) else (name or key)] = group[key]
    return out


def _vars(group) -> list:
    v = group.get("vars")
    return [v[str(i)] for i in range(len(v))] if v is not None else []


def open_preset(folder: str) -> TensorSource:
    """The preset's backbone (and task head) tensors under HF names, in PyTorch layout."""
    weights = os.path.join(folder, WEIGHTS_NAME)
    if not os.path.isfile(weights):
        raise FileNotFoundError(f"KerasHub preset {folder} has no {WEIGHTS_NAME}")
    source = TensorSource("keras-hub", folder)
    files = [weights]
    if os.path.isfile(os.path.join(folder, TASK_WEIGHTS_NAME)):
        files.append(os.path.join(folder, TASK_WEIGHTS_NAME))
    for path in files:
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise ValueError(f"cannot open {path} (not an HDF5 weights file?): {e}") from None
        source._closers.append(f.close)
        for name, group in _layers(f).items():
            _add_layer(source, path, name, group)
    return source


def _entry(source, path, dataset, hf_name, layout=None):
    """Registers one h5 dataset as `hf_name`; `layout(array)` turns KerasHub's layout into PyTorch's."""
    layout = layout or (lambda a: a)
    shape = layout(np.zeros(dataset.shape, np.float32)).shape

    def read(dataset=dataset):
        return layout(np.asarray(dataset[()]))

    source.add(hf_name, Entry(path, dataset.name, tuple(shape), dataset.dtype.name, read))


def _add_layer(source, path, name, group) -> None:
    variables = _vars(group)
    if name in _TOP:
        module, leaves, transpose = _TOP[name]
        for i, leaf in enumerate(leaves[: len(variables)]):
            t = transpose and i == 0
            _entry(source, path, variables[i], f"{module}.{leaf}", (lambda a: a.T) if t else None)
        return
    m = _GROUP_RE.match(name or "")
    if m:
        prefix = f"albert.encoder.albert_layer_groups.{m.group(1)}.albert_layers.{m.group(2)}."
        for sub, module in _BLOCK.items():
            if sub not in group:
                raise ValueError(f"{path}: layer {name} has no {sub}; not a KerasHub TransformerEncoder")
            kernel, bias = _vars(group[sub])
            if module == "attention.dense":  # [heads, head_dim, H] -> [H, heads*head_dim]
                _entry(
                    source, path, kernel, prefix + module + ".weight", lambda a: a.reshape(-1, a.shape[-1]).T
                )
                _entry(source, path, bias, prefix + module + ".bias")
            elif module.startswith("attention.") and module != "attention.LayerNorm":  # [H, heads, head_dim]
                _entry(
                    source, path, kernel, prefix + module + ".weight", lambda a: a.reshape(a.shape[0], -1).T
                )
                _entry(source, path, bias, prefix + module + ".bias", lambda a: a.reshape(-1))
            else:
                norm = module.endswith(("LayerNorm", "layer_norm"))
                _entry(source, path, kernel, prefix + module + ".weight", None if norm else (lambda a: a.T))
                _entry(source, path, bias, prefix + module + ".bias")
        return
    if name == "mlm_head":
        (bias,) = _vars(group)
        _entry(source, path, bias, "predictions.bias")
        dense, norm = group["_intermediate_dense"], group["_intermediate_layer_norm"]
        kernel, b = _vars(dense)
        _entry(source, path, kernel, "predictions.dense.weight", lambda a: a.T)
        _entry(source, path, b, "predictions.dense.bias")
        gamma, beta = _vars(norm)
        _entry(source, path, gamma, "predictions.LayerNorm.weight")
        _entry(source, path, beta, "predictions.LayerNorm.bias")
        return
    for v in variables:  # a weight of a layer we have no place for: reported, never silently dropped
        source.ignored[v.name] = "not an ALBERT weight of KerasHub's AlbertBackbone / tasks"


# --- writing ------------------------------------------------------------------------------------------------
def _backbone_config(config) -> dict:
    if config.hidden_dropout_prob != config.attention_probs_dropout_prob:
        raise ValueError(
            "a KerasHub AlbertBackbone has one dropout rate; this config has hidden_dropout_prob "
            f"{config.hidden_dropout_prob} and attention_probs_dropout_prob "
            f"{config.attention_probs_dropout_prob}"
        )
    if config.hidden_act not in ("gelu_new", "gelu_pytorch_tanh") or config.layer_norm_eps != 1e-12:
        raise ValueError(
            f"a KerasHub AlbertBackbone computes gelu_new with LayerNorm eps 1e-12; this config has "
            f"hidden_act={config.hidden_act!r}, layer_norm_eps={config.layer_norm_eps}"
        )
    return {
        "module": "keras_hub.src.models.albert.albert_backbone",
        "class_name": "AlbertBackbone",
        "config": {
            "name": "albert_backbone",
            "trainable": True,
            "dtype": {
                "module": "keras",
                "class_name": "DTypePolicy",
                "config": {"name": "float32"},
                "registered_name": None,
            },
            "vocabulary_size": config.vocab_size,
            "num_layers": config.num_hidden_layers,
            "num_heads": config.num_attention_heads,
            "num_groups": config.num_hidden_groups,
            "num_inner_repetitions": config.inner_group_num,
            "embedding_dim": config.embedding_size,
            "hidden_dim": config.hidden_size,
            "intermediate_dim": config.intermediate_size,
            "dropout": config.hidden_dropout_prob,
            "max_sequence_length": config.max_position_embeddings,
            "num_segments": config.type_vocab_size,
        },
        "registered_name": BACKBONE,
    }


def _tokenizer_config() -> dict:
    return {
        "module": "keras_hub.src.models.albert.albert_tokenizer",
        "class_name": "AlbertTokenizer",
        "config": {
            "name": "albert_tokenizer",
            "trainable": True,
            "dtype": {
                "module": "keras",
                "class_name": "DTypePolicy",
                "config": {"name": "int32"},
                "registered_name": None,
            },
            "config_file": TOKENIZER_CONFIG_NAME,
            "proto": None,
            "sequence_length": None,
            "add_bos": False,
            "add_eos": False,
        },
        "registered_name": "keras_hub>AlbertTokenizer",
    }


def _layer(root, auto_name: str, name: str, arrays=()) -> h5py.Group:
    group = root.create_group(auto_name)
    v = group.create_group("vars")
    v.attrs["name"] = name
    for i, a in enumerate(arrays):
        v.create_dataset(str(i), data=np.asarray(a, np.float32))
    return group


def write_weights(path: str, config, state: dict) -> None:
    """`model.weights.h5` in the layout `AlbertBackbone.save_to_preset` writes, from HF-named arrays in
    PyTorch
    layout (`api.hf_state`)."""
    c = config
    heads, head_dim = c.num_attention_heads, c.hidden_size // c.num_attention_heads

    def w(name):
        if name not in state:
            raise ValueError(f"the model has no weight {name!r}; a KerasHub backbone needs it")
        return state[name]

    with h5py.File(path, "w") as f:
        layers = f.create_group("layers")
        _layer(layers, "add", "embeddings_add")
        _layer(
            layers,
            "dense",
            "embedding_projection",
            (
                w("albert.encoder.embedding_hidden_mapping_in.weight").T,
                w("albert.encoder.embedding_hidden_mapping_in.bias"),
            ),
        )
        _layer(layers, "dense_1", "pooled_dense", (w("albert.pooler.weight").T, w("albert.pooler.bias")))
        _layer(layers, "dropout", "embeddings_dropout")
        _layer(
            layers, "embedding", "segment_embedding", (w("albert.embeddings.token_type_embeddings.weight"),)
        )
        for i, name in enumerate(("token_ids", "segment_ids", "padding_mask")):
            _layer(layers, "input_layer" + (f"_{i}" if i else ""), name)
        _layer(
            layers,
            "layer_normalization",
            "embeddings_layer_norm",
            (w("albert.embeddings.LayerNorm.weight"), w("albert.embeddings.LayerNorm.bias")),
        )
        _layer(
            layers,
            "position_embedding",
            "position_embedding",
            (w("albert.embeddings.position_embeddings.weight"),),
        )
        _layer(
            layers,
            "reversible_embedding",
            "token_embedding",
            (w("albert.embeddings.word_embeddings.weight"),),
        )
        k = 0
        for g in range(c.num_hidden_groups):
            for i in range(c.inner_group_num):
                p = f"albert.encoder.albert_layer_groups.{g}.albert_layers.{i}."
                block = _layer(
                    layers, "transformer_encoder" + (f"_{k}" if k else ""), f"group_{g}_inner_layer_{i}"
                )
                k += 1
                _layer(block, "_feedforward_dropout", "feedforward_dropout")
                _layer(block, "_self_attention_dropout", "self_attention_dropout")
                for sub, module in _BLOCK.items():
                    if sub.startswith("_self_attention_layer/"):
                        continue
                    kernel, bias = w(p + module + ".weight"), w(p + module + ".bias")
                    norm = module.endswith(("LayerNorm", "layer_norm"))
                    _layer(block, sub, sub.lstrip("_"), (kernel if norm else kernel.T, bias))
                attention = _layer(block, "_self_attention_layer", "self_attention_layer")
                suffix = (
                    f"_{k - 1}" if k > 1 else ""
                )  # Keras' automatic names, as in a fresh KerasHub session
                _layer(attention, "_dropout_layer", "dropout" + suffix)
                _layer(attention, "_softmax", "softmax" + suffix)
                for part in ("query", "key", "value"):
                    kernel = w(p + f"attention.{part}.weight").T.reshape(c.hidden_size, heads, head_dim)
                    bias = w(p + f"attention.{part}.bias").reshape(heads, head_dim)
                    _layer(attention, f"{part}_dense", part, (kernel, bias))
                kernel = w(p + "attention.dense.weight").T.reshape(heads, head_dim, c.hidden_size)
                _layer(attention, "output_dense", "attention_output", (kernel, w(p + "attention.dense.bias")))
        f.create_group("vars").attrs["name"] = "albert_backbone"


def _dump(data) -> str:
    return json.dumps(data, indent=4) + "\n"


def write_preset(folder: str, model, state: dict, tokenizer=None) -> None:
    """Writes a KerasHub backbone preset of `model` into the (temporary, fresh) `folder`; `tokenizer` (an
    AlbertTokenizer) adds `tokenizer.json` + `assets/tokenizer/vocabulary.spm`. Task heads are not written:
    KerasHub builds them anew on this backbone: `AlbertTextClassifier.from_preset(folder, num_classes=3)`."""
    config = model.config
    write_file_atomically(os.path.join(folder, CONFIG_NAME), _dump(_backbone_config(config)))
    write_weights(os.path.join(folder, WEIGHTS_NAME), config, state)
    params = int(sum(np.prod(v.shape) for k, v in state.items() if k.startswith("albert.")))
    metadata = {
        "keras_hub_version": _KERAS_HUB_VERSION,
        "parameter_count": params,
        "tasks": ["MaskedLM", "TextClassifier"],
        "written_by": "tf_albert",
    }
    write_file_atomically(os.path.join(folder, "metadata.json"), _dump(metadata))
    if tokenizer is not None:
        proto = getattr(tokenizer, "_model_proto", None)
        if proto is None:
            raise TypeError(
                f"a KerasHub preset's tokenizer is a SentencePiece model; {type(tokenizer).__name__} has none"
            )
        os.makedirs(os.path.join(folder, os.path.dirname(VOCAB_PATH)), exist_ok=True)
        write_file_atomically(os.path.join(folder, VOCAB_PATH), proto)
        write_file_atomically(os.path.join(folder, TOKENIZER_CONFIG_NAME), _dump(_tokenizer_config()))
