"""The shipped tf-albert-tiny: files, size, architecture, tokenizer, loading without network, predictions."""

import json
import os

import numpy as np
import pytest

from tf_albert.pretrained import EMBEDDED_MODELS, embedded_model_path

FOLDER = embedded_model_path("tf-albert-tiny")


def test_folder_files_and_size():
    files = set(os.listdir(FOLDER))
    assert {
        "config.json",
        "model.safetensors",
        "spiece.model",
        "tokenizer_config.json",
        "MODEL_CARD.md",
    } <= files
    total = sum(os.path.getsize(os.path.join(FOLDER, f)) for f in files)
    assert total <= 8 * 1024 * 1024, f"{total} bytes"
    assert EMBEDDED_MODELS == ("tf-albert-tiny",)
    assert embedded_model_path("tf_albert/tf-albert-tiny") == FOLDER
    assert embedded_model_path("albert-base-v2") is None and embedded_model_path(3) is None


def test_architecture_is_the_documented_one():
    config = json.load(open(os.path.join(FOLDER, "config.json")))
    assert {
        k: config[k]
        for k in (
            "vocab_size",
            "embedding_size",
            "hidden_size",
            "num_attention_heads",
            "intermediate_size",
            "num_hidden_layers",
            "num_hidden_groups",
            "inner_group_num",
        )
    } == {
        "vocab_size": 6000,
        "embedding_size": 128,
        "hidden_size": 256,
        "num_attention_heads": 4,
        "intermediate_size": 1024,
        "num_hidden_layers": 6,
        "num_hidden_groups": 1,
        "inner_group_num": 1,
    }


def test_tokenizer_has_albert_special_ids_and_lower_cases():
    from tf_albert.tokenization import AlbertTokenizer

    tok = AlbertTokenizer.from_pretrained(FOLDER)
    assert len(tok) == 6000 and tok.model_max_length == 64
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    assert tok.tokenize("The JSON Module") == tok.tokenize("the json module")
    assert "<unk>" not in tok.tokenize("The functools module is for higher-order functions.")


@pytest.fixture(scope="module")
def mlm():
    from tf_albert import AlbertForMaskedLM
    from tf_albert.tokenization import AlbertTokenizer

    model = AlbertForMaskedLM.from_pretrained(FOLDER)
    return model, AlbertTokenizer.from_pretrained(FOLDER)


def test_loads_every_weight(mlm):
    model, _ = mlm
    assert model.loading_info.missing_keys == []
    assert sorted(model.loading_info.unexpected_keys) == [
        "sop_classifier.classifier.bias",
        "sop_classifier.classifier.weight",
    ]


def test_predictions_are_pinned_and_better_than_uniform(mlm):
    model, tok = mlm
    # Pinned outputs of the shipped weights: a change here means the weights or the loading path changed.
    enc = tok("python is a programming [MASK].", return_tensors="np")
    logits = np.asarray(model(enc["input_ids"], attention_mask=enc["attention_mask"])["logits"])[0]
    at = list(enc["input_ids"][0]).index(tok.mask_token_id)
    top = np.argsort(-logits[at])[:3]
    assert tok.convert_ids_to_tokens(top.tolist()) == ["▁the", ",", "▁a"]
    np.testing.assert_allclose(logits[at][top], [5.5468435, 4.7702217, 4.7183146], rtol=1e-4)
    # Held-out text (tutorial/classes is not in the training data): every piece masked in turn. The mean
    # negative log-likelihood is well below the 8.70 nats of a uniform guess over 6,000 pieces.
    ids = tok.encode("Classes provide a means of bundling data and functionality together.")
    n = len(ids) - 2
    batch = np.array([ids] * n)
    batch[np.arange(n), np.arange(1, n + 1)] = tok.mask_token_id
    out = np.asarray(model(batch)["logits"], np.float64)[np.arange(n), np.arange(1, n + 1)]
    out -= out.max(-1, keepdims=True)
    logp = out - np.log(np.exp(out).sum(-1, keepdims=True))
    nll = -logp[np.arange(n), ids[1:-1]].mean()
    assert nll < 7.0, nll
