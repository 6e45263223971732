"""`attn_implementation` ("eager" / "sdpa", HF's names): the config field, the constructor and
`from_pretrained` arguments, config.json round trips that HF reads, the eager fallback for attention
probabilities, training, and the measured defaults. Numbers against HF: tests/model/test_parity.py (every
backend); that the fused function really runs on PyTorch and JAX: tests/backends/backend_suite.py."""

import json
import warnings

import keras
import numpy as np
import pytest

import tf_albert
from tests.helpers import own_loss_batch, random_ids, tiny_config
from tf_albert.model import layers
from tf_albert.model.config import AlbertConfig


def _implementations(model):
    return {block.attention.implementation for block in model.albert.encoder.blocks}


def test_config_field_validates_and_round_trips():
    assert AlbertConfig().attn_implementation is None
    assert "attn_implementation" not in AlbertConfig().to_dict()  # unchosen: not written
    config = AlbertConfig(attn_implementation="sdpa")
    assert config.to_dict()["attn_implementation"] == "sdpa"
    assert AlbertConfig.from_dict(config.to_dict()).attn_implementation == "sdpa"
    with pytest.raises(ValueError, match=r"attn_implementation 'flash_attention_2' is not supported; choose "
                                         r"one of 'eager', 'sdpa'"):
        AlbertConfig(attn_implementation="flash_attention_2")


@pytest.mark.parametrize("choice", ["eager", "sdpa"])
def test_constructor_and_from_pretrained_take_hf_argument(choice, tmp_path):
    model = tf_albert.AlbertModel(tiny_config(), attn_implementation=choice)
    assert model.config.attn_implementation == choice and _implementations(model) == {choice}
    model.build()
    model.save_pretrained(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["attn_implementation"] == choice
    assert _implementations(tf_albert.AlbertModel.from_pretrained(tmp_path / "m")) == {choice}
    other = "eager" if choice == "sdpa" else "sdpa"
    reloaded = tf_albert.AlbertModel.from_pretrained(tmp_path / "m", attn_implementation=other)
    assert _implementations(reloaded) == {other}
    clone = tf_albert.AlbertModel.from_config(model.get_config())
    assert _implementations(clone) == {choice}


def test_hf_loads_the_folder_with_the_same_implementation(tmp_path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    model = tf_albert.AlbertModel(tiny_config(), attn_implementation="eager")
    model.build()
    model.save_pretrained(tmp_path / "m")
    hf = transformers.AlbertModel.from_pretrained(str(tmp_path / "m"))
    assert hf.config._attn_implementation == "eager"


def test_default_is_the_measured_one_for_this_backend():
    expected = layers.DEFAULT_ATTN_IMPLEMENTATION[(keras.backend.backend(), "cpu")]
    assert layers.resolve_attn_implementation(None) == expected
    assert _implementations(tf_albert.AlbertModel(tiny_config())) == {expected}


def test_output_attentions_falls_back_to_eager_and_says_so_once(monkeypatch):
    monkeypatch.setattr(layers, "_warned_eager_fallback", False)
    keras.utils.set_random_seed(0)
    sdpa = tf_albert.AlbertModel(tiny_config(), attn_implementation="sdpa")
    sdpa.build()
    eager = tf_albert.AlbertModel(tiny_config(), attn_implementation="eager")
    eager.build()
    eager.set_weights(sdpa.get_weights())
    ids = random_ids((2, 7))
    mask = np.ones((2, 7), "int32")
    mask[1, 4:] = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = sdpa(ids, attention_mask=mask, output_attentions=True)
        sdpa(ids, attention_mask=mask, output_attentions=True)
    messages = [str(w.message) for w in caught if "cannot return attention probabilities" in str(w.message)]
    assert len(messages) == 1, messages
    want = eager(ids, attention_mask=mask, output_attentions=True)
    for got, ref in zip(first["attentions"], want["attentions"]):
        np.testing.assert_allclose(np.asarray(got), np.asarray(ref), atol=1e-6)
    np.testing.assert_allclose(np.asarray(first["last_hidden_state"]), np.asarray(want["last_hidden_state"]),
                               atol=1e-5)


def test_fully_padded_row_stays_finite_and_equals_eager():
    keras.utils.set_random_seed(0)
    outputs = {}
    for choice in ("eager", "sdpa"):
        model = tf_albert.AlbertModel(tiny_config(), attn_implementation=choice)
        model.build()
        if outputs:
            model.set_weights(weights)
        weights = model.get_weights()
        mask = np.array([[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]], "int32")
        outputs[choice] = np.asarray(model(random_ids((2, 5)), attention_mask=mask)["last_hidden_state"])
    assert np.isfinite(outputs["sdpa"]).all()
    np.testing.assert_allclose(outputs["sdpa"], outputs["eager"], atol=1e-5)


@pytest.mark.parametrize("attention_dropout", [0.0, 0.1])
def test_sdpa_trains_like_eager(attention_dropout):
    """Own-loss fit from the same weights: the same losses (with attention dropout, sdpa runs eager in
    training: the fused op has no dropout, and the seeded masks are the eager path's)."""
    histories = {}
    for choice in ("eager", "sdpa"):
        keras.utils.set_random_seed(0)
        config = tiny_config(num_labels=3, attention_probs_dropout_prob=attention_dropout)
        model = tf_albert.AlbertForSequenceClassification(config, attn_implementation=choice)
        x, y = own_loss_batch("AlbertForSequenceClassification", np.random.default_rng(0), 8, 6)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        histories[choice] = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(histories["sdpa"], histories["eager"], rtol=1e-4)
    assert histories["sdpa"][-1] < histories["sdpa"][0]
