"""`tf-albert convert` from every format of issue 16 (KerasHub presets, TF2 checkpoints, tokenizer.json and
WordPiece folders, num_labels=3 SOP heads) and into a KerasHub preset (`--to keras_hub`)."""

import os
import shutil

import numpy as np
import pytest

import tf_albert
from tests.helpers import FORMATS, SPM, expected, format_outputs, materialize, materialize_format
from tf_albert.checkpoints import convert


def _feed():
    x, _ = expected()
    return {k: x[k] for k in ("input_ids", "attention_mask", "token_type_ids")}


def _diff(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def test_keras_hub_preset_to_hf(tmp_path, capsys):
    src = materialize_format("keras_hub", str(tmp_path / "preset"))
    dst = tmp_path / "hf"
    assert convert.main([src, str(dst)]) == 0
    out = capsys.readouterr().out
    assert "(keras_hub)" in out and "model class      AlbertForSequenceClassification" in out
    assert "round trip       max-abs-diff 0.00e+00" in out and "KerasHub tokenizer is saved as an HF" in out
    assert sorted(os.listdir(dst)) == [
        "config.json",
        "model.safetensors",
        "special_tokens_map.json",
        "spiece.model",
        "tf_model.h5",
        "tokenizer_config.json",
    ]
    model = tf_albert.from_pretrained(str(dst))
    assert _diff(model(**_feed())["logits"], format_outputs("keras_hub")["keras_hub/logits"]) <= 1e-5
    assert tf_albert.AlbertTokenizer.from_pretrained(str(dst)).do_lower_case is False


def test_tf2_checkpoint_to_hf(tmp_path, capsys):
    dst = tmp_path / "hf"
    assert convert.main([os.path.join(FORMATS, "tf2"), str(dst)]) == 0
    out = capsys.readouterr().out
    assert "(tf2)" in out and "weights loaded   25" in out and "Model Garden's own code is checked" in out
    model = tf_albert.AlbertModel.from_pretrained(str(dst))
    assert (
        _diff(model(**_feed())["last_hidden_state"], format_outputs("tf2")["tf2/last_hidden_state"]) <= 1e-5
    )


def test_hf_to_keras_hub_preset(tmp_path, capsys):
    src = materialize("safetensors", str(tmp_path / "hf"))
    dst = tmp_path / "preset"
    assert (
        convert.main([src, str(dst), "--to", "keras_hub", "--model-class", "model", "--tokenizer", SPM]) == 0
    )
    assert "round trip       max-abs-diff 0.00e+00" in capsys.readouterr().out
    assert sorted(os.listdir(dst)) == [
        "assets",
        "config.json",
        "metadata.json",
        "model.weights.h5",
        "tokenizer.json",
    ]
    model = tf_albert.AlbertModel.from_pretrained(str(dst))
    want = format_outputs("keras_hub")  # KerasHub's own conversion of the same checkpoint
    assert _diff(model(**_feed())["last_hidden_state"], want["keras_hub/last_hidden_state"]) <= 1e-5


@pytest.mark.parametrize(
    "name, files, cls",
    [
        ("tokenizer_json", ["tokenizer.json", "tokenizer_config.json"], "AlbertTokenizerFast"),
        ("wordpiece", ["tokenizer_config.json", "vocab.txt"], "AlbertWordPieceTokenizer"),
    ],
)
def test_tokenizer_folders_travel_with_the_weights(tmp_path, name, files, cls):
    pytest.importorskip("tokenizers")
    src = materialize("safetensors", str(tmp_path / "src"))
    tokenizer = materialize_format(name, str(tmp_path / "tok"))
    for f in os.listdir(tokenizer):
        shutil.copy(os.path.join(tokenizer, f), src)
    dst = tmp_path / "dst"
    summary = convert.convert(src, str(dst), check=False, stream=open(os.devnull, "w"))
    assert summary["tokenizer"].startswith(cls)
    assert set(files) <= set(os.listdir(dst))
    ours, theirs = (tf_albert.AlbertTokenizer.from_pretrained(p) for p in (str(dst), tokenizer))
    assert type(ours).__name__ == cls
    text = "Zoë's 1,000 ``naïve'' cafés [MASK] 東京"
    assert ours(text)["input_ids"] == theirs(text)["input_ids"]


def test_sop_head_of_three_labels_converts(tmp_path):
    summary = convert.convert(
        os.path.join(FORMATS, "sop3"), str(tmp_path / "out"), stream=open(os.devnull, "w")
    )
    assert summary["model_class"] == "AlbertForPreTraining" and summary["missing"] == []
    model = tf_albert.AlbertForPreTraining.from_pretrained(str(tmp_path / "out"))
    assert _diff(model(**_feed())["sop_logits"], format_outputs("hf5")["sop3/sop_logits"]) <= 1e-5


def test_unknown_target_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="to must be one of \\['hf', 'keras_hub'\\], got 'onnx'"):
        convert.convert(os.path.join(FORMATS, "sop3"), str(tmp_path / "out"), to="onnx")
