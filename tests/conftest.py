"""Shared test helpers: tiny configs and the HF parity fixtures."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# The tests check this package's numbers, not the speed of XLA's compiled code, and most of their XLA time is
# compiling tiny programs: skip LLVM's optimisations (no fast-math either way; results may differ in the last
# bits, well inside the tests' tolerances). On 2 cores, one run each: the JAX backend suite took 111 s with
# these flags against 164 s without, 7 TensorFlow XLA fit tests 75 s against 95 s. Subprocesses inherit them.
_xla_flags = ["--xla_backend_optimization_level=0", "--xla_llvm_disable_expensive_passes=true"]
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `-n auto` runs one worker per core. Each worker's math libraries (TensorFlow's and XLA's CPU thread
    # pools, oneDNN, PyTorch) would otherwise start one thread per core too, and the workers' threads, and
    # those of the subprocesses tests start, would compete for the cores. Set before anything starts them.
    for _name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_name, "1")
    _xla_flags.append("--xla_cpu_multi_thread_eigen=false")
os.environ["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), *_xla_flags]).strip()

import pytest  # noqa: E402

from tests.helpers import tiny_config


@pytest.fixture
def config():
    return tiny_config()


def _seed_everything():
    import keras

    keras.utils.set_random_seed(0)


@pytest.fixture(autouse=True, scope="module")
def _seed_module():
    """Module-scoped fixtures (the shared random models) are made from the same random state on every run."""
    _seed_everything()


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state, whichever worker runs it and whatever ran before: a
    random model is then the same model on every run, and a test that holds for it holds in CI too."""
    _seed_everything()


@pytest.fixture(autouse=True)
def _reset_dtype_policy():
    """Tests that switch to mixed precision must not leak it into the next test."""
    import keras

    yield
    keras.mixed_precision.set_global_policy("float32")


