"""Shared test helpers: tiny configs and the HF parity fixtures."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

from tests.helpers import tiny_config


@pytest.fixture
def config():
    return tiny_config()


@pytest.fixture(autouse=True)
def _reset_dtype_policy():
    """Tests that switch to mixed precision must not leak it into the next test."""
    import keras

    yield
    keras.mixed_precision.set_global_policy("float32")


