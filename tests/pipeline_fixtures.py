"""Tiny checkpoint folders for the pipeline and command-line tests: one per task head, each holding the fixture
SentencePiece model (tests/fixtures/tokenizer, 1500 pieces), written with `save_pretrained` like a real release."""

import os

FIXTURE_TOKENIZER = os.path.join(os.path.dirname(__file__), "fixtures", "tokenizer")
TOKEN_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC", 5: "MISC"}
CLASS_LABELS = {0: "negative", 1: "neutral", 2: "positive"}
MAX_POSITIONS = 128

_built: dict = {}


def tiny_config(vocab_size, **overrides):
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
        model = cls(tiny_config(len(tokenizer), **overrides))
        model.build()
        _built[name] = model.save_pretrained(os.path.join(str(root), name), tokenizer=tokenizer,
                                             formats=("safetensors",))
    return _built
