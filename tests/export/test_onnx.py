"""ONNX export: every head in onnxruntime against the Keras model (dynamic batch and length), the shared
block's weights stored once (file size vs the safetensors weights, initializers read by every layer), onnx's
checker, int8 quantization (every MatMul weight quantized, file size, accuracy), the CLI and bad arguments."""

import os

import keras
import numpy as np
import pytest

from tests.helpers import export_case, export_model, tiny_config
from tf_albert import MODEL_CLASSES, AlbertForSequenceClassification
from tf_albert.export import cli as export_cli
from tf_albert.export import export_onnx

onnx = pytest.importorskip("onnx")  # tf_albert[onnx], part of the test extra
ort = pytest.importorskip("onnxruntime")

TOL = 1e-4
SIZES = ((1, 1), (3, 17), (2, 32))
pytestmark = pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")


_model = export_model


def _case(model, batch, length, seed=0):
    return export_case(model, batch, length, "int64", seed)


def _session(path):
    return ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])


def _diff(model, session, case) -> float:
    want = model(*(case[k].astype("int32") for k in ("input_ids", "attention_mask", "token_type_ids")))
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, case)))
    assert set(got) == set(want), (sorted(got), sorted(want))
    return max(float(np.max(np.abs(got[k] - np.asarray(want[k])))) for k in want)


@pytest.mark.parametrize("head", list(MODEL_CLASSES))
def test_every_head_matches_keras_at_any_batch_and_length(head, tmp_path):
    model = _model(head)
    path = export_onnx(model, tmp_path / f"{head}.onnx")
    onnx.checker.check_model(os.fspath(path))
    session = _session(path)
    dims = [[d.dim_param for d in i.type.tensor_type.shape.dim] for i in onnx.load(path).graph.input]
    assert all(d[0] == "batch" and d[-1] == "sequence" for d in dims), dims
    diffs = [_diff(model, session, _case(model, b, n, seed=i)) for i, (b, n) in enumerate(SIZES)]
    assert max(diffs) <= TOL, diffs


@pytest.mark.parametrize("act", ["gelu", "relu", "silu"])
def test_grouped_config_and_other_activations(act, tmp_path):
    model = _model("token_classification", num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2,
                   hidden_act=act)
    path = export_onnx(model, tmp_path / "grouped.onnx")
    assert _diff(model, _session(path), _case(model, 3, 11)) <= TOL


def test_shared_block_weights_are_stored_once(tmp_path):
    # 12 layers, one shared block: the ONNX file is the size of the weights, not 12 copies of the block.
    model = _model("sequence_classification", num_hidden_layers=12, hidden_size=64, intermediate_size=256,
                   num_attention_heads=4, vocab_size=200)
    path = export_onnx(model, tmp_path / "m.onnx")
    folder = model.save_pretrained(str(tmp_path / "folder"), formats=("safetensors",))
    ratio = os.path.getsize(path) / os.path.getsize(os.path.join(folder, "model.safetensors"))
    assert ratio <= 1.5, ratio  # albert-base: 1.001 (46.78 vs 46.74 MB); per-layer copies would be ~10x
    graph = onnx.load(path).graph
    query = [name for name in (i.name for i in graph.initializer) if name.endswith("attention/query/kernel")]
    assert len(query) == 1, query
    readers = [n for n in graph.node if query[0] in n.input]
    assert len(readers) == 12  # every layer's MatMul reads the one initializer


@pytest.mark.parametrize("act, fused", [("gelu_new", "FastGelu"), ("gelu", "BiasGelu")])
def test_onnxruntime_fuses_the_gelu(act, fused, tmp_path):
    # One fused op per layer instead of ~8 elementwise ones: part of why the export is as fast as HF's.
    model = _model("sequence_classification", hidden_act=act)
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(os.fspath(export_onnx(model, tmp_path / "m.onnx")), options,
                         providers=["CPUExecutionProvider"])
    ops = [n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node]
    assert ops.count(fused) == model.config.num_hidden_layers, sorted(set(ops))


@pytest.fixture(scope="module")
def medium():
    config = tiny_config(vocab_size=1000, embedding_size=32, hidden_size=64, intermediate_size=256,
                         num_attention_heads=4, num_hidden_layers=4, max_position_embeddings=64, num_labels=3,
                         initializer_range=0.05)  # activations of a trained model's size, not 0.2's outliers
    keras.utils.set_random_seed(15)  # the quantization errors asserted below are those of these weights
    model = AlbertForSequenceClassification(config)
    model.build()
    return model


def test_int8_quantizes_every_matmul_once(medium, tmp_path):
    fp32 = export_onnx(medium, tmp_path / "fp32.onnx")
    int8 = export_onnx(medium, tmp_path / "int8.onnx", quantize="int8")
    ratio = os.path.getsize(int8) / os.path.getsize(fp32)
    assert ratio <= 0.4, ratio
    graph = onnx.load(int8).graph
    ops = [n.op_type for n in graph.node]
    # Every layer's 6 matmuls (4 layers) + projection + pooler + classifier run in int8; none in float.
    assert ops.count("MatMulInteger") == 4 * 6 + 3, sorted(set(ops))
    assert "MatMul" not in [n.op_type for n in graph.node if any(i.endswith("kernel") for i in n.input)]
    case = _case(medium, 4, 40)
    diff = _diff(medium, _session(int8), case)
    scale = float(np.max(np.abs(medium(*(case[k].astype("int32") for k in case))["logits"])))
    assert diff <= 0.05 * scale, (diff, scale)  # int8 weights and matmuls: a few % of the logits


def test_keras_int8_and_lora_models_export_their_float_weights(medium, tmp_path):
    from tf_albert.model.quantization import float_copy

    model = AlbertForSequenceClassification.from_config(medium.get_config())
    model.build()
    model.set_weights(medium.get_weights())
    model.albert.encoder.blocks[0].ffn.enable_lora(2)
    for variable in model.trainable_weights:
        if "lora_kernel" in variable.path:
            variable.assign(np.full(variable.shape, 0.1, "float32"))
    lora_path = export_onnx(model, tmp_path / "lora.onnx")
    assert _diff(model, _session(lora_path), _case(medium, 2, 9)) <= TOL
    model.quantize("int8")
    path = export_onnx(model, tmp_path / "q.onnx")
    assert _diff(float_copy(model), _session(path), _case(medium, 2, 9)) <= TOL


def test_bad_arguments_name_the_value(medium, tmp_path):
    with pytest.raises(ValueError, match="quantize must be one of .* got 'float16'"):
        export_onnx(medium, tmp_path / "m.onnx", quantize="float16")
    with pytest.raises(TypeError, match="must be a tf_albert model"):
        export_onnx(object(), tmp_path / "m.onnx")
    existing = tmp_path / "old.onnx"
    existing.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="already exists"):
        export_onnx(medium, existing)
    assert existing.read_bytes() == b"old"
    with pytest.raises(IsADirectoryError, match="is a folder"):
        export_onnx(medium, tmp_path)


def test_cli_writes_onnx(tmp_path, capsys):
    model = _model("multiple_choice")
    folder = model.save_pretrained(str(tmp_path / "mc"), formats=("safetensors",))
    out = tmp_path / "mc.onnx"
    assert export_cli.main([folder, "--format", "onnx", "--output", str(out)]) == 0
    assert f"exported AlbertForMultipleChoice to {out}" in capsys.readouterr().out
    assert _diff(model, _session(out), _case(model, 2, 7)) <= TOL
    assert export_cli.main([folder, "--format", "onnx", "--output", str(out), "--overwrite",
                            "--quantize", "float16"]) == 2
    assert "--quantize float16 is for --format tflite" in capsys.readouterr().err
    assert export_cli.main([folder, "--output", str(out)]) == 2
    assert "--output, --quantize and --calibration-data are for --format tflite/onnx" in capsys.readouterr().err
