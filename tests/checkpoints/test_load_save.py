"""Loading every checkpoint shape into every head (parity with transformers), head bookkeeping, saving.

Fixtures: tests/fixtures/checkpoints (tools/make_checkpoint_fixtures.py) hold one set of tiny weights
(2 groups x 2 inner blocks) as HF safetensors, HF pytorch_model.bin, HF v4 tf_model.h5 and a Google TF1
checkpoint, and transformers' outputs for each head.
"""

import json
import logging
import os
import stat

import numpy as np
import pytest

import tf_albert
from tests.helpers import HEADS, SPM, expected, head_inputs, materialize, max_diff
from tf_albert.checkpoints import api

TOL = 1e-5
FORMATS = ["safetensors", "h5", "tf1", "bin"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    return {fmt: materialize(fmt, str(root / fmt)) for fmt in FORMATS}


def _needs_torch(fmt):
    if fmt == "bin":
        pytest.importorskip("torch", reason="pytorch_model.bin is read only through torch.load(weights_only=True)")


@pytest.mark.parametrize("head", sorted(HEADS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_shape_loads_into_every_head_with_parity(folders, fmt, head):
    _needs_torch(fmt)
    cls_name, overrides = HEADS[head]
    model = getattr(tf_albert, cls_name).from_pretrained(folders[fmt], **overrides)
    info = model.loading_info
    assert info.missing_keys == [] and info.mismatched_keys == [], info
    assert info.format == {"safetensors": "safetensors", "h5": "tf_model.h5", "tf1": "google-tf1",
                           "bin": "pytorch_model.bin"}[fmt]
    x, want = expected()
    diff = max_diff(model(**head_inputs(head, x)), want[head])
    assert diff <= TOL, f"{fmt}/{head}: max-abs-diff {diff:.3g}"


def test_pretraining_checkpoint_into_backbone_reports_unused_heads(folders, caplog):
    with caplog.at_level(logging.WARNING, logger="tf_albert"):
        model = tf_albert.AlbertModel.from_pretrained(folders["safetensors"])
    info = model.loading_info
    assert info.missing_keys == []
    assert info.unexpected_keys == ["classifier.bias", "classifier.weight", "predictions.LayerNorm.bias",
                                    "predictions.LayerNorm.weight", "predictions.bias", "predictions.dense.bias",
                                    "predictions.dense.weight", "qa_outputs.bias", "qa_outputs.weight",
                                    "sop_classifier.classifier.bias", "sop_classifier.classifier.weight"]
    assert "not used by AlbertModel" in caplog.text and "sop_classifier.classifier.weight" in caplog.text


def test_heads_without_pooler_ignore_it_silently(folders):
    info = tf_albert.AlbertForMaskedLM.from_pretrained(folders["tf1"]).loading_info
    assert "albert.pooler.weight" in info.ignored_keys and "albert.pooler.weight" not in info.unexpected_keys
    assert "global_step" in info.ignored_keys and "bert/pooler/dense/bias/adam_m" in info.ignored_keys


def test_backbone_checkpoint_gives_new_head_reported(tmp_path, caplog):
    backbone = tf_albert.AlbertModel(tf_albert.AlbertConfig(vocab_size=40, embedding_size=8, hidden_size=16,
                                                            num_attention_heads=2, intermediate_size=20,
                                                            num_hidden_layers=2))
    backbone.save_pretrained(tmp_path / "backbone")
    with caplog.at_level(logging.WARNING, logger="tf_albert"):
        clf = tf_albert.AlbertForSequenceClassification.from_pretrained(tmp_path / "backbone", num_labels=4)
    assert clf.loading_info.missing_keys == ["classifier.bias", "classifier.weight"]
    assert "newly initialised" in caplog.text and "classifier.weight" in caplog.text
    ids = np.array([[2, 7, 9, 3]])
    np.testing.assert_allclose(clf.albert(ids)["last_hidden_state"], backbone(ids)["last_hidden_state"], atol=1e-6)
    assert clf(ids)["logits"].shape == (1, 4)


def test_strict_turns_mismatched_names_into_an_error(folders, tmp_path):
    with pytest.raises(ValueError, match="(?s)strict loading failed.*not used by AlbertModel.*qa_outputs.weight"):
        tf_albert.AlbertModel.from_pretrained(folders["safetensors"], strict=True)
    model = tf_albert.AlbertModel(tf_albert.AlbertConfig(vocab_size=40, embedding_size=8, hidden_size=16,
                                                         num_attention_heads=2, intermediate_size=20,
                                                         num_hidden_layers=2))
    model.save_pretrained(tmp_path / "m")
    tf_albert.AlbertModel.from_pretrained(tmp_path / "m", strict=True)  # exact match passes
    with pytest.raises(ValueError, match="(?s)newly initialised.*qa_outputs.weight"):
        tf_albert.AlbertForQuestionAnswering.from_pretrained(tmp_path / "m", strict=True)


def test_num_labels_mismatch_is_an_error_unless_ignored(folders):
    with pytest.raises(ValueError, match=r"classifier.weight.*checkpoint shape \(1, 16\), model expects \(2, 16\)"
                                         r"[\s\S]*ignore_mismatched_sizes=True") as err:
        tf_albert.AlbertForSequenceClassification.from_pretrained(folders["safetensors"])
    assert "model.safetensors" in str(err.value)
    model = tf_albert.AlbertForSequenceClassification.from_pretrained(
        folders["h5"], num_labels=3, ignore_mismatched_sizes=True)
    info = model.loading_info
    assert [n for n, _, _ in info.mismatched_keys] == ["classifier.bias", "classifier.weight"]
    assert info.mismatched_keys[1][1:] == ((1, 16), (3, 16))
    assert model(np.array([[2, 5, 3]]))["logits"].shape == (1, 3)


def test_unknown_keyword_is_a_type_error(folders):
    with pytest.raises(TypeError, match="ignore_mismatch_sizes"):
        tf_albert.AlbertModel.from_pretrained(folders["safetensors"], ignore_mismatch_sizes=True)


def test_config_overrides_apply(folders):
    model = tf_albert.AlbertModel.from_pretrained(folders["tf1"], hidden_dropout_prob=0.25)
    assert model.config.hidden_dropout_prob == 0.25
    assert model.config.hidden_act == "gelu_new"  # Google's "gelu" is the tanh form


def test_base_class_picks_the_saved_architecture(tmp_path):
    config = tf_albert.AlbertConfig(vocab_size=40, embedding_size=8, hidden_size=16, num_attention_heads=2,
                                    intermediate_size=20, num_hidden_layers=2, num_labels=5)
    tf_albert.AlbertForTokenClassification(config).save_pretrained(tmp_path / "tok")
    model = tf_albert.AlbertPreTrainedModel.from_pretrained(tmp_path / "tok")
    assert type(model) is tf_albert.AlbertForTokenClassification and model.config.num_labels == 5


@pytest.mark.parametrize("cls_name", sorted(c for c, _ in HEADS.values()))
def test_save_then_load_gives_identical_outputs(tmp_path, cls_name):
    cls = getattr(tf_albert, cls_name)
    config = tf_albert.AlbertConfig(vocab_size=40, embedding_size=8, hidden_size=16, num_attention_heads=2,
                                    intermediate_size=20, num_hidden_layers=4, num_hidden_groups=2,
                                    inner_group_num=2, num_labels=3)
    model = cls(config)
    model.build()
    rng = np.random.default_rng(0)
    for v in model.weights:  # biases and LayerNorm betas non-zero too
        v.assign(v.numpy() + 0.1 * rng.standard_normal(v.shape).astype("float32"))
    folder = model.save_pretrained(tmp_path / "saved")
    assert sorted(os.listdir(folder)) == ["config.json", "model.safetensors", "tf_model.h5"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o777 & ~mask  # not the temp folder's private 0700
    assert stat.S_IMODE(os.stat(os.path.join(folder, "model.safetensors")).st_mode) == 0o666 & ~mask
    with open(os.path.join(folder, "config.json")) as f:
        assert json.load(f)["architectures"] == [cls_name]
    ids = rng.integers(0, 40, size=(2, 3, 6) if "MultipleChoice" in cls_name else (2, 6))
    want = model(ids)
    for fmt in ("safetensors", "h5"):
        loaded = cls.from_pretrained(folder, weights_format=fmt)
        assert loaded.loading_info.clean, loaded.loading_info
        got = loaded(ids)
        for key in want:
            np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(want[key]), err_msg=f"{fmt}/{key}")


def test_saved_folder_passes_the_fixture_parity(folders, tmp_path):
    """A folder we save from a converted Google checkpoint reproduces transformers' numbers."""
    model = tf_albert.AlbertForPreTraining.from_pretrained(folders["tf1"])
    model.save_pretrained(tmp_path / "ours")
    x, want = expected()
    for fmt in ("safetensors", "h5"):
        again = tf_albert.AlbertForPreTraining.from_pretrained(tmp_path / "ours", weights_format=fmt)
        assert max_diff(again(**head_inputs("pretraining", x)), want["pretraining"]) <= TOL


def test_save_is_atomic_and_keeps_other_files(tmp_path, monkeypatch):
    config = tf_albert.AlbertConfig(vocab_size=40, embedding_size=8, hidden_size=16, num_attention_heads=2,
                                    intermediate_size=20, num_hidden_layers=2)
    first = tf_albert.AlbertModel(config)
    folder = tmp_path / "ckpt"
    first.save_pretrained(folder)
    (folder / "README.md").write_text("my notes")
    (folder / "pytorch_model.bin").write_bytes(b"stale weights of an older save")
    before = {n: (folder / n).read_bytes() for n in os.listdir(folder)}

    second = tf_albert.AlbertModel(config)

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(api.hf_tf, "write_tf_h5", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        second.save_pretrained(folder)
    assert {n: (folder / n).read_bytes() for n in os.listdir(folder)} == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt"]  # no temporary folders left behind
    monkeypatch.undo()

    second.save_pretrained(folder)
    assert sorted(os.listdir(folder)) == ["README.md", "config.json", "model.safetensors", "tf_model.h5"]
    assert (folder / "README.md").read_text() == "my notes"
    assert sorted(os.listdir(tmp_path)) == ["ckpt"]
    reloaded = tf_albert.AlbertModel.from_pretrained(folder)
    np.testing.assert_array_equal(reloaded.albert.embeddings.word_embeddings.embeddings.numpy(),
                                  second.albert.embeddings.word_embeddings.embeddings.numpy())


def test_save_into_a_file_path_is_an_error(tmp_path):
    (tmp_path / "f").write_text("x")
    model = tf_albert.AlbertModel(tf_albert.AlbertConfig(vocab_size=40, embedding_size=8, hidden_size=16,
                                                         num_attention_heads=2, intermediate_size=20,
                                                         num_hidden_layers=1))
    with pytest.raises(NotADirectoryError):
        model.save_pretrained(tmp_path / "f")
    with pytest.raises(ValueError, match="formats"):
        model.save_pretrained(tmp_path / "g", formats=("onnx",))


def test_save_with_tokenizer_and_load_tokenizer_back(tmp_path):
    from tf_albert.tokenization import AlbertTokenizer

    spm = SPM
    tok = AlbertTokenizer(vocab_file=spm)
    model = tf_albert.AlbertModel(tf_albert.AlbertConfig(vocab_size=tok.vocab_size, embedding_size=8, hidden_size=16,
                                                         num_attention_heads=2, intermediate_size=20,
                                                         num_hidden_layers=1))
    model.save_pretrained(tmp_path / "with_tok", tokenizer=tok)
    assert {"spiece.model", "tokenizer_config.json"} <= set(os.listdir(tmp_path / "with_tok"))
    again = AlbertTokenizer.from_pretrained(str(tmp_path / "with_tok"))
    assert again("Hello world")["input_ids"] == tok("Hello world")["input_ids"]
    model.save_pretrained(tmp_path / "from_path", tokenizer=spm)
    assert os.path.isfile(tmp_path / "from_path" / "spiece.model")
    with pytest.raises(TypeError, match="tokenizer must be"):
        model.save_pretrained(tmp_path / "bad", tokenizer=42)


def test_tf1_without_projection_when_embedding_equals_hidden(tmp_path):
    tf = pytest.importorskip("tensorflow")
    config = {"vocab_size": 30, "embedding_size": 16, "hidden_size": 16, "num_hidden_layers": 1,
              "num_attention_heads": 2, "intermediate_size": 20, "hidden_act": "gelu"}
    model = tf_albert.AlbertModel(tf_albert.AlbertConfig(**{**config, "hidden_act": "gelu_new"}))
    model.build()
    state = api.hf_state(model)
    google = {"bert/embeddings/word_embeddings": state["albert.embeddings.word_embeddings.weight"]}
    graph = tf.Graph()
    with graph.as_default():
        variables = [tf.compat.v1.get_variable(n, initializer=v) for n, v in google.items()]
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(tmp_path / "model.ckpt"), global_step=3, write_meta_graph=False)
    (tmp_path / "albert_config.json").write_text(json.dumps(config))
    loaded = tf_albert.AlbertModel.from_pretrained(tmp_path)
    kernel = loaded.albert.embeddings.embedding_hidden_mapping_in.kernel.numpy()
    np.testing.assert_array_equal(kernel, np.eye(16, dtype="float32"))
    assert any("identity" in note for note in loaded.loading_info.notes)


def test_mixed_precision_model_keeps_float32_variables(folders):
    model = tf_albert.AlbertForMaskedLM.from_pretrained(folders["safetensors"], dtype="mixed_float16")
    assert model.dtype_policy.name == "mixed_float16"
    assert {v.dtype for v in model.weights} == {"float32"}
    x, want = expected()
    assert max_diff(model(**head_inputs("masked_lm", x)), {"logits": want["masked_lm"]["logits"]}) < 0.05


def test_non_finite_weights_are_reported(folders, tmp_path, caplog):
    from tf_albert.checkpoints import safetensors_io

    path = os.path.join(folders["safetensors"], "model.safetensors")
    header, _ = safetensors_io.read_header(path)
    state = {k: safetensors_io.read_tensor(path, k, header).copy() for k in header}
    state["albert.pooler.bias"][3] = np.nan
    folder = tmp_path / "nan"
    folder.mkdir()
    safetensors_io.write_safetensors(str(folder / "model.safetensors"), state, {"format": "pt"})
    (folder / "config.json").write_text(open(os.path.join(folders["safetensors"], "config.json")).read())
    with caplog.at_level(logging.WARNING, logger="tf_albert"):
        model = tf_albert.AlbertModel.from_pretrained(folder)
    assert any("NaN or infinite values in 1: albert.pooler.bias" in n for n in model.loading_info.notes)
    assert "NaN or infinite" in caplog.text
