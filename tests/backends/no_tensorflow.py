"""Hide TensorFlow from this process, as on a machine where it is not installed: `install()` puts a finder
first on `sys.meta_path` whose modules `tensorflow` (and tensorflow-text, tf-keras) fail to load with the
`ModuleNotFoundError` a missing package gives. tests/backends/test_backends.py runs the JAX and PyTorch
checks this way.

    python -c "import tests.backends.no_tensorflow as h; h.install(); import tf_albert"

(`importlib.util.find_spec("tensorflow")` still answers, with a spec that has no origin: torch._dynamo asks it
about optional modules at import and skips one without an origin.)
"""

import importlib.abc
import importlib.machinery
import sys

HIDDEN = ("tensorflow", "tensorflow_text", "tf_keras")


class _Refuse(importlib.abc.Loader):
    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r} (hidden: tests/backends/no_tensorflow.py)",
                                  name=spec.name)

    def exec_module(self, module):  # never reached: create_module refuses
        raise AssertionError(module)


class _HideTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            return importlib.machinery.ModuleSpec(name, _Refuse())
        return None


def install() -> None:
    if any(name.split(".")[0] in HIDDEN for name in sys.modules):
        raise RuntimeError("TensorFlow is already imported; hide it before anything imports it")
    sys.meta_path.insert(0, _HideTensorFlow())
