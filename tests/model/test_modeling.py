"""Model structure, input handling, errors and serialisation (tiny configs)."""

import keras
import numpy as np
import pytest

import tf_albert
from tests.helpers import random_ids, tiny_config
from tf_albert import (
    AlbertConfig,
    AlbertForMaskedLM,
    AlbertForMultipleChoice,
    AlbertForPreTraining,
    AlbertForQuestionAnswering,
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
    AlbertModel,
    TransformerBlock,
)

B, L = 2, 7

EXPECTED_OUTPUTS = {
    AlbertModel: {"last_hidden_state": (B, L, 16), "pooler_output": (B, 16)},
    AlbertForPreTraining: {"prediction_logits": (B, L, 99), "sop_logits": (B, 3)},  # num_labels, as HF
    AlbertForMaskedLM: {"logits": (B, L, 99)},
    AlbertForSequenceClassification: {"logits": (B, 3)},
    AlbertForMultipleChoice: {"logits": (B, 4)},
    AlbertForTokenClassification: {"logits": (B, L, 3)},
    AlbertForQuestionAnswering: {"start_logits": (B, L), "end_logits": (B, L)},
}


def _inputs(cls, seed=0):
    shape = (B, 4, L) if cls is AlbertForMultipleChoice else (B, L)
    ids = random_ids(shape, seed=seed)
    mask = np.ones(shape, "int32")
    mask[..., -2:] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros(shape, "int32")}


@pytest.mark.parametrize("cls", list(EXPECTED_OUTPUTS))
def test_output_keys_and_shapes(cls):
    model = cls(tiny_config(num_labels=3))
    out = model(**_inputs(cls), output_hidden_states=True, output_attentions=True)
    expected = EXPECTED_OUTPUTS[cls]
    assert set(out) == set(expected) | {"hidden_states", "attentions"}
    for key, shape in expected.items():
        assert tuple(out[key].shape) == shape, key
        assert out[key].dtype == "float32"
    rows = B * 4 if cls is AlbertForMultipleChoice else B
    assert len(out["hidden_states"]) == 4 and tuple(out["hidden_states"][0].shape) == (rows, L, 16)
    assert len(out["attentions"]) == 3 and tuple(out["attentions"][0].shape) == (rows, 2, L, L)
    # Padded keys get exactly zero attention.
    assert np.all(np.asarray(out["attentions"][1])[..., -2:] == 0.0)
    assert set(model(**_inputs(cls))) == set(expected)


def test_default_config_has_exactly_one_transformer_block_called_every_layer(monkeypatch):
    model = AlbertModel(tiny_config(num_hidden_layers=5))
    model.build()
    blocks = [layer for layer in model._flatten_layers() if isinstance(layer, TransformerBlock)]
    assert len(blocks) == 1
    calls = []
    original = TransformerBlock.call
    monkeypatch.setattr(TransformerBlock, "call", lambda self, *a, **k: calls.append(id(self)) or original(self, *a, **k))
    model(random_ids((1, 4)))
    assert calls == [id(blocks[0])] * 5


def test_groups_and_inner_groups_share_as_the_reference(monkeypatch):
    config = tiny_config(num_hidden_layers=6, num_hidden_groups=3, inner_group_num=2)
    model = AlbertModel(config)
    model.build()
    groups = model.albert.encoder.albert_layer_groups
    blocks = [b for g in groups for b in g]
    assert len(blocks) == 6 and len({id(b) for b in blocks}) == 6
    calls = []
    original = TransformerBlock.call
    monkeypatch.setattr(TransformerBlock, "call", lambda self, *a, **k: calls.append(id(self)) or original(self, *a, **k))
    model(random_ids((1, 4)))
    # layer i runs group int(i / 2): groups 0,0,1,1,2,2, each running its two inner blocks in order.
    want = [id(groups[g][i]) for g in (0, 0, 1, 1, 2, 2) for i in (0, 1)]
    assert calls == want


@pytest.mark.parametrize(
    "preset,count",
    [("albert-base-v2", 11_683_584), ("albert-large-v2", 17_683_968), ("albert-xlarge-v2", 58_724_864),
     ("albert-xxlarge-v2", 222_595_584)],
)
def test_backbone_parameter_counts_equal_hf(preset, count):
    model = AlbertModel(AlbertConfig.from_preset(preset))
    model.build()  # weights only: no forward pass
    assert model.count_params() == count


def test_head_parameter_counts():
    c = tiny_config(num_labels=3)
    backbone = AlbertModel(c)
    backbone.build()
    n = backbone.count_params()
    pooler = 16 * 16 + 16
    mlm = 16 * 8 + 8 + 2 * 8 + 99  # dense H→E, LayerNorm(E), decoder bias (decoder matrix is tied)
    expected = {
        AlbertForPreTraining: n + mlm + 16 * 3 + 3,  # the SOP head has num_labels outputs, as HF's
        AlbertForMaskedLM: n - pooler + mlm,
        AlbertForSequenceClassification: n + 16 * 3 + 3,
        AlbertForMultipleChoice: n + 16 + 1,
        AlbertForTokenClassification: n - pooler + 16 * 3 + 3,
        AlbertForQuestionAnswering: n - pooler + 16 * 2 + 2,
    }
    for cls, want in expected.items():
        model = cls(c)
        model.build()
        assert model.count_params() == want, cls.__name__


def test_mlm_decoder_is_tied_to_word_embeddings():
    model = AlbertForMaskedLM(tiny_config())
    ids = random_ids((1, 5))
    before = np.asarray(model(ids)["logits"])
    table = model.albert.embeddings.word_embeddings.embeddings
    table.assign(table.numpy() * 2.0)
    after = np.asarray(model(ids)["logits"])
    assert not np.allclose(before, after)
    assert not any("decoder" in w.path for w in model.weights)


def test_input_forms_agree():
    model = AlbertForSequenceClassification(tiny_config())
    batch = _inputs(AlbertForSequenceClassification)
    a = model(batch["input_ids"], attention_mask=batch["attention_mask"], token_type_ids=batch["token_type_ids"])
    b = model(**batch)
    c = model(batch)
    d = model({**batch, "special_tokens_mask": np.zeros_like(batch["input_ids"])})  # tokenizer extras ignored
    for out in (b, c, d):
        np.testing.assert_array_equal(a["logits"], out["logits"])
    f = model(batch["input_ids"], attention_mask=batch["attention_mask"].astype(bool))
    np.testing.assert_allclose(a["logits"], f["logits"], atol=1e-6)


def test_defaults_for_optional_inputs():
    model = AlbertModel(tiny_config())
    ids = random_ids((2, 6))
    plain = model(ids)["last_hidden_state"]
    explicit = model(ids, attention_mask=np.ones((2, 6), "int32"), token_type_ids=np.zeros((2, 6), "int32"),
                     position_ids=np.arange(6)[None])["last_hidden_state"]
    np.testing.assert_allclose(plain, explicit, atol=1e-6)


def test_padding_does_not_change_real_tokens():
    model = AlbertModel(tiny_config())
    ids = random_ids((1, 5))
    short = model(ids)["last_hidden_state"]
    padded_ids = np.concatenate([ids, np.zeros((1, 3), "int32")], axis=1)
    mask = np.array([[1] * 5 + [0] * 3])
    long = model(padded_ids, attention_mask=mask)["last_hidden_state"]
    np.testing.assert_allclose(short, np.asarray(long)[:, :5], atol=1e-5)


def test_training_flag_enables_dropout():
    model = AlbertForSequenceClassification(tiny_config(hidden_dropout_prob=0.3))
    ids = random_ids((2, 6))
    a, b = model(ids, training=False)["logits"], model(ids, training=False)["logits"]
    np.testing.assert_array_equal(a, b)
    c = model(ids, training=True)["logits"]
    assert not np.allclose(a, c)


ERROR_CASES = [
    (dict(input_ids=np.array([[2, 5, 99]])), ValueError, r"input_ids contains 99 at \[0, 2\]; vocab_size is 99"),
    (dict(input_ids=np.array([[2, -1, 5]])), ValueError, r"input_ids contains -1 at \[0, 1\]; vocab_size is 99"),
    (dict(input_ids=np.zeros((1, 33), "int32")), ValueError, "input_ids has sequence length 33; max_position_embeddings is 32"),
    (dict(input_ids=np.ones((2, 5), "int32"), attention_mask=np.ones((2, 4), "int32")), ValueError,
     r"attention_mask has shape \(2, 4\) but input_ids has shape \(2, 5\)"),
    (dict(input_ids=np.ones((2, 5), "int32"), token_type_ids=np.ones((1, 5), "int32")), ValueError,
     r"token_type_ids has shape \(1, 5\) but input_ids has shape \(2, 5\)"),
    (dict(input_ids=np.ones((1, 3), "int32"), token_type_ids=np.array([[0, 1, 2]])), ValueError,
     r"token_type_ids contains 2 at \[0, 2\]; type_vocab_size is 2"),
    (dict(input_ids=np.ones((1, 3), "int32"), attention_mask=np.array([[1, 2, 0]])), ValueError,
     r"attention_mask contains 2 at \[0, 1\]"),
    (dict(input_ids=np.ones((1, 3), "int32"), position_ids=np.array([[0, 1, 32]])), ValueError,
     r"position_ids contains 32 at \[0, 2\]"),
    (dict(input_ids=np.ones((1, 3), "float32")), TypeError, "input_ids must be an integer tensor, got dtype float32"),
    (dict(input_ids=np.ones((3,), "int32")), ValueError, r"input_ids must have rank 2 \[batch, seq_len\], got shape \(3,\)"),
    (dict(input_ids=np.ones((1, 2, 3), "int32")), ValueError, "must have rank 2"),
    (dict(input_ids=np.ones((1, 3), "int32"), inputs_embeds=np.ones((1, 3, 8), "float32")), ValueError,
     r"give exactly one of input_ids and inputs_embeds \(both were given\)"),
    (dict(attention_mask=np.ones((1, 3), "int32")), ValueError, r"neither was given"),
    (dict(inputs_embeds=np.ones((1, 3, 7), "float32")), ValueError, "inputs_embeds has last dimension 7; embedding_size is 8"),
    (dict(input_ids=np.ones((1, 3), "int32"), labelz=np.ones((1,), "int32")), TypeError, r"unexpected argument\(s\) \['labelz'\]"),
    (dict(input_ids={"input_ids": np.ones((1, 3), "int32"), "atention_mask": np.ones((1, 3))}), ValueError,
     "input dict has unknown key 'atention_mask'"),
    (dict(input_ids=np.ones((1, 3), "int32"), labels=np.array([3])), ValueError, r"labels contains 3 at \[0\]; num_labels is 2"),
    (dict(input_ids=np.ones((1, 3), "int32"), labels=np.array([0.5])), ValueError, None),  # float labels → multi-label shape error
]


@pytest.mark.parametrize("kwargs,error,match", ERROR_CASES)
def test_bad_input_gives_clear_error(kwargs, error, match):
    model = AlbertForSequenceClassification(tiny_config())
    with pytest.raises(error, match=match):
        model(**kwargs)


def test_nested_list_input_is_accepted_and_ragged_rejected_with_hint():
    model = AlbertModel(tiny_config())
    np.testing.assert_array_equal(model([[2, 7, 3]])["last_hidden_state"],
                                  model(np.array([[2, 7, 3]]))["last_hidden_state"])
    with pytest.raises(TypeError, match="rectangular nested list of ints.*padding=True"):
        model([[2, 3], [2, 7, 3]])


def test_multiple_choice_rank_and_label_checks():
    model = AlbertForMultipleChoice(tiny_config())
    with pytest.raises(ValueError, match=r"input_ids must have rank 3 \[batch, num_choices, seq_len\]"):
        model(random_ids((2, 5)))
    with pytest.raises(ValueError, match=r"labels contains 4 at \[1\]; there are 4 choices"):
        model(random_ids((2, 4, 5)), labels=np.array([0, 4]))


def test_bad_ids_fail_in_a_tf_graph_before_lookup():
    import tensorflow as tf

    model = AlbertModel(tiny_config())
    fn = tf.function(lambda ids: model(ids)["last_hidden_state"])
    fn(tf.constant(random_ids((1, 4))))
    with pytest.raises(tf.errors.InvalidArgumentError, match="input_ids contains.*150.*vocab_size is 99"):
        fn(tf.constant([[2, 150, 3, 4]]))


@pytest.mark.parametrize("cls", list(EXPECTED_OUTPUTS))
def test_get_config_and_keras_file_round_trip(cls, tmp_path):
    config = tiny_config(num_labels=3, num_hidden_groups=3, inner_group_num=2, id2label={0: "a", 1: "b", 2: "c"})
    model = cls(config, name="my_albert")
    inputs = _inputs(cls)
    expected = model(**inputs)
    clone = cls.from_config(model.get_config())
    assert clone.config == config and clone.name == "my_albert"
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is cls and loaded.config == config
    out = loaded(**inputs)
    for key in expected:
        np.testing.assert_array_equal(np.asarray(out[key]), np.asarray(expected[key]), err_msg=key)


def test_top_level_exports():
    for name in ("AlbertConfig", "AlbertModel", "AlbertForPreTraining", "AlbertForMaskedLM",
                 "AlbertForSequenceClassification", "AlbertForMultipleChoice", "AlbertForTokenClassification",
                 "AlbertForQuestionAnswering", "TransformerBlock", "AlbertEmbeddings"):
        assert hasattr(tf_albert, name)
