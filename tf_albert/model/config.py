"""ALBERT configuration: HF field names and defaults, presets, JSON io, validation."""

from __future__ import annotations

import copy
import json
import math
import operator
import os
from typing import Any

from tf_albert.model.activations import ACTIVATIONS  # checked here, so a bad config fails when it is made
from tf_albert.utils.fileio import write_file_atomically

PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")
#: HF's names for the attention implementations this package has (model/layers.py AlbertAttention).
ATTN_IMPLEMENTATIONS = ("eager", "sdpa")

CONFIG_NAME = "config.json"

# The architecture fields and HF's defaults for them (HF's AlbertConfig defaults are albert-xxlarge's).
_DEFAULTS: dict[str, Any] = {
    "vocab_size": 30000,
    "embedding_size": 128,
    "hidden_size": 4096,
    "num_hidden_layers": 12,
    "num_hidden_groups": 1,
    "num_attention_heads": 64,
    "intermediate_size": 16384,
    "inner_group_num": 1,
    "hidden_act": "gelu_new",
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "classifier_dropout_prob": 0.1,
    "position_embedding_type": "absolute",
    "pad_token_id": 0,
    "bos_token_id": 2,
    "eos_token_id": 3,
    "problem_type": None,
    # None: the faster implementation for the backend and device that run (model/layers.py
    # `resolve_attn_implementation`); written to config.json only when chosen.
    "attn_implementation": None,
}
#: The fields a config.json may hold besides `_DEFAULTS` (the labels), for callers that check names.
LABEL_FIELDS = ("num_labels", "id2label", "label2id")

_POSITIVE_INT_FIELDS = (
    "vocab_size",
    "embedding_size",
    "hidden_size",
    "num_hidden_layers",
    "num_hidden_groups",
    "num_attention_heads",
    "intermediate_size",
    "inner_group_num",
    "max_position_embeddings",
    "type_vocab_size",
)
_PROBABILITY_FIELDS = ("hidden_dropout_prob", "attention_probs_dropout_prob")
#: The most values one weight may hold: more is beyond TensorFlow's int32-indexed kernels, and no ALBERT comes
#: near (albert-xxlarge's biggest weight has 67 million); checked before anything is allocated.
MAX_WEIGHT_VALUES = 2**31 - 1


def _real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _label_id(field: str, value, what: str) -> int:
    """A label id from a config's id2label key / label2id value (ints, or strings of digits as in JSON)."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if not isinstance(value, bool):
        try:
            return operator.index(value)  # int, numpy integers
        except TypeError:
            pass
    raise ValueError(f"{field} {what} must be an int label id, got {value!r}")


def _v1(**sizes):
    return {"hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, **sizes}


def _v2(**sizes):
    return {"hidden_act": "gelu_new", "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, **sizes}


_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
_LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
_XLARGE = dict(hidden_size=2048, num_hidden_layers=24, num_attention_heads=16, intermediate_size=8192)
_XXLARGE = dict(hidden_size=4096, num_hidden_layers=12, num_attention_heads=64, intermediate_size=16384)

#: The published ALBERT configurations, by their HF hub names (also reachable as `albert/<name>`).
#: albert-xxlarge-v1 was trained without dropout, unlike the other v1 models.
PRESETS: dict[str, dict[str, Any]] = {
    "albert-base-v1": _v1(**_BASE),
    "albert-large-v1": _v1(**_LARGE),
    "albert-xlarge-v1": _v1(**_XLARGE),
    "albert-xxlarge-v1": {**_v1(**_XXLARGE), "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0},
    "albert-base-v2": _v2(**_BASE),
    "albert-large-v2": _v2(**_LARGE),
    "albert-xlarge-v2": _v2(**_XLARGE),
    "albert-xxlarge-v2": _v2(**_XXLARGE),
}


def read_json_object(path: str | os.PathLike, what: str = "config file") -> dict[str, Any]:
    """The JSON object stored in `path` (a `config.json`, `albert_config.json`, a KerasHub `task.json`, a weights
    index): the one reader of such files, so that a damaged one is reported as damaged, with its path.

    Args:
        path: the file to read.
        what: what the file is, for the error when it is missing ("config file", "index file").

    Returns:
        The object, as a dict.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is not UTF-8 JSON (the parser's message included) or holds something other than an
            object.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "config.json")
    >>> _ = open(path, "w").write("[1, 2]")
    >>> read_json_object(path)
    Traceback (most recent call last):
    ...
    ValueError: .../config.json must hold a JSON object, got a list
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} not found: {os.fspath(path)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{os.fspath(path)} is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{os.fspath(path)} must hold a JSON object, got a {type(data).__name__}")
    return data


class AlbertConfig:
    """Configuration of an ALBERT model, with HF transformers' field names and defaults.

    Every field of HF's `AlbertConfig` is accepted under the same name, and `config.json` files written by
    HF load here and vice versa. Fields this package does not use (say `architectures` or `torch_dtype`)
    are kept and written back unchanged.

    Args:
        vocab_size: int. Number of word pieces.
        embedding_size: int. E, the width of the factorized word embeddings.
        hidden_size: int. H, the width of the transformer.
        num_hidden_layers: int. How many times a transformer block is applied.
        num_hidden_groups: int. How many distinct groups of blocks are shared among the layers; layer `i`
            uses group `int(i / (num_hidden_layers / num_hidden_groups))`.
        num_attention_heads: int. Heads per attention layer; must divide `hidden_size`.
        intermediate_size: int. Width of the feed-forward layer.
        inner_group_num: int. Blocks per group, all applied in order at every layer of that group.
        hidden_act: str. Feed-forward and MLM-transform activation (`gelu_new` is the tanh approximation).
        hidden_dropout_prob: float. Dropout on embeddings and block outputs.
        attention_probs_dropout_prob: float. Dropout on attention probabilities.
        max_position_embeddings: int. Longest sequence the position table covers.
        type_vocab_size: int. Number of segment (token type) ids.
        initializer_range: float. Stddev of the truncated-normal initializer.
        layer_norm_eps: float. LayerNorm epsilon.
        classifier_dropout_prob: float or None. Dropout before classification heads (token classification
            falls back to `hidden_dropout_prob` when None, as HF does).
        num_labels / id2label / label2id: the labels of a classification head.
        problem_type: None, "regression", "single_label_classification" or "multi_label_classification".
        attn_implementation: None, "eager" or "sdpa" (HF's names). "eager" writes attention out (matmul,
            softmax in float32, matmul) and can return the probabilities; "sdpa" calls
            `keras.ops.dot_product_attention` (PyTorch's `scaled_dot_product_attention`, JAX's
            `jax.nn.dot_product_attention`, cuDNN's fused kernels on a GPU). None picks the one measured
            faster on the backend and device that run (docs: performance). HF reads the field from
            config.json, so a folder saved with it loads in HF with the same implementation.

    Example:
    >>> config = AlbertConfig.from_preset("albert-base-v2", num_labels=3)
    >>> config.hidden_size, config.num_labels
    (768, 3)
    >>> AlbertConfig(hidden_size=30, num_attention_heads=4)
    Traceback (most recent call last):
    ...
    ValueError: hidden_size (30) is not a multiple of num_attention_heads (4)
    """

    model_type = "albert"

    def __init__(self, **kwargs: Any):
        num_labels = kwargs.pop("num_labels", None)
        id2label = kwargs.pop("id2label", None)
        label2id = kwargs.pop("label2id", None)
        for name, default in _DEFAULTS.items():
            setattr(self, name, kwargs.pop(name, default))
        kwargs.pop("model_type", None)
        # Anything else (architectures, torch_dtype, transformers_version, ...) is kept for round trips.
        self.extra: dict[str, Any] = kwargs
        self._set_labels(num_labels, id2label, label2id)
        self.validate()

    # --- labels --------------------------------------------------------------------------------------
    def _set_labels(self, num_labels, id2label, label2id):
        if id2label is not None:
            if not isinstance(id2label, dict):
                raise TypeError(f"id2label must be a dict of int -> str, got {type(id2label).__name__}: "
                                f"{id2label!r:.80}")
            id2label = {_label_id("id2label", k, "key"): str(v) for k, v in id2label.items()}
            if num_labels is not None and int(num_labels) != len(id2label):
                raise ValueError(f"num_labels is {num_labels} but id2label has {len(id2label)} entries")
            missing = sorted(set(range(len(id2label))) - set(id2label))
            if missing:
                raise ValueError(f"id2label has keys {sorted(id2label)}; the ids of {len(id2label)} labels must be "
                                 f"0..{len(id2label) - 1} (missing {missing})")
        else:
            n = 2 if num_labels is None else num_labels
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise ValueError(f"num_labels must be a positive int, got {n!r}")
            id2label = {i: f"LABEL_{i}" for i in range(n)}
        self.id2label = id2label
        if label2id is None:
            label2id = {v: k for k, v in id2label.items()}
        if not isinstance(label2id, dict):
            raise TypeError(f"label2id must be a dict of str -> int, got {type(label2id).__name__}: "
                            f"{label2id!r:.80}")
        self.label2id = {str(k): _label_id("label2id", v, f"value of {k!r}") for k, v in label2id.items()}

    @property
    def num_labels(self) -> int:
        return len(self.id2label)

    @num_labels.setter
    def num_labels(self, value: int):
        if self.num_labels != value:
            self._set_labels(value, None, None)

    # --- validation ----------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raises ValueError/TypeError naming the field and value when the config cannot build a model."""
        for name in _POSITIVE_INT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) is not a multiple of "
                f"num_attention_heads ({self.num_attention_heads})"
            )
        if self.num_hidden_layers % self.num_hidden_groups:
            raise ValueError(
                f"num_hidden_layers ({self.num_hidden_layers}) is not divisible by "
                f"num_hidden_groups ({self.num_hidden_groups})"
            )
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(
                f"hidden_act {self.hidden_act!r} is not supported; choose one of {', '.join(ACTIVATIONS)}"
            )
        for name in _PROBABILITY_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        cdp = self.classifier_dropout_prob
        if cdp is not None and (not isinstance(cdp, (int, float)) or not 0.0 <= cdp < 1.0):
            raise ValueError(f"classifier_dropout_prob must be None or a number in [0, 1), got {cdp!r}")
        for name in ("layer_norm_eps", "initializer_range"):
            value = getattr(self, name)
            if not _real(value) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number (and finite), got {value!r}")
        for name, rows, cols in (
            ("vocab_size", self.vocab_size, self.embedding_size),
            ("max_position_embeddings", self.max_position_embeddings, self.embedding_size),
            ("type_vocab_size", self.type_vocab_size, self.embedding_size),
            ("hidden_size", self.hidden_size, self.hidden_size),
            ("intermediate_size", self.hidden_size, self.intermediate_size),
        ):
            if rows * cols > MAX_WEIGHT_VALUES:
                raise ValueError(
                    f"{name}={getattr(self, name)} makes a weight of {rows} x {cols} = {rows * cols:,} values "
                    f"({rows * cols * 4 / 2**30:,.1f} GiB as float32); one weight may hold at most "
                    f"{MAX_WEIGHT_VALUES:,} values (2**31 - 1)"
                )
        if self.position_embedding_type != "absolute":
            raise ValueError(
                f"position_embedding_type {self.position_embedding_type!r} is not supported; "
                "ALBERT checkpoints use 'absolute'"
            )
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ValueError(f"problem_type {self.problem_type!r} is not one of {PROBLEM_TYPES} or None")
        if self.attn_implementation is not None and self.attn_implementation not in ATTN_IMPLEMENTATIONS:
            raise ValueError(
                f"attn_implementation {self.attn_implementation!r} is not supported; choose one of "
                f"{', '.join(repr(n) for n in ATTN_IMPLEMENTATIONS)}, or None for the faster one on this backend"
            )

    # --- derived -------------------------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Every field this class reads (HF's names), labels included."""
        return tuple(_DEFAULTS) + LABEL_FIELDS

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def layers_per_group(self) -> int:
        return self.num_hidden_layers // self.num_hidden_groups

    def group_of_layer(self, layer_index: int) -> int:
        """The group that layer `layer_index` runs (the reference's `int(i / (layers / groups))`)."""
        return int(layer_index / (self.num_hidden_layers / self.num_hidden_groups))

    # --- dict / JSON io ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in _DEFAULTS}
        if out["attn_implementation"] is None:
            del out["attn_implementation"]  # unchosen: HF and older readers see the file they always saw
        out["id2label"] = {str(k): v for k, v in self.id2label.items()}
        out["label2id"] = dict(self.label2id)
        out["model_type"] = self.model_type
        out.update(copy.deepcopy(self.extra))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], **overrides: Any) -> "AlbertConfig":
        if not isinstance(data, dict):
            raise TypeError(f"config must be a dict, got {type(data).__name__}")
        merged = {**data, **overrides}
        if "num_labels" in overrides and "id2label" not in overrides:
            merged.pop("id2label", None)
            merged.pop("label2id", None)
        model_type = merged.get("model_type", "albert")
        if model_type != "albert":
            raise ValueError(f"config has model_type {model_type!r}; expected 'albert'")
        return cls(**merged)

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def save_pretrained(self, folder: str | os.PathLike) -> str:
        """Writes `config.json` into `folder` (atomically: temp file, then rename)."""
        os.makedirs(folder, exist_ok=True)
        return write_file_atomically(os.path.join(folder, CONFIG_NAME), self.to_json_string())

    @classmethod
    def from_json_file(cls, path: str | os.PathLike, **overrides: Any) -> "AlbertConfig":
        return cls.from_dict(read_json_object(path), **overrides)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **overrides: Any) -> "AlbertConfig":
        """A preset name, a `config.json` path, or a folder holding `config.json`."""
        name = os.fspath(name_or_path)
        preset = name.split("/", 1)[1] if name.startswith("albert/") else name
        if preset in PRESETS and not os.path.exists(name):
            return cls.from_preset(preset, **overrides)
        if os.path.isdir(name):
            for candidate in (CONFIG_NAME, "albert_config.json"):
                path = os.path.join(name, candidate)
                if os.path.isfile(path):
                    return cls.from_json_file(path, **overrides)
            raise FileNotFoundError(f"no config.json or albert_config.json in folder {name}")
        if os.path.isfile(name):
            return cls.from_json_file(name, **overrides)
        raise FileNotFoundError(
            f"{name!r} is neither a preset ({', '.join(PRESETS)}) nor a config file or folder"
        )

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> "AlbertConfig":
        """One of `PRESETS` (also accepted with the `albert/` hub prefix), with optional overrides."""
        key = name.split("/", 1)[1] if name.startswith("albert/") else name
        if key not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls(**{**PRESETS[key], **overrides})

    # --- python protocol -----------------------------------------------------------------------------
    def copy(self, **overrides: Any) -> "AlbertConfig":
        return type(self).from_dict(self.to_dict(), **overrides)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AlbertConfig) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in _POSITIVE_INT_FIELDS + ("hidden_act",))
        return f"AlbertConfig({fields}, num_labels={self.num_labels})"
