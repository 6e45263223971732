"""Parity with HF transformers' PyTorch ALBERT: same weights in, same numbers out (max-abs-diff ≤ 1e-5).

The fixtures (tests/fixtures/parity, made by tools/make_parity_fixtures.py with transformers v5 and torch)
hold random non-trivial weights, padded inputs and every output, hidden states and attentions included,
for a shared config (1 group, 1 block) and a grouped one (2 groups × 2 inner blocks), from HF's eager
attention; `hf_sdpa.npz` holds the same heads' outputs from HF's `attn_implementation="sdpa"` in float32 and
in bfloat16. The file runs on every Keras backend: tests/backends runs it again on JAX and PyTorch.
"""

import functools
import os

import keras
import numpy as np
import pytest

import tf_albert
from tests.helpers import PARITY, load_parity
from tf_albert.checkpoints import load_hf_state_dict

TOL = 1e-5
HEADS = {
    "model": tf_albert.AlbertModel,
    "pretraining": tf_albert.AlbertForPreTraining,
    "masked_lm": tf_albert.AlbertForMaskedLM,
    "seqcls_single": tf_albert.AlbertForSequenceClassification,
    "seqcls_regression": tf_albert.AlbertForSequenceClassification,
    "seqcls_multilabel": tf_albert.AlbertForSequenceClassification,
    "multiple_choice": tf_albert.AlbertForMultipleChoice,
    "token_classification": tf_albert.AlbertForTokenClassification,
    "question_answering": tf_albert.AlbertForQuestionAnswering,
}


def _numpy(x):
    return keras.ops.convert_to_numpy(x)  # also PyTorch tensors that require grad


def _flatten(outputs):
    flat = {}
    for key, value in outputs.items():
        if isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                flat[f"{key}/{i}"] = _numpy(v)
        else:
            flat[key] = _numpy(value)
    return flat


def _build(variant, head, **model_kwargs):
    config, weights, inputs, expected = load_parity(variant, head)
    model = HEADS[head](config, **model_kwargs)
    model.build()
    report = load_hf_state_dict(model, weights, strict=False)
    assert report["missing"] == [], report
    # The fixture's backbone also carries the pooler / MLM head; heads without them leave those unused.
    assert all(n.startswith(("albert.pooler", "predictions.")) for n in report["unexpected"]), report
    return model, inputs, expected


@pytest.mark.parametrize("variant", ["shared", "grouped"])
@pytest.mark.parametrize("head", sorted(HEADS))
def test_every_output_matches_hf(variant, head):
    model, inputs, expected = _build(variant, head)
    outputs = _flatten(model(**inputs, output_hidden_states=True, output_attentions=True))
    expected = {k: v for k, v in expected.items() if not k.startswith("posids/")}
    assert sorted(outputs) == sorted(expected)
    for key, want in expected.items():
        got = outputs[key]
        assert got.shape == want.shape, key
        diff = float(np.max(np.abs(got - want)))
        assert diff <= TOL, f"{variant}/{head}/{key}: max-abs-diff {diff:.3g}"


@functools.cache
def _hf_sdpa(variant):
    return dict(np.load(os.path.join(PARITY, variant, "hf_sdpa.npz")))


def _max_diff(got, want):
    return float(np.max(np.abs(got.astype(np.float32) - want))) if got.size else 0.0


@pytest.mark.parametrize("variant", ["shared", "grouped"])
@pytest.mark.parametrize("head", sorted(HEADS))
def test_sdpa_matches_eager_and_hf_sdpa(variant, head):
    """`attn_implementation="sdpa"` (keras.ops.dot_product_attention) on padded batches: every output, hidden
    states included, within 1e-5 of HF's eager attention and of HF's own sdpa."""
    model, inputs, expected = _build(variant, head, attn_implementation="sdpa")
    assert model.albert.encoder.blocks[0].attention.implementation == "sdpa"
    outputs = _flatten(model(**inputs, output_hidden_states=True))
    hf_sdpa = _hf_sdpa(variant)
    assert sorted(outputs) == sorted(k for k in expected if not k.startswith(("posids/", "attentions/")))
    for key, got in outputs.items():
        assert _max_diff(got, expected[key]) <= TOL, f"{variant}/{head}/{key} vs HF eager"
        assert _max_diff(got, hf_sdpa[f"fp32/{head}/{key}"]) <= TOL, f"{variant}/{head}/{key} vs HF sdpa"


@pytest.mark.parametrize("variant", ["shared", "grouped"])
@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
def test_bfloat16_error_within_hf_bfloat16_error(variant, implementation):
    """Under `mixed_bfloat16` every head's outputs stay as close to the float32 reference as HF's own sdpa
    model in bfloat16 does (measured: 0.7-1.5 times HF's error; allowed: 2 times). Three heads cover every
    output path (the MLM and SOP heads, the [batch, choices, seq] inputs, a per-token classifier); the backbone's
    hidden states, which every head shares, are compared in each."""
    hf_sdpa = _hf_sdpa(variant)
    for head in ("pretraining", "multiple_choice", "token_classification"):
        model, inputs, expected = _build(variant, head, attn_implementation=implementation, dtype="mixed_bfloat16")
        outputs = _flatten(model(**inputs, output_hidden_states=True))
        ours = max(_max_diff(got, expected[key]) for key, got in outputs.items())
        hf = max(_max_diff(hf_sdpa[f"bf16/{head}/{key}"], expected[key]) for key in outputs)
        assert 0 < ours <= 2 * hf, f"{variant}/{head}: bf16 error {ours:.3g}, HF's own {hf:.3g}"


@pytest.mark.parametrize("variant", ["shared", "grouped"])
def test_explicit_position_ids_match_hf(variant):
    model, _, expected = _build(variant, "model")
    inputs = {k: expected[f"posids/{k}"] for k in ("input_ids", "attention_mask", "token_type_ids", "position_ids")}
    out = model(**inputs)
    for key in ("last_hidden_state", "pooler_output"):
        diff = np.max(np.abs(_numpy(out[key]) - expected[f"posids/{key}"]))
        assert diff <= TOL, (key, diff)


def _xla(fn):
    """`fn` compiled with XLA on the backend that runs (this file also runs on JAX and PyTorch:
    tests/backends)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    pytest.skip("PyTorch has no XLA; torch.compile is covered by tests/backends (slow)")


@pytest.mark.parametrize("variant", ["shared", "grouped"])
def test_parity_holds_under_xla(variant):
    model, inputs, expected = _build(variant, "pretraining")
    fn = _xla(lambda kw: model(**kw))
    out = fn({k: keras.ops.convert_to_tensor(v) for k, v in inputs.items()})
    for key in ("prediction_logits", "sop_logits", "loss"):
        assert np.max(np.abs(_numpy(out[key]) - expected[key])) <= TOL, key


def test_inputs_embeds_equal_input_ids():
    model, inputs, _ = _build("shared", "model")
    table = keras.ops.convert_to_numpy(model.albert.embeddings.word_embeddings.embeddings)
    by_ids = model(**inputs)["last_hidden_state"]
    embeds = {k: v for k, v in inputs.items() if k != "input_ids"}
    by_embeds = model(inputs_embeds=table[inputs["input_ids"]], **embeds)["last_hidden_state"]
    np.testing.assert_allclose(_numpy(by_ids), _numpy(by_embeds), atol=1e-6)
