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


def alias_old_module(old_name: str, new_module: ModuleType) -> None:
    """Replaces the module being imported (`old_name`) by `new_module` in `sys.modules`, with a warning."""
    warnings.warn(
        f"{old_name} moved to {new_module.__name__} in tf_albert 0.2; import from there (the old path is an "
        "alias and will be removed in a later release)",
        FutureWarning,
        stacklevel=3,
    )
    sys.modules[old_name] = new_module
