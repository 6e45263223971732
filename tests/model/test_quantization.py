"""Keras int8 (`model.quantize("int8")`) and LoRA (`enable_lora`) models: the tied MLM decoder, save_pretrained
(float weights in HF's layout; `dtype="int8"` gives the same int8 values back), `.keras`, SavedModel export and
`pipeline(..., dtype="int8")`."""

import os

import keras
import numpy as np
import pytest

from tests.helpers import SPM, tiny_config
from tf_albert import AlbertForMaskedLM, AlbertForSequenceClassification
from tf_albert.model.quantization import float_copy, float_matrix, has_lora, quantization_mode

pytestmark = pytest.mark.filterwarnings("ignore:Layer .* does not have a `quantize` method")
IDS = np.array([[2, 10, 11, 12, 13, 3], [2, 20, 21, 3, 0, 0]], "int32")
MASK = (IDS > 0).astype("int32")


def _model(cls=AlbertForSequenceClassification, **overrides):
    model = cls(tiny_config(num_labels=3, initializer_range=0.2, **overrides))
    model.build()
    return model


def _quantized(cls=AlbertForSequenceClassification, **overrides):
    model = _model(cls, **overrides)
    reference = np.asarray(model(IDS, attention_mask=MASK)[model.main_output])
    model.quantize("int8")
    return model, reference


def _out(model):
    return np.asarray(model(IDS, attention_mask=MASK)[model.main_output])


def test_mlm_decoder_uses_the_dequantized_word_table():
    model, reference = _quantized(AlbertForMaskedLM)
    # Before the fix the int8 table itself was multiplied in: logits off by hundreds.
    assert np.max(np.abs(_out(model) - reference)) < 0.1
    table = model.albert.embeddings.word_embeddings
    assert str(table.embeddings.dtype).endswith("int8")
    assert np.asarray(float_matrix(table)).dtype == np.float32


def test_float_copy_dequantizes_and_merges_lora():
    model, _ = _quantized()
    assert quantization_mode(model) == "int8"
    plain = float_copy(model)
    assert quantization_mode(plain) is None
    assert {str(v.dtype) for v in plain.weights} == {"float32"}
    dense = model.albert.encoder.blocks[0].ffn
    want = np.asarray(dense._kernel, np.float32) / np.asarray(dense.kernel_scale)
    np.testing.assert_allclose(np.asarray(plain.albert.encoder.blocks[0].ffn.kernel), want, rtol=1e-6)

    lora = _model()
    lora.albert.encoder.blocks[0].attention.query.enable_lora(2)
    for variable in lora.trainable_weights:
        if "lora_kernel" in variable.path:
            variable.assign(np.full(variable.shape, 0.3, "float32"))
    assert has_lora(lora) and not has_lora(float_copy(lora))
    np.testing.assert_allclose(_out(float_copy(lora)), _out(lora), atol=1e-5)


def test_int8_model_survives_save_pretrained_as_float_weights(tmp_path):
    model, _ = _quantized()
    folder = model.save_pretrained(str(tmp_path / "q"))
    assert sorted(os.listdir(folder)) == ["config.json", "model.safetensors", "tf_model.h5"]
    loaded = AlbertForSequenceClassification.from_pretrained(folder, strict=True)
    np.testing.assert_allclose(_out(loaded), _out(float_copy(model)), atol=1e-6)
    # dtype="int8" quantizes the dequantized weights again: the same int8 values and the same outputs. Each
    # scale is Keras' 127 / (max|w| + epsilon), and the dequantized row's max|w| is the old 127 / scale, so
    # the scale moves by exactly that epsilon (a relative 1e-6 for a row whose largest weight is 0.1; what is
    # left after allowing for it is float32 rounding, ~1e-7).
    again = AlbertForSequenceClassification.from_pretrained(folder, dtype="int8")
    assert quantization_mode(again) == "int8"
    for a, b in zip(model.weights, again.weights):
        assert a.path.split("/", 1)[1] == b.path.split("/", 1)[1]
        expected, got = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.path.endswith("_scale"):
            expected = 127.0 / (127.0 / expected + keras.config.epsilon())
        np.testing.assert_allclose(got, expected, rtol=5e-7, err_msg=a.path)
    # That 1e-6 move of a scale can push one activation across a rounding boundary of the per-token int8
    # quantization (over 40 random models: 39 within 5e-7 of the original's outputs, one 8.5e-3 off, the
    # size of int8's own error), so the outputs are held to int8's error here ...
    assert np.max(np.abs(_out(again) - _out(model))) < 0.05
    # ... and with the original scales put back they are the original's, bit for bit.
    for a, b in zip(model.weights, again.weights):
        if a.path.endswith("_scale"):
            b.assign(a)
    np.testing.assert_array_equal(_out(again), _out(model))


def test_lora_model_saves_merged_weights(tmp_path):
    model = _model()
    model.albert.encoder.blocks[0].ffn.enable_lora(4)
    model.albert.embeddings.word_embeddings.enable_lora(2)
    for variable in model.trainable_weights:
        if "lora" in variable.path:
            variable.assign(np.random.default_rng(0).normal(0, 0.2, variable.shape).astype("float32"))
    folder = model.save_pretrained(str(tmp_path / "lora"))
    loaded = AlbertForSequenceClassification.from_pretrained(folder, strict=True)
    assert not has_lora(loaded)
    np.testing.assert_allclose(_out(loaded), _out(model), atol=1e-5)


def test_int8_and_lora_models_round_trip_through_dot_keras(tmp_path):
    model, _ = _quantized(AlbertForMaskedLM)
    path = str(tmp_path / "q.keras")
    model.save(path)
    back = keras.saving.load_model(path)
    assert quantization_mode(back) == "int8"
    np.testing.assert_array_equal(_out(back), _out(model))

    lora = _model()
    lora.albert.encoder.blocks[0].ffn.enable_lora(2)
    for variable in lora.trainable_weights:
        if "lora" in variable.path:
            variable.assign(np.full(variable.shape, 0.2, "float32"))
    lora.save(str(tmp_path / "lora.keras"))
    np.testing.assert_allclose(_out(keras.saving.load_model(str(tmp_path / "lora.keras"))), _out(lora), atol=1e-5)


def test_int8_and_lora_models_export_savedmodels(tmp_path):
    import tensorflow as tf

    model, _ = _quantized()
    folder = model.export_saved_model(str(tmp_path / "sm"), jit_compile=True)
    serve = tf.saved_model.load(folder).signatures["serving_default"]
    got = serve(input_ids=tf.constant(IDS), attention_mask=tf.constant(MASK),
                token_type_ids=tf.zeros_like(IDS))["logits"]
    np.testing.assert_allclose(got.numpy(), _out(model), atol=1e-5)
    dtypes = {v.dtype.name for v in tf.saved_model.load(folder).model_variables}
    assert "int8" in dtypes

    lora = _model()
    lora.albert.encoder.blocks[0].ffn.enable_lora(2)
    for variable in lora.trainable_weights:
        if "lora" in variable.path:
            variable.assign(np.full(variable.shape, 0.2, "float32"))
    serve = tf.saved_model.load(lora.export_saved_model(str(tmp_path / "lora"))).signatures["serving_default"]
    got = serve(input_ids=tf.constant(IDS), attention_mask=tf.constant(MASK), token_type_ids=tf.zeros_like(IDS))
    np.testing.assert_allclose(got["logits"].numpy(), _out(lora), atol=1e-5)


def test_pipeline_dtype_int8_quantizes_a_copy_with_xla(tmp_path):
    import tf_albert
    from tf_albert.tokenization import AlbertTokenizer

    tokenizer = AlbertTokenizer.from_pretrained(SPM)
    model = _model(vocab_size=len(tokenizer), max_position_embeddings=64,
                   id2label={0: "negative", 1: "neutral", 2: "positive"})
    clf = tf_albert.pipeline("text-classification", model=model, tokenizer=tokenizer, dtype="int8")
    assert quantization_mode(clf.model) == "int8" and quantization_mode(model) is None  # a copy
    assert clf.jit_compile  # Keras int8 without XLA is ~4x slower than float32 on a CPU
    plain = tf_albert.pipeline("text-classification", model=model, tokenizer=tokenizer)
    text = ["a useful library.", "a broken program that never runs"]
    got, want = clf(text, top_k=None), plain(text, top_k=None)
    for g, w in zip(got, want):
        g_scores, w_scores = ({r["label"]: r["score"] for r in rows} for rows in (g, w))
        assert g_scores.keys() == w_scores.keys()
        assert max(abs(g_scores[k] - w_scores[k]) for k in w_scores) < 0.02, (g, w)  # 0.001-0.002 seen
        # the same top label, unless the float model's own top two are within twice that of each other
        if w[0]["score"] - w[1]["score"] > 0.04:
            assert g[0]["label"] == w[0]["label"], (g, w)
    with pytest.raises(ValueError, match="dtype must be one of .*int8.* got 'int4'"):
        tf_albert.pipeline("text-classification", model=model, tokenizer=tokenizer, dtype="int4")
