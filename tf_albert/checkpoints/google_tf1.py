"""Google's original ALBERT releases: TF1 checkpoints (`model.ckpt-*`), `albert_config.json`, `30k-clean.model`.

Variable names (google-research/albert `modeling.py`, `run_pretraining.py`, `run_classifier.py`,
`squad_utils.py`), and the HF weight each becomes ("T": Dense kernel `[in, out]`, transposed to `[out, in]`):

    bert/embeddings/{word,token_type,position}_embeddings          albert.embeddings.*.weight
    bert/embeddings/LayerNorm/{gamma,beta}                          albert.embeddings.LayerNorm.*
    bert/encoder/embedding_hidden_mapping_in/{kernel,bias}          albert.encoder.embedding_hidden_mapping_in.* (T)
    bert/encoder/transformer/group_{g}/inner_group_{i}/...          albert.encoder.albert_layer_groups.{g}.albert_layers.{i}.
        attention_1/self/{query,key,value}                              attention.{query,key,value} (T)
        attention_1/output/dense                                        attention.dense (T)
        LayerNorm                                                       attention.LayerNorm
        ffn_1/intermediate/dense                                        ffn (T)
        ffn_1/intermediate/output/dense                                 ffn_output (T)
        LayerNorm_1                                                     full_layer_layer_norm
    bert/pooler/dense                                               albert.pooler (T)
    cls/predictions/transform/{dense,LayerNorm}, output_bias        predictions.{dense (T), LayerNorm}, predictions.bias
    cls/seq_relationship/output_{weights,bias}                      sop_classifier.classifier.* (weights are [2, H])
    output_{weights,bias}        (run_classifier / RACE)            classifier.* ([num_labels, H])
    cls/squad/output_{weights,bias}  (SQuAD v1)                     qa_outputs.* ([2, H])

TF-Hub modules prefix every name with `module/`. Optimizer slots (`adam_m`, `adam_v`, ...) and `global_step`
are skipped. Google creates `embedding_hidden_mapping_in` only when `embedding_size != hidden_size`; without
it the projection is the identity, which is what we load then.

Google's `"hidden_act": "gelu"` is the tanh approximation (its `modeling.gelu`), which HF calls `gelu_new`;
`albert_config.json` is read with that translation so the numbers match Google's.
"""

from __future__ import annotations

import glob
import os
import re

import numpy as np

from tf_albert.checkpoints.tensors import Entry, TensorSource
from tf_albert.model.config import AlbertConfig, read_json_object

GOOGLE_CONFIG_NAME = "albert_config.json"
GOOGLE_VOCAB_NAME = "30k-clean.model"

_LAYER = {
    "attention_1/self/query": "attention.query",
    "attention_1/self/key": "attention.key",
    "attention_1/self/value": "attention.value",
    "attention_1/output/dense": "attention.dense",
    "LayerNorm": "attention.LayerNorm",
    "ffn_1/intermediate/dense": "ffn",
    "ffn_1/intermediate/output/dense": "ffn_output",
    "LayerNorm_1": "full_layer_layer_norm",
}
_MODULES = {
    "bert/embeddings/LayerNorm": "albert.embeddings.LayerNorm",
    "bert/encoder/embedding_hidden_mapping_in": "albert.encoder.embedding_hidden_mapping_in",
    "bert/pooler/dense": "albert.pooler",
    "cls/predictions/transform/dense": "predictions.dense",
    "cls/predictions/transform/LayerNorm": "predictions.LayerNorm",
}
_OUTPUT_LAYERS = {"cls/seq_relationship": "sop_classifier.classifier", "": "classifier", "cls/squad": "qa_outputs"}
_LEAF = {"kernel": ("weight", True), "gamma": ("weight", False), "beta": ("bias", False), "bias": ("bias", False)}
_OPTIMIZER = re.compile(r"(^|/)(global_step|beta[12]_power|good_steps|current_loss_scale)$"
                        r"|/(adam_[mv]|lamb_[mv]|Adam(_\d+)?|Momentum|ExponentialMovingAverage)$")
_LAYER_RE = re.compile(r"^bert/encoder/transformer/group_(\d+)/inner_group_(\d+)/(.+)/(kernel|bias|gamma|beta)$")
# Google's configs name no field that would change these; anything else here means an unsupported variant.
_GOOGLE_ONLY = {"down_scale_factor": 1, "net_structure_type": 0, "gap_size": 0, "num_memory_blocks": 0,
                "layers_to_keep": []}


def hf_name_from_google(name: str) -> tuple[str, bool] | None:
    """(HF PyTorch name, needs transpose) of a Google variable name, or None if it is not a known weight.

    >>> hf_name_from_google("bert/encoder/transformer/group_1/inner_group_0/ffn_1/intermediate/output/dense/kernel")
    ('albert.encoder.albert_layer_groups.1.albert_layers.0.ffn_output.weight', True)
    """
    name = name.removeprefix("module/")
    m = _LAYER_RE.match(name)
    if m:
        group, inner, module, leaf = m.groups()
        if module not in _LAYER:
            return None
        hf_leaf, transpose = _LEAF[leaf]
        return f"albert.encoder.albert_layer_groups.{group}.albert_layers.{inner}.{_LAYER[module]}.{hf_leaf}", transpose
    m = re.match(r"^bert/embeddings/(word|token_type|position)_embeddings$", name)
    if m:
        return f"albert.embeddings.{m.group(1)}_embeddings.weight", False
    if name == "cls/predictions/output_bias":
        return "predictions.bias", False
    module, _, leaf = name.rpartition("/")
    if module in _MODULES and leaf in _LEAF:
        hf_leaf, transpose = _LEAF[leaf]
        return f"{_MODULES[module]}.{hf_leaf}", transpose
    if module in _OUTPUT_LAYERS and leaf in ("output_weights", "output_bias"):
        return f"{_OUTPUT_LAYERS[module]}.{'weight' if leaf == 'output_weights' else 'bias'}", False
    return None


def find_checkpoint(path: str) -> str | None:
    """The checkpoint prefix for a prefix, a folder with a `checkpoint` file or `*.index` files, or a TF-Hub
    module folder (`variables/variables`); None if there is none. Several prefixes → the highest step."""
    if os.path.isfile(path + ".index"):
        return path
    if path.endswith(".index") and os.path.isfile(path):
        return path[: -len(".index")]
    if not os.path.isdir(path):
        return None
    state = os.path.join(path, "checkpoint")
    if os.path.isfile(state):
        with open(state, encoding="utf-8", errors="replace") as f:
            m = re.search(r'^model_checkpoint_path:\s*"(.*)"\s*$', f.read(), re.MULTILINE)
        if m:
            prefix = m.group(1) if os.path.isabs(m.group(1)) else os.path.join(path, m.group(1))
            if os.path.isfile(prefix + ".index"):
                return prefix
    hub = os.path.join(path, "variables", "variables")
    if os.path.isfile(hub + ".index"):
        return hub
    prefixes = [p[: -len(".index")] for p in glob.glob(os.path.join(glob.escape(path), "*.index"))]
    if not prefixes:
        return None

    def step(prefix):
        m = re.search(r"-(\d+)$", prefix)
        return (int(m.group(1)) if m else -1, prefix)

    return max(prefixes, key=step)


def open_tf1(prefix: str, config=None) -> TensorSource:
    """A `TensorSource` over a TF1 checkpoint with Google's names (see module docstring)."""
    try:
        import tensorflow as tf  # TensorFlow's checkpoint reader; works whatever the Keras backend
    except ImportError:
        raise ImportError(
            f"{prefix} is a Google TF1 checkpoint, which only TensorFlow can read: `pip install "
            "tf_albert[tensorflow]` (any Keras backend then loads it), or convert it once where TensorFlow is "
            "installed (`tf-albert convert SRC DST` writes model.safetensors, which needs no TensorFlow)"
        ) from None

    source = TensorSource("google-tf1", prefix)
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as e:  # DataLossError / NotFoundError with a long TF message
        raise ValueError(f"cannot open TF checkpoint {prefix} (missing or corrupt .index/.data files): "
                         f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    data_file = f"{prefix}.data-*"
    known = 0
    for stored in sorted(shapes):
        if stored == "_CHECKPOINTABLE_OBJECT_GRAPH" or _OPTIMIZER.search(stored):
            source.ignored[stored] = "optimizer state / bookkeeping"
            continue
        mapped = hf_name_from_google(stored)
        if mapped is None:
            source.ignored[stored] = "not an ALBERT weight name"
            continue
        name, transpose = mapped
        shape = tuple(shapes[stored])

        def read(stored=stored, transpose=transpose):
            value = reader.get_tensor(stored)
            return value.T if transpose else value

        source.add(name, Entry(data_file, stored, shape[::-1] if transpose else shape, dtypes[stored].name, read))
        known += 1
    if known == 0:
        sample = ", ".join(sorted(shapes)[:5])
        raise ValueError(
            f"{prefix} has no variables with Google's ALBERT names (bert/..., cls/...); found {sample}... "
            "nor a TF2 checkpoint of the TF Model Garden's AlbertEncoder (see tf_albert.checkpoints.tf2)"
        )
    mapping = "albert.encoder.embedding_hidden_mapping_in"
    if config is not None and f"{mapping}.weight" not in source.entries and config.embedding_size == config.hidden_size:
        h = config.hidden_size
        source.entries[f"{mapping}.weight"] = Entry(prefix, "(identity: embedding_size == hidden_size)", (h, h),
                                                    "float32", lambda: np.eye(h, dtype=np.float32))
        source.entries[f"{mapping}.bias"] = Entry(prefix, "(zeros: embedding_size == hidden_size)", (h,),
                                                  "float32", lambda: np.zeros(h, np.float32))
        source.notes.append("the checkpoint has no embedding_hidden_mapping_in (embedding_size == hidden_size): "
                            "loaded as the identity, as Google's model computes")
    return source


def read_config(path: str, **overrides):
    """`albert_config.json` → AlbertConfig, with Google's `gelu` (tanh form) as HF's `gelu_new`."""
    data = read_json_object(path)
    for key, neutral in _GOOGLE_ONLY.items():
        value = data.pop(key, neutral)
        if value != neutral and value is not None:
            raise ValueError(f"{path}: {key}={value!r} is an ALBERT variant tf_albert does not implement "
                             f"(only {key}={neutral!r})")
    if data.get("hidden_act") == "gelu":
        data["hidden_act"] = "gelu_new"
    return AlbertConfig.from_dict(data, **overrides)

