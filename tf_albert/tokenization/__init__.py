"""Text → ids, exactly as Hugging Face's `AlbertTokenizer`: in Python and in the TensorFlow graph.

* `common`: HF's call surface (`__call__`, `encode`, `encode_plus`, `batch_encode_plus`, special tokens,
  tokens ↔ ids), written once for every tokenizer below, which each say only how text becomes ids and back;
* `tokenizer`: `AlbertTokenizer` (SentencePiece + HF's text rules: text → ids, ids → text);
* `encoding`: ids → model inputs (pairs and special tokens, truncation, padding, `BatchEncoding`, tensors);
* `rules`: the text rules themselves, each written once (lower-casing, whitespace, accents, `<digit>,`);
* `offsets`: `return_offsets_mapping`; `files`: reading and writing SentencePiece tokenizer folders, and
  which tokenizer reads a folder; `config_files`: the JSON files of every kind of folder (a corrupt one is
  an error that names it);
* `fast`: `AlbertTokenizerFast` (an HF `tokenizer.json`, run by `tokenizers`); `wordpiece`:
  `AlbertWordPieceTokenizer` (a BERT `vocab.txt`); `keras_hub`: `KerasHubAlbertTokenizer` (a KerasHub
  preset's SentencePiece model, run as KerasHub runs it);
* `layer`: `AlbertTokenizerLayer`, the same tokenization in-graph (tensorflow-text), loaded on first use;
  `unigram`: its SentencePiece Viterbi in TF ops; `wordpiece_layer`: `AlbertWordPieceLayer` (WordPiece
  in-graph); `fast_layer`: `AlbertFastTokenizerLayer` (a `tokenizer.json` in-graph).

`from tf_albert.tokenization import AlbertTokenizer` is the public path (as in tf_albert 0.1).
"""

from __future__ import annotations

from tf_albert.tokenization.encoding import BatchEncoding
from tf_albert.tokenization.fast import AlbertTokenizerFast
from tf_albert.tokenization.files import GOOGLE_VOCAB_FILE, VOCAB_FILE
from tf_albert.tokenization.keras_hub import KerasHubAlbertTokenizer
from tf_albert.tokenization.rules import (
    SPIECE_UNDERLINE,
    char_tables,
    clean_up_tokenization,
    lower_per_char,
    preprocess_text,
)
from tf_albert.tokenization.tokenizer import AlbertTokenizer
from tf_albert.tokenization.wordpiece import AlbertWordPieceTokenizer

__all__ = [
    "GOOGLE_VOCAB_FILE",
    "SPIECE_UNDERLINE",
    "VOCAB_FILE",
    "AlbertFastTokenizerLayer",
    "AlbertTokenizer",
    "AlbertTokenizerFast",
    "AlbertTokenizerLayer",
    "AlbertWordPieceLayer",
    "AlbertWordPieceTokenizer",
    "BatchEncoding",
    "KerasHubAlbertTokenizer",
    "char_tables",
    "clean_up_tokenization",
    "lower_per_char",
    "preprocess_text",
]


def __getattr__(name: str):
    # The in-graph layer imports TensorFlow and tensorflow-text (optional): only when asked for.
    if name == "AlbertTokenizerLayer":
        from tf_albert.tokenization.layer import AlbertTokenizerLayer

        return AlbertTokenizerLayer
    if name == "AlbertFastTokenizerLayer":
        from tf_albert.tokenization.fast_layer import AlbertFastTokenizerLayer

        return AlbertFastTokenizerLayer
    if name == "AlbertWordPieceLayer":
        from tf_albert.tokenization.wordpiece_layer import AlbertWordPieceLayer

        return AlbertWordPieceLayer
    raise AttributeError(f"module 'tf_albert.tokenization' has no attribute {name!r}")
