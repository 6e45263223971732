"""SentencePiece's unigram Viterbi in TensorFlow ops: the segmentation step of the in-graph tokenizer.

:class:`~tf_albert.tokenization.layer.AlbertTokenizerLayer` normalises text with tensorflow-text's
SentencePiece op, then segments it here, so that its pieces are those of the Python ``sentencepiece`` package
(and so of :class:`~tf_albert.tokenization.AlbertTokenizer`) even where tensorflow-text's own build breaks a
score tie differently. Input is normalised text (``▁`` for spaces, as ``SentencePieceProcessor.normalize``
returns it); output is piece ids.

Example:

>>> import sentencepiece as spm
>>> with open("tests/fixtures/tokenizer/spiece.model", "rb") as f:
...     proto = f.read()
>>> sp = spm.SentencePieceProcessor(model_proto=proto)
>>> unigram = UnigramTables(proto)
>>> texts = ["1,000,000", "Hello world"]
>>> unigram.encode(tf.constant([sp.normalize(t) for t in texts])).to_list() == sp.encode(texts)
True
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from sentencepiece import sentencepiece_model_pb2

from tf_albert.tokenization.rules import SPIECE_UNDERLINE


class UnigramTables(tf.Module):
    """SentencePiece's unigram Viterbi (``EncodeOptimized`` of the Python ``sentencepiece`` 0.2.x) in TF ops.

    tensorflow-text bundles another SentencePiece build whose Viterbi breaks exact score ties differently
    (e.g. ``"1,000,000"`` -> ``... 00 0`` instead of ``... 0 00``), so the layer only uses it to normalise and
    decodes here: float32 path scores, the earliest-starting piece wins a tie, user-defined symbols score
    ``0.1 * (bytes - 1)``, an unknown character scores ``min_score - 10`` and consecutive unknowns merge into
    one ``<unk>``.
    """

    def __init__(self, model_proto: bytes | None = None, *, vocab=None, unk_id: int | None = None):
        """From a SentencePiece ``model_proto``, or (``vocab``, ``unk_id``) for the ``tokenizers`` library's
        Unigram (``tokenizer.json``): ``vocab`` is its ``[(piece, score), ...]``; every piece is matched with
        its own score, path scores are float64 and an unknown character scores ``min(scores) - 10``."""
        super().__init__(name="unigram")
        if model_proto is not None:
            proto = sentencepiece_model_pb2.ModelProto()
            proto.ParseFromString(model_proto)
            kinds = [p.type for p in proto.pieces]
            normal, user = (
                sentencepiece_model_pb2.ModelProto.SentencePiece.NORMAL,
                sentencepiece_model_pb2.ModelProto.SentencePiece.USER_DEFINED,
            )
            dtype = np.float32
            scores = np.full([len(kinds)], -np.inf, dtype=dtype)
            trie_pieces, trie_ids = [], []
            for i, p in enumerate(proto.pieces):
                if p.type == normal:
                    scores[i] = np.float32(p.score)
                elif p.type == user:
                    scores[i] = np.float32(0.1 * (len(p.piece.encode("utf-8")) - 1))
                else:
                    continue
                trie_pieces.append(p.piece)
                trie_ids.append(i)
            self.unk_id = int(proto.trainer_spec.unk_id)
            self.unk_score = np.float32(
                np.float32(min(p.score for p in proto.pieces if p.type == normal)) - np.float32(10.0)
            )
            all_pieces = [p.piece for p in proto.pieces]
        else:  # tokenizers' Unigram::encode_optimized: f64 scores, all pieces in the trie
            dtype = np.float64
            all_pieces = [p for p, _ in vocab]
            scores = np.array([s for _, s in vocab], dtype=dtype)
            trie_pieces, trie_ids = all_pieces, list(range(len(all_pieces)))
            self.unk_id = int(unk_id)
            self.unk_score = np.float64(scores.min() - 10.0)
        self._check_rebase = model_proto is not None  # SentencePiece re-bases float32 scores; tokenizers not
        self.dtype = tf.as_dtype(dtype)
        self.max_len = max(len(p) for p in trie_pieces)
        self.scores = tf.constant(scores)
        self.pieces = tf.constant([p.encode("utf-8") for p in all_pieces])
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant([p.encode("utf-8") for p in trie_pieces]), tf.constant(trie_ids, dtype=tf.int32)
            ),
            default_value=-1,
        )
        # substrings worth extending one character to the left: proper suffixes of pieces
        suffixes = sorted({p[k:] for p in trie_pieces for k in range(1, len(p))})
        self.extendable = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant([x.encode("utf-8") for x in suffixes] or [b""]),
                tf.ones([max(len(suffixes), 1)], tf.int32),
            ),
            default_value=0,
        )
        # a graph function: the Viterbi loops would run op by op in eager mode
        self.encode = tf.function(
            self._encode, input_signature=[tf.TensorSpec([None], tf.string)], autograph=False
        )

    def piece_to_id(self, pieces: tf.Tensor) -> tf.Tensor:
        ids = self.table.lookup(pieces)
        return tf.where(ids < 0, self.unk_id, ids)

    def _encode(self, normalized: tf.Tensor) -> tf.RaggedTensor:
        """Ids of a 1-D batch of normalised strings (``▁`` for spaces): ragged [batch, pieces] int32."""
        # a dummy last row keeps every shape non-empty; it is dropped at the end
        chars = tf.strings.unicode_split(tf.concat([normalized, [SPIECE_UNDERLINE]], 0), "UTF-8")
        n = tf.cast(chars.row_lengths(), tf.int32)
        start = tf.cast(chars.row_starts(), tf.int32)
        flat = chars.flat_values
        offset = tf.ragged.range(n).flat_values  # position of each character in its row
        total = tf.shape(flat)[0]
        pid = self.table.lookup(flat)  # pieces of one character; a character without one becomes <unk>
        scores = tf.TensorArray(self.dtype, size=self.max_len).write(
            0, tf.where(pid >= 0, tf.gather(self.scores, tf.maximum(pid, 0)), self.unk_score)
        )
        ids = tf.TensorArray(tf.int32, size=self.max_len).write(0, tf.where(pid >= 0, pid, self.unk_id))

        def grow(
            length, at, sub, scores, ids
        ):  # longer pieces: extend substrings leftwards while they can match
            more = tf.where((self.extendable.lookup(sub) > 0) & (tf.gather(offset, at) >= length - 1))[:, 0]
            at = tf.gather(at, more)
            sub = tf.strings.join([tf.gather(flat, at - (length - 1)), tf.gather(sub, more)])
            pid = self.table.lookup(sub)
            hit = tf.where(pid >= 0)
            where, found = tf.gather(at, hit), tf.gather_nd(pid, hit)
            scores = scores.write(
                length - 1,
                tf.tensor_scatter_nd_update(
                    tf.fill([total], tf.constant(-np.inf, self.dtype)), where, tf.gather(self.scores, found)
                ),
            )
            ids = ids.write(
                length - 1, tf.tensor_scatter_nd_update(tf.zeros([total], tf.int32), where, found)
            )
            return length + 1, at, sub, scores, ids

        _, _, _, scores, ids = tf.while_loop(
            lambda length, *_: length <= self.max_len,
            grow,
            (2, tf.range(total), flat, scores, ids),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([None]), tf.TensorShape([None]), None, None),
        )
        scores = tf.transpose(scores.stack())  # [characters, max_len]: the piece of length l+1 ending here
        ids = tf.transpose(ids.stack())
        lengths = tf.range(1, self.max_len + 1)
        rows, width = tf.shape(n)[0], tf.reduce_max(n)

        def step(j, window, best_len, best_id, overflow):
            live = j < n
            at = tf.minimum(start + j, tf.shape(flat)[0] - 1)
            never = tf.constant(-np.inf, self.dtype)
            cand = window + tf.where(live[:, tf.newaxis], tf.gather(scores, at), never)
            top = tf.reduce_max(cand, axis=1)
            # candidates arrive by ascending start; the first maximum (the longest piece) is kept
            length = tf.reduce_max(tf.where(tf.equal(cand, top[:, tf.newaxis]), lengths, 0), axis=1)
            pid = tf.gather(tf.gather(ids, at), tf.maximum(length - 1, 0), batch_dims=1)
            window = tf.concat(
                [top[:, tf.newaxis], window[:, :-1]], axis=1
            )  # window[:, k]: best k+1 chars back
            overflow |= tf.reduce_any(live & (tf.abs(top) > 1e5))
            return j + 1, window, best_len.write(j, length), best_id.write(j, pid), overflow

        _, _, best_len, best_id, overflow = tf.while_loop(
            lambda j, *_: j < width,
            step,
            (
                0,
                tf.zeros([rows, self.max_len], self.dtype),
                tf.TensorArray(tf.int32, size=width),
                tf.TensorArray(tf.int32, size=width),
                False,
            ),
        )
        if not self._check_rebase:
            overflow = tf.constant(False)
        tf.debugging.assert_equal(
            overflow,
            False,
            message=(
                "AlbertTokenizerLayer: a text chunk is too long (|path score| > 1e5, about 10,000 pieces) "
                "for the "
                "layer to reproduce SentencePiece's score re-basing; split the text or use AlbertTokenizer"
            ),
        )
        best_len = tf.transpose(best_len.stack())  # [rows, width]
        best_id = tf.transpose(best_id.stack())

        def back(k, pos, out):  # follow the best path from the end; pieces come out last-first
            live = pos > 0
            at = tf.maximum(pos - 1, 0)
            out = out.write(k, tf.where(live, tf.gather(best_id, at, batch_dims=1), -1))
            return k + 1, pos - tf.where(live, tf.gather(best_len, at, batch_dims=1), 0), out

        _, _, out = tf.while_loop(
            lambda k, pos, out: tf.reduce_any(pos > 0),
            back,
            (0, n, tf.TensorArray(tf.int32, size=0, dynamic_size=True)),
        )
        last_first = tf.transpose(out.stack())
        count = tf.reduce_sum(tf.cast(last_first >= 0, tf.int32), axis=1)
        pieces = tf.RaggedTensor.from_tensor(
            tf.reverse_sequence(last_first, count, seq_axis=1, batch_axis=0), lengths=count
        )[:-1]
        flat = pieces.flat_values  # merge runs of <unk> into one
        previous = tf.concat([[-1], flat[:-1]], axis=0)
        rowids = pieces.value_rowids()
        first = tf.concat([tf.ones([1], tf.bool), tf.not_equal(rowids[1:], rowids[:-1])], axis=0)[
            : tf.size(flat)
        ]
        keep = ~(tf.equal(flat, self.unk_id) & tf.equal(previous, self.unk_id) & ~first)
        return tf.ragged.boolean_mask(pieces, pieces.with_flat_values(keep))
