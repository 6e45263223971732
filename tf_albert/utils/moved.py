"""Old module paths (tf_albert 0.1) kept working: each old module becomes an alias of its new home.

`tf_albert/modeling.py` is two lines::

    from tf_albert.model import modeling as _new
    alias_old_module(__name__, _new)

after which `import tf_albert.modeling` *is* `tf_albert.model.modeling` (every name, private ones too) and
a `FutureWarning` says where the module went, once per process (a module body runs once).
"""

from __future__ import annotations

import sys
import warnings
from types import ModuleType


def _warn(old_name: str, new_names: str) -> None:
    warnings.warn(
        f"{old_name} moved to {new_names} in tf_albert 0.2; import from there (the old path is an alias and "
        "will be removed in a later release)",
        FutureWarning,
        stacklevel=4,
    )


def alias_old_module(old_name: str, new_module: ModuleType) -> None:
    """Replaces the module being imported (`old_name`) by `new_module` in `sys.modules`, with a warning."""
    _warn(old_name, new_module.__name__)
    sys.modules[old_name] = new_module


def split_old_module(old_name: str, *new_modules: ModuleType):
    """For an old module whose contents now live in several modules: warns, and returns the module
    `__getattr__` that finds each name in the first new module that has it."""
    _warn(old_name, " and ".join(m.__name__ for m in new_modules))

    def __getattr__(name: str):
        for module in new_modules:
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {old_name!r} has no attribute {name!r}")

    return __getattr__
