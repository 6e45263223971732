"""Helpers shared by the tests (and by tools/make_checkpoint_fixtures.py, which loads this file by path: numpy
only at import time): tiny configs, random ids, the committed fixtures (HF parity, checkpoints, tokenizer) and
the tiny model folders of the pipeline and CLI tests."""

import gzip
import importlib.util
import json
import os
import shutil

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
PARITY = os.path.join(FIXTURES, "parity")
CHECKPOINTS = os.path.join(FIXTURES, "checkpoints")
FIXTURE_TOKENIZER = os.path.join(FIXTURES, "tokenizer")
SPM = os.path.join(FIXTURE_TOKENIZER, "spiece.model")


def load_tool(name: str):
    """A script of tools/ (they are not a package) imported as a module, e.g. `load_tool("evaluate_english")`."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "tools", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_config(**overrides):
    from tf_albert import AlbertConfig

    base = dict(vocab_size=99, embedding_size=8, hidden_size=16, num_attention_heads=2, intermediate_size=24,
                num_hidden_layers=3, max_position_embeddings=32, type_vocab_size=2)
    return AlbertConfig(**{**base, **overrides})



def load_parity(variant: str, head: str):
    """(AlbertConfig with the head's options, HF state dict, inputs, outputs) of one parity fixture."""
    from tf_albert import AlbertConfig

    folder = os.path.join(PARITY, variant)
    data = np.load(os.path.join(folder, f"{head}.npz"))
    config = AlbertConfig.from_json_file(os.path.join(folder, "config.json"),
                                         **json.loads(data["head_config"].item()))
    weights = dict(np.load(os.path.join(folder, "backbone.npz")))
    inputs, outputs = {}, {}
    for key in data.files:
        if key.startswith("w/"):
            weights[key[2:]] = data[key]
        elif key.startswith("in/"):
            inputs[key[3:]] = data[key]
        elif key.startswith("out/"):
            outputs[key[4:]] = data[key]
        elif key.startswith("posids/"):
            outputs[key] = data[key]
    if not any(k.startswith("hidden_states/") for k in outputs):
        # Stored once, in model.npz: every head sees the same backbone states on the same inputs.
        shared = np.load(os.path.join(folder, "model.npz"))
        outputs.update({k[4:]: shared[k] for k in shared.files if k.startswith(("out/hidden_states/", "out/attentions/"))})
    return config, weights, inputs, outputs



def random_ids(shape, vocab_size=99, low=5, seed=0):
    return np.random.default_rng(seed).integers(low, vocab_size, size=shape).astype("int32")


def own_loss_batch(model_class_name: str, rng, n=8, length=6):
    """(x, y) for a head's own loss on `tiny_config(num_labels=3)`: a small fixed batch to overfit."""
    if model_class_name == "AlbertForMultipleChoice":
        x = {"input_ids": random_ids((n, 3, length), seed=1)}
        return x, rng.integers(0, 3, size=(n,))
    x = {"input_ids": random_ids((n, length), seed=1), "attention_mask": np.ones((n, length), "int32")}
    x["attention_mask"][:, -1] = 0
    if model_class_name == "AlbertForSequenceClassification":
        return x, rng.integers(0, 3, size=(n,))
    if model_class_name == "AlbertForTokenClassification":
        y = rng.integers(0, 3, size=(n, length))
        y[:, -1] = -100
        return x, y
    if model_class_name == "AlbertForMaskedLM":
        y = np.full((n, length), -100)
        y[:, 2] = x["input_ids"][:, 2]
        return x, y
    if model_class_name == "AlbertForQuestionAnswering":
        return x, {"start_positions": rng.integers(0, length, size=(n,)),
                   "end_positions": rng.integers(0, length, size=(n,))}
    if model_class_name == "AlbertForPreTraining":
        y = np.full((n, length), -100)
        y[:, 1] = x["input_ids"][:, 1]
        return x, {"labels": y, "sentence_order_label": rng.integers(0, 2, size=(n,))}
    raise AssertionError(model_class_name)


# --- checkpoint fixtures (tests/fixtures/checkpoints, see its README) ---
FOLDERS = {"safetensors": "hf_safetensors", "bin": "hf_bin", "h5": "hf_tf", "tf1": "google_tf1"}
# fixture head -> (model class name, config overrides); classifier heads use the checkpoint's [1, H] classifier
HEADS = {
    "model": ("AlbertModel", {}),
    "pretraining": ("AlbertForPreTraining", {}),
    "masked_lm": ("AlbertForMaskedLM", {}),
    "sequence_classification": ("AlbertForSequenceClassification", {"num_labels": 1}),
    "multiple_choice": ("AlbertForMultipleChoice", {}),
    "token_classification": ("AlbertForTokenClassification", {"num_labels": 1}),
    "question_answering": ("AlbertForQuestionAnswering", {}),
}


def materialize(fmt: str, dest: str) -> str:
    """A copy of the fixture folder of `fmt` at `dest`, with the gzipped weights unpacked."""
    src = os.path.join(CHECKPOINTS, FOLDERS[fmt])
    os.makedirs(dest, exist_ok=True)
    for name in os.listdir(src):
        if name.endswith(".gz"):
            with gzip.open(os.path.join(src, name), "rb") as f, open(os.path.join(dest, name[:-3]), "wb") as out:
                shutil.copyfileobj(f, out)
        else:
            shutil.copy(os.path.join(src, name), os.path.join(dest, name))
    return dest


def expected():
    """(inputs, {head: {output key: array}}) computed by transformers 5 from the fixture weights."""
    data = np.load(os.path.join(CHECKPOINTS, "expected.npz"))
    inputs = {k[3:]: data[k] for k in data.files if k.startswith("in/")}
    outputs = {}
    for key in data.files:
        if key.startswith("out/"):
            _, head, name = key.split("/", 2)
            outputs.setdefault(head, {})[name] = data[key]
    return inputs, outputs


def head_inputs(head: str, x: dict) -> dict:
    base = {k: x[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    if head == "multiple_choice":
        return {"input_ids": x["mc_input_ids"], "attention_mask": x["mc_attention_mask"],
                "token_type_ids": x["mc_token_type_ids"], "labels": x["mc_labels"]}
    labels = {"model": {}, "pretraining": {"labels": x["mlm_labels"], "sentence_order_label": x["sop_labels"]},
              "masked_lm": {"labels": x["mlm_labels"]}, "sequence_classification": {"labels": x["seq_labels"]},
              "token_classification": {"labels": x["tok_labels"]},
              "question_answering": {"start_positions": x["start_positions"], "end_positions": x["end_positions"]}}
    return {**base, **labels[head]}


def max_diff(outputs: dict, want: dict) -> float:
    assert set(want) <= set(outputs), (sorted(want), sorted(outputs))
    return max(float(np.max(np.abs(np.asarray(outputs[k], np.float64) - v))) for k, v in want.items())


# --- tiny model folders for the pipeline and CLI tests (one per task head, the fixture SentencePiece model) ---
TOKEN_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC", 5: "MISC"}
CLASS_LABELS = {0: "negative", 1: "neutral", 2: "positive"}
MAX_POSITIONS = 128

_built: dict = {}


def pipeline_config(vocab_size, **overrides):
    from tf_albert import AlbertConfig

    # initializer_range 0.4: peaked outputs, so rankings are not decided by float noise
    base = dict(vocab_size=vocab_size, embedding_size=16, hidden_size=32, num_attention_heads=2,
                intermediate_size=64, num_hidden_layers=2, max_position_embeddings=MAX_POSITIONS,
                initializer_range=0.4)
    return AlbertConfig(**{**base, **overrides})


def model_folders(root) -> dict:
    """{"mlm", "cls", "tok", "qa": folder}, built once per test process under `root`."""
    if _built:
        return _built
    import keras

    from tf_albert import (
        AlbertForMaskedLM,
        AlbertForQuestionAnswering,
        AlbertForSequenceClassification,
        AlbertForTokenClassification,
    )
    from tf_albert.tokenization import AlbertTokenizer

    keras.utils.set_random_seed(7)
    tokenizer = AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)
    heads = {
        "mlm": (AlbertForMaskedLM, {}),
        "cls": (AlbertForSequenceClassification, {"id2label": CLASS_LABELS}),
        "tok": (AlbertForTokenClassification, {"id2label": TOKEN_LABELS}),
        "qa": (AlbertForQuestionAnswering, {}),
    }
    for name, (cls, overrides) in heads.items():
        model = cls(pipeline_config(len(tokenizer), **overrides))
        model.build()
        _built[name] = model.save_pretrained(os.path.join(str(root), name), tokenizer=tokenizer,
                                             formats=("safetensors",))
    return _built


# --- issue-16 format fixtures (tests/fixtures/formats, see its README) ---
FORMATS = os.path.join(FIXTURES, "formats")


def materialize_format(name: str, dest: str) -> str:
    """A copy of tests/fixtures/formats/<name> at `dest`, *.gz unpacked; KerasHub presets get their
    vocabulary.spm (the fixture spiece.model) and keras_hub_mlm the backbone files of keras_hub."""
    src = os.path.join(FORMATS, name)
    for root, _, files in os.walk(src):
        out = os.path.join(dest, os.path.relpath(root, src))
        os.makedirs(out, exist_ok=True)
        for f in files:
            if f.endswith(".gz"):
                with gzip.open(os.path.join(root, f), "rb") as g, open(os.path.join(out, f[:-3]), "wb") as w:
                    shutil.copyfileobj(g, w)
            else:
                shutil.copy(os.path.join(root, f), os.path.join(out, f))
    if name == "keras_hub_mlm":
        backbone = materialize_format("keras_hub", os.path.join(dest, ".backbone"))
        for f in os.listdir(backbone):
            if not f.startswith("task."):
                shutil.move(os.path.join(backbone, f), os.path.join(dest, f))
        shutil.rmtree(backbone)
    if name.startswith("keras_hub") and not os.path.exists(os.path.join(dest, "assets")):
        os.makedirs(os.path.join(dest, "assets", "tokenizer"))
        shutil.copy(SPM, os.path.join(dest, "assets", "tokenizer", "vocabulary.spm"))
    return dest


def format_outputs(stage: str) -> dict:
    """{"<fixture>/<key>": array} computed by the reference library of `stage` (hf5, keras_hub, tf2)."""
    data = np.load(os.path.join(FORMATS, f"{stage}.npz"))
    return {k: data[k] for k in data.files}


def format_ids() -> dict:
    """The reference tokenizers' ids on the hard-string corpus (tokenizer_json, wordpiece, keras_hub)."""
    with gzip.open(os.path.join(FORMATS, "tokenizers.json.gz"), "rt", encoding="utf-8") as f:
        return json.load(f)


def tokenizer_corpus() -> dict:
    """The hard-string corpus of tests/fixtures/tokenizer: {"singles": [...], "pairs": [(a, b), ...]}."""
    with gzip.open(os.path.join(FIXTURE_TOKENIZER, "expected.json.gz"), "rt", encoding="utf-8") as f:
        data = json.load(f)
    return {"singles": data["corpus"] + data["long_corpus"], "pairs": [tuple(p) for p in data["pairs"]]}


def export_model(head: str, **overrides):
    """A built tiny model of `head` for export tests; initializer_range 0.2 puts logits far from 0, so a wrong
    number cannot hide below the tolerance."""
    from tf_albert import MODEL_CLASSES

    model = MODEL_CLASSES[head](tiny_config(num_labels=3, initializer_range=0.2, **overrides))
    model.build()
    return model


def export_case(model, batch: int, length: int, dtype: str, seed: int = 0) -> dict:
    """Random ids, a mask with padding in row 1 and two token types, shaped for `model` ([batch, 2, length]
    for multiple choice)."""
    rng = np.random.default_rng(seed)
    shape = (batch, 2, length) if model.input_rank == 3 else (batch, length)
    ids = rng.integers(5, model.config.vocab_size, size=shape).astype(dtype)
    mask = np.ones(shape, dtype)
    if batch > 1:
        mask[1, ..., length // 2:] = 0
    types = np.zeros(shape, dtype)
    types[..., length // 2 + 1:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
