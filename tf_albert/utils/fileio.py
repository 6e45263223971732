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


def write_file_atomically(path: str, data: bytes | str) -> str:
    """Write `data` (text as UTF-8) to `path` through a temp file in the same folder and a rename, so a
    crash mid-write leaves the old file whole. The file gets the default permissions; returns `path`."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        apply_default_permissions(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
