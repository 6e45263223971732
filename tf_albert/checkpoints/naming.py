"""The correspondence between our Keras variables and HF PyTorch state-dict names.

Our variable paths follow HF's module names, so the mapping is a handful of renames:

    albert/embeddings/word_embeddings/embeddings          albert.embeddings.word_embeddings.weight
    albert/embeddings/LayerNorm/gamma                      albert.embeddings.LayerNorm.weight
    albert/embeddings/embedding_hidden_mapping_in/kernel   albert.encoder.embedding_hidden_mapping_in.weight (T)
    albert/encoder/group_0_inner_1/attention/query/kernel  albert.encoder.albert_layer_groups.0.albert_layers.1.attention.query.weight (T)
    albert/pooler/dense/kernel                             albert.pooler.weight (T)
    predictions/bias                                       predictions.bias
    sop_classifier/classifier/kernel                       sop_classifier.classifier.weight (T)

PyTorch Linear weights are [out, in] and Keras kernels [in, out]: "(T)" marks a transpose.
"""

from __future__ import annotations

import re

import numpy as np

_LEAF = {"kernel": "weight", "gamma": "weight", "beta": "bias", "bias": "bias", "embeddings": "weight"}


def _relative_path(variable, model) -> str:
    path = variable.path
    prefix = model.name + "/"
    return path[len(prefix):] if path.startswith(prefix) else path.split("/", 1)[1]


def hf_name_of(path: str) -> tuple[str, bool]:
    """(HF state-dict name, needs transpose) for a variable path relative to the model."""
    parts = path.split("/")
    leaf = parts[-1]
    transpose = leaf == "kernel"
    if parts[-2:] == ["predictions", "bias"]:
        return "predictions.bias", False
    if leaf not in _LEAF:
        raise KeyError(f"no HF name for variable {path!r}")
    module = "/".join(parts[:-1])
    module = module.replace("albert/embeddings/embedding_hidden_mapping_in",
                            "albert/encoder/embedding_hidden_mapping_in")
    module = re.sub(r"group_(\d+)_inner_(\d+)", r"albert_layer_groups/\1/albert_layers/\2", module)
    module = module.replace("albert/pooler/dense", "albert/pooler")
    return module.replace("/", ".") + "." + _LEAF[leaf], transpose


# Tensors an HF checkpoint may hold that are not parameters: never loaded, never reported as unused.
_BUFFERS = re.compile(r"(^|\.)position_ids$|(^|\.)token_type_ids$")
_BACKBONE_PARTS = ("embeddings.", "encoder.", "pooler.")


def canonical_hf_name(name: str) -> str | None:
    """An HF PyTorch state-dict name in the form `hf_weight_map` uses, or None for a buffer.

    `AlbertModel` checkpoints have no `albert.` prefix (HF's base model *is* the backbone), and old
    checkpoints name LayerNorm parameters `gamma`/`beta`.
    """
    if _BUFFERS.search(name):
        return None
    if name.startswith(_BACKBONE_PARTS):
        name = "albert." + name
    if name.endswith(".gamma"):
        name = name[: -len("gamma")] + "weight"
    elif name.endswith(".beta"):
        name = name[: -len("beta")] + "bias"
    return name


def hf_weight_map(model) -> dict:
    """{HF name: (keras variable, transpose)} for every weight of a built model."""
    if not model.built:
        model.build()
    out = {}
    for variable in model.weights:
        name, transpose = hf_name_of(_relative_path(variable, model))
        out[name] = (variable, transpose)
    return out


def load_hf_state_dict(model, state_dict: dict, strict: bool = True) -> dict:
    """Assigns HF-named numpy arrays to the model's variables.

    Accepts HF `AlbertModel` names without the `albert.` prefix too, and ignores the tied decoder
    (`predictions.decoder.*`). Returns {"missing": [...], "unexpected": [...]}; with `strict`, either
    being non-empty is a ValueError. A shape mismatch is always a ValueError naming the tensor.
    """
    targets = hf_weight_map(model)
    remaining = set(targets)
    unexpected = []
    for name, array in state_dict.items():
        key = name
        if key not in targets and "albert." + key in targets:
            key = "albert." + key
        if key in ("predictions.decoder.weight", "predictions.decoder.bias"):
            continue  # tied to the word embeddings / predictions.bias
        if key not in targets:
            unexpected.append(name)
            continue
        variable, transpose = targets[key]
        value = np.asarray(array)
        if transpose:
            value = value.T
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(
                f"shape mismatch for {name}: checkpoint has {tuple(np.asarray(array).shape)}, "
                f"model expects {tuple(variable.shape)}{' (before transpose)' if transpose else ''}"
            )
        variable.assign(value.astype(variable.dtype))
        remaining.discard(key)
    report = {"missing": sorted(remaining), "unexpected": sorted(unexpected)}
    if strict and (report["missing"] or report["unexpected"]):
        raise ValueError(f"state dict does not match the model: {report}")
    return report
