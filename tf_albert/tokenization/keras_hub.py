"""The tokenizer of a KerasHub ALBERT preset: the SentencePiece model alone, as KerasHub runs it.

KerasHub's `AlbertTokenizer` passes the text straight to SentencePiece (whose own normaliser, `nmt_nfkc` in
ALBERT's models, still applies). None of HF's text rules run: no lower-casing, no accent stripping, no
```` `` ````/`''` → `"`, no `<digit>,` re-split, and `[MASK]` written in the text is not a special token.
A KerasHub preset folder is tokenized that way, so that ids match KerasHub's on that folder;
`AlbertTokenizer(vocab_file=...)` on the same `vocabulary.spm` gives HF's ids instead.

Example:
>>> tok = KerasHubAlbertTokenizer(vocab_file="tests/fixtures/tokenizer/spiece.model")
>>> tok.tokenize("Hello 9,")  # no lower-casing ('H' is unknown to this uncased model), "9," kept whole
['▁', 'H', 'el', 'l', 'o', '▁', '9,']
>>> tok("Hello 9,")["input_ids"]
[2, 13, 1, 498, 29, 47, 13, 527, 3]
"""

from __future__ import annotations

from tf_albert.tokenization.files import FOLDER_CLASSES
from tf_albert.tokenization.tokenizer import AlbertTokenizer


class KerasHubAlbertTokenizer(AlbertTokenizer):
    """`AlbertTokenizer` with KerasHub's text handling: plain SentencePiece (see the module docstring).

    Pairs, special tokens ([CLS] A [SEP] B [SEP]), truncation and padding are `AlbertTokenizer`'s; character
    offsets (`return_offsets_mapping`) are not available. `save_pretrained` writes `AlbertTokenizer`'s HF
    files, which HF reads with its own text rules (ids then differ from KerasHub's on text with capitals,
    accents, quotes or digits before commas).
    """

    def __init__(self, vocab_file=None, **kwargs):
        kwargs = {"do_lower_case": False, "keep_accents": True, **kwargs}
        super().__init__(vocab_file=vocab_file, **kwargs)

    def _split_special(self, text: str):
        return [(text, False)] if text else []

    def _pieces(self, chunk: str) -> list[str]:
        return self.sp_model.encode(chunk, out_type=str)

    def _encode_many(self, texts):
        return [self.sp_model.encode(t, out_type=int) for t in texts]

    def _tokenize_with_offsets(self, text: str):
        raise ValueError(
            "return_offsets_mapping is not available for a KerasHub preset's tokenizer "
            "(KerasHubAlbertTokenizer); AlbertTokenizer(vocab_file=...) gives HF's ids with offsets"
        )


FOLDER_CLASSES["keras_hub"] = KerasHubAlbertTokenizer  # what AlbertTokenizer.from_pretrained(preset) returns
