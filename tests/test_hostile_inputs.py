"""Hostile and careless input, as issue 13 listed it: every case gives a clear error that names the value
and where it is, or NaN outputs where XLA cannot raise — never plausible numbers, never a crash deep inside.

One test per case of the issue (1-11), each asserting the message or the NaN, then a hypothesis property
test over random id / mask / token type / length combinations, run eagerly, in a user's own XLA function
and through a SavedModel signature.
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_serving import XLA_COMPILE_LOG, count_compilations
from tests.helpers import FIXTURE_TOKENIZER, REPO, tiny_config
from tf_albert import (
    AlbertConfig,
    AlbertForPreTraining,
    AlbertForQuestionAnswering,
    AlbertForSequenceClassification,
    AlbertModel,
    AlbertTokenizer,
)
from tf_albert.export import export_saved_model
from tf_albert.export import signatures as S

VOCAB, TYPES, MAX_POS = 99, 2, 32
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": REPO}
tf_text = pytest.importorskip("tensorflow_text")  # the raw-text signatures (tf_albert[text], in the test extra)


def _classifier(num_labels=3, **overrides):
    keras.utils.set_random_seed(0)
    model = AlbertForSequenceClassification(tiny_config(num_labels=num_labels, **overrides))
    model.build()
    return model


def _ids(batch, length, seed=0):
    return np.random.default_rng(seed).integers(5, VOCAB, size=(batch, length)).astype("int32")


def _user_xla_function(model):
    """What a user writes: their own XLA-compiled function, shapes not fixed (nothing can raise in it)."""
    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(jit_compile=True, input_signature=[spec] * 3)
    def run(input_ids, attention_mask, token_type_ids):
        return model(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)["logits"]

    return run


@pytest.fixture(scope="module")
def tokenizer():
    return AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)


@pytest.fixture(scope="module")
def text_exports(tokenizer, tmp_path_factory):
    """Plain (non-XLA) exports with the raw-text signatures: a classifier and a QA model, loaded back."""
    root = tmp_path_factory.mktemp("exports")
    out = {}
    for name, cls in (("classifier", AlbertForSequenceClassification), ("qa", AlbertForQuestionAnswering)):
        keras.utils.set_random_seed(0)
        model = cls(tiny_config(vocab_size=len(tokenizer), max_position_embeddings=MAX_POS, num_labels=3))
        model.build()
        out[name] = tf.saved_model.load(export_saved_model(model, root / name, tokenizer=tokenizer)).signatures
    return out


# === 1. XLA: invalid rows come out NaN ===
def test_1_user_xla_function_gives_nan_rows_for_invalid_input():
    model = _classifier()
    run = _user_xla_function(model)
    ids = _ids(3, 8)
    mask, types = np.ones_like(ids), np.zeros_like(ids)
    reference = model(ids, attention_mask=mask, token_type_ids=types)["logits"].numpy()
    np.testing.assert_allclose(run(ids, mask, types).numpy(), reference, atol=1e-5)
    for where, value in (("input_ids", VOCAB), ("input_ids", -1), ("token_type_ids", TYPES),
                         ("attention_mask", 2)):
        feed = {"input_ids": ids.copy(), "attention_mask": mask.copy(), "token_type_ids": types.copy()}
        feed[where][1, 3] = value
        logits = run(**feed).numpy()
        assert np.isnan(logits[1]).all(), (where, value, logits)  # the bad row: NaN, not the clamped lookup
        np.testing.assert_allclose(logits[[0, 2]], reference[[0, 2]], atol=1e-5)  # the others: untouched
    for length in (MAX_POS + 1, 200):  # longer than max_position_embeddings: the whole batch
        long = _ids(2, length)
        assert np.isnan(run(long, np.ones_like(long), np.zeros_like(long)).numpy()).all()
    empty_rows = np.zeros((2, 0), np.int32)  # no position at all
    assert np.isnan(run(empty_rows, empty_rows, empty_rows).numpy()).all()
    # Eagerly and in a plain graph the same inputs raise, naming the value and where it is.
    bad = ids.copy()
    bad[1, 3] = VOCAB
    with pytest.raises(ValueError, match=re.escape(f"input_ids contains {VOCAB} at [1, 3]; vocab_size is {VOCAB}")):
        model(bad)
    graph = tf.function(lambda x: model(x)["logits"], input_signature=[tf.TensorSpec([None, None], tf.int32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="input_ids contains.*99.*at.*1 3.*vocab_size is 99"):
        graph(bad)


# === 2. fit(jit_compile=True) from a generator or a PyDataset checks every batch ===
def test_2_fit_checks_generators_and_py_datasets():
    model = _classifier()
    model.compile(optimizer="adam", jit_compile=True)
    ids = _ids(2, 8)

    def batches(bad_batch, bad_ids=False, labels=(0, 1)):
        for i in range(3):
            x = ids.copy()
            if bad_ids and i == bad_batch:
                x[1, 3] = VOCAB
            yield {"input_ids": x, "attention_mask": np.ones_like(x)}, np.array(labels if i == bad_batch else (0, 1))

    with pytest.raises(ValueError, match=re.escape("batch 0 of the generator: input_ids contains 99 at [1, 3]; "
                                                   "vocab_size is 99")):
        model.fit(batches(0, bad_ids=True), epochs=1, verbose=0)
    # a later batch is read inside Keras' tf.data pipeline: still the ValueError itself, not a wrapped one
    with pytest.raises(ValueError, match=re.escape("batch 2 of the generator: input_ids contains 99 at [1, 3]")):
        model.fit(batches(2, bad_ids=True), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=re.escape("batch 1 of the generator: labels contains 7 at [1]; "
                                                   "num_labels is 3")):
        model.fit(batches(1, labels=(0, 7)), epochs=1, verbose=0)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            x = ids.copy()
            if index == 1:
                x[0, 0] = VOCAB
            return {"input_ids": x}, np.array([0, 1])

    with pytest.raises(ValueError, match=re.escape("batch 1 of Batches: input_ids contains 99 at [0, 0]")):
        model.fit(Batches(), epochs=1, verbose=0)
    history = model.fit(batches(-1), epochs=1, verbose=0)  # good data still trains
    assert np.isfinite(history.history["loss"][0])


# === 3. The raw-text signatures refuse batches of different sizes ===
def test_3_text_signatures_refuse_mismatched_batches(text_exports, tokenizer):
    pair = text_exports["classifier"]["serving_text_pair"]
    for texts, pairs in ((["alpha beta", "gamma delta"], ["one"]), (["alpha"], ["one", "two"])):
        expected = (f"text and text_pair must have the same number of rows; text has] [{len(texts)}] "
                    f"[rows, text_pair has] [{len(pairs)}]")
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(expected)):
            pair(text=tf.constant(texts), text_pair=tf.constant(pairs))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=re.escape("question and context must have the same number of rows; question has] "
                                       "[2] [rows, context has] [1]")):
        text_exports["qa"]["serving_text"](question=tf.constant(["who?", "what?"]),
                                           context=tf.constant(["Ada wrote it."]))
    from tf_albert.tokenization.layer import AlbertTokenizerLayer

    with pytest.raises(ValueError, match="text has 2 rows but text_pair has 1; they must have the same number"):
        AlbertTokenizerLayer.from_tokenizer(tokenizer)(tf.constant(["a", "b"]), tf.constant(["c"]))


# === 4. finetune resumes only the same run ===
def test_4_finetune_refuses_to_resume_another_run(tmp_path, tokenizer):
    from tf_albert.training import finetune
    from tf_albert.training.callbacks import RUN_FILE, claim_run_folder

    folder = tmp_path / "base"
    AlbertModel(tiny_config(vocab_size=len(tokenizer), max_position_embeddings=64)).save_pretrained(
        str(folder), tokenizer=tokenizer)

    def data(name, rows):
        path = tmp_path / name
        path.write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in rows))
        return str(path)

    first = data("first.csv", [("a fine film", "pos"), ("dull and long", "neg")] * 4)
    out = tmp_path / "run"
    kwargs = dict(model=str(folder), epochs=1, batch_size=4, max_length=16, verbose=0, log=lambda *_: None)
    finetune("classification", first, str(out), **kwargs)
    recorded = json.loads((out / RUN_FILE).read_text())
    assert recorded["labels"] == ["neg", "pos"] and recorded["arguments"]["learning_rate"] == 5e-5
    model_files = {p: (out / "model" / p).read_bytes() for p in os.listdir(out / "model")}

    second = data("second.csv", [("great", "pos"), ("awful", "neg"), ("so so", "mixed")] * 4)
    with pytest.raises(ValueError) as e:
        finetune("classification", second, str(out), learning_rate=1e-3, **kwargs)
    message = str(e.value)
    assert f"{out} holds another finetune run, which this one cannot resume" in message
    assert f"train data {first} → {second}" in message
    assert "arguments.learning_rate 5e-05 → 0.001" in message
    assert "labels ['neg', 'pos'] → ['mixed', 'neg', 'pos']" in message
    assert "pass --overwrite" in message and "choose another --out folder" in message
    # the same file with other content is another run too
    with open(first, "a") as f:
        f.write("one more,pos\n")
    with pytest.raises(ValueError, match=re.escape(f"train data {first} changed (sha256 ")):
        finetune("classification", first, str(out), **kwargs)
    assert {p: (out / "model" / p).read_bytes() for p in os.listdir(out / "model")} == model_files  # untouched

    # a folder with a run but no record is not resumed either; --overwrite starts fresh, keeping other files
    (out / RUN_FILE).unlink()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"holds a run without a record of its data and arguments \(backup, "):
        claim_run_folder(str(out), {"task": "classification"})
    assert claim_run_folder(str(out), {"task": "classification"}, overwrite=True) == 0
    assert sorted(os.listdir(out)) == ["notes.txt", RUN_FILE]


# === 5. Zero-length sequences ===
def test_5_zero_length_sequences(text_exports):
    empty_rows = np.zeros((2, 0), np.int32)
    for cls in (AlbertModel, AlbertForSequenceClassification, AlbertForPreTraining):
        with pytest.raises(ValueError, match=re.escape("input_ids has sequence length 0 (shape (2, 0)); every row "
                                                       "needs at least one token")):
            cls(tiny_config())(empty_rows)
    serve = text_exports["classifier"]["serving_default"]
    zeros = tf.zeros((2, 0), tf.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"input_ids has sequence length 0 \(shape\] \[2 0\]"):
        serve(input_ids=zeros, attention_mask=zeros, token_type_ids=zeros)
    # an empty batch has no row to complain about: empty outputs
    none = tf.zeros((0, 0), tf.int32)
    assert serve(input_ids=none, attention_mask=none, token_type_ids=none)["logits"].shape == (0, 3)
    out = text_exports["classifier"]["serving_text"](text=tf.constant([], tf.string))
    assert out["logits"].shape == (0, 3) and out["top_k_labels"].shape == (0, 3)
    out = text_exports["qa"]["serving_text"](question=tf.constant([], tf.string), context=tf.constant([], tf.string))
    assert out["answer"].shape == (0,)


# === 6. predict on an empty batch ===
def test_6_predict_on_an_empty_batch():
    model = _classifier()
    out = model.predict(np.zeros((0, 8), np.int32), verbose=0)
    assert out["logits"].shape == (0, 3)
    out = model.predict({"input_ids": np.zeros((0, 8), np.int32), "attention_mask": np.zeros((0, 8))}, verbose=0)
    assert out["logits"].shape == (0, 3)
    nothing = tf.data.Dataset.from_tensor_slices(np.zeros((0, 8), np.int32)).batch(2)
    with pytest.raises(ValueError, match=re.escape("predict got no data: x (_BatchDataset) gave no batch")):
        model.predict(nothing, verbose=0)


# === 7. Config values that poison the model ===
@pytest.mark.parametrize("overrides, error, message", [
    ({"layer_norm_eps": float("nan")}, ValueError, "layer_norm_eps must be a positive number (and finite), got nan"),
    ({"initializer_range": float("inf")}, ValueError,
     "initializer_range must be a positive number (and finite), got inf"),
    ({"label2id": ["neg", "pos"]}, TypeError, "label2id must be a dict of str -> int, got list: ['neg', 'pos']"),
    ({"id2label": {0: "a", 1: "b", 7: "c"}}, ValueError,
     "id2label has keys [0, 1, 7]; the ids of 3 labels must be 0..2 (missing [2])"),
    ({"id2label": {"zero": "a"}}, ValueError, "id2label key must be an int label id, got 'zero'"),
    ({"max_position_embeddings": 10**9}, ValueError,
     ("max_position_embeddings=1000000000 makes a weight of 1000000000 x 8 = 8,000,000,000 values (29.8 GiB as "
      "float32); one weight may hold at most 2,147,483,647 values")),
])
def test_7_config_values_that_poison_the_model(overrides, error, message):
    with pytest.raises(error, match=re.escape(message)):
        tiny_config(**overrides)
    with pytest.raises(error, match=re.escape(message)):  # the same from a config.json's dict
        AlbertConfig.from_dict({**tiny_config().to_dict(), **overrides})


# === 8. Tokenizer: text that is not Unicode, empty batches, invalid UTF-8 bytes in serving ===
def test_8_tokenizer_hostile_text(tokenizer, text_exports):
    bad = ["fine", "bad \ud800 text"]
    for kwargs in ({}, {"return_offsets_mapping": True}):
        with pytest.raises(ValueError, match=re.escape("text[1] has a lone surrogate U+D800 at character 4, which "
                                                       "is not valid Unicode")):
            tokenizer(bad, **kwargs)
    with pytest.raises(ValueError, match=re.escape("text_pair[0] has a lone surrogate U+DC80 at character 1")):
        tokenizer(["fine"], ["a\udc80"])
    with pytest.raises(ValueError, match=re.escape("text has a lone surrogate U+D800 at character 4")):
        tokenizer.tokenize(bad[1])
    for return_tensors in ("np", "tf"):
        empty = tokenizer([], padding=True, return_tensors=return_tensors)
        assert {k: tuple(v.shape) for k, v in empty.items()} == {
            "input_ids": (0, 0), "token_type_ids": (0, 0), "attention_mask": (0, 0)}
    assert tokenizer([], padding="max_length", max_length=8, return_tensors="np")["input_ids"].shape == (0, 8)
    serve = text_exports["classifier"]["serving_text"]
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=re.escape("text is not valid UTF-8 at row] [[2]] [(shown with U+FFFD):] [bad \ufffd")):
        serve(text=tf.constant([b"ok", b"fine", b"bad \xff bytes"]))


# === 9. Fine-tuning data: an empty label is not a class ===
def test_9_empty_label_cell_is_refused(tmp_path):
    from tf_albert.training import finetune
    from tf_albert.training.datasets import to_label_ids

    path = tmp_path / "train.csv"
    path.write_text("text,label\ngood,pos\nbad,neg\nno label here,\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}: label of example 2 (counting from 0) is empty ('')")):
        finetune("classification", str(path), str(tmp_path / "out"), model="tf-albert-tiny", verbose=0,
                 log=lambda *_: None)
    assert not (tmp_path / "out").exists()  # refused before anything was written
    with pytest.raises(ValueError, match=re.escape("label of example 1 (counting from 0) is empty (None)")):
        to_label_ids(["pos", None], None)


# === 10. An interrupted save_pretrained leaves no debris after the next save ===
_KILLED_SAVE = textwrap.dedent("""
    import os, signal, sys
    from tf_albert import AlbertConfig, AlbertModel
    from tests.helpers import tiny_config

    def die(self, folder):  # killed mid-save, with the staging folder half written
        os.kill(os.getpid(), signal.SIGKILL)

    AlbertConfig.save_pretrained = die
    AlbertModel(tiny_config()).save_pretrained(sys.argv[1])
""")


def test_10_interrupted_save_leaves_no_debris_after_the_next_save(tmp_path):
    target = tmp_path / "model"
    model = AlbertModel(tiny_config())
    model.save_pretrained(str(target))
    before = {name: (target / name).read_bytes() for name in os.listdir(target)}
    proc = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(target)], env=ENV, cwd=REPO, check=False,
                          capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    debris = [n for n in os.listdir(tmp_path) if n.startswith(".model.saving-")]
    assert len(debris) == 1, os.listdir(tmp_path)
    assert {name: (target / name).read_bytes() for name in os.listdir(target)} == before  # the old save is intact
    model.save_pretrained(str(target))
    assert sorted(os.listdir(tmp_path)) == ["model"]  # the dead writer's staging folder is gone
    loaded = AlbertModel.from_pretrained(str(target), strict=True)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


# === 11. XLA exports compile a bounded number of shapes ===
_SERVE_MIXED_SHAPES = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf  # only TensorFlow, as in TF Serving

    serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
    cases = np.load(sys.argv[2])
    worst = 0.0
    for k in range(len(cases.files) // 2):
        ids, want = cases[f"ids{k}"], cases[f"logits{k}"]
        got = serve(input_ids=ids, attention_mask=np.ones_like(ids), token_type_ids=np.zeros_like(ids))["logits"]
        worst = max(worst, float(np.abs(got.numpy() - want).max()))
    print(json.dumps({"max_diff": worst}))
""")


def test_11_xla_export_compiles_a_bounded_number_of_shapes(tmp_path):
    assert S.length_buckets(512) == [16, 32, 64, 128, 256, 512]
    assert S.length_buckets(514) == [16, 32, 64, 128, 256, 512, 514]
    assert S.length_buckets(MAX_POS) == [16, 32] and S.length_buckets(8) == [8]
    model = _classifier(vocab_size=VOCAB)
    path = export_saved_model(model, tmp_path / "xla", jit_compile=True)
    with open(os.path.join(path, "assets.extra", "tf_albert.json"), encoding="utf-8") as f:
        assert json.load(f)["length_buckets"] == [16, 32]
    rng = np.random.default_rng(1)
    shapes = [(int(rng.integers(1, 5)), int(rng.integers(1, MAX_POS + 1))) for _ in range(12)]
    cases = {}
    for k, (batch, length) in enumerate(shapes):
        cases[f"ids{k}"] = ids = _ids(batch, length, seed=k)
        cases[f"logits{k}"] = model(ids)["logits"].numpy()
    np.savez(tmp_path / "cases.npz", **cases)
    proc = subprocess.run([sys.executable, "-c", _SERVE_MIXED_SHAPES, path, str(tmp_path / "cases.npz")],
                          env={**ENV, **XLA_COMPILE_LOG}, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["max_diff"] < 1e-5  # padding changes no output
    compiles = count_compilations(proc.stderr)
    buckets = {(b, length) for b in (1, 2, 4) for length in S.length_buckets(MAX_POS)}
    padded = {(1 << (b - 1).bit_length(), 16 if length <= 16 else 32) for b, length in shapes}
    assert compiles == len(padded) <= len(buckets) < len(set(shapes)), (compiles, padded)


# === Property: random ids / masks / token types / lengths, eager vs the user's XLA function vs serving ===
_BAD = {"id_high": ("input_ids", VOCAB), "id_low": ("input_ids", -1), "type": ("token_type_ids", TYPES),
        "mask": ("attention_mask", 2)}


@st.composite
def _batches(draw):
    batch = draw(st.integers(1, 3))
    length = draw(st.sampled_from([1, 7, 16, MAX_POS, MAX_POS + 1]))  # few shapes: each is an XLA compile
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    feed = {"input_ids": rng.integers(0, VOCAB, (batch, length)).astype("int32"),
            "attention_mask": (rng.random((batch, length)) < 0.8).astype("int32"),
            "token_type_ids": rng.integers(0, TYPES, (batch, length)).astype("int32")}
    feed["attention_mask"][:, 0] = 1
    bad_rows = set()
    for row in range(batch):
        kind = draw(st.sampled_from([None, None] + sorted(_BAD)))
        if kind is not None:
            name, value = _BAD[kind]
            feed[name][row, draw(st.integers(0, length - 1))] = value
            bad_rows.add(row)
    return feed, bad_rows


@pytest.fixture(scope="module")
def property_setup(tmp_path_factory):
    model = _classifier(vocab_size=VOCAB, max_position_embeddings=MAX_POS)
    path = export_saved_model(model, tmp_path_factory.mktemp("property") / "plain")
    return model, _user_xla_function(model), tf.saved_model.load(path).signatures["serving_default"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_batches())
def test_random_inputs_agree_across_eager_xla_and_serving(property_setup, case):
    model, xla, serve = property_setup
    feed, bad_rows = case
    batch, length = feed["input_ids"].shape
    invalid = bool(bad_rows) or length > MAX_POS
    xla_logits = xla(**feed).numpy()
    if not invalid:
        eager = model(feed["input_ids"], attention_mask=feed["attention_mask"],
                      token_type_ids=feed["token_type_ids"])["logits"].numpy()
        np.testing.assert_allclose(xla_logits, eager, atol=1e-5)
        np.testing.assert_allclose(serve(**{k: tf.constant(v) for k, v in feed.items()})["logits"].numpy(), eager,
                                   atol=1e-5)
        return
    # eager: a ValueError naming an offending value; serving: the same check, from the graph
    names = "input_ids|token_type_ids|attention_mask"
    with pytest.raises(ValueError, match=rf"({names}) (contains -?\d+ at \[\d+, \d+\]|has sequence length {length})"):
        model(feed["input_ids"], attention_mask=feed["attention_mask"], token_type_ids=feed["token_type_ids"])
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"({names}) (contains|is longer than)"):
        serve(**{k: tf.constant(v) for k, v in feed.items()})
    # XLA: NaN exactly in the invalid rows (every row when too long), finite elsewhere
    nan_rows = set(range(batch)) if length > MAX_POS else bad_rows
    assert {r for r in range(batch) if np.isnan(xla_logits[r]).all()} == nan_rows
    assert np.isfinite(xla_logits[sorted(set(range(batch)) - nan_rows)]).all()
