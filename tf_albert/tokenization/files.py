"""Tokenizer folders: `AlbertTokenizer.from_pretrained` / `save_pretrained` / `save_vocabulary`.

A folder holds the SentencePiece model (`spiece.model`, or `30k-clean.model` in Google's releases) and,
when HF wrote it, `tokenizer_config.json`, `special_tokens_map.json` and `added_tokens.json`. What we write
transformers v4 and v5 both load. Files are written atomically (temp file, then rename).

Folders without a SentencePiece model at the top are read by the tokenizer that fits them: an HF
`tokenizer.json` by `fast.AlbertTokenizerFast` (HF's fast-tokenizer ids), a BERT `vocab.txt` by
`wordpiece.AlbertWordPieceTokenizer`, and a KerasHub preset's `assets/tokenizer/vocabulary.spm` by
`keras_hub.KerasHubAlbertTokenizer`: plain SentencePiece like KerasHub's, which neither lower-cases nor
strips accents nor applies HF's other text rules.
"""

from __future__ import annotations

import os
from typing import Any

from tf_albert.checkpoints.resolve import resolve_path
from tf_albert.tokenization import fast, wordpiece
from tf_albert.tokenization.common import SPECIAL_TOKEN_ATTRIBUTES
from tf_albert.tokenization.config_files import (  # noqa: F401  (token_content was defined here)
    TOKENIZER_CONFIG_FILE,
    read_config,
    saved_max_length,
    token_content,
    write_json,
)
from tf_albert.utils.fileio import write_file_atomically

VOCAB_FILE = "spiece.model"
GOOGLE_VOCAB_FILE = "30k-clean.model"  # name used in Google's ALBERT TF-Hub / tar.gz releases
KERAS_HUB_VOCAB_FILE = os.path.join("assets", "tokenizer", "vocabulary.spm")  # KerasHub presets
#: Tokenizer classes of folder kinds that are defined downstream of this module and register themselves when
#: imported (`tokenization/__init__` imports them): "keras_hub" -> keras_hub.KerasHubAlbertTokenizer.
FOLDER_CLASSES: dict[str, type] = {}
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"
#: Saved options that `from_pretrained` passes on to the constructor (plus the special tokens).
SAVED_OPTIONS = (
    "do_lower_case",
    "remove_space",
    "keep_accents",
    "sp_model_kwargs",
    "model_max_length",
    "clean_up_tokenization_spaces",
    "additional_special_tokens",
)


def _resolve_hub_file(repo_id: str, filename: str, **hub_options) -> str:
    """The local path of ``filename`` in a Hugging Face Hub repository (downloaded or from the cache)."""
    return os.path.join(resolve_path(repo_id, files="tokenizer", **hub_options), filename)


class TokenizerFilesMixin:
    """Loading from and saving to a SentencePiece tokenizer folder; mixed into `AlbertTokenizer`."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str, **kwargs) -> TokenizerFilesMixin:
        """Load from a folder holding ``spiece.model`` (or Google's ``30k-clean.model``) and optionally HF's
        ``tokenizer_config.json``/``special_tokens_map.json``/``added_tokens.json``, or from a ``.model``
        file, an embedded model's name (``"tf-albert-tiny"``) or a hub id (when online). Keyword arguments
        override the saved configuration."""
        path = pretrained_model_name_or_path
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"pretrained_model_name_or_path must be a path, got {type(path).__name__}: {path!r}"
            )
        path = os.fspath(path)
        hub_keys = ("local_files_only", "revision", "cache_dir", "token")
        hub_options = {k: kwargs.pop(k) for k in hub_keys if k in kwargs}
        path = resolve_path(path, files="tokenizer", what="tokenizer folder", **hub_options)
        if os.path.isfile(path):
            return cls(vocab_file=path, **kwargs)
        vocab = next(
            (
                os.path.join(path, n)
                for n in (VOCAB_FILE, GOOGLE_VOCAB_FILE)
                if os.path.isfile(os.path.join(path, n))
            ),
            None,
        )
        if vocab is None and os.path.isfile(os.path.join(path, KERAS_HUB_VOCAB_FILE)):
            # KerasHub's tokenizer neither lower-cases nor strips accents
            options = {"do_lower_case": False, "keep_accents": True, **kwargs}
            keras_hub_cls = FOLDER_CLASSES.get("keras_hub", cls)
            return keras_hub_cls(vocab_file=os.path.join(path, KERAS_HUB_VOCAB_FILE), **options)
        if vocab is None and fast.is_hf_tokenizer_json(os.path.join(path, fast.TOKENIZER_FILE)):
            return fast.AlbertTokenizerFast.from_pretrained(path, **kwargs)
        if vocab is None and os.path.isfile(os.path.join(path, wordpiece.VOCAB_FILE)):
            return wordpiece.AlbertWordPieceTokenizer.from_pretrained(path, **kwargs)
        if vocab is None:
            raise FileNotFoundError(
                f"no tokenizer in {path!r}: expected a SentencePiece model ({VOCAB_FILE!r} or "
                f"{GOOGLE_VOCAB_FILE!r}), an HF {fast.TOKENIZER_FILE!r}, a WordPiece "
                f"{wordpiece.VOCAB_FILE!r} or a KerasHub preset's {KERAS_HUB_VOCAB_FILE!r}"
            )
        config: dict[str, Any] = {}
        for name in (SPECIAL_TOKENS_MAP_FILE, TOKENIZER_CONFIG_FILE):  # the config file wins
            config.update(read_config(path, name))
        added: dict[str, int] = {}
        for i, tok in (config.get("added_tokens_decoder") or {}).items():
            added[token_content(tok)] = int(i)
        added.update({k: int(v) for k, v in read_config(path, ADDED_TOKENS_FILE).items()})
        init: dict[str, Any] = {}
        for key in SAVED_OPTIONS + SPECIAL_TOKEN_ATTRIBUTES:
            if config.get(key) is not None:
                init[key] = config[key]
        if saved_max_length(config) is None:
            init.pop("model_max_length", None)  # HF's "unset" value
        if init.get("additional_special_tokens"):
            init["additional_special_tokens"] = [token_content(t) for t in init["additional_special_tokens"]]
        init.update(kwargs)
        return cls(vocab_file=vocab, added_tokens={k: v for k, v in added.items()}, **init)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str]:
        """Write the SentencePiece model into ``save_directory``; returns ``(path,)``."""
        if not os.path.isdir(save_directory):
            raise ValueError(f"save_directory must be an existing folder, got {save_directory!r}")
        out = os.path.join(save_directory, (filename_prefix + "-" if filename_prefix else "") + VOCAB_FILE)
        # The model is held in memory (`_model_proto`): rewriting the file it was read from is harmless.
        write_file_atomically(out, self._model_proto)
        return (out,)

    def save_pretrained(self, save_directory: str) -> tuple[str, ...]:
        """Write ``spiece.model``, ``tokenizer_config.json`` and ``special_tokens_map.json`` (HF-loadable),
        each atomically."""
        os.makedirs(save_directory, exist_ok=True)
        added_decoder = {}
        for tok in self.all_special_tokens:
            added_decoder[str(self._token_to_id(tok))] = {
                "content": tok,
                "lstrip": tok in self._lstrip_tokens,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
        config = {
            "tokenizer_class": "AlbertTokenizer",
            "do_lower_case": self.do_lower_case,
            "remove_space": self.remove_space,
            "keep_accents": self.keep_accents,
            **self._special,
            "additional_special_tokens": list(self.additional_special_tokens),
            "added_tokens_decoder": added_decoder,
            "sp_model_kwargs": self.sp_model_kwargs,
            "model_max_length": self.model_max_length,
            "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces,
        }
        special_map = dict(self.special_tokens_map)
        special_map["mask_token"] = {
            "content": self._special["mask_token"],
            "lstrip": True,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
        }
        files = (
            write_json(save_directory, TOKENIZER_CONFIG_FILE, config),
            write_json(save_directory, SPECIAL_TOKENS_MAP_FILE, special_map),
        )
        return files + self.save_vocabulary(save_directory)


