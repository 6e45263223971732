"""Helpers for the checkpoint tests: the committed fixtures (tests/fixtures/checkpoints, see its README)."""

import gzip
import os
import shutil

import numpy as np

CHECKPOINTS = os.path.join(os.path.dirname(__file__), "fixtures", "checkpoints")
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
