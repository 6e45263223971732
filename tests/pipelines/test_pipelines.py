"""Pipelines on tiny checkpoint folders: every task's results against values computed by hand from the model's
own outputs, HF's aggregation and span rules on constructed logits, bucketed batching against one-by-one runs,
devices, dtypes and model resolution."""

import logging
import os

import numpy as np
import pytest

from tests.helpers import CLASS_LABELS, MAX_POSITIONS, model_folders
from tf_albert import AlbertForMaskedLM, AlbertForPreTraining, AlbertModel, pretrained
from tf_albert.pipelines import base, pipeline
from tf_albert.pipelines.base import softmax
from tf_albert.tokenization import AlbertTokenizer


def approx(expected, rel=1e-5):
    """Graph and eager runs (and padded rows) differ in the last float32 bits."""
    return pytest.approx(expected, rel=rel, abs=1e-7)


def assert_same_results(got, want, path="result"):
    """Equal structure, keys, strings and ints; floats to 1e-5 relative."""
    assert type(got) is type(want), f"{path}: {type(got).__name__} vs {type(want).__name__}"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{path}: keys {list(got)} vs {list(want)}"
        for key in want:
            assert_same_results(got[key], want[key], f"{path}[{key!r}]")
    elif isinstance(want, list):
        assert len(got) == len(want), f"{path}: {len(got)} vs {len(want)} items"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same_results(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert got == approx(want), f"{path}: {got} vs {want}"
    else:
        assert got == want, f"{path}: {got!r} vs {want!r}"


TEXTS = [
    "Plants create [MASK] through a process known as photosynthesis.",
    "The [MASK] module returns a list.",
    "import os and print the [MASK] of the file, then close it and return the value to the caller",
    "[MASK]",
    "the function reads the data type of the string and writes [MASK] json",
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return model_folders(tmp_path_factory.mktemp("pipeline_models"))


@pytest.fixture(scope="module")
def fill(folders):
    return pipeline("fill-mask", model=folders["mlm"])


@pytest.fixture(scope="module")
def classifier(folders):
    return pipeline("text-classification", model=folders["cls"])


@pytest.fixture(scope="module")
def tagger(folders):
    return pipeline("token-classification", model=folders["tok"])


@pytest.fixture(scope="module")
def qa(folders):
    return pipeline("question-answering", model=folders["qa"])


def _logits(pipe, *texts, key="logits", **kw):
    enc = pipe.tokenizer(*texts, return_tensors="np", **kw)
    return np.asarray(pipe.model(dict(enc))[key])[0], enc


# === fill-mask ==================================================================================================
def test_fill_mask_top_tokens_are_the_argsort_of_the_mlm_logits(fill):
    text = TEXTS[0]
    logits, enc = _logits(fill, text)
    ids = enc["input_ids"][0]
    position = int(np.flatnonzero(ids == fill.tokenizer.mask_token_id)[0])
    probs = softmax(logits[position])
    expected = np.argsort(-probs)[:5]
    result = fill(text)
    assert [r["token"] for r in result] == expected.tolist()
    np.testing.assert_allclose([r["score"] for r in result], probs[expected], rtol=1e-5)
    for r in result:
        assert r["token_str"] == fill.tokenizer.decode([r["token"]])
        filled = ids.copy()
        filled[position] = r["token"]
        assert r["sequence"] == fill.tokenizer.decode(filled, skip_special_tokens=True)
        assert set(r) == {"score", "token", "token_str", "sequence"}
    assert isinstance(result[0]["score"], float) and isinstance(result[0]["token"], int)


def test_fill_mask_several_masks_give_one_list_per_mask(fill):
    text = "a [MASK] module and a [MASK] list"
    logits, enc = _logits(fill, text)
    ids = enc["input_ids"][0]
    positions = np.flatnonzero(ids == fill.tokenizer.mask_token_id)
    result = fill(text, top_k=3)
    assert len(result) == 2 and all(len(row) == 3 for row in result)
    for row, position in zip(result, positions):
        probs = softmax(logits[position])
        assert [r["token"] for r in row] == np.argsort(-probs)[:3].tolist()
        filled = ids.copy()
        filled[position] = row[0]["token"]
        # HF keeps the special tokens (and so the other mask) in the sequence of a several-mask text
        assert row[0]["sequence"] == fill.tokenizer.decode(filled, skip_special_tokens=False)
        assert row[0]["sequence"].count("[MASK]") == 1


def test_fill_mask_targets_score_only_those_tokens(fill):
    logits, enc = _logits(fill, TEXTS[1])
    position = int(np.flatnonzero(enc["input_ids"][0] == fill.tokenizer.mask_token_id)[0])
    probs = softmax(logits[position])
    vocab = fill.tokenizer.get_vocab()
    result = fill(TEXTS[1], targets=["▁list", "▁module", "▁the"], top_k=10)
    assert len(result) == 3  # top_k is capped at the number of targets
    ids = [vocab["▁list"], vocab["▁module"], vocab["▁the"]]
    order = sorted(ids, key=lambda i: -probs[i])
    assert [r["token"] for r in result] == order
    np.testing.assert_allclose([r["score"] for r in result], probs[order], rtol=1e-5)  # not renormalised


def test_fill_mask_target_that_is_a_word_uses_its_first_piece(fill, caplog):
    pieces = fill.tokenizer("photosynthesis", add_special_tokens=False)["input_ids"]
    with caplog.at_level(logging.WARNING, logger="tf_albert"):
        result = fill(TEXTS[1], targets="photosynthesis")
    assert [r["token"] for r in result] == [pieces[0]]
    assert "not a vocabulary piece" in caplog.text


def test_fill_mask_list_inputs_and_errors(fill):
    assert_same_results(fill([TEXTS[0]]), fill(TEXTS[0]))  # HF: a list of one gives that one's result
    both = fill(TEXTS[:2], top_k=2)
    assert_same_results(both, [fill(TEXTS[0], top_k=2), fill(TEXTS[1], top_k=2)])
    with pytest.raises(ValueError, match=r"no mask token \(\[MASK\]\)"):
        fill("no mask here")
    with pytest.raises(ValueError, match=r"input #1: no mask token"):
        fill([TEXTS[0], "no mask here"])
    with pytest.raises(ValueError, match="top_k must be a positive int, got 0"):
        fill(TEXTS[0], top_k=0)
    with pytest.raises(TypeError, match=r"unknown parameter\(s\) \['topk'\]"):
        fill(TEXTS[0], topk=3)
    with pytest.raises(TypeError, match="must be a str"):
        fill(42)
    long_text = " ".join(["module"] * (MAX_POSITIONS + 5)) + " [MASK]"
    with pytest.raises(ValueError, match="at most 128.*truncation=True"):
        fill(long_text)
    with pytest.raises(ValueError, match="no mask token"):  # the mask was cut off
        fill(long_text, truncation=True)


# === text-classification ========================================================================================
def test_text_classification_label_and_score_from_the_logits(classifier):
    logits, _ = _logits(classifier, "What a lovely module!")
    probs = softmax(logits)
    best = int(np.argmax(probs))
    assert classifier("What a lovely module!") == [{"label": CLASS_LABELS[best], "score": approx(probs[best])}]
    ranked = classifier("What a lovely module!", top_k=None)
    assert [r["label"] for r in ranked] == [CLASS_LABELS[i] for i in np.argsort(-probs)]
    assert [r["score"] for r in ranked] == approx(np.sort(probs)[::-1].tolist())
    two = classifier("What a lovely module!", top_k=2, function_to_apply="sigmoid")
    sig = 1 / (1 + np.exp(-logits.astype(np.float64)))
    assert [r["score"] for r in two] == approx(np.sort(sig)[::-1][:2].tolist())
    raw = classifier("What a lovely module!", top_k=1, function_to_apply="none")
    assert raw == [{"label": CLASS_LABELS[int(np.argmax(logits))], "score": approx(float(logits.max()))}]


def test_text_classification_pairs_use_segment_ids(classifier):
    a, b = "The file is open.", "The module reads the file."
    logits, enc = _logits(classifier, a, b)
    assert enc["token_type_ids"][0].max() == 1
    probs = softmax(logits)
    result = classifier({"text": a, "text_pair": b}, top_k=None)
    assert [r["score"] for r in result] == approx(np.sort(probs)[::-1].tolist())
    assert_same_results(classifier([(a, b)], top_k=None), [result])
    single = classifier({"text": a, "text_pair": b})  # a dict in, a dict out (HF)
    assert_same_results(single, result[0])


def test_text_classification_batches_and_defaults(classifier, monkeypatch):
    texts = ["a", "the module", "close the file and return"]
    assert_same_results(classifier(texts), [classifier(t)[0] for t in texts])
    assert_same_results(classifier(texts, top_k=2), [classifier(t, top_k=2) for t in texts])
    assert classifier.default_function() == "softmax"
    monkeypatch.setattr(classifier.config, "problem_type", "regression")
    assert classifier.default_function() == "none"
    monkeypatch.setattr(classifier.config, "problem_type", "multi_label_classification")
    assert classifier.default_function() == "sigmoid"
    with pytest.raises(ValueError, match="function_to_apply must be one of"):
        classifier("a", function_to_apply="relu")
    with pytest.raises(TypeError, match="takes the keys 'text' and optionally 'text_pair'"):
        classifier({"txt": "a"})


# === token-classification =======================================================================================
# "the module returns filenames and stringify data" in the fixture vocabulary:
# [CLS] ▁the ▁module ▁returns ▁filename s ▁and ▁string if y ▁data [SEP]
TAG_TEXT = "the module returns filenames and stringify data"
#                     O     B-PER  I-PER  B-LOC  I-LOC  MISC
TAG_PROBS = np.array([
    [0.90, 0.02, 0.02, 0.02, 0.02, 0.02],  # the
    [0.10, 0.05, 0.05, 0.70, 0.05, 0.05],  # module
    [0.20, 0.05, 0.05, 0.05, 0.60, 0.05],  # returns
    [0.04, 0.60, 0.02, 0.02, 0.30, 0.02],  # filename
    [0.02, 0.02, 0.02, 0.02, 0.90, 0.02],  # s
    [0.95, 0.01, 0.01, 0.01, 0.01, 0.01],  # and
    [0.30, 0.05, 0.05, 0.05, 0.05, 0.50],  # string
    [0.80, 0.05, 0.05, 0.02, 0.03, 0.05],  # if
    [0.20, 0.02, 0.02, 0.03, 0.03, 0.70],  # y
    [0.10, 0.55, 0.10, 0.10, 0.10, 0.05],  # data
])

EXPECTED_ENTITIES = {
    "none": [("B-LOC", 0.70, 2, "▁module", 4, 10), ("I-LOC", 0.60, 3, "▁returns", 11, 18),
             ("B-PER", 0.60, 4, "▁filename", 19, 27), ("I-LOC", 0.90, 5, "s", 27, 28),
             ("MISC", 0.50, 7, "▁string", 33, 39), ("MISC", 0.70, 9, "y", 41, 42), ("B-PER", 0.55, 10, "▁data", 43, 47)],
    "simple": [("LOC", 0.65, "module returns", 4, 18), ("PER", 0.60, "filename", 19, 27), ("LOC", 0.90, "s", 27, 28),
               ("MISC", 0.50, "string", 33, 39), ("MISC", 0.70, "y", 41, 42), ("PER", 0.55, "data", 43, 47)],
    # word level: filenames = filename|s, stringify = string|if|y; groups join the words' text without spaces (HF)
    "first": [("LOC", 0.65, "modulereturns", 4, 18), ("PER", 0.60, "filenames", 19, 28),
              ("MISC", 0.50, "stringify", 33, 42), ("PER", 0.55, "data", 43, 47)],
    "max": [("LOC", (0.70 + 0.60 + 0.90) / 3, "modulereturnsfilenames", 4, 28), ("PER", 0.55, "data", 43, 47)],
    "average": [("LOC", (0.70 + 0.60 + 0.60) / 3, "modulereturnsfilenames", 4, 28), ("PER", 0.55, "data", 43, 47)],
}


@pytest.mark.parametrize("strategy", sorted(EXPECTED_ENTITIES))
def test_token_classification_aggregation_on_constructed_logits(tagger, strategy):
    features = tagger._prepare([TAG_TEXT], tagger._params)[0]
    assert tagger.tokenizer.convert_ids_to_tokens(features[0].input_ids)[1:-1] == [
        "▁the", "▁module", "▁returns", "▁filename", "s", "▁and", "▁string", "if", "y", "▁data"]
    uniform = np.full((1, 6), 1 / 6)
    logits = np.log(np.concatenate([uniform, TAG_PROBS, uniform]))
    params = tagger._sanitize(tagger._params, {"aggregation_strategy": strategy})
    result = tagger._postprocess(TAG_TEXT, features, [{"logits": logits}], params)
    if strategy == "none":
        got = [(e["entity"], e["score"], e["index"], e["word"], e["start"], e["end"]) for e in result]
    else:
        got = [(e["entity_group"], e["score"], e["word"], e["start"], e["end"]) for e in result]
    expected = EXPECTED_ENTITIES[strategy]
    assert [tuple(x for x in g if not isinstance(x, float)) for g in got] == \
        [tuple(x for x in e if not isinstance(x, float)) for e in expected]
    assert [g[1] for g in got] == approx([e[1] for e in expected])
    for e in result:
        assert TAG_TEXT[e["start"]:e["end"]].replace(" ", "").lower() == e["word"].lstrip("▁").replace(" ", "")


def test_token_classification_end_to_end_matches_the_logits(tagger):
    text = "Sarah reads the module in Berlin's library."
    logits, _ = _logits(tagger, text)
    enc = tagger.tokenizer(text, return_offsets_mapping=True)
    probs = softmax(logits)
    labels = tagger.config.id2label
    expected = []
    for i in range(1, len(enc["input_ids"]) - 1):
        best = int(np.argmax(probs[i]))
        if labels[best] != "O":
            expected.append((labels[best], i, *enc["offset_mapping"][i]))
    result = tagger(text)
    assert expected and [(e["entity"], e["index"], e["start"], e["end"]) for e in result] == expected
    assert [e["score"] for e in result] == approx([probs[e["index"]].max() for e in result])
    assert [e["word"] for e in result] == tagger.tokenizer.convert_ids_to_tokens(
        [enc["input_ids"][e["index"]] for e in result])
    assert_same_results(tagger([text, text]), [result, result])
    assert tagger(text, ignore_labels=[]) and len(tagger(text, ignore_labels=[])) == len(enc["input_ids"]) - 2


def test_token_classification_windows_merge_overlapping_entities(tagger):
    text = " ".join(["module"] * 200)  # 200 tokens: more than the model's 128 positions
    truncated = tagger(text, aggregation_strategy="simple")
    assert max(e["end"] for e in truncated) <= len(" ".join(["module"] * (MAX_POSITIONS - 2)))
    windowed = tagger(text, aggregation_strategy="simple", stride=32)
    assert max(e["end"] for e in windowed) > len(" ".join(["module"] * (MAX_POSITIONS - 2)))
    starts = [e["start"] for e in windowed]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)  # merged, no entity twice
    with pytest.raises(ValueError, match="needs aggregation_strategy"):
        tagger(text, stride=32)
    with pytest.raises(ValueError, match="aggregation_strategy must be one of"):
        tagger(text, aggregation_strategy="longest")


# === question-answering =========================================================================================
def _brute_force_span(start_logits, end_logits, allowed, max_answer_len):
    def masked_softmax(x):
        x = np.where(allowed, x.astype(np.float64), -10000.0)
        e = np.exp(x - x.max())
        return e / e.sum()

    ps, pe = masked_softmax(start_logits), masked_softmax(end_logits)
    best = (-1.0, None, None)
    for s in np.flatnonzero(allowed):
        for e in np.flatnonzero(allowed):
            if s == 0 or e == 0 or e < s or e - s + 1 > max_answer_len:
                continue
            if ps[s] * pe[e] > best[0]:
                best = (ps[s] * pe[e], s, e)
    return best, ps[0] * pe[0]


def test_question_answering_span_is_the_best_valid_pair(qa):
    question, context = "Where is the file?", "The file is in the python module of the library, next to the data."
    tok = qa.tokenizer
    start_logits, enc = _logits(qa, question, context, key="start_logits")
    end_logits = np.asarray(qa.model(dict(enc))["end_logits"])[0]
    allowed = enc["token_type_ids"][0] == 1
    allowed[-1] = False  # the last [SEP]
    allowed[0] = True  # [CLS]
    for max_answer_len in (15, 2):
        (score, s, e), _ = _brute_force_span(start_logits, end_logits, allowed, max_answer_len)
        offsets = tok(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        first = int(np.argmax(enc["token_type_ids"][0]))
        lo, hi = offsets[s - first][0], offsets[e - first][1]
        result = qa(question=question, context=context, max_answer_len=max_answer_len, align_to_words=False)
        assert result == {"score": approx(score, rel=1e-5), "start": lo, "end": hi, "answer": context[lo:hi]}
    worded = qa(question=question, context=context, max_answer_len=2)
    assert worded["start"] == 0 or context[worded["start"] - 1] == " "
    assert worded["end"] == len(context) or context[worded["end"]] == " "
    assert worded["answer"] == context[worded["start"]:worded["end"]]


def test_question_answering_long_context_windows(qa):
    question = "What does the module return?"
    context = " ".join(f"the module number {w} returns a list of files and closes them" for w in
                       ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"])
    max_seq_len, doc_stride = 48, 12
    features = qa._prepare([{"question": question, "context": context}],
                           qa._sanitize(qa._params, {"max_seq_len": max_seq_len, "doc_stride": doc_stride}))[0]
    assert len(features) > 3 and all(len(f) <= max_seq_len for f in features)
    for a, b in zip(features, features[1:]):  # consecutive windows share doc_stride context tokens
        assert a.meta["offsets"][-doc_stride:] == b.meta["offsets"][:doc_stride]
    assert features[-1].meta["offsets"][-1][1] == len(context)
    # expected by hand: the best span of each window (softmax per window), same answers' scores added up
    answers = {}
    for f in features:
        out = qa.model({"input_ids": np.array([f.input_ids]), "token_type_ids": np.array([f.token_type_ids])})
        allowed = np.zeros(len(f), bool)
        allowed[0] = True
        allowed[f.meta["context_start"]:f.meta["context_start"] + len(f.meta["offsets"])] = True
        (score, s, e), _ = _brute_force_span(np.asarray(out["start_logits"])[0], np.asarray(out["end_logits"])[0],
                                             allowed, 15)
        first = f.meta["context_start"]
        lo, hi = f.meta["offsets"][s - first][0], f.meta["offsets"][e - first][1]
        key = context[lo:hi].lower()
        previous = answers.get(key, (0.0, lo, hi))
        answers[key] = (previous[0] + score, previous[1], previous[2])
    best = max(answers.items(), key=lambda kv: kv[1][0])
    result = qa(question=question, context=context, max_seq_len=max_seq_len, doc_stride=doc_stride,
                align_to_words=False)
    assert result == {"score": approx(best[1][0], rel=1e-5), "start": best[1][1], "end": best[1][2],
                      "answer": context[best[1][1]:best[1][2]]}
    assert len(qa(question=question, context=context, max_seq_len=max_seq_len, doc_stride=doc_stride,
                  top_k=3)) == 3
    with pytest.raises(ValueError, match=r"doc_stride \(40\) must be smaller than the context tokens per window"):
        qa(question=question, context=context, max_seq_len=max_seq_len, doc_stride=40)


def test_question_answering_windows_are_the_training_windows(qa):
    from tf_albert.training.qa import prepare_features

    question = "What does the module return?"
    context = " ".join(f"the module number {w} returns a list of files" for w in ["one", "two", "three", "four",
                                                                                 "five", "six", "seven"])
    example = {"question": question, "context": context}
    n_question = len(qa.tokenizer(question, add_special_tokens=False)["input_ids"])
    for max_seq_len, overlap in ((40, 12), (40, 0), (40, 40 - n_question - 4), (128, 64)):
        params = qa._sanitize(qa._params, {"max_seq_len": max_seq_len, "doc_stride": overlap})
        features = qa._prepare([example], params)[0]
        # the pipeline's doc_stride is HF's (the overlap), training's is Google's (the step between window starts)
        step = max_seq_len - n_question - 3 - overlap
        train = prepare_features(qa.tokenizer, [example], max_length=max_seq_len, doc_stride=step,
                                 max_query_length=max_seq_len, with_labels=False)
        assert len(features) == len(train["input_ids"]) and len(features) > (2 if max_seq_len == 40 else 0)
        assert [f.input_ids for f in features] == train["input_ids"]
        assert [f.token_type_ids for f in features] == train["token_type_ids"]
        assert [[None] * f.meta["context_start"] + f.meta["offsets"] + [None] for f in features] == train["offsets"]
        assert features[-1].meta["offsets"][-1][1] == len(context)


def test_question_answering_impossible_answer_and_span_rules_on_constructed_logits(qa):
    question, context = "Where is it?", "the module is in the library"
    features = qa._prepare([(question, context)], qa._params)[0]
    f = features[0]
    n, first = len(f), f.meta["context_start"]
    start, end = np.full(n, -5.0), np.full(n, -5.0)
    start[0] = end[0] = 6.0  # [CLS]: "no answer" is likely
    last = first + len(f.meta["offsets"]) - 1
    assert last - first < 15 and f.meta["offsets"][1] == (4, 10)  # "▁module"
    start[first + 1], end[last] = 4.0, 4.0  # "module ... library"
    end[first + 1] = 3.0  # "module" alone
    outputs = [{"start_logits": start, "end_logits": end}]
    params = qa._sanitize(qa._params, {"handle_impossible_answer": True, "top_k": 2, "align_to_words": False})
    result = qa._postprocess((question, context), features, outputs, params)
    allowed = np.zeros(n, bool)
    allowed[0] = True
    allowed[first:first + len(f.meta["offsets"])] = True
    (score, s, e), null = _brute_force_span(start, end, allowed, 15)
    assert (s, e) == (first + 1, last)
    assert result[0] == {"score": approx(null), "start": 0, "end": 0, "answer": ""}
    assert result[1] == {"score": approx(score), "start": 4, "end": len(context), "answer": "module is in the library"}
    params = qa._sanitize(params, {"max_answer_len": 3, "handle_impossible_answer": False, "top_k": 1})
    short = qa._postprocess((question, context), features, outputs, params)
    assert short["answer"] == "module"  # the 5-token span is too long now


def test_question_answering_input_forms(qa):
    q, c = "Where is the file?", "The file is in the python module."
    one = qa(question=q, context=c)
    assert set(one) == {"score", "start", "end", "answer"}
    assert_same_results(qa({"question": q, "context": c}), one)
    assert_same_results(qa(q, c), one)
    assert_same_results(qa([{"question": q, "context": c}]), one)  # HF: one example, one result
    assert_same_results(qa(question=[q, "What is open?"], context=c),
                        [one, qa(question="What is open?", context=c)])
    assert_same_results(qa([{"question": q, "context": c}] * 2), [one, one])
    with pytest.raises(TypeError, match="needs both question= and context="):
        qa(question=q)
    with pytest.raises(ValueError, match="context is empty"):
        qa(question=q, context="  ")
    with pytest.raises(ValueError, match="2 questions but 1 contexts"):
        qa(question=[q, q], context=[c])


# === feature-extraction =========================================================================================
def test_feature_extraction_tokens_and_pooled(folders):
    extractor = pipeline("feature-extraction", model=folders["mlm"])
    text = "the module returns a list"
    enc = extractor.tokenizer(text, return_tensors="np")
    hidden = np.asarray(extractor.model(dict(enc))["last_hidden_state"])
    tokens = extractor(text)
    assert np.asarray(tokens).shape == (1, enc["input_ids"].shape[1], 32)  # HF: [1, tokens, hidden]
    np.testing.assert_allclose(tokens, hidden, atol=1e-5)
    np.testing.assert_allclose(extractor(text, pooling="mean"), hidden[0].mean(0), atol=1e-5)
    np.testing.assert_allclose(extractor(text, pooling="cls"), hidden[0, 0], atol=1e-5)
    assert isinstance(extractor([text], return_tensors=True)[0], np.ndarray)
    with pytest.raises(ValueError, match="pooling='pooler' needs trained pooler weights"):
        extractor(text, pooling="pooler")  # a masked-LM checkpoint has no pooler

    model = AlbertModel(extractor.config)
    model.build()
    with_pooler = pipeline("feature-extraction", model=model, tokenizer=extractor.tokenizer)
    np.testing.assert_allclose(with_pooler(text, pooling="pooler"),
                               np.asarray(model(dict(enc))["pooler_output"])[0], atol=1e-5)


# === batching ===================================================================================================
def test_bucketed_batches_equal_one_by_one_and_keep_input_order(folders):
    fill = pipeline("fill-mask", model=folders["mlm"], batch_size=2, top_k=3)
    texts = TEXTS + [t.replace("[MASK]", "[MASK] module") for t in TEXTS]
    batched = fill(texts)
    fill.forward_shapes.clear()
    single = [fill(t) for t in texts]
    for got, want in zip(batched, single):
        assert [r["token"] for r in got] == [r["token"] for r in want]
        np.testing.assert_allclose([r["score"] for r in got], [r["score"] for r in want], rtol=1e-4)
    fill.forward_shapes.clear()
    fill(texts)
    lengths = {len(fill.tokenizer(t)["input_ids"]) for t in texts}
    assert all(rows <= 2 and length % 8 == 0 for rows, length, _ in fill.forward_shapes)
    assert len({length for _, length, _ in fill.forward_shapes}) < len(lengths)  # buckets, not one per length

    fixed = pipeline("fill-mask", model=folders["mlm"], batch_size=4, top_k=3, pad_to_length=64)
    assert [[r["token"] for r in x] for x in fixed(texts)] == [[r["token"] for r in x] for x in batched]
    assert {length for _, length, _ in fixed.forward_shapes} == {64}


def test_xla_forward_is_compiled_per_bucket_and_equals_the_graph_one(folders):
    texts = ["a [MASK] list", "the file is [MASK] open", "close [MASK] file"]
    plain = pipeline("fill-mask", model=folders["mlm"], jit_compile=False, top_k=3)
    xla = pipeline("fill-mask", model=folders["mlm"], jit_compile=True, batch_size=8, top_k=3)
    assert xla.jit_compile and "jit_compile=True" in repr(xla)
    assert max(len(xla.tokenizer(t)["input_ids"]) for t in texts) <= 8
    got, want = xla(texts), plain(texts)
    for g, w in zip(got, want):
        assert [r["token"] for r in g] == [r["token"] for r in w]
        np.testing.assert_allclose([r["score"] for r in g], [r["score"] for r in w], rtol=1e-4)
    assert xla.forward_shapes == {(4, 8, 1)}  # 3 rows → 4 (a power of two), 7 tokens → 8, 1 mask


# === devices, dtypes, models ====================================================================================
def test_devices(folders, caplog):
    import tensorflow as tf

    assert base.resolve_device("cpu") == "/device:CPU:0"
    assert base.resolve_device(-1) == "/device:CPU:0"
    assert base.resolve_device(None) is None
    with pytest.raises(ValueError, match="device 'tpu:0' is not understood"):
        base.resolve_device("tpu:0")
    with pytest.raises(TypeError, match="device must be None, an int"):
        base.resolve_device(0.5)
    cpu = pipeline("fill-mask", model=folders["mlm"], device="cpu")
    assert cpu.device == "/device:CPU:0" and cpu(TEXTS[1])
    if not tf.config.list_logical_devices("GPU"):
        with pytest.raises(ValueError, match=r"device 'gpu:0' does not exist: TensorFlow sees 0 GPU"):
            base.resolve_device("gpu:0")
        with caplog.at_level(logging.WARNING, logger="tf_albert"):
            assert base.resolve_device(0) == "/device:CPU:0"  # HF's --device 0 falls back, with a warning
        assert "sees no GPU" in caplog.text


def test_dtypes(folders):
    fp32 = pipeline("fill-mask", model=folders["mlm"], top_k=5)
    bf16 = pipeline("fill-mask", model=folders["mlm"], dtype="bfloat16")
    assert bf16.model.dtype_policy.name == "mixed_bfloat16"
    want = fp32(TEXTS[0])
    got = bf16(TEXTS[0], targets=[fp32.tokenizer.convert_ids_to_tokens(r["token"]) for r in want], top_k=5)
    got = {r["token"]: r["score"] for r in got}
    np.testing.assert_allclose([got[r["token"]] for r in want], [r["score"] for r in want], rtol=0.1)
    with pytest.raises(ValueError, match="dtype must be one of"):  # (int8 is accepted since issue 15)
        pipeline("fill-mask", model=folders["mlm"], dtype="int4")
    # a built model is re-created in the asked dtype with the same weights
    model = AlbertForMaskedLM.from_pretrained(folders["mlm"])
    half = pipeline("fill-mask", model=model, tokenizer=fp32.tokenizer, dtype="float16")
    assert half.model is not model and half.model.dtype_policy.name == "mixed_float16"
    np.testing.assert_array_equal(half.model.albert.embeddings.word_embeddings.embeddings.numpy(),
                                  model.albert.embeddings.word_embeddings.embeddings.numpy())


def test_model_resolution(folders, tmp_path, monkeypatch):
    tokenizer = AlbertTokenizer.from_pretrained(folders["mlm"])
    with pytest.raises(FileNotFoundError, match="model folder not found: './no-such-model'"):
        pipeline("fill-mask", model="./no-such-model")
    bare = AlbertForMaskedLM.from_pretrained(folders["mlm"]).save_pretrained(str(tmp_path / "bare"))
    with pytest.raises(FileNotFoundError, match="has no tokenizer.*pass tokenizer="):
        pipeline("fill-mask", model=bare)
    assert pipeline("fill-mask", model=bare, tokenizer=folders["mlm"])(TEXTS[1])
    built = AlbertForMaskedLM.from_pretrained(folders["mlm"])
    with pytest.raises(ValueError, match="a built model needs tokenizer="):
        pipeline("fill-mask", model=built)
    with pytest.raises(TypeError, match="needs AlbertForQuestionAnswering, got AlbertForMaskedLM"):
        pipeline("question-answering", model=built, tokenizer=tokenizer)
    with pytest.raises(ValueError, match="unknown task 'summarization'; available: fill-mask"):
        pipeline("summarization", model=folders["mlm"])
    pretraining = AlbertForPreTraining.from_pretrained(folders["mlm"])  # MLM head loaded, SOP head new
    assert_same_results(pipeline("fill-mask", model=pretraining, tokenizer=tokenizer)(TEXTS[1]),
                        pipeline("fill-mask", model=folders["mlm"])(TEXTS[1]))
    assert pipeline(model=folders["qa"]).task == "question-answering"  # from config.json's architectures
    assert pipeline("ner", model=folders["tok"]).task == "token-classification"
    # a model shipped inside the package, by name
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", str(tmp_path))
    monkeypatch.setattr(pretrained, "EMBEDDED_MODELS", ("tiny-shipped",))
    os.symlink(folders["mlm"], tmp_path / "tiny-shipped")
    assert pipeline("fill-mask", model="tiny-shipped", top_k=1)(TEXTS[1])[0]["token"] == \
        pipeline("fill-mask", model=folders["mlm"], top_k=1)(TEXTS[1])[0]["token"]


# === parameter checks every pipeline shares (pipelines/base.py) ==================================================
@pytest.mark.parametrize("task, folder, params, error, message", [
    ("fill-mask", "mlm", {"truncation": "yes"}, TypeError, "truncation must be True or False, got 'yes'"),
    ("feature-extraction", "mlm", {"return_tensors": 1}, TypeError, "return_tensors must be True or False, got 1"),
    ("question-answering", "qa", {"align_to_words": None}, TypeError,
     "align_to_words must be True or False, got None"),
    ("text-classification", "cls", {"truncation": 0}, TypeError, "truncation must be True or False, got 0"),
    ("fill-mask", "mlm", {"top_k": True}, ValueError, "top_k must be a positive int, got True"),
    ("question-answering", "qa", {"max_answer_len": 0}, ValueError, "max_answer_len must be a positive int, got 0"),
    ("question-answering", "qa", {"doc_stride": -1}, ValueError, "doc_stride must be a non-negative int, got -1"),
    ("token-classification", "tok", {"stride": 2.0, "aggregation_strategy": "first"}, ValueError,
     "stride must be None or a non-negative int, got 2.0"),
    ("text-classification", "cls", {"top_k": 0}, ValueError, "top_k must be a positive int or None"),
    ("fill-mask", "mlm", {"batch_size": 0}, ValueError, "batch_size must be a positive int, got 0"),
    ("fill-mask", "mlm", {"pad_to_multiple_of": True}, ValueError, "pad_to_multiple_of must be a positive int"),
    ("fill-mask", "mlm", {"pad_to_length": 2.5}, ValueError, "pad_to_length must be None or a positive int"),
])
def test_bad_parameters_are_refused_by_name(folders, task, folder, params, error, message):
    with pytest.raises(error, match=message):
        pipeline(task, model=folders[folder], **params)


def test_numpy_ints_are_ints_and_one_text_or_a_list_is_the_default_call(folders):
    fill = pipeline("fill-mask", model=folders["mlm"], top_k=np.int64(2), batch_size=np.int32(4))
    assert len(fill(TEXTS[1])) == 2
    tagger = pipeline("token-classification", model=folders["tok"], stride=np.int64(3), aggregation_strategy="first")
    for pipe in (fill, tagger, pipeline("feature-extraction", model=folders["mlm"])):
        with pytest.raises(TypeError, match=f"call the {pipe.task} pipeline with one text or a list of texts"):
            pipe(TEXTS[1], TEXTS[2])
