"""The shipped models: files, size, architecture, tokenizer, loading without network, and what the default,
tf-albert-small, knows (its model card's numbers, measured again here: held-out MLM accuracy, fill-mask on the
seed sentence, transfer to unseen words)."""

import json
import os
import re

import numpy as np
import pytest

from tests.helpers import FIXTURES, load_tool
from tf_albert.pretrained import DEFAULT_MODEL, EMBEDDED_MODELS, embedded_model_path

SMALL = embedded_model_path("tf-albert-small")
TINY = embedded_model_path("tf-albert-tiny")
HELDOUT = os.path.join(FIXTURES, "heldout-english")
SHAPES = ("vocab_size", "embedding_size", "hidden_size", "num_attention_heads", "intermediate_size",
          "num_hidden_layers", "num_hidden_groups", "inner_group_num", "max_position_embeddings")
MODELS = {
    # name: (bytes at most, the documented architecture, the positions it was pretrained on)
    "tf-albert-small": (20 * 1024 * 1024, (16000, 128, 384, 6, 1536, 6, 1, 1, 512), 128),
    "tf-albert-tiny": (8 * 1024 * 1024, (6000, 128, 256, 4, 1024, 6, 1, 1, 256), 64),
}


def card(folder) -> str:
    with open(os.path.join(folder, "MODEL_CARD.md"), encoding="utf-8") as f:
        return f.read()


def test_registry():
    assert EMBEDDED_MODELS == ("tf-albert-small", "tf-albert-tiny") and DEFAULT_MODEL == "tf-albert-small"
    assert embedded_model_path("tf_albert/tf-albert-small") == SMALL
    assert embedded_model_path("albert-base-v2") is None and embedded_model_path(3) is None


@pytest.mark.parametrize("name", sorted(MODELS))
def test_folder_files_size_and_architecture(name):
    folder = embedded_model_path(name)
    max_bytes, shape, positions = MODELS[name]
    files = set(os.listdir(folder))
    assert {"config.json", "model.safetensors", "spiece.model", "tokenizer_config.json", "MODEL_CARD.md"} <= files
    total = sum(os.path.getsize(os.path.join(folder, f)) for f in files)
    assert total <= max_bytes, f"{total} bytes"
    config = json.load(open(os.path.join(folder, "config.json")))
    assert tuple(config[k] for k in SHAPES) == shape

    from tf_albert.tokenization import AlbertTokenizer

    tok = AlbertTokenizer.from_pretrained(folder)
    assert len(tok) == shape[0] and tok.model_max_length == positions
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    assert tok.tokenize("The JSON Module") == tok.tokenize("the json module")
    assert "<unk>" not in tok.tokenize("The functools module is for higher-order functions.")


def test_small_carries_its_sources_notices():
    notice = open(os.path.join(SMALL, "NOTICE.md"), encoding="utf-8").read()
    assert "WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved." in notice
    assert "Python Software Foundation; All Rights Reserved" in notice and "public domain" in notice.lower()
    text = card(SMALL)
    for source in ("wordnet-base", "1:3.0-37", "dict-devil", "1.0-13.1", "python3.11-doc", "3.11.2-6+deb12u8"):
        assert source in text


@pytest.fixture(scope="module")
def small_mlm():
    from tf_albert import AlbertForMaskedLM

    model = AlbertForMaskedLM.from_pretrained(SMALL)
    assert model.loading_info.missing_keys == []
    assert sorted(model.loading_info.unexpected_keys) == [
        "sop_classifier.classifier.bias",
        "sop_classifier.classifier.weight",
    ]
    return model


def test_small_heldout_mlm_accuracy_is_the_cards_and_beats_the_most_frequent_word():
    from tf_albert import AlbertForPreTraining
    from tf_albert.training.pretrain import evaluate_pretraining
    from tf_albert.training.pretraining_data import pretraining_dataset

    model = AlbertForPreTraining.from_pretrained(SMALL)
    data = pretraining_dataset(HELDOUT, 64, split="eval", shuffle=False, repeat=False, drop_remainder=False)
    measured = evaluate_pretraining(model, data)
    assert measured["examples"] == 392
    row = re.search(r"\| MLM accuracy \(top-1, masked positions\) \| ([0-9.]+) \|", card(SMALL))
    assert row, "the model card lists no held-out MLM accuracy"
    assert measured["mlm_accuracy"] == pytest.approx(float(row.group(1)), abs=5e-4)
    # Always answering the held-out set's own most frequent masked word scores this much:
    labels = np.concatenate([y["labels"].numpy().reshape(-1) for _, y in data])
    labels = labels[labels >= 0]
    most_frequent = np.bincount(labels).max() / len(labels)
    assert measured["mlm_accuracy"] > 2 * most_frequent, (measured, most_frequent)


def test_small_fill_mask_on_the_seed_sentence_is_the_cards(small_mlm):
    from tf_albert.pipelines import pipeline

    evaluate = load_tool("evaluate_english")
    unmasker = pipeline("fill-mask", model=small_mlm, tokenizer=SMALL)
    top5 = [c["token_str"].strip() for c in unmasker(evaluate.SEED_SENTENCE, top_k=5)]
    listed = re.search(r"Seed sentence top 5: `([^`]*)`", card(SMALL))
    assert listed and top5 == listed.group(1).split(", "), (top5, listed and listed.group(1))
    default = pipeline("fill-mask")  # no model: the default, tf-albert-small
    assert (default.config.vocab_size, default.config.hidden_size) == (16000, 384)


@pytest.mark.slow  # ten fine-tuning runs, 3 minutes of the default suite; the card's pinned outputs stay in it
def test_small_transfers_to_unseen_words_15_points_over_random_init():
    """Animal vs food words, trained on half of each category and tested on the other, unseen half: only what
    pretraining taught about the words helps. Averaged over 5 seeds, as the model card reports it."""
    evaluate = load_tool("evaluate_english")
    seeds = (0, 1, 2, 3, 4)
    pretrained = [evaluate.transfer(SMALL, s, pretrained=True) for s in seeds]
    random_init = [evaluate.transfer(SMALL, s, pretrained=False) for s in seeds]
    gain = 100 * (np.mean(pretrained) - np.mean(random_init))
    assert gain >= 15, (pretrained, random_init)


def test_tiny_predictions_are_pinned_and_better_than_uniform():
    from tf_albert import AlbertForMaskedLM
    from tf_albert.tokenization import AlbertTokenizer

    model, tok = AlbertForMaskedLM.from_pretrained(TINY), AlbertTokenizer.from_pretrained(TINY)
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
