"""TFLite export: every head against the Keras model through the signature runner (dynamic batch and length),
builtin ops only in every subgraph, float16 / int8 file sizes and accuracy, the CLI and bad arguments."""

import os

import keras
import numpy as np
import pytest

from tests.helpers import export_case, export_model, tiny_config
from tf_albert import MODEL_CLASSES, AlbertForSequenceClassification
from tf_albert.export import cli as export_cli
from tf_albert.export import export_tflite
from tf_albert.export.tflite import load_tflite_runner, tflite_op_names

TOL = 1e-4
# One shape per call, each a new size for the runner: it must resize its inputs (dynamic batch and length).
SIZES = ((1, 1), (3, 17), (2, 32))
pytestmark = pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")


_model = export_model


def _case(model, batch, length, seed=0):
    return export_case(model, batch, length, "int32", seed)


def _diff(model, run, case) -> float:
    want = model(case["input_ids"], attention_mask=case["attention_mask"], token_type_ids=case["token_type_ids"])
    got = run(**case)
    assert set(got) == set(want), (sorted(got), sorted(want))
    return max(float(np.max(np.abs(got[k] - np.asarray(want[k])))) for k in want)


def _builtin_only(ops):
    return sorted(op for op in ops if op.startswith(("CUSTOM:", "Flex")))


# pretraining covers the pooler, MLM and SOP heads, question answering the per-token outputs; the rest: -m slow
DEFAULT_HEADS = ("pretraining", "sequence_classification", "multiple_choice", "question_answering")


@pytest.mark.parametrize("head", [h if h in DEFAULT_HEADS else pytest.param(h, marks=pytest.mark.slow)
                                  for h in MODEL_CLASSES])
def test_every_head_matches_keras_at_any_batch_and_length_with_builtin_ops_only(head, tmp_path):
    model = _model(head, max_position_embeddings=32)
    path = export_tflite(model, tmp_path / f"{head}.tflite")
    ops = tflite_op_names(path)
    assert _builtin_only(ops) == []
    assert "WHILE" in ops  # the shared block runs as a loop: its weights are in the file once
    run = load_tflite_runner(path)
    diffs = [_diff(model, run, _case(model, b, n, seed=i)) for i, (b, n) in enumerate(SIZES)]
    assert max(diffs) <= TOL, diffs


def test_grouped_config_and_fixed_length(tmp_path):
    model = _model("sequence_classification", num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2)
    path = export_tflite(model, tmp_path / "fixed.tflite", max_length=12)
    run = load_tflite_runner(path)
    assert _diff(model, run, _case(model, 3, 12)) <= TOL
    with pytest.raises((ValueError, RuntimeError), match="failed to prepare|Dimension mismatch"):
        run(**_case(model, 1, 13))  # the length is fixed in the file


@pytest.fixture(scope="module")
def medium():
    """A model whose matrices are big enough for TFLite to quantize (it skips tensors under 1024 values)."""
    config = tiny_config(vocab_size=1000, embedding_size=32, hidden_size=64, intermediate_size=256,
                         num_attention_heads=4, num_hidden_layers=4, max_position_embeddings=64, num_labels=3,
                         initializer_range=0.05)  # activations of a trained model's size, not 0.2's outliers
    keras.utils.set_random_seed(15)  # the quantization errors asserted below are those of these weights
    model = AlbertForSequenceClassification(config)
    model.build()
    return model


def test_float16_and_int8_files_are_smaller_and_close(medium, tmp_path):
    sizes, diffs = {}, {}
    case = _case(medium, 4, 40)
    for mode in (None, "float16", "int8"):
        path = export_tflite(medium, tmp_path / f"{mode}.tflite", quantize=mode)
        assert _builtin_only(tflite_op_names(path)) == []
        sizes[mode] = os.path.getsize(path)
        diffs[mode] = _diff(medium, load_tflite_runner(path), case)
    assert diffs[None] <= TOL
    assert sizes["float16"] <= 0.6 * sizes[None], sizes
    assert sizes["int8"] <= 0.4 * sizes[None], sizes
    scale = float(np.max(np.abs(medium(case["input_ids"], attention_mask=case["attention_mask"])["logits"])))
    assert diffs["float16"] <= 2e-3 * scale, (diffs, scale)  # float16 weights: ~1e-3 relative
    assert diffs["int8"] <= 0.05 * scale, (diffs, scale)  # int8 weights and matmuls: a few % of the logits


def test_keras_int8_model_exports_from_its_float_weights(medium, tmp_path):
    from tf_albert.model.quantization import float_copy

    quantized = AlbertForSequenceClassification.from_config(medium.get_config())
    quantized.build()
    quantized.set_weights(medium.get_weights())
    quantized.quantize("int8")
    path = export_tflite(quantized, tmp_path / "q.tflite")
    assert _diff(float_copy(quantized), load_tflite_runner(path), _case(medium, 2, 9)) <= TOL


def test_bad_arguments_name_the_value(medium, tmp_path):
    with pytest.raises(ValueError, match="quantize must be one of .* got 'int4'"):
        export_tflite(medium, tmp_path / "m.tflite", quantize="int4")
    with pytest.raises(ValueError, match=r"max_length must be None or an int in \[1, 64\].*got 65"):
        export_tflite(medium, tmp_path / "m.tflite", max_length=65)
    with pytest.raises(TypeError, match="must be a tf_albert model"):
        export_tflite(object(), tmp_path / "m.tflite")
    existing = tmp_path / "old.tflite"
    existing.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="already exists"):
        export_tflite(medium, existing)
    assert existing.read_bytes() == b"old"  # nothing on disk lost


def test_cli_writes_tflite_and_refuses_savedmodel_options(tmp_path, capsys):
    model = _model("question_answering")
    folder = model.save_pretrained(str(tmp_path / "qa"), formats=("safetensors",))
    out = tmp_path / "qa-int8.tflite"
    assert export_cli.main([folder, "--format", "tflite", "--output", str(out), "--quantize", "int8"]) == 0
    assert f"exported AlbertForQuestionAnswering to {out}" in capsys.readouterr().out
    assert _diff(model, load_tflite_runner(out), _case(model, 2, 7)) <= 0.05
    assert export_cli.main([folder, "--format", "tflite"]) == 2
    assert "--format tflite needs --output FILE" in capsys.readouterr().err
    assert export_cli.main([folder, "--format", "tflite", "--output", str(out), "--jit-compile"]) == 2
    assert "--jit-compile only apply to --format savedmodel" in capsys.readouterr().err
