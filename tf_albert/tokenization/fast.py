"""HF fast-tokenizer folders: `tokenizer.json` (Unigram model + normaliser + pre-tokenizer), no spiece.model.

transformers v5 saves ALBERT tokenizers this way, and v4's `AlbertTokenizerFast.save_pretrained(...,
legacy_format=False)` too. Such a folder is tokenized the way HF's fast tokenizer tokenizes it, which is not
always the way HF's SentencePiece tokenizer tokenizes the `spiece.model` it came from (the two differ on,
e.g., `"e.g."` when `.` is a user-defined piece, and on `"9,"`). So the file is run by the library that
defines it, `tokenizers` (`pip install tf_albert[tokenizers]`), and this class only adds the `AlbertTokenizer`
interface: pairs, truncation, padding, tensors (`tokenization.common`). Its in-graph counterpart is
`tokenization.fast_layer.AlbertFastTokenizerLayer.from_tokenizer(tok)` (the `tokenizers` pipeline in TF ops,
same ids on the hard-string corpus); the raw-text SavedModel export uses it for such folders.

Example (a toy Unigram model; real folders come from `save_pretrained` of transformers):
>>> import os, tempfile, tokenizers
>>> from tf_albert.tokenization.fast import AlbertTokenizerFast
>>> pieces = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]", "▁", "▁a", "b", "▁ab"]
>>> tk = tokenizers.Tokenizer(tokenizers.models.Unigram([(p, -1.0) for p in pieces], unk_id=1))
>>> tk.normalizer = tokenizers.normalizers.Lowercase()
>>> tk.pre_tokenizer = tokenizers.pre_tokenizers.Metaspace()
>>> folder = tempfile.mkdtemp()
>>> _ = AlbertTokenizerFast(tk).save_pretrained(folder)
>>> sorted(os.listdir(folder))
['tokenizer.json', 'tokenizer_config.json']
>>> tok = AlbertTokenizerFast.from_pretrained(folder)
>>> tok("AB a", "b")["input_ids"], tok.tokenize("AB a")
([2, 8, 6, 3, 5, 7, 3], ['▁ab', '▁a'])
"""

from __future__ import annotations

import os

from tf_albert.tokenization.common import (
    ALBERT_SPECIAL_TOKENS,
    DEFAULT_MODEL_MAX_LENGTH,
    SPECIAL_TOKEN_ATTRIBUTES,
    VocabTokenizerBase,
    check_special_names,
)
from tf_albert.tokenization.config_files import (  # noqa: F401  (TOKENIZER_CONFIG_FILE was defined here)
    TOKENIZER_CONFIG_FILE,
    read_json,
)

TOKENIZER_FILE = "tokenizer.json"
ALBERT_SPECIAL = ALBERT_SPECIAL_TOKENS  # the name this module gave them
_MISSING = "reading a tokenizer.json needs the `tokenizers` package: pip install tf_albert[tokenizers]"


def _tokenizers():
    try:  # optional dependency: only tokenizer.json folders need it
        import tokenizers
    except ImportError:
        raise ImportError(_MISSING) from None
    return tokenizers


def is_hf_tokenizer_json(path: str) -> bool:
    """True for HF's `tokenizer.json` (it has a "model"); KerasHub writes a Keras config by that name.

    Args:
        path: The file; a path where there is none gives ``False``.

    Returns:
        Whether the file is an HF ``tokenizer.json``.

    Raises:
        ValueError: The file is there but is not valid JSON (it is corrupt, not missing).
    """
    if not os.path.isfile(path):
        return False
    return isinstance(read_json(path).get("model"), dict)


def _content(token):
    return token.get("content") if isinstance(token, dict) else token


class AlbertTokenizerFast(VocabTokenizerBase):
    """An HF `tokenizer.json` with the `AlbertTokenizer` interface; ids identical to HF's fast tokenizer.

    Args:
        tokenizer_object: a `tokenizers.Tokenizer`.
        model_max_length: int. Used by truncation/padding without `max_length`.
        **special_tokens: `bos_token`, ..., `mask_token` (ALBERT's by default, where the vocabulary has them).

    Raises:
        TypeError: `tokenizer_object` is not a `tokenizers.Tokenizer`, or a keyword is not a special token.
    """

    def __init__(self, tokenizer_object, model_max_length: int = DEFAULT_MODEL_MAX_LENGTH, **special_tokens):
        tokenizers = _tokenizers()
        if not isinstance(tokenizer_object, tokenizers.Tokenizer):
            raise TypeError(
                f"tokenizer_object must be a tokenizers.Tokenizer, got {type(tokenizer_object).__name__}"
            )
        check_special_names(special_tokens)
        self._tk = tokenizer_object
        self._tk.no_truncation()
        self._tk.no_padding()
        vocab = self._tk.get_vocab(with_added_tokens=True)
        special = {k: _content(special_tokens.get(k, v)) for k, v in ALBERT_SPECIAL_TOKENS.items()}
        special = {k: (t if t in vocab or k in special_tokens else None) for k, t in special.items()}
        self._init_vocab(vocab, special, model_max_length)

    @classmethod
    def from_pretrained(cls, path: str, **kwargs) -> AlbertTokenizerFast:
        """From a folder holding `tokenizer.json` (and maybe `tokenizer_config.json`), or the file itself."""
        file, options = cls._read_folder(path, TOKENIZER_FILE, SPECIAL_TOKEN_ATTRIBUTES, kwargs)
        if not is_hf_tokenizer_json(file):
            raise ValueError(f'{file} is not an HF tokenizer.json (no "model" in it)')
        try:
            tk = _tokenizers().Tokenizer.from_file(file)
        except Exception as e:  # tokenizers raises its own Exception type for bad files
            raise ValueError(f"cannot read {file}: {e}") from None
        return cls(tk, **options)

    def save_pretrained(self, save_directory: str) -> tuple[str, ...]:
        """Writes `tokenizer.json` and `tokenizer_config.json` (both atomically); HF loads the folder."""
        config = {"tokenizer_class": "AlbertTokenizer"}
        return self._save_folder(save_directory, {TOKENIZER_FILE: self._tk.to_str()}, config)

    def _encode_one(self, text: str):
        enc = self._tk.encode(text, add_special_tokens=False)
        return list(enc.ids), [tuple(o) for o in enc.offsets]

    def _decode_ids(self, ids, skip_special_tokens, **kwargs) -> str:
        return self._tk.decode(ids, skip_special_tokens=skip_special_tokens)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, model_max_length={self.model_max_length})"
        )
