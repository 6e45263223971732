import json
import os

import pytest

from tf_albert import PRESETS, AlbertConfig


def test_defaults_are_hf_defaults():
    c = AlbertConfig()
    assert (c.vocab_size, c.embedding_size, c.hidden_size, c.num_hidden_layers) == (30000, 128, 4096, 12)
    assert (c.num_hidden_groups, c.inner_group_num, c.num_attention_heads, c.intermediate_size) == (1, 1, 64, 16384)
    assert c.hidden_act == "gelu_new"
    assert (c.hidden_dropout_prob, c.attention_probs_dropout_prob, c.classifier_dropout_prob) == (0.0, 0.0, 0.1)
    assert (c.max_position_embeddings, c.type_vocab_size, c.initializer_range, c.layer_norm_eps) == (512, 2, 0.02, 1e-12)
    assert (c.pad_token_id, c.bos_token_id, c.eos_token_id) == (0, 2, 3)
    assert c.num_labels == 2 and c.id2label == {0: "LABEL_0", 1: "LABEL_1"} and c.problem_type is None


@pytest.mark.parametrize(
    "name,sizes",
    [
        ("albert-base-v2", (768, 12, 12, 3072, "gelu_new", 0.0)),
        ("albert-large-v2", (1024, 24, 16, 4096, "gelu_new", 0.0)),
        ("albert-xlarge-v2", (2048, 24, 16, 8192, "gelu_new", 0.0)),
        ("albert-xxlarge-v2", (4096, 12, 64, 16384, "gelu_new", 0.0)),
        ("albert-base-v1", (768, 12, 12, 3072, "gelu", 0.1)),
        ("albert-large-v1", (1024, 24, 16, 4096, "gelu", 0.1)),
        ("albert-xlarge-v1", (2048, 24, 16, 8192, "gelu", 0.1)),
        ("albert-xxlarge-v1", (4096, 12, 64, 16384, "gelu", 0.0)),
    ],
)
def test_presets(name, sizes):
    c = AlbertConfig.from_preset(name)
    assert (c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.intermediate_size, c.hidden_act,
            c.hidden_dropout_prob) == sizes
    assert c.vocab_size == 30000 and c.embedding_size == 128
    assert AlbertConfig.from_pretrained("albert/" + name) == c
    assert len(PRESETS) == 8


def test_preset_overrides_and_unknown_preset():
    c = AlbertConfig.from_preset("albert-base-v2", num_labels=5, hidden_dropout_prob=0.1)
    assert c.num_labels == 5 and c.hidden_dropout_prob == 0.1 and c.hidden_size == 768
    with pytest.raises(ValueError, match="unknown preset 'albert-huge'"):
        AlbertConfig.from_preset("albert-huge")


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(hidden_size=30, num_attention_heads=4), ValueError, r"hidden_size \(30\) is not a multiple of num_attention_heads \(4\)"),
        (dict(num_hidden_layers=5, num_hidden_groups=2), ValueError, r"num_hidden_layers \(5\) is not divisible by num_hidden_groups \(2\)"),
        (dict(vocab_size=0), ValueError, "vocab_size must be positive, got 0"),
        (dict(intermediate_size=-3), ValueError, "intermediate_size must be positive, got -3"),
        (dict(hidden_size=64.0), TypeError, "hidden_size must be an int, got 64.0"),
        (dict(hidden_act="gelu_fancy"), ValueError, "hidden_act 'gelu_fancy' is not supported"),
        (dict(hidden_dropout_prob=1.5), ValueError, "hidden_dropout_prob must be a number in"),
        (dict(layer_norm_eps=0), ValueError, "layer_norm_eps must be a positive number"),
        (dict(problem_type="ranking"), ValueError, "problem_type 'ranking'"),
        (dict(num_labels=0), ValueError, "num_labels must be a positive int, got 0"),
        (dict(position_embedding_type="relative_key"), ValueError, "position_embedding_type 'relative_key'"),
    ],
)
def test_validation_errors_name_the_value(kwargs, error, match):
    with pytest.raises(error, match=match):
        AlbertConfig(**kwargs)


@pytest.mark.parametrize("act", ["gelu", "gelu_new", "relu", "swish", "silu", "gelu_pytorch_tanh"])
def test_activations_accepted(act):
    assert AlbertConfig(hidden_act=act).hidden_act == act


def test_labels():
    c = AlbertConfig(id2label={"0": "neg", "1": "neu", "2": "pos"})
    assert c.num_labels == 3 and c.label2id == {"neg": 0, "neu": 1, "pos": 2} and c.id2label[2] == "pos"
    c.num_labels = 4
    assert c.id2label == {i: f"LABEL_{i}" for i in range(4)}
    with pytest.raises(ValueError, match="num_labels is 3 but id2label has 2 entries"):
        AlbertConfig(num_labels=3, id2label={0: "a", 1: "b"})


def test_hf_config_json_round_trip(tmp_path):
    # A config.json as HF writes it, with fields we do not use: they survive the round trip.
    hf = {
        "architectures": ["AlbertForMaskedLM"], "attention_probs_dropout_prob": 0, "bos_token_id": 2,
        "classifier_dropout_prob": 0.1, "down_scale_factor": 1, "embedding_size": 128, "eos_token_id": 3,
        "gap_size": 0, "hidden_act": "gelu_new", "hidden_dropout_prob": 0, "hidden_size": 768,
        "initializer_range": 0.02, "inner_group_num": 1, "intermediate_size": 3072, "layer_norm_eps": 1e-12,
        "max_position_embeddings": 512, "model_type": "albert", "net_structure_type": 0, "num_attention_heads": 12,
        "num_hidden_groups": 1, "num_hidden_layers": 12, "num_memory_blocks": 0, "pad_token_id": 0,
        "type_vocab_size": 2, "vocab_size": 30000, "transformers_version": "5.0.0",
        "id2label": {"0": "NEG", "1": "POS"}, "label2id": {"NEG": 0, "POS": 1},
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(hf))
    c = AlbertConfig.from_pretrained(str(tmp_path))
    assert c == AlbertConfig.from_preset("albert-base-v2", id2label={0: "NEG", 1: "POS"}, **{
        k: hf[k] for k in ("architectures", "down_scale_factor", "gap_size", "net_structure_type",
                           "num_memory_blocks", "transformers_version")})
    out = tmp_path / "out"
    c.save_pretrained(out)
    written = json.loads((out / "config.json").read_text())
    for key, value in hf.items():
        assert written[key] == value, key
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]
    assert AlbertConfig.from_pretrained(str(out)) == c


def test_from_pretrained_overrides_num_labels(tmp_path):
    AlbertConfig(id2label={0: "a", 1: "b"}).save_pretrained(tmp_path)
    c = AlbertConfig.from_pretrained(str(tmp_path), num_labels=3)
    assert c.num_labels == 3


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a preset"):
        AlbertConfig.from_pretrained(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="no config.json"):
        AlbertConfig.from_pretrained(str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        AlbertConfig.from_pretrained(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="model_type 'bert'"):
        AlbertConfig.from_pretrained(str(tmp_path))


def test_group_of_layer_matches_reference_formula():
    c = AlbertConfig(num_hidden_layers=12, num_hidden_groups=3, hidden_size=64, num_attention_heads=4)
    assert [c.group_of_layer(i) for i in range(12)] == [0] * 4 + [1] * 4 + [2] * 4
    assert c.layers_per_group == 4 and c.head_size == 16


def test_saved_files_get_default_permissions_not_private(tmp_path):
    import stat

    from tf_albert.utils.fileio import _umask

    path = AlbertConfig().save_pretrained(tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~_umask()
