"""Fine-tuning datasets: every head, label alignment, QA windows and answer mapping, files, padding."""

import json

import numpy as np
import pytest

from tests.helpers import FIXTURE_TOKENIZER
from tf_albert.model.losses import IGNORE_INDEX
from tf_albert.training import data_files as F
from tf_albert.training import datasets as D
from tf_albert.training import qa as Q


@pytest.fixture(scope="module")
def tok():
    from tf_albert.tokenization import AlbertTokenizer

    return AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)


def _pieces(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


# --- classification ---------------------------------------------------------------------------------
def test_classification_pairs_dynamic_padding_and_labels(tok):
    texts = ["good film", "a rather long and boring film indeed", "fine"]
    pairs = ["yes", "no", "maybe so"]
    ds = D.classification_dataset(tok, texts, ["pos", "neg", "pos"], pairs, batch_size=2)
    assert ds.label2id == {"neg": 0, "pos": 1}
    batches = list(ds)
    (x0, y0), (x1, y1) = batches
    expected0 = tok(texts[:2], pairs[:2], padding=True, return_tensors="np")
    for k in ("input_ids", "token_type_ids", "attention_mask"):
        np.testing.assert_array_equal(x0[k].numpy(), expected0[k])
    # the second batch is padded to its own longest row, not to the first batch's
    assert x1["input_ids"].shape == (1, len(tok.encode(texts[2], pairs[2])))
    assert y0.numpy().tolist() == [1, 0] and y1.numpy().tolist() == [1]


def test_csv_integer_labels_keep_their_ids_and_order(tok):
    ids, mapping = D.to_label_ids(["2", "10", "0"], None)
    assert ids == [2, 10, 0] and mapping["10"] == 10


def test_regression_and_multi_label(tok):
    ds = D.classification_dataset(tok, ["a", "b"], [0.5, "2.25"], problem_type="regression", batch_size=2)
    _, y = next(iter(ds))
    assert y.dtype.name == "float32" and y.numpy().tolist() == [0.5, 2.25]
    with pytest.raises(ValueError, match="regression labels must be numbers.*'x'"):
        D.classification_dataset(tok, ["a"], ["x"], problem_type="regression")
    ds = D.classification_dataset(
        tok,
        ["a", "b"],
        [["x", "z"], []],
        problem_type="multi_label_classification",
        label2id={"x": 0, "y": 1, "z": 2},
        batch_size=2,
    )
    _, y = next(iter(ds))
    assert y.numpy().tolist() == [[1, 0, 1], [0, 0, 0]]


def test_unknown_label_and_length_mismatch_raise(tok):
    with pytest.raises(ValueError, match="'maybe'.*not one of the known labels"):
        D.classification_dataset(tok, ["a", "b"], ["yes", "maybe"], label2id={"yes": 0, "no": 1})
    with pytest.raises(ValueError, match="texts has 2 items but labels has 1"):
        D.classification_dataset(tok, ["a", "b"], [1])
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
        D.classification_dataset(tok, ["a", 3], [1, 0])


def test_shuffle_is_seeded_and_reshuffles_each_epoch(tok):
    texts = [f"text number {i}" for i in range(40)]
    ds = D.classification_dataset(tok, texts, list(range(40)), batch_size=40, shuffle=True, seed=3)
    epoch1 = next(iter(ds))[1].numpy().tolist()
    epoch2 = next(iter(ds))[1].numpy().tolist()
    again = (
        next(
            iter(D.classification_dataset(tok, texts, list(range(40)), batch_size=40, shuffle=True, seed=3))
        )[1]
        .numpy()
        .tolist()
    )
    assert sorted(epoch1) == list(range(40)) and epoch1 != list(range(40))
    assert epoch2 != epoch1 and again == epoch1


def test_pad_to_max_length_and_multiple(tok):
    ds = D.classification_dataset(
        tok, ["a b c", "d"], [0, 1], batch_size=2, max_length=16, pad_to_max_length=True, drop_remainder=True
    )
    assert ds.element_spec[0]["input_ids"].shape.as_list() == [2, 16]
    ds = D.classification_dataset(tok, ["a b c", "d"], [0, 1], batch_size=2, pad_to_multiple_of=8)
    x, _ = next(iter(ds))
    assert x["input_ids"].shape[1] == 8 and int(x["attention_mask"].numpy().sum()) == len(
        tok.encode("a b c")
    ) + len(tok.encode("d"))


# --- token classification ---------------------------------------------------------------------------
def test_word_ids_and_first_piece_alignment_hand_computed(tok):
    words = ["Paris", "is", "nice!", "1,000"]
    enc = D.encode_token_classification(tok, [words], [[7, 8, 9, 5]], max_length=64)
    pieces = tok.convert_ids_to_tokens(enc["input_ids"][0])
    # expected from the pieces of each word alone: the word's first piece carries its label
    expected_words, expected_labels = [None], [IGNORE_INDEX]
    for w, (word, label) in enumerate(zip(words, [7, 8, 9, 5])):
        n = len(_pieces(tok, word))
        expected_words += [w] * n
        expected_labels += [label] + [IGNORE_INDEX] * (n - 1)
    expected_words.append(None)
    expected_labels.append(IGNORE_INDEX)
    assert enc["word_ids"][0] == expected_words, pieces
    assert enc["labels"][0] == expected_labels
    assert pieces[:3] == ["[CLS]", "▁", "p"]  # "▁" alone belongs to the word after it


def test_label_all_subtokens_and_truncation(tok):
    enc = D.encode_token_classification(tok, [["Paris", "is"]], [[1, 2]], label_all_subtokens=True)
    n = len(_pieces(tok, "Paris"))
    assert enc["labels"][0] == [IGNORE_INDEX] + [1] * n + [2] + [IGNORE_INDEX]
    enc = D.encode_token_classification(tok, [["Paris", "is", "nice"]], [[1, 2, 3]], max_length=4)
    assert len(enc["input_ids"][0]) == 4 and enc["labels"][0][-1] == IGNORE_INDEX


def test_token_classification_dataset_pads_labels_with_ignore_index(tok):
    ds = D.token_classification_dataset(
        tok,
        [["Paris", "is", "nice"], ["Rome"]],
        [["LOC", "O", "O"], ["LOC"]],
        batch_size=2,
        pad_to_multiple_of=16,
    )
    x, y = next(iter(ds))
    assert ds.label2id == {"LOC": 0, "O": 1}
    assert y.shape == x["input_ids"].shape and y.shape[1] == 16
    mask = x["attention_mask"].numpy()
    assert (y.numpy()[mask == 0] == IGNORE_INDEX).all()
    assert (y.numpy()[1] != IGNORE_INDEX).sum() == 1
    with pytest.raises(ValueError, match="example 0 has 2 words but 1 labels"):
        D.encode_token_classification(tok, [["a", "b"]], [[1]])


# --- multiple choice ----------------------------------------------------------------------------------
def test_multiple_choice_layout(tok):
    ds = D.multiple_choice_dataset(
        tok,
        ["The sky is", "Fish"],
        [["blue.", "a big fish."], ["swim", "fly"]],
        [1, 0],
        questions=["Colour?", "Can they?"],
        batch_size=2,
    )
    x, y = next(iter(ds))
    assert x["input_ids"].shape[:2] == (2, 2) and y.numpy().tolist() == [1, 0]
    row = x["input_ids"].numpy()[0, 1]
    expected = tok.encode("The sky is", "Colour? a big fish.")
    assert row[: len(expected)].tolist() == expected and (row[len(expected) :] == tok.pad_token_id).all()
    types = x["token_type_ids"].numpy()[0, 1][: len(expected)]
    assert types.tolist() == tok("The sky is", "Colour? a big fish.")["token_type_ids"]
    with pytest.raises(ValueError, match="same number"):
        D.multiple_choice_dataset(tok, ["a", "b"], [["x", "y"], ["x", "y", "z"]], [0, 0])
    with pytest.raises(ValueError, match="labels\\[0\\] is 2; there are 2 choices"):
        D.multiple_choice_dataset(tok, ["a"], [["x", "y"]], [2])


# --- question answering -------------------------------------------------------------------------------
CONTEXT = "Ada Lovelace wrote the first program. It ran on the analytical engine of Babbage."


def _example(answer="the analytical engine", start=None, qid="q1"):
    start = CONTEXT.index(answer) if start is None else start
    return {
        "id": qid,
        "question": "What did it run on?",
        "context": CONTEXT,
        "answers": {"text": [answer], "answer_start": [start]},
    }


def test_qa_windows_stride_and_answer_positions_hand_computed(tok):
    q = _pieces(tok, "What did it run on?")
    ctx = tok(CONTEXT, add_special_tokens=False, return_offsets_mapping=True)
    ctx_ids, offsets = ctx["input_ids"], ctx["offset_mapping"]
    max_length, stride = len(q) + 3 + 20, 7
    f = Q.prepare_features(tok, [_example()], max_length=max_length, doc_stride=stride)
    window = 20
    starts = list(range(0, len(ctx_ids), stride))
    starts = [s for s in starts if s == 0 or s - stride + window < len(ctx_ids)]
    assert len(f["input_ids"]) == len(starts)
    a0 = CONTEXT.index("the analytical engine")
    a1 = a0 + len("the analytical engine")
    first = next(t for t, (s, e) in enumerate(offsets) if e > a0)
    last = max(t for t, (s, e) in enumerate(offsets) if s < a1)
    for w, s0 in enumerate(starts):
        ids = f["input_ids"][w]
        assert ids == [tok.cls_token_id] + q + [tok.sep_token_id] + ctx_ids[s0 : s0 + window] + [
            tok.sep_token_id
        ]
        assert f["token_type_ids"][w] == [0] * (len(q) + 2) + [1] * (len(ids) - len(q) - 2)
        inside = s0 <= first and last < s0 + window
        if inside:
            assert f["start_positions"][w] == first - s0 + len(q) + 2
            assert f["end_positions"][w] == last - s0 + len(q) + 2
            span = ids[f["start_positions"][w] : f["end_positions"][w] + 1]
            assert tok.decode(span) == "the analytical engine"
        else:
            assert (f["start_positions"][w], f["end_positions"][w]) == (0, 0), "no answer here → [CLS]"
    assert any(p > 0 for p in f["start_positions"]) and 0 in f["start_positions"]


def test_qa_wrong_answer_start_is_repaired_or_rejected(tok):
    f = Q.prepare_features(tok, [_example(start=3)], max_length=64)
    ids = f["input_ids"][0]
    assert tok.decode(ids[f["start_positions"][0] : f["end_positions"][0] + 1]) == "the analytical engine"
    with pytest.raises(ValueError, match="'q9'.*does not occur"):
        Q.prepare_features(tok, [_example(answer="steam", start=0, qid="q9")], max_length=64)
    with pytest.raises(ValueError, match="leaves no room"):
        Q.prepare_features(tok, [_example()], max_length=5)


def test_qa_postprocess_and_squad_metrics(tok):
    f = Q.prepare_features(
        tok, [_example(), _example(answer="Ada Lovelace", qid="q2")], max_length=40, doc_stride=8
    )
    # logits that point at the labelled span of every window that holds it
    starts, ends = [], []
    for ids, s, e in zip(f["input_ids"], f["start_positions"], f["end_positions"]):
        a, b = np.full(len(ids), -5.0), np.full(len(ids), -5.0)
        a[s], b[e] = 5.0, 5.0
        starts.append(a)
        ends.append(b)
    predictions = Q.postprocess(f, starts, ends)
    assert predictions == {"q1": "the analytical engine", "q2": "Ada Lovelace"}
    scores = Q.squad_metrics({"q1": "analytical engine", "q2": "Ada"}, f["examples"])
    assert scores["exact_match"] == 50.0  # "the" is an article: normalised away
    assert abs(scores["f1"] - 100 * (1 + 2 / 3) / 2) < 1e-9


def test_qa_dataset_from_squad_json(tok, tmp_path):
    squad = {
        "version": "v2.0",
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": CONTEXT,
                        "qas": [
                            {
                                "id": "a",
                                "question": "Who wrote it?",
                                "answers": [{"text": "Ada Lovelace", "answer_start": 0}],
                            },
                            {"id": "b", "question": "When?", "answers": [], "is_impossible": True},
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(squad))
    rows = F.load_examples(str(path))
    assert [r["id"] for r in rows] == ["a", "b"] and rows[1]["is_impossible"]
    ds = Q.question_answering_dataset(tok, rows, max_length=64, batch_size=2)
    x, y = next(iter(ds))
    assert sorted(y) == ["end_positions", "start_positions"]
    assert y["start_positions"].numpy()[1] == 0 and y["end_positions"].numpy()[1] == 0
    ids = x["input_ids"].numpy()[0]
    assert tok.decode(ids[y["start_positions"][0] : y["end_positions"][0] + 1]) == "ada lovelace"
