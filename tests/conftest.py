"""Shared test helpers: tiny configs and the HF parity fixtures."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
PARITY = os.path.join(FIXTURES, "parity")


def tiny_config(**overrides):
    from tf_albert import AlbertConfig

    base = dict(vocab_size=99, embedding_size=8, hidden_size=16, num_attention_heads=2, intermediate_size=24,
                num_hidden_layers=3, max_position_embeddings=32, type_vocab_size=2)
    return AlbertConfig(**{**base, **overrides})


@pytest.fixture
def config():
    return tiny_config()


@pytest.fixture(autouse=True)
def _reset_dtype_policy():
    """Tests that switch to mixed precision must not leak it into the next test."""
    import keras

    yield
    keras.mixed_precision.set_global_policy("float32")


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
