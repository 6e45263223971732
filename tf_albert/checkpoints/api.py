"""`from_pretrained` and `save_pretrained`: every ALBERT checkpoint in, an HF-compatible folder out.

`Albert*.from_pretrained(name_or_path)` and `model.save_pretrained(folder)` call these.

Example:
>>> import os, tempfile
>>> from tf_albert import AlbertConfig, AlbertForSequenceClassification, AlbertModel
>>> config = AlbertConfig(vocab_size=50, embedding_size=8, hidden_size=16, num_attention_heads=2,
...                       intermediate_size=32, num_hidden_layers=2)
>>> folder = os.path.join(tempfile.mkdtemp(), "tiny")
>>> _ = AlbertModel(config).save_pretrained(folder)
>>> sorted(os.listdir(folder))
['config.json', 'model.safetensors', 'tf_model.h5']
>>> clf = AlbertForSequenceClassification.from_pretrained(folder, num_labels=3)
>>> clf.loading_info.missing_keys  # the new head, trained from scratch
['classifier.bias', 'classifier.weight']
"""

from __future__ import annotations

import logging
import os
import re

import keras

from tf_albert.checkpoints import formats, hf_pytorch, hf_tf, keras_hub, loading
from tf_albert.checkpoints.naming import hf_weight_map
from tf_albert.checkpoints.resolve import resolve_path
from tf_albert.model.config import AlbertConfig
from tf_albert.model.quantization import float_copy
from tf_albert.pretrained import DEFAULT_MODEL
from tf_albert.tasks import MODEL_CLASS_NAMES
from tf_albert.tokenization.tokenizer import AlbertTokenizer
from tf_albert.utils.fileio import replace_folder_atomically

# Files of earlier saves that a new save replaces (also shards of any size): stale weights must not linger.
_WEIGHT_FILES = re.compile(r"^(model|tf_model|pytorch_model)(-\d+-of-\d+)?\.(safetensors|h5|bin)(\.index\.json)?$")
SAVE_FORMATS = ("safetensors", "h5")
# A KerasHub preset has a config.json of its own: it is saved alone, `formats=("keras_hub",)`.
KERAS_HUB = "keras_hub"


def _config_fields() -> set:
    return set(AlbertConfig.field_names())


def registered_model_class(name: str):
    """The model class registered with Keras as `tf_albert>{name}` (the model core registers its classes
    when it is imported; finding them here, by name, keeps this module from importing the model core)."""
    cls = keras.saving.get_registered_object(f"tf_albert>{name}")
    if cls is None:
        raise ValueError(f"no ALBERT model class named {name!r}; available: {sorted(MODEL_CLASS_NAMES.values())}")
    return cls


def _model_class(model_cls, config):
    if model_cls.__name__ != "AlbertPreTrainedModel":
        return model_cls
    for arch in config.extra.get("architectures") or []:
        arch = arch.removeprefix("TF")
        if arch in MODEL_CLASS_NAMES.values():
            return registered_model_class(arch)
    return registered_model_class("AlbertModel")


def load_model(name_or_path=DEFAULT_MODEL, task: str | None = None, **kwargs):
    """A model from an embedded name, a local folder or a hub id; `tf_albert.from_pretrained` is this.

    Args:
        name_or_path: "tf-albert-small" (the default, shipped in the package) or "tf-albert-tiny", a folder
            in any supported checkpoint shape, or a hub id when online.
        task: one of `tf_albert.tasks.MODEL_CLASS_NAMES` ("model", "pretraining", "masked_lm",
            "sequence_classification", "multiple_choice", "token_classification", "question_answering");
            None picks the class recorded in the checkpoint's config (`architectures`).
        **kwargs: passed to `from_pretrained` (config overrides such as `num_labels`, `strict`, ...).

    Example:
    >>> import tf_albert
    >>> model = tf_albert.from_pretrained("tf-albert-small", task="masked_lm")
    >>> type(model).__name__
    'AlbertForMaskedLM'
    """
    if task is not None and task not in MODEL_CLASS_NAMES:
        raise ValueError(f"task must be one of {sorted(MODEL_CLASS_NAMES)} or None, got {task!r}")
    cls = registered_model_class("AlbertPreTrainedModel" if task is None else MODEL_CLASS_NAMES[task])
    return from_pretrained(cls, name_or_path, **kwargs)


def from_pretrained(model_cls, name_or_path, *, strict: bool = False, ignore_mismatched_sizes: bool = False,
                    local_files_only: bool = False, revision: str | None = None, cache_dir=None, token=None,
                    weights_format: str | None = None, dtype=None, tokenizer=None, **config_overrides):
    """Builds `model_cls` from a checkpoint in any of the four shapes, or a hub id, and loads its weights.

    Args:
        model_cls: an `Albert*` model class (`AlbertPreTrainedModel` picks the class from the config's
            `architectures`).
        name_or_path: a local folder (HF safetensors / tf_model.h5 / pytorch_model.bin, Google TF1 checkpoint),
            one weights file, a TF1 checkpoint prefix, or a Hugging Face Hub id such as `albert/albert-base-v2`.
        strict: raise instead of warn when any weight is missing, unused or of another shape.
        ignore_mismatched_sizes: initialise weights whose shape differs (e.g. a head with another num_labels)
            anew instead of raising.
        local_files_only, revision, cache_dir, token: hub options (`HF_HUB_OFFLINE=1` also means local only).
        weights_format: "safetensors", "h5", "bin" or "tf1" to choose when a folder holds several.
        dtype: the model's dtype policy, e.g. "mixed_float16" (variables stay float32), or "int8": the float
            weights loaded, then `model.quantize("int8")` (Keras int8; serve it with XLA on a CPU).
        tokenizer: the model's `tokenizer` (which lets `fit`/`evaluate`/`predict` take raw text); None: the
            checkpoint folder's own tokenizer when it holds one (`AlbertTokenizer.from_pretrained(folder)`);
            False: none.
        **config_overrides: AlbertConfig fields, e.g. `num_labels=3`, `hidden_dropout_prob=0.1`,
            `attn_implementation="sdpa"` (HF's argument: "eager" or "sdpa").

    Returns:
        The model, built and loaded; `model.loading_info` tells what was loaded, newly initialised (e.g. a new
        task head) and unused (e.g. pretraining heads); the same is logged as a warning when not one-to-one.
    """
    unknown = sorted(set(config_overrides) - _config_fields())
    if unknown:
        raise TypeError(f"from_pretrained got unknown argument(s) {unknown}: neither a loading option "
                        "(strict, ignore_mismatched_sizes, local_files_only, revision, cache_dir, token, "
                        "weights_format, dtype, tokenizer) nor an AlbertConfig field")
    hub_options = dict(local_files_only=local_files_only, revision=revision, cache_dir=cache_dir, token=token)
    path = resolve_path(name_or_path, files="model", **hub_options)
    checkpoint = formats.find_checkpoint(path, weights_format)
    config = formats.read_config(checkpoint, **config_overrides)
    cls = _model_class(model_cls, config)
    quantize = dtype == "int8"  # Keras int8 quantizes a loaded float model
    model = cls(config, dtype=dtype) if dtype not in (None, "int8") else cls(config)
    model.build()
    with formats.open_weights(checkpoint, config) as source:
        info = loading.load_weights(model, source, strict=strict, ignore_mismatched_sizes=ignore_mismatched_sizes)
    loading.report(info)
    if quantize:
        model.quantize("int8")
    model.loading_info = info
    model.tokenizer = _folder_tokenizer(path) if tokenizer is None else (tokenizer or None)
    return model


def _folder_tokenizer(path: str):
    """The tokenizer of the checkpoint folder at `path` (a folder, or a file in it), or None if it holds none."""
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    try:
        return AlbertTokenizer.from_pretrained(folder)
    except FileNotFoundError:
        return None
    except (ValueError, OSError) as e:  # the weights are fine: load them, say why raw text will not work
        logging.getLogger("tf_albert").warning("the tokenizer in %s was not attached to the model: %s", folder, e)
        return None


# --- saving ---------------------------------------------------------------------------------------------
def hf_state(model) -> dict:
    """{HF PyTorch name: float32 array in PyTorch layout} of every weight (names as in an HF task model)."""
    import numpy as np

    state = {}
    for name, (variable, transpose) in hf_weight_map(model).items():
        value = np.asarray(variable.numpy(), dtype=np.float32)
        state[name] = np.ascontiguousarray(value.T if transpose else value)
    return state


def _is_base_model(model) -> bool:
    return isinstance(model, registered_model_class("AlbertModel"))


def save_pretrained(model, folder, *, tokenizer=None, formats: tuple = SAVE_FORMATS) -> str:
    """Writes `config.json`, `model.safetensors` (HF PyTorch names) and `tf_model.h5` (HF v4 TF layout), plus
    the tokenizer files when `tokenizer` is given (an AlbertTokenizer or a path to a SentencePiece model).

    The folder loads in transformers v5 `Albert*.from_pretrained`, v4 `TFAlbert*.from_pretrained` and ours.
    `formats=("keras_hub",)` writes a KerasHub backbone preset instead (config.json, model.weights.h5, and
    the SentencePiece model under assets/tokenizer/ when `tokenizer` is given):
    `keras_hub.models.AlbertBackbone.from_preset(folder)` loads it (see `checkpoints.keras_hub`); the old
    folder is replaced whole.
    A Keras int8 model (`model.quantize("int8")`) is saved dequantized and a LoRA model with its LoRA merged:
    plain float32 weights in HF's layout (`from_pretrained(folder, dtype="int8")` quantizes them again, to the
    same int8 values; `model.save("model.keras")` keeps the int8 weights as they are).
    Everything is written to a temporary folder beside `folder` first and then swapped in, so a crash leaves
    the previous checkpoint intact. Files already in `folder` that this save does not write (a README, logs,
    a tokenizer) are kept; weight files of earlier saves are replaced.

    Returns:
        The folder's path.
    """
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    bad = [f for f in formats if f not in SAVE_FORMATS]
    if (bad or not formats) and formats != (KERAS_HUB,):
        raise ValueError(f"formats must be a non-empty subset of {SAVE_FORMATS}, or ({KERAS_HUB!r},) alone "
                         f"(a KerasHub preset has a config.json of its own), got {formats!r}")
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a path, got {type(folder).__name__}: {folder!r}")
    if not model.built:
        model.build()
    model = float_copy(model)  # int8 dequantized, LoRA merged: HF has no name for their extra variables
    state = hf_state(model)
    if formats == (KERAS_HUB,):
        if isinstance(tokenizer, (str, os.PathLike)):
            tokenizer = AlbertTokenizer(vocab_file=os.fspath(tokenizer))
        with replace_folder_atomically(folder) as tmp:
            keras_hub.write_preset(tmp, model, state, tokenizer)
        return os.fspath(folder)
    with replace_folder_atomically(folder, keep=_keeps_old_file) as tmp:
        config = model.config.copy(architectures=[type(model).__name__])
        config.save_pretrained(tmp)
        if "safetensors" in formats:
            names = state
            if _is_base_model(model):  # HF's AlbertModel *is* the backbone: no `albert.` prefix
                names = {k.removeprefix("albert."): v for k, v in state.items()}
            if "predictions.bias" in names:
                # Tied to predictions.bias in PyTorch, but a variable of its own in transformers v4's TF classes,
                # which read it from here when they load model.safetensors.
                names = {**names, "predictions.decoder.bias": names["predictions.bias"]}
            hf_pytorch.write_safetensors(os.path.join(tmp, hf_pytorch.SAFE_WEIGHTS_NAME), names)
        if "h5" in formats:
            hf_tf.write_tf_h5(os.path.join(tmp, hf_tf.TF_WEIGHTS_NAME), model, state)
        if tokenizer is not None:
            _save_tokenizer(tokenizer, tmp)
    return os.fspath(folder)


def _save_tokenizer(tokenizer, folder: str) -> None:
    if hasattr(tokenizer, "save_pretrained"):
        tokenizer.save_pretrained(folder)
    elif isinstance(tokenizer, (str, os.PathLike)) and os.path.isfile(tokenizer):
        AlbertTokenizer(vocab_file=os.fspath(tokenizer)).save_pretrained(folder)
    else:
        raise TypeError(f"tokenizer must be an AlbertTokenizer or the path of a SentencePiece model file, got "
                        f"{type(tokenizer).__name__}: {tokenizer!r}")


def _keeps_old_file(name: str) -> bool:
    """Which files of the folder's earlier contents a save carries over: all but earlier weight files."""
    return not _WEIGHT_FILES.match(name)
