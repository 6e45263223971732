"""Offset mapping of :class:`~tf_albert.tokenization.AlbertTokenizer` (``return_offsets_mapping=True``).

The text rules of :mod:`tf_albert.tokenization.rules` are replayed character by character, carrying for each
output character the span of the original text it came from, so that every id gets the ``(start, end)``
character positions HF's fast tokenizer reports.
"""

from __future__ import annotations

import unicodedata

from tf_albert.tokenization.rules import is_digit_comma, lower_per_char


class OffsetMappingMixin:
    """The offset-alignment methods of :class:`~tf_albert.tokenization.AlbertTokenizer`.

    They read the tokenizer's options and state (``do_lower_case``, ``remove_space``, ``keep_accents``,
    ``sp_model``, ``_protect_re``, ``_split_re``, ``_lstrip_tokens``, ``_special_ids``) and use its
    ``_split_digit_comma`` (:func:`~tf_albert.tokenization.rules.split_digit_comma`) and
    ``convert_tokens_to_ids``.

    Example:

    >>> from tf_albert.tokenization.tokenizer import AlbertTokenizer
    >>> tok = AlbertTokenizer.from_pretrained("tests/fixtures/tokenizer")
    >>> text = "Café, 9,000!"
    >>> enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
    >>> [text[a:b] for a, b in enc["offset_mapping"]]
    ['Caf', 'é', ',', '9', '9', ',', '0', '00', '!']
    """

    def _aligned_pre_lower(self, text: str) -> tuple[str, list[int]]:
        """Step 1 with, for every output character, the index of the original character it came from."""
        if not self.do_lower_case:
            return text, list(range(len(text)))
        out, src, pos = [], [], 0
        for i, part in enumerate(self._protect_re.split(text)):
            low = part if i % 2 else lower_per_char(part)
            if len(low) == len(part):
                out.append(low)
                src.extend(range(pos, pos + len(part)))
            else:
                for j, c in enumerate(part):
                    lc = c.lower()
                    out.append(lc)
                    src.extend([pos + j] * len(lc))
            pos += len(part)
        return "".join(out), src

    def _aligned_preprocess(
        self, chunk: str, spans: list[tuple[int, int]]
    ) -> tuple[str, list[tuple[int, int]]]:
        """Step 3, carrying for each output character the ``(start, end)`` original span it came from."""
        chars, idx = list(chunk), list(spans)
        if self.remove_space:
            c2, i2, prev_space = [], [], True
            for c, i in zip(chars, idx):
                if not c.isspace():
                    c2.append(c)
                    i2.append(i)
                elif not prev_space:
                    c2.append(" ")
                    i2.append(i)
                prev_space = c.isspace()
            if c2 and c2[-1] == " ":
                c2.pop()
                i2.pop()
            chars, idx = c2, i2
        for q in "`'":  # ``/'' -> " (the reference replaces `` first, then '')
            c2, i2, k = [], [], 0
            while k < len(chars):
                if chars[k] == q and k + 1 < len(chars) and chars[k + 1] == q:
                    c2.append('"')
                    i2.append((idx[k][0], idx[k + 1][1]))
                    k += 2
                else:
                    c2.append(chars[k])
                    i2.append(idx[k])
                    k += 1
            chars, idx = c2, i2
        if not self.keep_accents:
            c2, i2 = [], []
            for c, i in zip(chars, idx):
                for d in unicodedata.normalize("NFKD", c):
                    if not unicodedata.combining(d):
                        c2.append(d)
                        i2.append(i)
            chars, idx = c2, i2
        text = "".join(chars)
        if self.do_lower_case:
            low = text.lower()
            if len(low) != len(text):  # characters that lower-case to several (U+0130)
                idx = [i for c, i in zip(chars, idx) for _ in c.lower()]
            text = low
        return text, idx

    def _tokenize_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids and ``(start, end)`` character offsets into the original ``text``.

        Follows HF's fast tokenizer: a piece's span leaves out the whitespace its ``▁`` stands for (and
        invisible format/control characters at its ends); a lone ``▁`` piece gets the span of the next
        character.
        """
        low, src = self._aligned_pre_lower(text)
        ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        for (start, chunk), special in self._split_special_aligned(low):
            if special:
                ids.append(self._special_ids[chunk])
                offsets.append((src[start], src[start + len(chunk) - 1] + 1))
                continue
            norm, nspan = self._aligned_preprocess(
                chunk, [(i, i + 1) for i in src[start : start + len(chunk)]]
            )
            pieces: list[tuple[int, int, int]] = []
            for piece_id, piece, b, e in _encode_with_offsets(self.sp_model, norm):
                if is_digit_comma(piece):  # the re-split pieces share the span; the comma gets its own
                    sub = self._split_digit_comma(piece)
                    pieces.extend((i, b, e - 1) for i in self.convert_tokens_to_ids(sub[:-1]))
                    pieces.append((self.convert_tokens_to_ids(sub[-1]), e - 1, e))
                else:
                    pieces.append((piece_id, b, e))
            for k, (piece_id, b, e) in enumerate(pieces):
                visible = [j for j in range(b, e) if not norm[j].isspace()]
                if not visible:  # a lone "▁": the span of what follows
                    visible = [
                        j for _, b2, e2 in pieces[k + 1 :] for j in range(b2, e2) if not norm[j].isspace()
                    ][:1]
                ids.append(piece_id)
                if not visible:
                    offsets.append((src[start], src[start]))
                    continue
                lo, hi = nspan[visible[0]][0], nspan[visible[-1]][1]
                while hi - lo > 1 and self._invisible(text[lo]):
                    lo += 1
                while hi - lo > 1 and self._invisible(text[hi - 1]):
                    hi -= 1
                offsets.append((lo, hi))
        return ids, offsets

    def _invisible(self, c: str) -> bool:
        """Characters that SentencePiece's normaliser turns into whitespace or removes (e.g. U+200B)."""
        if c.isspace() or unicodedata.category(c) in ("Cc", "Cf"):
            return True
        try:
            return self.sp_model.normalize(c) == ""
        except AttributeError:  # sentencepiece without normalize()
            return False

    def _split_special_aligned(self, low: str) -> list[tuple[tuple[int, str], bool]]:
        """:meth:`_split_special` on pre-lowered text, keeping each chunk's start index."""
        chunks: list[tuple[tuple[int, str], bool]] = []
        pos = 0
        for i, part in enumerate(self._split_re.split(low)):
            if i % 2 and part in self._lstrip_tokens and chunks and not chunks[-1][1]:
                (s, prev), _ = chunks[-1]
                chunks[-1] = ((s, prev.rstrip()), False)
            chunks.append(((pos, part), bool(i % 2)))
            pos += len(part)
        return [(c, s) for c, s in chunks if c[1]]


def _encode_with_offsets(sp, text: str) -> list[tuple[int, str, int, int]]:
    """``[(id, piece, begin, end)]`` with character offsets into ``text``, across sentencepiece versions."""
    try:  # sentencepiece >= 0.2.1
        res = sp.encode(text, return_type="offset_mapping", return_bytes=False)
        return [(i, p, b, e) for i, p, (b, e) in zip(res["ids"], res["pieces"], res["offsets"])]
    except (TypeError, ValueError):
        pass
    byte_to_char = []  # sentencepiece 0.2.0 reports UTF-8 byte offsets
    for i, c in enumerate(text):
        byte_to_char.extend([i] * len(c.encode("utf-8")))
    byte_to_char.append(len(text))
    return [
        (p.id, p.piece, byte_to_char[p.begin], byte_to_char[p.end])
        for p in sp.encode(text, out_type="immutable_proto").pieces
    ]
