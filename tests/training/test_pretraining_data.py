"""Pretraining data: SOP pairs, n-gram masking statistics, resumable TFRecords."""

import json
import os
import random

import numpy as np
import pytest

from tests.helpers import FIXTURE_TOKENIZER
from tf_albert.model.losses import IGNORE_INDEX
from tf_albert.training import pretraining_data as P

VOCAB = 1000
SPECIAL = (0, 1, 2, 3, 4)
MASK = 4


def _masker(prob=0.15, max_pred=1000, ngram=3, whole_word=True, word_start=None):
    if word_start is None:
        word_start = np.ones(VOCAB, bool)
    return P.Masker(
        VOCAB,
        MASK,
        SPECIAL,
        word_start,
        masked_lm_prob=prob,
        max_predictions_per_seq=max_pred,
        max_ngram=ngram,
        do_whole_word_mask=whole_word,
    )


def _sequences(n, length, seed=0):
    rng = np.random.default_rng(seed)
    return [[2] + rng.integers(5, VOCAB, size=length).tolist() + [3] for _ in range(n)]


def test_ngram_probabilities_are_inverse_n():
    np.testing.assert_allclose(P.ngram_probabilities(3), [6 / 11, 3 / 11, 2 / 11])
    np.testing.assert_allclose(P.ngram_probabilities(1), [1.0])


def test_ngram_sampler_distribution():
    masker, rng = _masker(), random.Random(0)
    draws = np.array([masker.sample_ngram(rng, 10) for _ in range(60000)])
    freq = np.bincount(draws, minlength=4)[1:] / len(draws)
    np.testing.assert_allclose(freq, [6 / 11, 3 / 11, 2 / 11], atol=0.01)
    # near the end of the sequence only the n-grams that fit are drawn, still ∝ 1/n
    draws = np.array([masker.sample_ngram(rng, 2) for _ in range(30000)])
    assert draws.max() == 2
    assert abs((draws == 1).mean() - 2 / 3) < 0.015


def test_masking_rate_replacements_and_span_lengths_on_a_large_sample():
    masker, rng = _masker(), random.Random(1)
    n_tokens = n_masked = n_mask = n_keep = n_random = 0
    spans = []
    for seq in _sequences(1500, 198):
        out, positions, labels = masker(seq, rng)
        body = len(seq) - 2
        n_tokens += body
        n_masked += len(positions)
        assert positions == sorted(set(positions)), "positions are sorted and distinct"
        assert 0 not in positions and len(seq) - 1 not in positions, "[CLS]/[SEP] are never masked"
        assert labels == [seq[p] for p in positions]
        for p in positions:
            if out[p] == MASK:
                n_mask += 1
            elif out[p] == seq[p]:
                n_keep += 1
            else:
                n_random += 1
                assert out[p] not in SPECIAL
        unmasked = [i for i in range(len(seq)) if i not in set(positions)]
        assert all(out[i] == seq[i] for i in unmasked)
        spans += [len(s) for s in masker.spans(seq, random.Random(len(spans)))]
    assert abs(n_masked / n_tokens - 0.15) < 0.002
    # 80 / 10 / 10 (a random replacement equal to the original counts as "kept": 1 in 995)
    assert abs(n_mask / n_masked - 0.8) < 0.01
    assert abs(n_keep / n_masked - 0.1) < 0.01
    assert abs(n_random / n_masked - 0.1) < 0.01
    # Spans of 1, 2, 3 words. Collisions with earlier spans and the budget's back-off favour short spans a
    # little, so the observed shares sit slightly below the 6/11, 3/11, 2/11 draw for long spans.
    freq = np.bincount(spans, minlength=4)[1:] / len(spans)
    assert spans and max(spans) <= 3
    assert abs(freq[0] - 6 / 11) < 0.04 and abs(freq[1] - 3 / 11) < 0.03 and abs(freq[2] - 2 / 11) < 0.03
    assert freq[0] > freq[1] > freq[2]


def test_max_predictions_per_seq_caps_the_masks():
    masker, rng = _masker(max_pred=7), random.Random(2)
    counts = [len(masker(seq, rng)[1]) for seq in _sequences(200, 120)]
    assert max(counts) == 7 and min(counts) == 7  # 15 % of 120 = 18 > 7


def test_short_sequences_mask_at_least_one_token():
    masker, rng = _masker(), random.Random(3)
    assert len(masker([2, 10, 11, 3], rng)[1]) == 1


def test_whole_word_masking_masks_every_piece_of_a_word():
    word_start = np.ones(VOCAB, bool)
    word_start[500:] = False  # ids >= 500 continue the previous word
    masker = _masker(word_start=word_start, prob=0.3)
    rng = random.Random(4)
    seq = [2] + [10, 600, 601, 11, 12, 700, 13, 14, 800, 801, 802, 15] * 4 + [3]
    for _ in range(200):
        _, positions, _ = masker(seq, rng)
        chosen = set(positions)
        for p in chosen:
            # a masked continuation piece means its whole word (back to the word start) is masked
            q = p
            while seq[q] >= 500:
                q -= 1
                assert q in chosen
            r = p + 1
            while r < len(seq) and seq[r] >= 500:
                assert r in chosen
                r += 1


def test_sop_pairs_swap_half_of_the_time_and_keep_segment_order():
    rng = random.Random(5)
    # each segment is a run of increasing ids, so the original order is A's ids < B's ids
    labels = []
    for d in range(1500):
        doc = [list(range(1000 * s + 10, 1000 * s + 10 + 8)) for s in range(12)]
        for a, b, label in P.create_sop_pairs(doc, 40, 0.1, rng):
            assert a and b and len(a) + len(b) <= 37
            assert (max(a) < min(b)) == (label == 0), "label 0 = original order, 1 = swapped"
            labels.append(label)
    assert len(labels) > 4000
    assert abs(np.mean(labels) - 0.5) < 0.03


def test_sop_pair_from_a_single_long_segment_is_split_inside_it():
    a, b, label = P.create_sop_pairs([list(range(10, 30))], 64, 0.0, random.Random(0))[0]
    assert sorted(a + b) == list(range(10, 30))
    assert (max(a) < min(b)) == (label == 0)


def test_truncate_pair_keeps_both_sides_and_fits():
    rng = random.Random(6)
    for _ in range(100):
        a, b = list(range(50)), list(range(100, 110))
        P.truncate_pair(a, b, 30, rng)
        assert len(a) + len(b) == 30 and b == list(range(100, 110))
        assert a == list(range(a[0], a[0] + len(a))), "tokens are removed from the ends only"


def test_make_example_layout():
    masker = _masker(prob=0.2)
    ex = P.make_example(
        [10, 11, 12], [20, 21], 1, masker, random.Random(0), cls_id=2, sep_id=3, pad_id=0, max_seq_length=12
    )
    assert ex["attention_mask"].tolist() == [1] * 8 + [0] * 4
    assert ex["token_type_ids"].tolist() == [0] * 5 + [1] * 3 + [0] * 4
    n = int((ex["labels"] != IGNORE_INDEX).sum())
    assert n == 1 and ex["labels"][n:].tolist() == [IGNORE_INDEX] * (masker.max_predictions_per_seq - n)
    original = [2, 10, 11, 12, 3, 20, 21, 3]
    assert ex["labels"][0] == original[ex["masked_lm_positions"][0]]
    assert int(ex["sentence_order_label"]) == 1


def test_config_validation():
    with pytest.raises(ValueError, match="max_seq_length"):
        P.PretrainingDataConfig(max_seq_length=3)
    with pytest.raises(ValueError, match="masked_lm_prob"):
        P.PretrainingDataConfig(masked_lm_prob=1.5)
    with pytest.raises(ValueError, match="dupe_factor"):
        P.PretrainingDataConfig(dupe_factor=0)


def _corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    rng = random.Random(0)
    words = "the a module function returns value list object class method string file data type".split()
    docs = []
    for d in range(30):
        lines = [
            " ".join(rng.choice(words) for _ in range(rng.randint(5, 14))).capitalize() + "."
            for _ in range(rng.randint(3, 9))
        ]
        docs.append("\n".join(lines))
    (folder / "a.txt").write_text("\n\n".join(docs[:20]) + "\n", encoding="utf-8")
    (folder / "b.txt").write_text("\n\n".join(docs[20:]) + "\n", encoding="utf-8")
    return folder


def test_write_read_and_resume_tfrecords(tmp_path):
    from tf_albert.tokenization import AlbertTokenizer

    tok = AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)
    corpus = _corpus(tmp_path)
    config = P.PretrainingDataConfig(
        max_seq_length=32, max_predictions_per_seq=6, dupe_factor=2, num_shards=2, eval_fraction=0.2
    )
    out = tmp_path / "data"
    manifest = P.write_pretraining_data(str(corpus), tok, str(out), config, log=lambda *_: None)
    assert manifest["complete"] and manifest["num_train_examples"] > 0 and manifest["num_eval_examples"] > 0
    files = sorted(os.listdir(out))
    assert files == [
        "eval.tfrecord",
        "manifest.json",
        "train-000-00000.tfrecord",
        "train-000-00001.tfrecord",
        "train-001-00000.tfrecord",
        "train-001-00001.tfrecord",
    ]

    ds = P.pretraining_dataset(str(out), batch_size=4, seed=1)
    x, y = next(iter(ds))
    assert x["input_ids"].shape == (4, 32) and x["masked_lm_positions"].shape == (4, 6)
    assert y["labels"].shape == (4, 6) and y["sentence_order_label"].shape == (4,)
    ids, pos, labels = x["input_ids"].numpy(), x["masked_lm_positions"].numpy(), y["labels"].numpy()
    assert (ids[:, 0] == tok.cls_token_id).all()
    counted = labels != IGNORE_INDEX
    assert counted.any(axis=1).all()
    # a masked position holds [MASK], the original token or a random one; never a pad position
    assert (x["attention_mask"].numpy()[np.arange(4)[:, None], pos][counted] == 1).all()

    # the stream of a new dataset depends only on the seed: skipping k batches continues it exactly
    full = [b[0]["input_ids"].numpy() for b in P.pretraining_dataset(str(out), batch_size=4, seed=1).take(5)]
    skipped = [
        b[0]["input_ids"].numpy()
        for b in P.pretraining_dataset(str(out), batch_size=4, seed=1, skip_batches=3).take(2)
    ]
    np.testing.assert_array_equal(full[3], skipped[0])
    np.testing.assert_array_equal(full[4], skipped[1])

    # resume: a missing file (killed run) is rewritten identically, finished ones are kept
    target = out / "train-001-00000.tfrecord"
    before = target.read_bytes()
    keep = out / "train-000-00000.tfrecord"
    mtime = keep.stat().st_mtime_ns
    target.unlink()
    data = json.loads((out / "manifest.json").read_text())
    data["complete"] = False
    (out / "manifest.json").write_text(json.dumps(data))
    P.write_pretraining_data(str(corpus), tok, str(out), config, log=lambda *_: None)
    assert target.read_bytes() == before
    assert keep.stat().st_mtime_ns == mtime

    with pytest.raises(ValueError, match="other settings"):
        P.write_pretraining_data(
            str(corpus), tok, str(out), P.PretrainingDataConfig(max_seq_length=64), log=lambda *_: None
        )


def test_in_memory_passes_are_the_tfrecords_examples(tmp_path):
    """`tf-albert pretrain --data memory` (the default on JAX and PyTorch) makes its examples in memory
    (`PretrainingExamples`): pass k must be TFRecord duplicate k (its shards in order) for the same settings,
    and the held-out examples those of eval.tfrecord."""
    from tf_albert.tokenization import AlbertTokenizer
    from tf_albert.training.pretraining_batches import PretrainingExamples

    tok = AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)
    corpus = _corpus(tmp_path)
    config = P.PretrainingDataConfig(
        max_seq_length=32, max_predictions_per_seq=6, dupe_factor=2, num_shards=2, eval_fraction=0.2, seed=3
    )
    P.write_pretraining_data(str(corpus), tok, str(tmp_path / "d"), config, log=lambda *_: None)
    examples = PretrainingExamples.from_corpus(str(corpus), tok, config)
    text = P.read_documents(P.corpus_files(str(corpus)))
    assert examples.train and examples.held_out
    assert sorted(examples.train + examples.held_out) == list(range(len(text)))
    import tensorflow as tf

    def records(*names):
        paths = [str(tmp_path / "d" / name) for name in names]
        return [tf.train.Example.FromString(r.numpy()) for p in paths for r in tf.data.TFRecordDataset(p)]

    passes = [(examples.train_pass(dupe), records(f"train-{dupe:03d}-00000.tfrecord",
                                                  f"train-{dupe:03d}-00001.tfrecord")) for dupe in range(2)]
    passes.append((examples.held_out_examples(), records("eval.tfrecord")))
    for arrays, recs in passes:
        assert len(arrays["input_ids"]) == len(recs) > 0
        for i, record in enumerate(recs):
            for name in P.FEATURE_NAMES:
                got = list(record.features.feature[name].int64_list.value)
                assert got == np.ravel(arrays[name][i]).tolist(), name
    assert not np.array_equal(passes[0][0]["input_ids"][:5], examples.train_pass(2)["input_ids"][:5])  # fresh


def test_eval_documents_never_reach_training_files(tmp_path):
    from tf_albert.tokenization import AlbertTokenizer

    tok = AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)
    folder = tmp_path / "c"
    folder.mkdir()
    # every document uses its own words, so a document's tokens identify it
    docs = [
        f"Document {chr(97 + d)}{chr(97 + d)} one.\nDocument {chr(97 + d)}{chr(97 + d)} two."
        for d in range(26)
    ]
    (folder / "x.txt").write_text("\n\n".join(docs) + "\n")
    config = P.PretrainingDataConfig(
        max_seq_length=24,
        max_predictions_per_seq=3,
        dupe_factor=1,
        num_shards=1,
        eval_fraction=0.3,
        masked_lm_prob=0.01,
    )
    P.write_pretraining_data(str(folder), tok, str(tmp_path / "d"), config, log=lambda *_: None)

    def tokens(split):
        ds = P.pretraining_dataset(str(tmp_path / "d"), 1, split=split, shuffle=False, repeat=False)
        found = set()
        for x, y in ds:
            ids = x["input_ids"].numpy()[0].tolist()
            for p, label in zip(x["masked_lm_positions"].numpy()[0], y["labels"].numpy()[0]):
                if label != IGNORE_INDEX:
                    ids[p] = int(label)
            found.add(tok.decode(ids, skip_special_tokens=True).split()[1])
        return found

    train, held_out = tokens("train"), tokens("eval")
    assert train and held_out and not (train & held_out)


def test_corpus_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="corpus path not found"):
        P.corpus_files(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no \\*.txt"):
        P.corpus_files(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        P.pretraining_dataset(str(tmp_path / "empty"), 2)


def test_length_buckets_cut_pretraining_batches_to_the_ladder(tmp_path):
    from tf_albert.tokenization import AlbertTokenizer
    from tf_albert.utils import shapes

    tok = AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)
    config = P.PretrainingDataConfig(max_seq_length=64, max_predictions_per_seq=6, short_seq_prob=0.5,
                                     num_shards=1, eval_fraction=0.0)
    P.write_pretraining_data(str(_corpus(tmp_path)), tok, str(tmp_path / "d"), config, log=lambda *_: None)
    kw = dict(batch_size=2, shuffle=False, repeat=False)
    static = list(P.pretraining_dataset(str(tmp_path / "d"), **kw))
    cut = list(P.pretraining_dataset(str(tmp_path / "d"), length_buckets="auto", **kw))
    lengths = set()
    for (x, y), (xs, ys) in zip(cut, static):
        length = x["input_ids"].shape[1]
        longest = int(xs["attention_mask"].numpy().sum(-1).max())
        assert length == shapes.padded_length(longest, shapes.length_ladder(64))  # the shortest that holds it
        np.testing.assert_array_equal(x["input_ids"], xs["input_ids"][:, :length])  # nothing real is cut
        np.testing.assert_array_equal(x["masked_lm_positions"], xs["masked_lm_positions"])
        lengths.add(length)
    assert len(lengths) > 1 and lengths <= set(shapes.length_ladder(64))
