"""Which checkpoint a local path holds, and opening it: the shapes ALBERT weights come in.

| shape                  | weights                                                    | config                 |
|------------------------|------------------------------------------------------------|------------------------|
| HF safetensors         | `model.safetensors` or `model.safetensors.index.json`      | `config.json`          |
| HF TensorFlow (v4)     | `tf_model.h5` or `tf_model.h5.index.json`                  | `config.json`          |
| HF PyTorch pickle      | `pytorch_model.bin` or `pytorch_model.bin.index.json`      | `config.json`          |
| Google TF1             | `model.ckpt-N.{index,data-*}` (+ `checkpoint`), TF-Hub `variables/` | `albert_config.json` |
| TF2 (Model Garden)     | `ckpt-N.{index,data-*}`, TF Hub TF2 SavedModel `variables/` | `albert_config.json`  |
| KerasHub preset        | `model.weights.h5` (+ `task.weights.h5`)                   | KerasHub `config.json` |

A KerasHub preset is recognised by its config.json. A folder holding several others is read in the order
above (safetensors first: lazy and pickle-free); pass
`weights_format` to choose. A path to one weights file (or a TF1 prefix) is read as that file, with the config
from its folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tf_albert.checkpoints import google_tf1, hf_pytorch, hf_tf, keras_hub, tf2
from tf_albert.checkpoints.tensors import TensorSource
from tf_albert.model.config import AlbertConfig

CONFIG_NAME = "config.json"
WEIGHTS_FORMATS = ("safetensors", "h5", "bin", "tf1", "keras_hub")
_FILES = {
    "safetensors": (hf_pytorch.SAFE_WEIGHTS_NAME, hf_pytorch.SAFE_WEIGHTS_INDEX_NAME),
    "h5": (hf_tf.TF_WEIGHTS_NAME, hf_tf.TF_WEIGHTS_INDEX_NAME),
    "bin": (hf_pytorch.WEIGHTS_NAME, hf_pytorch.WEIGHTS_INDEX_NAME),
}


@dataclass
class Checkpoint:
    """A located checkpoint: its format, weights path (file, index or TF1 prefix), folder and config file."""

    format: str
    weights: str
    folder: str
    config_file: str | None

    @property
    def is_google(self) -> bool:
        return self.format in ("tf1", "tf2")  # TF checkpoints: Google's albert_config.json


def _format_of_file(path: str) -> str | None:
    name = os.path.basename(path)
    for fmt, ext in (("safetensors", ".safetensors"), ("h5", ".h5"), ("bin", ".bin")):
        if name.endswith(ext) or name.endswith(ext + ".index.json"):
            return fmt
    return None


def _config_file(folder: str, google: bool) -> str | None:
    order = (google_tf1.GOOGLE_CONFIG_NAME, CONFIG_NAME) if google else (CONFIG_NAME, google_tf1.GOOGLE_CONFIG_NAME)
    for name in order:
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def find_checkpoint(path: str, weights_format: str | None = None) -> Checkpoint:
    """Locates the weights and config under a local folder or file path (see module docstring)."""
    path = os.fspath(path)
    if weights_format is not None and weights_format not in WEIGHTS_FORMATS:
        raise ValueError(f"weights_format must be one of {WEIGHTS_FORMATS} or None, got {weights_format!r}")
    formats = [weights_format] if weights_format else list(WEIGHTS_FORMATS)
    if os.path.isfile(path) and not path.endswith(".index"):
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.basename(path) == keras_hub.WEIGHTS_NAME and keras_hub.is_preset(folder):
            return Checkpoint("keras_hub", path, folder, os.path.join(folder, keras_hub.CONFIG_NAME))
        fmt = _format_of_file(path)
        if fmt is None:
            raise ValueError(f"{path}: unknown weights file type; expected .safetensors, .h5, .bin, a *.index.json, "
                             "a TF checkpoint prefix or a folder")
        folder = os.path.dirname(os.path.abspath(path))
        return Checkpoint(fmt, path, folder, _config_file(folder, False))
    if os.path.isdir(path):
        if "keras_hub" in formats and keras_hub.is_preset(path):
            return Checkpoint("keras_hub", os.path.join(path, keras_hub.WEIGHTS_NAME), path,
                              os.path.join(path, keras_hub.CONFIG_NAME))
        for fmt in formats:
            if fmt == "keras_hub":
                continue
            if fmt == "tf1":
                prefix = google_tf1.find_checkpoint(path)
                if prefix is not None:
                    return Checkpoint(tf2.checkpoint_format(prefix), prefix, path, _config_file(path, True))
                continue
            for name in _FILES[fmt]:
                if os.path.isfile(os.path.join(path, name)):
                    return Checkpoint(fmt, os.path.join(path, name), path, _config_file(path, False))
        present = sorted(os.listdir(path))[:20]
        wanted = ", ".join(n for f in formats if f in _FILES for n in _FILES[f])
        if "tf1" in formats:
            wanted += ", a TF1 checkpoint (model.ckpt-*.index)"
        if "keras_hub" in formats:
            wanted += ", a KerasHub preset (config.json + model.weights.h5)"
        raise FileNotFoundError(f"no ALBERT weights in folder {path}: expected {wanted}; it holds {present}")
    prefix = google_tf1.find_checkpoint(path) if "tf1" in formats else None
    if prefix is not None:
        folder = os.path.dirname(os.path.abspath(prefix))
        return Checkpoint(tf2.checkpoint_format(prefix), prefix, folder, _config_file(folder, True))
    raise FileNotFoundError(f"checkpoint not found: {path} is neither a folder, a weights file nor a TF1 checkpoint")


def read_config(checkpoint: Checkpoint, **overrides):
    """The checkpoint's AlbertConfig (Google's `albert_config.json` translated), with overrides applied."""
    if checkpoint.config_file is None:
        names = (google_tf1.GOOGLE_CONFIG_NAME + " or " + CONFIG_NAME) if checkpoint.is_google else CONFIG_NAME
        hint = (" (TF2 checkpoints and TF Hub SavedModels do not record the number of layers: put the "
                "model's albert_config.json beside them)") if checkpoint.format == "tf2" else ""
        raise FileNotFoundError(f"no {names} next to the weights in {checkpoint.folder}{hint}")
    if checkpoint.format == "keras_hub":
        return keras_hub.read_config(checkpoint.folder, **overrides)
    if os.path.basename(checkpoint.config_file) == google_tf1.GOOGLE_CONFIG_NAME:
        return google_tf1.read_config(checkpoint.config_file, **overrides)
    return AlbertConfig.from_json_file(checkpoint.config_file, **overrides)


def open_weights(checkpoint: Checkpoint, config=None) -> TensorSource:
    """The checkpoint's tensors under HF names (see `tensors.TensorSource`)."""
    if checkpoint.format == "safetensors":
        return hf_pytorch.open_safetensors(checkpoint.weights)
    if checkpoint.format == "h5":
        return hf_tf.open_tf_h5(checkpoint.weights)
    if checkpoint.format == "bin":
        return hf_pytorch.open_pytorch_bin(checkpoint.weights)
    if checkpoint.format == "keras_hub":
        return keras_hub.open_preset(checkpoint.folder)
    if checkpoint.format == "tf2":
        return tf2.open_tf2(checkpoint.weights)
    return google_tf1.open_tf1(checkpoint.weights, config)
