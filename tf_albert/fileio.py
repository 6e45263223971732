"""Small file-system helpers shared by everything that writes atomically (temp file/folder, then rename).

`tempfile.mkstemp`/`mkdtemp` create private entries (0600 files, 0700 folders); a saved model that ends up
private cannot be read by another user, such as a TF Serving process. `apply_default_permissions` gives
such entries the permissions a plain `open()`/`os.makedirs()` would have (0666/0777 less the umask).
"""

from __future__ import annotations

import os


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def apply_default_permissions(path: str) -> None:
    """chmod `path` (and, for a folder, everything under it) to the default modes for this process."""
    mask = _umask()
    file_mode, dir_mode = 0o666 & ~mask, 0o777 & ~mask
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            os.chmod(root, dir_mode)
            for name in files:
                os.chmod(os.path.join(root, name), file_mode)
    else:
        os.chmod(path, file_mode)
