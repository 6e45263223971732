"""KerasHub presets in and out (tests/fixtures/formats/keras_hub*: tools/make_format_fixtures.py keras_hub).

The fixture backbone is KerasHub's own conversion of tests/fixtures/checkpoints/hf_safetensors (2 groups x 2
inner blocks), saved with `AlbertTextClassifier.save_to_preset` (num_classes 3) and
`AlbertMaskedLM.save_to_preset`; keras_hub.npz holds KerasHub's outputs on the checkpoint fixture's inputs.
"""

import json
import os

import h5py
import numpy as np
import pytest

import tf_albert
from tests.helpers import (
    CHECKPOINTS,
    SPM,
    expected,
    format_ids,
    format_outputs,
    materialize_format,
    tokenizer_corpus,
)
from tf_albert.checkpoints import keras_hub

TOL = 1e-5


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("presets")
    return {name: materialize_format(name, str(root / name)) for name in ("keras_hub", "keras_hub_mlm")}


@pytest.fixture(scope="module")
def feed():
    x, _ = expected()
    return {k: x[k] for k in ("input_ids", "attention_mask", "token_type_ids")}


def _diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def test_backbone_outputs_equal_keras_hub(presets, feed):
    want = format_outputs("keras_hub")
    model = tf_albert.AlbertModel.from_pretrained(presets["keras_hub"])
    out = model(**feed)
    assert model.config.num_hidden_groups == 2 and model.config.inner_group_num == 2
    assert _diff(out["last_hidden_state"], want["keras_hub/last_hidden_state"]) <= TOL
    assert _diff(out["pooler_output"], want["keras_hub/pooler_output"]) <= TOL
    assert model.loading_info.loaded == 73 and not model.loading_info.missing_keys
    assert model.loading_info.unexpected_keys == ["classifier.bias", "classifier.weight"]  # the task's head


def test_text_classifier_preset_is_sequence_classification(presets, feed):
    model = tf_albert.from_pretrained(presets["keras_hub"])  # class and num_labels from task.json
    assert type(model).__name__ == "AlbertForSequenceClassification" and model.config.num_labels == 3
    assert model.loading_info.clean
    assert _diff(model(**feed)["logits"], format_outputs("keras_hub")["keras_hub/logits"]) <= TOL


def test_masked_lm_preset(presets, feed):
    model = tf_albert.from_pretrained(presets["keras_hub_mlm"])
    assert type(model).__name__ == "AlbertForMaskedLM" and model.loading_info.clean
    # KerasHub's MaskedLMHead normalises with LayerNorm eps 1e-5, ALBERT (HF, ours) with 1e-12: close, not
    # equal
    diff = _diff(model(**feed)["logits"], format_outputs("keras_hub")["keras_hub_mlm/logits"])
    assert 0 < diff <= 5e-5, diff


@pytest.mark.parametrize(
    "cls_name",
    [
        "AlbertForPreTraining",
        "AlbertForQuestionAnswering",
        "AlbertForTokenClassification",
        "AlbertForMultipleChoice",
    ],
)
def test_other_heads_load_the_backbone(presets, cls_name):
    cls = getattr(tf_albert, cls_name)
    if cls_name == "AlbertForMultipleChoice":  # its classifier is [1, H]; the preset's is [3, H]
        with pytest.raises(
            ValueError, match=r"classifier.weight: checkpoint shape \(3, 16\), model expects \(1, 16\)"
        ):
            cls.from_pretrained(presets["keras_hub"])
        model = cls.from_pretrained(presets["keras_hub"], ignore_mismatched_sizes=True)
    else:
        model = cls.from_pretrained(presets["keras_hub"], num_labels=3)
    assert model.loading_info.loaded >= 71  # 73 backbone weights, less the pooler of heads without one
    assert all(not k.startswith("albert.") for k in model.loading_info.missing_keys), (
        model.loading_info.missing_keys
    )


def test_preset_tokenizer_is_keras_hubs(presets):
    """KerasHub's tokenizer is plain SentencePiece (no lower-casing, no HF text rules): its ids, all."""
    tok = tf_albert.AlbertTokenizer.from_pretrained(presets["keras_hub"])
    assert type(tok).__name__ == "KerasHubAlbertTokenizer" and not tok.do_lower_case
    texts = tokenizer_corpus()["singles"]
    want = format_ids()["keras_hub"]["ids"]
    same = sum(tok.encode(t, add_special_tokens=False) == w for t, w in zip(texts, want))
    assert (same, len(texts)) == (165, 165)
    hf_rules = tf_albert.AlbertTokenizer(vocab_file=SPM, do_lower_case=False, keep_accents=True)
    assert sum(hf_rules.encode(t, add_special_tokens=False) == w for t, w in zip(texts, want)) == 111


def _datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, obj: out.__setitem__(
                name, obj[()] if isinstance(obj, h5py.Dataset) else dict(obj.attrs)
            )
        )
    return out


def test_saved_preset_is_keras_hubs_file(presets, tmp_path):
    """Our save of hf_safetensors writes the very file KerasHub wrote from it: same groups, names, values.
    (tools/make_format_fixtures.py keras_hub also loads such a save with KerasHub's from_preset: 0.0.)"""
    model = tf_albert.AlbertModel.from_pretrained(os.path.join(CHECKPOINTS, "hf_safetensors"))
    out = str(tmp_path / "ours")
    model.save_pretrained(out, formats=("keras_hub",), tokenizer=SPM)
    assert sorted(os.listdir(out)) == [
        "assets",
        "config.json",
        "metadata.json",
        "model.weights.h5",
        "tokenizer.json",
    ]
    ours, theirs = (
        _datasets(os.path.join(out, "model.weights.h5")),
        _datasets(os.path.join(presets["keras_hub"], "model.weights.h5")),
    )
    assert sorted(ours) == sorted(theirs)
    for name, value in theirs.items():
        if isinstance(value, dict):
            assert ours[name] == value, name
        else:
            assert ours[name].shape == value.shape and _diff(ours[name], value) <= 1e-7, name
    with (
        open(os.path.join(out, "config.json")) as a,
        open(os.path.join(presets["keras_hub"], "config.json")) as b,
    ):
        assert json.load(a) == json.load(b)
    with (
        open(os.path.join(out, "tokenizer.json")) as a,
        open(os.path.join(presets["keras_hub"], "tokenizer.json")) as b,
    ):
        assert json.load(a) == json.load(b)
    with open(os.path.join(out, keras_hub.VOCAB_PATH), "rb") as a, open(SPM, "rb") as b:
        assert a.read() == b.read()
    reloaded = tf_albert.AlbertModel.from_pretrained(out)
    ids = np.array([[2, 10, 11, 3]])
    assert _diff(reloaded(ids)["last_hidden_state"], model(ids)["last_hidden_state"]) == 0.0


def test_keras_hub_format_is_saved_alone(tmp_path):
    model = tf_albert.AlbertModel(
        tf_albert.AlbertConfig(
            vocab_size=20,
            embedding_size=4,
            hidden_size=8,
            num_attention_heads=2,
            intermediate_size=8,
            num_hidden_layers=1,
        )
    )
    with pytest.raises(ValueError, match=r"\('keras_hub',\) alone"):
        model.save_pretrained(str(tmp_path / "x"), formats=("safetensors", "keras_hub"))
    bad = tf_albert.AlbertModel(model.config.copy(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.0))
    with pytest.raises(ValueError, match="one dropout rate"):
        bad.save_pretrained(str(tmp_path / "y"), formats=("keras_hub",))
    assert not os.path.exists(tmp_path / "y")


def test_not_a_preset_config_is_named(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps({"registered_name": "keras_hub>BertBackbone", "config": {}})
    )
    (tmp_path / "model.weights.h5").write_bytes(b"")
    assert not keras_hub.is_preset(str(tmp_path))
    with pytest.raises(ValueError, match="not a KerasHub ALBERT preset config"):
        keras_hub.read_config(str(tmp_path))
