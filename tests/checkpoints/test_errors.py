"""Bad checkpoints fail with clear errors that name the file and the tensor: truncated, corrupt, missing files,
wrong dtypes and shapes, and `.bin` without PyTorch (no pickle is ever read otherwise)."""

import json
import os
import re
import struct
import sys

import numpy as np
import pytest

import tf_albert
from tests.helpers import materialize
from tf_albert.checkpoints import safetensors_io


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    return {fmt: materialize(fmt, str(root / fmt)) for fmt in ("safetensors", "h5", "tf1", "bin")}


def _copy(folder, tmp_path):
    import shutil

    dest = tmp_path / os.path.basename(folder)
    shutil.copytree(folder, dest)
    return dest


def _truncate(path, keep):
    data = open(path, "rb").read()
    open(path, "wb").write(data[: int(len(data) * keep)])


def test_truncated_safetensors_names_file_and_tensor(folders, tmp_path):
    folder = _copy(folders["safetensors"], tmp_path)
    _truncate(folder / "model.safetensors", 0.9)
    with pytest.raises(ValueError, match=r"tensor '.*' in .*model.safetensors needs bytes .* holds only .* data "
                                         r"bytes \(the file is truncated\)") as err:
        tf_albert.AlbertModel.from_pretrained(folder)
    assert str(folder / "model.safetensors") in str(err.value)


def test_safetensors_cut_inside_the_header(folders, tmp_path):
    folder = _copy(folders["safetensors"], tmp_path)
    _truncate(folder / "model.safetensors", 0.01)
    with pytest.raises(ValueError, match="header claims .* bytes but the file has .* bytes"):
        tf_albert.AlbertModel.from_pretrained(folder)
    (folder / "model.safetensors").write_bytes(b"abc")
    with pytest.raises(ValueError, match="only 3 bytes"):
        tf_albert.AlbertModel.from_pretrained(folder)


def test_corrupt_safetensors_header(tmp_path, folders):
    folder = _copy(folders["safetensors"], tmp_path)
    header = b"{not json" + b" " * 7
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(ValueError, match="corrupt safetensors header"):
        tf_albert.AlbertModel.from_pretrained(folder)


def _write_state(folder, state):
    safetensors_io.write_safetensors(str(folder / "model.safetensors"), state, {"format": "pt"})


def test_wrong_dtype_names_the_tensor(folders, tmp_path):
    folder = _copy(folders["safetensors"], tmp_path)
    path = str(folder / "model.safetensors")
    header, _ = safetensors_io.read_header(path)
    state = {k: safetensors_io.read_tensor(path, k, header) for k in header}
    state["albert.pooler.bias"] = state["albert.pooler.bias"].astype(np.int32)
    _write_state(folder, state)
    with pytest.raises(ValueError, match=r"tensor 'albert.pooler.bias' in .*model.safetensors has dtype int32; "
                                         r"ALBERT weights must be floating point"):
        tf_albert.AlbertModel.from_pretrained(folder)


def test_float16_and_bfloat16_checkpoints_load_as_float32(folders, tmp_path):
    folder = _copy(folders["safetensors"], tmp_path)
    path = str(folder / "model.safetensors")
    header, _ = safetensors_io.read_header(path)
    state = {k: safetensors_io.read_tensor(path, k, header) for k in header}
    ref = tf_albert.AlbertModel.from_pretrained(folder)
    _write_state(folder, {k: v.astype(np.float16) for k, v in state.items()})
    half = tf_albert.AlbertModel.from_pretrained(folder)
    word = "albert.embeddings.word_embeddings.weight"
    np.testing.assert_array_equal(half.albert.embeddings.word_embeddings.embeddings.numpy(),
                                  state[word].astype(np.float16).astype(np.float32))
    # bfloat16: the top 16 bits of float32, written by hand (numpy has no bfloat16)
    bf16 = {k: (v.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16) for k, v in state.items()}
    header = {}
    offset, blobs = 0, []
    for k in sorted(bf16):
        header[k] = {"dtype": "BF16", "shape": list(bf16[k].shape), "data_offsets": [offset, offset + bf16[k].nbytes]}
        offset += bf16[k].nbytes
        blobs.append(bf16[k].tobytes())
    raw = json.dumps(header).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))
    brain = tf_albert.AlbertModel.from_pretrained(folder)
    got = brain.albert.embeddings.word_embeddings.embeddings.numpy()
    np.testing.assert_allclose(got, ref.albert.embeddings.word_embeddings.embeddings.numpy(), rtol=1e-2, atol=1e-2)


def test_wrong_shape_names_file_and_tensor(folders, tmp_path):
    folder = _copy(folders["safetensors"], tmp_path)
    path = str(folder / "model.safetensors")
    header, _ = safetensors_io.read_header(path)
    state = {k: safetensors_io.read_tensor(path, k, header) for k in header}
    state["albert.pooler.weight"] = state["albert.pooler.weight"][:, :10]
    _write_state(folder, state)
    with pytest.raises(ValueError, match=r"tensor 'albert.pooler.weight' in .*model.safetensors -> "
                                         r"albert.pooler.weight: checkpoint shape \(16, 10\), model expects \(16, 16\)"):
        tf_albert.AlbertModel.from_pretrained(folder)


def test_missing_config_and_missing_weights(folders, tmp_path):
    folder = _copy(folders["safetensors"], tmp_path)
    os.remove(folder / "config.json")
    with pytest.raises(FileNotFoundError, match=r"no config.json next to the weights in"):
        tf_albert.AlbertModel.from_pretrained(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"no ALBERT weights in folder .*model.safetensors.*tf_model.h5"):
        tf_albert.AlbertModel.from_pretrained(empty)
    with pytest.raises(FileNotFoundError, match="not a local folder or file, nor a hub id"):
        tf_albert.AlbertModel.from_pretrained(str(tmp_path / "nope" / "deeper"))
    with pytest.raises(TypeError, match="name_or_path must be"):
        tf_albert.AlbertModel.from_pretrained(3)



# A damaged config file is reported as damaged (its path and the parser's message), by every reader of one:
# not as a missing file, a TypeError about dicts or a bare JSONDecodeError that does not say which file.
_CORRUPT_JSON = [
    (b"", r"is not valid JSON \(Expecting value: line 1 column 1 \(char 0\)\)"),
    (b'{"vocab_size": 30', r"is not valid JSON \(Expecting ',' delimiter: line 1 column 18 \(char 17\)\)"),
    (b"\xff\xfe{}", r"is not valid JSON \('utf-8' codec can't decode byte 0xff in position 0"),
    (b"[1, 2]", r"must hold a JSON object, got a list"),
    (b'"albert"', r"must hold a JSON object, got a str"),
]


@pytest.mark.parametrize("content, message", _CORRUPT_JSON)
@pytest.mark.parametrize("fmt, name", [("safetensors", "config.json"), ("tf1", "albert_config.json")])
def test_corrupt_config_file_is_reported_as_corrupt(folders, tmp_path, fmt, name, content, message):
    folder = _copy(folders[fmt], tmp_path)
    path = folder / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(str(path)) + " " + message):
        tf_albert.AlbertModel.from_pretrained(folder)
    with pytest.raises(ValueError, match=re.escape(str(path)) + " " + message):
        tf_albert.AlbertConfig.from_pretrained(folder)


@pytest.mark.parametrize("content, message", _CORRUPT_JSON)
def test_pipeline_without_task_reports_a_corrupt_config(folders, tmp_path, content, message):
    folder = _copy(folders["safetensors"], tmp_path)
    (folder / "config.json").write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(str(folder / "config.json")) + " " + message):
        tf_albert.pipeline(model=str(folder))


def test_corrupt_weights_index_is_reported_as_corrupt(folders, tmp_path):
    folder = _copy(folders["safetensors"], tmp_path)
    index = folder / "model.safetensors.index.json"
    os.remove(folder / "model.safetensors")
    index.write_text('[{"weight_map": {}}]')
    with pytest.raises(ValueError, match=re.escape(str(index)) + " must hold a JSON object, got a list"):
        tf_albert.AlbertModel.from_pretrained(folder)


def test_sharded_safetensors_and_a_missing_shard(folders, tmp_path):
    folder = _copy(folders["safetensors"], tmp_path)
    path = str(folder / "model.safetensors")
    header, _ = safetensors_io.read_header(path)
    state = {k: safetensors_io.read_tensor(path, k, header) for k in header}
    names = sorted(state)
    shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    for shard, keys in shards.items():
        safetensors_io.write_safetensors(str(folder / shard), {k: state[k] for k in keys}, {"format": "pt"})
    index = {"metadata": {}, "weight_map": {k: s for s, keys in shards.items() for k in keys}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    os.remove(path)
    ref = tf_albert.AlbertForPreTraining.from_pretrained(folders["safetensors"])
    sharded = tf_albert.AlbertForPreTraining.from_pretrained(folder)
    ids = np.array([[2, 9, 14, 3]])
    np.testing.assert_array_equal(sharded(ids)["prediction_logits"], ref(ids)["prediction_logits"])
    os.remove(folder / "model-00002-of-00002.safetensors")
    with pytest.raises(FileNotFoundError, match="shard model-00002-of-00002.safetensors listed in .*index.json is missing"):
        tf_albert.AlbertModel.from_pretrained(folder)
    index["weight_map"]["albert.pooler.bias"] = "../outside.safetensors"
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="not a file in the folder"):
        tf_albert.AlbertModel.from_pretrained(folder)


def test_truncated_tf_model_h5(folders, tmp_path):
    folder = _copy(folders["h5"], tmp_path)
    _truncate(folder / "tf_model.h5", 0.6)
    with pytest.raises(ValueError, match=r"tf_model.h5"):
        tf_albert.AlbertModel.from_pretrained(folder)
    (folder / "tf_model.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(ValueError, match=r"cannot open .*tf_model.h5 as HDF5"):
        tf_albert.AlbertModel.from_pretrained(folder)


def test_h5_without_keras_layout(tmp_path, folders):
    import h5py

    folder = _copy(folders["h5"], tmp_path)
    with h5py.File(folder / "tf_model.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(ValueError, match="not a Keras/transformers TF weights file"):
        tf_albert.AlbertModel.from_pretrained(folder)


def test_truncated_tf1_data_names_the_variable(folders, tmp_path):
    folder = _copy(folders["tf1"], tmp_path)
    data = folder / "model.ckpt-0.data-00000-of-00001"
    _truncate(data, 0.5)
    with pytest.raises(ValueError, match=r"cannot read tensor 'bert/.*' in .*model.ckpt-0.data-\*"):
        tf_albert.AlbertModel.from_pretrained(folder)
    os.remove(data)
    with pytest.raises(ValueError, match=r"cannot read tensor 'bert/.*model.ckpt-0.data-00000-of-00001; No such file"):
        tf_albert.AlbertModel.from_pretrained(folder)
    os.remove(folder / "model.ckpt-0.index")
    with pytest.raises(FileNotFoundError, match="no ALBERT weights in folder"):
        tf_albert.AlbertModel.from_pretrained(folder)


def test_tf1_with_other_variable_names(tmp_path):
    import tensorflow as tf

    ckpt = tf.train.Checkpoint(dense=tf.Variable(np.ones((2, 2), np.float32)))
    ckpt.write(str(tmp_path / "ckpt"))
    (tmp_path / "albert_config.json").write_text(json.dumps({"vocab_size": 10, "hidden_size": 8,
                                                             "num_attention_heads": 2, "intermediate_size": 8}))
    with pytest.raises(ValueError, match="no variables with Google's ALBERT names"):
        tf_albert.AlbertModel.from_pretrained(tmp_path)


def test_google_config_variants_are_refused(folders, tmp_path):
    folder = _copy(folders["tf1"], tmp_path)
    config = json.loads((folder / "albert_config.json").read_text())
    (folder / "albert_config.json").write_text(json.dumps({**config, "net_structure_type": 1}))
    with pytest.raises(ValueError, match="net_structure_type=1 is an ALBERT variant"):
        tf_albert.AlbertModel.from_pretrained(folder)


def test_bin_without_torch_says_how_to_proceed(folders, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(ImportError, match=r"torch.load\(weights_only=True\).*pip install torch.*model.safetensors"):
        tf_albert.AlbertModel.from_pretrained(folders["bin"])


def test_truncated_bin_with_torch(folders, tmp_path):
    pytest.importorskip("torch")
    folder = _copy(folders["bin"], tmp_path)
    _truncate(folder / "pytorch_model.bin", 0.5)
    with pytest.raises(ValueError, match=r"cannot read .*pytorch_model.bin with torch.load\(weights_only=True\)"):
        tf_albert.AlbertModel.from_pretrained(folder)


def test_bin_with_arbitrary_pickle_is_refused(tmp_path):
    torch = pytest.importorskip("torch")

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    torch.save({"albert.pooler.bias": Payload()}, tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text(json.dumps({"vocab_size": 10, "hidden_size": 8, "embedding_size": 4,
                                                      "num_attention_heads": 2, "intermediate_size": 8}))
    with pytest.raises(ValueError, match="weights_only"):
        tf_albert.AlbertModel.from_pretrained(tmp_path)
    assert not os.path.exists(tmp_path / "pwned")


def test_unknown_weights_format_and_file_type(folders, tmp_path):
    with pytest.raises(ValueError, match="weights_format must be one of"):
        tf_albert.AlbertModel.from_pretrained(folders["safetensors"], weights_format="onnx")
    (tmp_path / "weights.onnx").write_bytes(b"x")
    with pytest.raises(ValueError, match="unknown weights file type"):
        tf_albert.AlbertModel.from_pretrained(tmp_path / "weights.onnx")
