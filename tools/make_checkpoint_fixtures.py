"""Generate the checkpoint fixtures in ``tests/fixtures/checkpoints/``: one set of tiny ALBERT weights in all four
shapes people hold, written by the reference libraries, plus the outputs every head must produce from them.

Two stages, one per reference environment (each checks its own files and, where it can, the other stage's):

    /work/venv-hf5/bin/python tools/make_checkpoint_fixtures.py     # transformers 5 + torch:
        hf_safetensors/  config.json + model.safetensors   (safetensors.torch.save_file, tied decoder left out)
        hf_bin/          config.json + pytorch_model.bin.gz   (torch.save of the full state dict, tied copies in)
        expected.npz     inputs and every head's outputs, computed by transformers 5 from hf_safetensors/
    TF_USE_LEGACY_KERAS=1 /work/venv-hf4/bin/python tools/make_checkpoint_fixtures.py   # transformers 4 + tf-keras:
        hf_tf/           config.json + tf_model.h5.gz      (TFAlbert*.save_pretrained, from_pt=True from hf_bin)
        google_tf1/      albert_config.json + model.ckpt-0.* + checkpoint   (tf.compat.v1 Saver, Google's names)
    ... --check          reload every shape the running transformers version can read, rerun each head,
                         print the max-abs-diff against expected.npz (v4 also runs TF and load_tf_weights_in_albert)

`.bin` and `.h5` files are stored gzipped (mtime 0): their zip/HDF5 overhead compresses ~4x, which keeps the whole
folder near 200 KB; `materialize()` in tests/helpers.py unpacks them into a temporary folder.

The weights are one combined checkpoint: backbone + pooler, MLM head, SOP head, a `classifier` [1, H] (used by
sequence classification and token classification with num_labels=1, and by multiple choice) and `qa_outputs`.
`config.json` keeps num_labels=2 (the SOP head); the tests pass num_labels=1 to the classifier heads, and
loading them without it is the num_labels shape-mismatch case. No single TF class has every head, so
hf_tf/tf_model.h5 is TFAlbertForPreTraining's file with the `classifier` and `qa_outputs` layer groups copied in
(with h5py, unchanged) from the files TFAlbertForSequenceClassification / TFAlbertForQuestionAnswering wrote.

Google TF1: variables under Google's names (see tf_albert/checkpoints/google_tf1.py and google-research/albert),
plus `global_step` and LAMB slots (`adam_m`, `adam_v`) that loaders must skip. transformers 4's
`load_tf_weights_in_albert` verifies it: it cannot map `output_*` into AlbertForPreTraining nor `cls/squad/*` at
all, so it reads per-class subsets of the same tensors (written to a temporary folder); the SQuAD tensors are
compared by value. `albert_config.json` says `"hidden_act": "gelu"`, which in Google's code is the tanh form
(HF `gelu_new`): the expected outputs use gelu_new.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "checkpoints"


def _load_fixture_helpers():
    """tests/helpers.py (numpy only): the heads, their inputs, the unpacking and the expected
    outputs are defined once, there, for the tests and for this script."""
    import importlib.util

    path = OUT.parent.parent / "helpers.py"
    spec = importlib.util.spec_from_file_location("test_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_fixtures = _load_fixture_helpers()
CONFIG = dict(vocab_size=64, embedding_size=8, hidden_size=16, num_attention_heads=2, intermediate_size=24,
              num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2, max_position_embeddings=16,
              type_vocab_size=2, hidden_act="gelu_new", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
              layer_norm_eps=1e-12, initializer_range=0.02)
SEED = 20240
BATCH, SEQ, CHOICES = 2, 9, 3
TOL = 1e-5
OUTPUT_KEYS = ("last_hidden_state", "pooler_output", "prediction_logits", "sop_logits", "logits", "start_logits",
               "end_logits", "loss")
TIED = {"predictions.decoder.weight": "albert.embeddings.word_embeddings.weight",
        "predictions.decoder.bias": "predictions.bias"}


# --- inputs ------------------------------------------------------------------------------------------------
def make_inputs() -> dict:
    rng = np.random.default_rng(SEED + 1)
    ids = rng.integers(5, CONFIG["vocab_size"], size=(BATCH, SEQ)).astype(np.int32)
    mask = np.ones((BATCH, SEQ), np.int32)
    ids[1, 6:] = 0
    mask[1, 6:] = 0
    types = np.zeros((BATCH, SEQ), np.int32)
    types[0, 5:] = 1
    types[1, 3:6] = 1
    mc_ids = rng.integers(5, CONFIG["vocab_size"], size=(BATCH, CHOICES, SEQ)).astype(np.int32)
    mc_mask = np.ones_like(mc_ids)
    mc_ids[0, 1, 7:] = 0
    mc_mask[0, 1, 7:] = 0
    mlm = np.full((BATCH, SEQ), -100, np.int32)
    mlm[0, [1, 4]] = [7, 30]
    mlm[1, 2] = 11
    tok = np.where(mask == 1, rng.integers(0, 1, size=(BATCH, SEQ)), -100).astype(np.int32)
    return {
        "input_ids": ids, "attention_mask": mask, "token_type_ids": types,
        "mc_input_ids": mc_ids, "mc_attention_mask": mc_mask, "mc_token_type_ids": np.zeros_like(mc_ids),
        "mlm_labels": mlm, "sop_labels": np.array([1, 0], np.int32), "seq_labels": np.array([0.5, -1.25], np.float32),
        "mc_labels": np.array([2, 0], np.int32), "tok_labels": tok,
        "start_positions": np.array([3, 1], np.int32), "end_positions": np.array([5, 4], np.int32),
    }


def compare(label: str, got: dict, want: dict) -> float:
    worst = 0.0
    for key, value in want.items():
        diff = float(np.max(np.abs(np.asarray(got[key], np.float64) - value)))
        worst = max(worst, diff)
    status = "ok" if worst <= TOL else "FAIL " + str({k: float(np.max(np.abs(np.asarray(got[k], np.float64) - v)))
                                                       for k, v in want.items()})
    print(f"  {label:<58} max-abs-diff {worst:.2e}  {status}")
    if worst > TOL:
        raise SystemExit(f"{label}: max-abs-diff {worst} > {TOL}")
    return worst


def pick(outputs, keys=OUTPUT_KEYS) -> dict:
    out = {}
    for key in keys:
        value = outputs.get(key) if hasattr(outputs, "get") else getattr(outputs, key, None)
        if value is not None:
            out[key] = value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)
    return out


# --- stage 1: transformers 5 + torch ---------------------------------------------------------------------
def torch_stage(check_only: bool) -> None:
    import torch
    import transformers
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    hf_config = lambda **kw: transformers.AlbertConfig(**{**CONFIG, **kw})
    if not check_only:
        rng = np.random.default_rng(SEED)
        models = {"pretraining": transformers.AlbertForPreTraining(hf_config()),
                  "classifier": transformers.AlbertForSequenceClassification(hf_config(num_labels=1)),
                  "qa": transformers.AlbertForQuestionAnswering(hf_config())}
        state = {}
        with torch.no_grad():
            for part, model in models.items():
                norms = {f"{n}.{p}" for n, m in model.named_modules() if isinstance(m, torch.nn.LayerNorm)
                         for p in ("weight", "bias")}
                for name, param in model.named_parameters():
                    if part != "pretraining" and name.startswith("albert."):
                        continue
                    noise = rng.standard_normal(tuple(param.shape)).astype(np.float32)
                    scale = (1.0 + 0.2 * noise) if name in norms and name.endswith("weight") else \
                        (0.2 * noise if name in norms else 0.3 * noise)
                    param.copy_(torch.from_numpy(scale))
                state.update({k: v.clone() for k, v in model.state_dict().items()
                              if part == "pretraining" or not k.startswith("albert.")})
        for tied, source in TIED.items():
            assert torch.equal(state[tied], state[source]), tied
        for folder, files in (("hf_safetensors", "model.safetensors"), ("hf_bin", "pytorch_model.bin")):
            tmp = Path(tempfile.mkdtemp(dir=OUT.parent))
            hf_config().to_json_file(tmp / "config.json", use_diff=False)
            if files.endswith(".safetensors"):
                save_file({k: v.contiguous() for k, v in state.items() if k not in TIED}, tmp / files,
                          metadata={"format": "pt"})
            else:
                torch.save(state, tmp / files)
            _replace(tmp, OUT / folder)
        x = make_inputs()
        out = {f"in/{k}": v for k, v in x.items()}
        for head, (cls_name, extra) in _fixtures.HEADS.items():
            model = getattr(transformers, cls_name).from_pretrained(OUT / "hf_safetensors", **extra,
                                                                    attn_implementation="eager").eval()
            with torch.no_grad():
                result = model(**{k: torch.from_numpy(np.asarray(v, np.int64 if v.dtype == np.int32 else v.dtype))
                                  for k, v in _fixtures.head_inputs(head, x).items()})
            for key, value in pick(result).items():
                out[f"out/{head}/{key}"] = value.astype(np.float32)
        fd, tmp_npz = tempfile.mkstemp(dir=OUT, suffix=".npz")
        os.close(fd)
        np.savez(tmp_npz, **out)
        os.chmod(tmp_npz, 0o644)
        os.replace(tmp_npz, OUT / "expected.npz")
        print(f"wrote {OUT} with transformers {transformers.__version__}, torch {torch.__version__}")
    check_torch_formats()


def _gzip(path: Path) -> None:
    """path -> path.gz (mtime 0, so reruns give the same bytes); HDF5 and zip overhead compress ~4x."""
    with open(path, "rb") as f, open(str(path) + ".gz", "wb") as raw:
        with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out:
            out.write(f.read())
    path.unlink()


@contextlib.contextmanager
def materialize(folder: str):
    """A temporary copy of a fixture folder with its *.gz files unpacked (tests/helpers.py)."""
    fmt = {name: fmt for fmt, name in _fixtures.FOLDERS.items()}[folder]
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(_fixtures.materialize(fmt, tmp))


def _replace(tmp: Path, target: Path) -> None:
    tmp.chmod(0o755)  # mkdtemp makes 0700 folders
    for f in tmp.iterdir():
        if f.suffix in (".bin", ".h5"):
            _gzip(f)
    for f in tmp.iterdir():
        f.chmod(0o644)
    if target.exists():
        old = target.with_name(target.name + ".old")
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old)
    else:
        tmp.rename(target)


def check_torch_formats() -> None:
    import torch
    import transformers

    x, expected = _fixtures.expected()
    print(f"transformers {transformers.__version__} (PyTorch) reading the fixtures:")
    for folder in ("hf_safetensors", "hf_bin"):
        for head, (cls_name, extra) in _fixtures.HEADS.items():
            with materialize(folder) as path:
                model, info = getattr(transformers, cls_name).from_pretrained(
                    path, **extra, attn_implementation="eager", output_loading_info=True)
            assert not info["missing_keys"] and not info["mismatched_keys"], (folder, head, info)
            with torch.no_grad():
                result = model.eval()(**{k: torch.from_numpy(np.asarray(v, np.int64 if v.dtype == np.int32 else v.dtype))
                                         for k, v in _fixtures.head_inputs(head, x).items()})
            compare(f"{folder}/{cls_name}", pick(result), expected[head])


# --- stage 2: transformers 4 + tf-keras ------------------------------------------------------------------
GOOGLE_LAYER = {"attention.query": "attention_1/self/query", "attention.key": "attention_1/self/key",
                "attention.value": "attention_1/self/value", "attention.dense": "attention_1/output/dense",
                "attention.LayerNorm": "LayerNorm", "ffn": "ffn_1/intermediate/dense",
                "ffn_output": "ffn_1/intermediate/output/dense", "full_layer_layer_norm": "LayerNorm_1"}
GOOGLE_MODULE = {"albert.embeddings.LayerNorm": "bert/embeddings/LayerNorm",
                 "albert.encoder.embedding_hidden_mapping_in": "bert/encoder/embedding_hidden_mapping_in",
                 "albert.pooler": "bert/pooler/dense", "predictions.dense": "cls/predictions/transform/dense",
                 "predictions.LayerNorm": "cls/predictions/transform/LayerNorm"}
GOOGLE_OUTPUT = {"sop_classifier.classifier": "cls/seq_relationship/", "classifier": "", "qa_outputs": "cls/squad/"}


def google_name(hf: str) -> tuple[str, bool]:
    """(Google TF1 variable name, transpose) of an HF name: the inverse of HF's load_tf_weights_in_albert."""
    module, leaf = hf.rsplit(".", 1)
    if module.startswith("albert.embeddings.") and module.endswith("_embeddings"):
        return "bert/embeddings/" + module.split(".")[-1], False
    if hf == "predictions.bias":
        return "cls/predictions/output_bias", False
    if module in GOOGLE_OUTPUT:
        return GOOGLE_OUTPUT[module] + ("output_weights" if leaf == "weight" else "output_bias"), False
    norm = module.endswith(("LayerNorm", "layer_norm"))
    google_leaf = {"weight": "gamma", "bias": "beta"}[leaf] if norm else {"weight": "kernel", "bias": "bias"}[leaf]
    if module.startswith("albert.encoder.albert_layer_groups."):
        parts = module.split(".")
        g, i, rest = parts[3], parts[5], ".".join(parts[6:])
        return f"bert/encoder/transformer/group_{g}/inner_group_{i}/{GOOGLE_LAYER[rest]}/{google_leaf}", not norm
    return f"{GOOGLE_MODULE[module]}/{google_leaf}", not norm and leaf == "weight"


def write_tf1(prefix: Path, tensors: dict, keep=lambda name: True) -> None:
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        variables = []
        for hf, value in sorted(tensors.items()):
            name, transpose = google_name(hf)
            if keep(name):
                variables.append(tf.compat.v1.get_variable(name, initializer=np.ascontiguousarray(value.T if transpose else value)))
        step = tf.compat.v1.train.get_or_create_global_step()
        for slot in ("bert/pooler/dense/bias", "cls/predictions/output_bias"):
            if keep(slot):
                for kind in ("adam_m", "adam_v"):
                    variables.append(tf.compat.v1.get_variable(f"{slot}/{kind}", initializer=np.zeros(
                        tensors["albert.pooler.bias" if slot.startswith("bert") else "predictions.bias"].shape, np.float32)))
        saver = tf.compat.v1.train.Saver(variables + [step], save_relative_paths=True)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(prefix), global_step=0, write_meta_graph=False)


def google_config() -> dict:
    keys = ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
            "num_attention_heads", "intermediate_size", "inner_group_num", "hidden_dropout_prob",
            "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size", "initializer_range")
    return {**{k: CONFIG[k] for k in keys}, "hidden_act": "gelu", "down_scale_factor": 1}


def tf_stage(check_only: bool) -> None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import h5py
    import transformers
    from safetensors.numpy import load_file

    tensors = load_file(OUT / "hf_safetensors" / "model.safetensors")
    if not check_only:
        tmp = Path(tempfile.mkdtemp(dir=OUT.parent))
        written = {}
        for cls_name, extra in (("TFAlbertForPreTraining", {}), ("TFAlbertForSequenceClassification", {"num_labels": 1}),
                                ("TFAlbertForQuestionAnswering", {})):
            # from the .bin: it holds predictions.decoder.bias, which v4 TF reads (and the safetensors leaves out as tied)
            with materialize("hf_bin") as path:
                model = getattr(transformers, cls_name).from_pretrained(path, from_pt=True, **extra)
            model.save_pretrained(tmp / cls_name)
            written[cls_name] = tmp / cls_name / "tf_model.h5"
        folder = tmp / "hf_tf"
        folder.mkdir()
        shutil.copy(OUT / "hf_safetensors" / "config.json", folder / "config.json")
        shutil.copy(written["TFAlbertForPreTraining"], folder / "tf_model.h5")
        with h5py.File(folder / "tf_model.h5", "a") as dst:
            names = [n.decode() if isinstance(n, bytes) else n for n in dst.attrs["layer_names"]]
            for cls_name, layer in (("TFAlbertForSequenceClassification", "classifier"),
                                    ("TFAlbertForQuestionAnswering", "qa_outputs")):
                with h5py.File(written[cls_name], "r") as src:
                    src.copy(src[layer], dst, name=layer)
                names.append(layer)
            dst.attrs["layer_names"] = np.asarray([n.encode() for n in names])
        _replace(folder, OUT / "hf_tf")
        folder = tmp / "google_tf1"
        folder.mkdir()
        with open(folder / "albert_config.json", "w") as f:
            json.dump(google_config(), f, indent=2, sort_keys=True)
            f.write("\n")
        write_tf1(folder / "model.ckpt", tensors)
        _replace(folder, OUT / "google_tf1")
        shutil.rmtree(tmp)
        print(f"wrote {OUT / 'hf_tf'} and {OUT / 'google_tf1'} with transformers {transformers.__version__}")
    check_tf_formats(tensors)
    check_torch_formats()


def check_tf_formats(tensors: dict) -> None:
    import tensorflow as tf
    import torch
    import transformers
    from transformers.models.albert.modeling_albert import load_tf_weights_in_albert

    x, expected = _fixtures.expected()
    print(f"transformers {transformers.__version__} (TensorFlow, tf-keras) reading hf_tf/tf_model.h5(.gz):")
    for head, (cls_name, extra) in _fixtures.HEADS.items():
        with materialize("hf_tf") as path:
            model, info = getattr(transformers, "TF" + cls_name).from_pretrained(path, **extra,
                                                                                output_loading_info=True)
        assert not info["missing_keys"] and not info["mismatched_keys"], (head, info)
        features = {k: tf.constant(v) for k, v in _fixtures.head_inputs(head, x).items() if "_ids" in k or "mask" in k}
        result = model(features, training=False)
        # v4's TF losses are reduced differently (and break for num_labels=1); the weights show in the outputs.
        want = {k: v for k, v in expected[head].items() if k != "loss"}
        compare(f"hf_tf/TF{cls_name} (outputs but loss)", pick(result), want)

    print(f"transformers {transformers.__version__} load_tf_weights_in_albert reading google_tf1 (per-class subsets):")
    config = {**google_config(), "hidden_act": "gelu_new"}  # Google's gelu is the tanh form
    config.pop("down_scale_factor")
    subsets = {"pretraining": lambda n: n.startswith(("bert/", "cls/predictions", "cls/seq_relationship", "global")),
               "sequence_classification": lambda n: n.startswith(("bert/", "output_", "global")),
               "multiple_choice": lambda n: n.startswith(("bert/", "output_", "global"))}
    reader = tf.train.load_checkpoint(str(OUT / "google_tf1" / "model.ckpt-0"))
    for head, keep in subsets.items():
        cls_name, extra = _fixtures.HEADS[head]
        with tempfile.TemporaryDirectory() as tmp:
            subset = {hf: v for hf, v in tensors.items() if keep(google_name(hf)[0])}
            for hf in subset:  # the subset is written from the fixture's own TF1 tensors
                name, transpose = google_name(hf)
                value = reader.get_tensor(name)
                subset[hf] = value.T if transpose else value
            write_tf1(Path(tmp) / "model.ckpt", subset, keep)
            model = getattr(transformers, cls_name)(transformers.AlbertConfig(**config, **extra))
            with contextlib.redirect_stdout(io.StringIO()):
                load_tf_weights_in_albert(model, model.config, os.path.join(tmp, "model.ckpt-0"))
        with torch.no_grad():
            result = model.eval()(**{k: torch.from_numpy(np.asarray(v, np.int64 if v.dtype == np.int32 else v.dtype))
                                     for k, v in _fixtures.head_inputs(head, x).items()})
        compare(f"google_tf1/{cls_name} (load_tf_weights_in_albert)", pick(result), expected[head])
    for part in ("weight", "bias"):
        name, _ = google_name(f"qa_outputs.{part}")
        assert np.array_equal(reader.get_tensor(name), tensors[f"qa_outputs.{part}"]), name
    print("  google_tf1 cls/squad/output_{weights,bias} == qa_outputs.{weight,bias}: equal")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only verify the committed fixtures")
    args = parser.parse_args(argv)
    import transformers

    transformers.logging.set_verbosity_error()
    OUT.mkdir(parents=True, exist_ok=True)
    if int(transformers.__version__.split(".")[0]) >= 5:
        torch_stage(args.check)
    else:
        tf_stage(args.check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
