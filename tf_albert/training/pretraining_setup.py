"""What a pretraining run starts from: the architecture (`TINY_CONFIG`, `SMALL_CONFIG`, presets, folders, or
the initial model's) and the initial weights (`--init-checkpoint`: a model folder, an embedded model or an
earlier run's folder, whose tokenizer `pretrain` takes too).
"""

from __future__ import annotations

import os
import time

from tf_albert.checkpoints.resolve import local_path
from tf_albert.model.config import AlbertConfig
from tf_albert.model.modeling import AlbertForPreTraining
from tf_albert.training.callbacks import last_epoch_weights

#: The embedded tf-albert-tiny architecture (vocab_size comes from the tokenizer).
TINY_CONFIG = dict(
    embedding_size=128,
    hidden_size=256,
    num_attention_heads=4,
    intermediate_size=1024,
    num_hidden_layers=6,
    num_hidden_groups=1,
    inner_group_num=1,
    max_position_embeddings=256,
    hidden_act="gelu_new",
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)
#: tf-albert-small: wider than TINY_CONFIG (H 384), with 512 positions; about 16 MB with a 16k vocabulary.
SMALL_CONFIG = dict(TINY_CONFIG, hidden_size=384, num_attention_heads=6, intermediate_size=1536,
                    max_position_embeddings=512)

def resolve_config(config=None, vocab_size: int | None = None, overrides: dict | None = None):
    """An `AlbertConfig` from None (the tiny default), "tiny" / "small" (the embedded models'
    architectures), a preset name, a config.json or a model folder.

    >>> small = resolve_config("small", vocab_size=16000)
    >>> small.hidden_size, small.max_position_embeddings, resolve_config(None, vocab_size=6000).hidden_size
    (384, 512, 256)
    """
    if config is None or config in ("tiny", "small"):
        base = AlbertConfig(**(SMALL_CONFIG if config == "small" else TINY_CONFIG))
    elif isinstance(config, AlbertConfig):
        base = config
    elif isinstance(config, dict):
        base = AlbertConfig(**config)
    else:
        base = AlbertConfig.from_pretrained(config)
    extra = dict(overrides or {})
    if vocab_size is not None:
        extra["vocab_size"] = vocab_size
    return base.copy(**extra) if extra else base


def model_folder(init_checkpoint) -> str | None:
    """The model folder an `init_checkpoint` names (for its tokenizer and config): the folder or embedded
    model itself, or an earlier run's `model/`; None when there is none."""
    if init_checkpoint is None:
        return None
    path = local_path(init_checkpoint)
    if path is None or not os.path.isdir(path):
        return None
    if os.path.isfile(last_epoch_weights(path)):  # an earlier run's folder
        path = os.path.join(path, "model")
        return path if os.path.isdir(path) else None
    return path


def has_tokenizer(folder: str) -> bool:
    return any(os.path.isfile(os.path.join(folder, name)) for name in ("spiece.model", "tokenizer.json"))


def start_from(model, init_checkpoint) -> None:
    """Sets `model`'s weights to those of `init_checkpoint`, which must have its shapes: a model folder (or
    embedded name), or the output folder of an earlier `pretrain`, finished or stopped, whose last finished
    epoch's weights (`checkpoints/latest.weights.h5`) it takes."""
    last_epoch = last_epoch_weights(init_checkpoint)
    if os.path.isfile(last_epoch):
        try:
            model.load_weights(last_epoch)
        except ValueError as e:
            _misfit(init_checkpoint, " ".join(str(e).split()).split(" List of objects")[0])
        return
    init = AlbertForPreTraining.from_pretrained(init_checkpoint, strict=True)
    if len(model.weights) != len(init.weights):
        _misfit(init_checkpoint, f"{len(init.weights)} weights, the model has {len(model.weights)}")
    for a, b in zip(model.weights, init.weights):
        if tuple(a.shape) != tuple(b.shape):
            _misfit(init_checkpoint, f"{a.path}: {tuple(a.shape)} vs {tuple(b.shape)}")
    model.set_weights(init.get_weights())


def _misfit(init_checkpoint, what: str) -> None:
    raise ValueError(f"init_checkpoint {init_checkpoint!r} does not fit the model being trained ({what}): "
                     "it must have the same architecture and vocabulary")


def pretraining_config(config=None, init_checkpoint=None, vocab_size: int | None = None,
                       overrides: dict | None = None) -> AlbertConfig:
    """`resolve_config`, where `config=None` means the `init_checkpoint` model's architecture when it has a
    config.json (else the tiny default).

    >>> pretraining_config(None, "tf-albert-small", vocab_size=16000).hidden_size
    384
    """
    init_folder = model_folder(init_checkpoint)
    if config is None and init_folder and os.path.isfile(os.path.join(init_folder, "config.json")):
        config = init_folder
    return resolve_config(config, vocab_size=vocab_size, overrides=overrides)


def wait_for(ready, what: str, log, timeout: float = 6 * 3600, every: float = 5.0) -> None:
    """Polls `ready()` until it is true (another worker's files), or raises TimeoutError."""
    deadline = time.time() + timeout
    log(f"waiting for {what}")
    while not ready():
        if time.time() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(every)


__all__ = ["TINY_CONFIG", "SMALL_CONFIG", "resolve_config", "pretraining_config", "start_from", "wait_for"]
