"""Text-normalisation rules of ALBERT's tokenizer, shared by the Python and the in-graph tokenizer.

:class:`~tf_albert.tokenization.AlbertTokenizer` applies them to strings (:func:`lower_per_char` is step 1,
:func:`preprocess_text` step 3, :func:`split_digit_comma` the end of step 4 of the pipeline described in
:mod:`tf_albert.tokenization.tokenizer`);
:class:`~tf_albert.tokenization.layer.AlbertTokenizerLayer` applies the same rules with TensorFlow ops, from
the code-point ranges (:func:`whitespace_ranges`, :func:`char_class`) and the per-character tables
(:func:`char_tables`) built here from this Python's ``unicodedata``. Defining them once is what keeps the two
tokenizers' ids equal.

Example:

>>> preprocess_text("  ``Café''   ÉTÉ ")
'"cafe" ete'
>>> lower_per_char("ΟΔΟΣ"), "ΟΔΟΣ".lower()  # no final-sigma context character by character
('οδοσ', 'οδος')
>>> print(char_class(((0x61, 0x63), (0x2581, 0x2581)), "re2"))
[\\x{61}-\\x{63}\\x{2581}]
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

# SentencePiece's word-boundary marker ("▁"), the first character of a piece that starts a word.
SPIECE_UNDERLINE = "\u2581"
# Capital sigmas that only appear after NFKD (mathematical alphanumerics); the final `str.lower` turns them
# into "ς" or "σ" depending on context. The in-graph layer refuses these (see its docstring).
CONTEXT_SIGMA = "\u03a3"


def _ranges(codepoints: Iterable[int]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for c in codepoints:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return tuple((lo, hi) for lo, hi in out)


@functools.cache
def whitespace_ranges() -> tuple[tuple[int, int], ...]:
    """Code points Python's ``str.split()``/``str.strip()`` treat as whitespace (``remove_space``)."""
    return _ranges(c for c in range(0x110000) if chr(c).isspace())


@functools.cache
def combining_ranges() -> tuple[tuple[int, int], ...]:
    """Code points with a non-zero canonical combining class (dropped after NFKD unless ``keep_accents``)."""
    return _ranges(c for c in range(0x110000) if unicodedata.combining(chr(c)))


def char_class(ranges: Sequence[tuple[int, int]], syntax: str = "python") -> str:
    """A regex character class for ``ranges``: ``syntax="python"`` (``re``) or ``"re2"`` (TensorFlow)."""
    esc = (lambda c: f"\\x{{{c:x}}}") if syntax == "re2" else (lambda c: re.escape(chr(c)))
    parts = [esc(lo) if lo == hi else f"{esc(lo)}-{esc(hi)}" for lo, hi in ranges]
    return "[" + "".join(parts) + "]"


@functools.cache
def _combining_re() -> re.Pattern:
    return re.compile(char_class(combining_ranges()) + "+")


def lower_per_char(text: str) -> str:
    """HF's pre-lowercasing of non-special text: ``str.lower`` of each character separately."""
    if CONTEXT_SIGMA not in text:  # str.lower only differs from per-character lowering at final sigma
        return text.lower()
    return "".join(c.lower() for c in text)


def preprocess_text(
    text: str, remove_space: bool = True, keep_accents: bool = False, do_lower_case: bool = True
) -> str:
    """The reference ``preprocess_text`` of one chunk (step 3 in the module docstring)."""
    if remove_space:
        text = " ".join(text.split())
    text = text.replace("``", '"').replace("''", '"')
    if not keep_accents and not text.isascii():
        text = _combining_re().sub("", unicodedata.normalize("NFKD", text))
    if do_lower_case:
        text = text.lower()
    return text


@functools.cache
def char_tables(do_lower_case: bool, keep_accents: bool) -> tuple[dict[int, str], dict[int, str], str]:
    """Per-character tables for the in-graph layer, derived from this Python's ``unicodedata``.

    Returns ``(pre_lower, normalize, sigma_sources)``:
      * ``pre_lower[c]``: step 1 (``chr(c).lower()``) for the characters it changes (empty if not
        lower-casing);
      * ``normalize[c]``: step 3 without whitespace/quote handling, i.e. NFKD, drop combining marks,
        lower-case each resulting character -- for characters that step 1 may leave behind, where it is not
        the identity;
      * ``sigma_sources``: characters whose ``normalize`` output contains a capital sigma that the reference
        lower-cases with context; the table keeps that sigma upper-case and the layer refuses such text.
    Applying ``normalize`` character by character equals ``preprocess_text``'s NFKD/combining/lower steps
    because NFKD decomposes per character and only reorders combining marks, which are dropped.
    """
    pre_lower: dict[int, str] = {}
    normalize: dict[int, str] = {}
    sigma = []
    for c in range(0x110000):
        ch = chr(c)
        low = ch.lower() if do_lower_case else ch
        if low != ch:
            pre_lower[c] = low
        if keep_accents or (unicodedata.is_normalized("NFKD", ch) and not unicodedata.combining(ch)):
            out = low if do_lower_case else ch
        else:
            out = "".join(x for x in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(x))
            if do_lower_case:
                out = "".join(x if x == CONTEXT_SIGMA else x.lower() for x in out)
                if CONTEXT_SIGMA in out:
                    sigma.append(ch)
        if out != ch:
            normalize[c] = out
    return pre_lower, normalize, "".join(sigma)


def is_digit_comma(piece: str) -> bool:
    """Whether SentencePiece ``piece`` ends in ``<digit>,`` (``str.isdigit``): :func:`split_digit_comma`
    re-splits such pieces."""
    return len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()


def split_digit_comma(piece: str, encode: Callable[[str], list[str]]) -> list[str]:
    """The pieces that replace ``piece`` (step 4's re-split, as in Google's ALBERT/BERT tokenization).

    ``[piece]`` unless :func:`is_digit_comma`; then ``encode`` (SentencePiece, text to pieces) of the piece
    without its comma and its ``▁``, less the ``▁`` that encoding puts in front when ``piece`` did not start
    a word, followed by ``","``. The Python tokenizer calls this on every piece it encodes; the in-graph layer
    builds its table of re-splits by calling it on every piece of the vocabulary.

    >>> encode = lambda text: ["▁" + text]  # stands in for SentencePiece: one word-initial piece
    >>> split_digit_comma("▁9,", encode), split_digit_comma("0,", encode), split_digit_comma("00", encode)
    (['▁9', ','], ['0', ','], ['00'])
    """
    if not is_digit_comma(piece):
        return [piece]
    pieces = encode(piece[:-1].replace(SPIECE_UNDERLINE, ""))
    if piece[0] != SPIECE_UNDERLINE and pieces and pieces[0][0] == SPIECE_UNDERLINE:
        pieces = pieces[1:] if len(pieces[0]) == 1 else [pieces[0][1:]] + pieces[1:]
    return pieces + [piece[-1]]


#: HF's ``clean_up_tokenization`` pairs (decode with ``clean_up_tokenization_spaces``): (before, after).
CLEAN_UP_REPLACEMENTS = (
    (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
    (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
)


def clean_up_tokenization(text: str) -> str:
    """HF's ``clean_up_tokenization``: remove spaces before punctuation and English contractions."""
    for a, b in CLEAN_UP_REPLACEMENTS:
        text = text.replace(a, b)
    return text
