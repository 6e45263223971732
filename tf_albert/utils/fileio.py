"""Writing files and folders so that a crash leaves the old version or the new one, never a mix or nothing.

One rule, written once: write beside the target under a hidden name, fsync, then swap it in.

* `write_file_atomically(path, data)` / `writing_file_atomically(path)`: one file, through a temp file
  and `os.replace`.
* `replace_folder_atomically(target, keep=...)`: a whole folder (a checkpoint, a SavedModel version). On
  Linux the staged folder and the old one trade places with `renameat2(RENAME_EXCHANGE)`, so `target`
  is never missing; elsewhere (other systems, file systems without the exchange) the old folder is
  renamed aside and the new one renamed in, and the next save or `recover_folder(target)` puts the old
  folder back if a process died between those two renames.

Staging entries are named `.NAME.saving-<pid>-<random>` (the old folder set aside: `.NAME.old-<pid>-...`)
and each writer holds a shared `flock` on its own. Every write first removes such siblings of the same
target whose writer is gone (its pid is not alive here and nobody holds the lock), so an interrupted save
leaves nothing behind after the next one; a concurrent live save's entries are left alone.

Staging entries start private (0600 files, 0700 folders); a saved model that ended up private could not be
read by another user, such as a TF Serving process, so everything written here gets the permissions a plain
`open()`/`os.makedirs()` would give (0666/0777 less the umask).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
from collections.abc import Callable, Iterator

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

_SAVING, _OLD = "saving", "old"


# === Permissions and durability ===
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


def _fsync(path: str) -> None:
    """Flushes a file, or a folder's entries, to disk (best effort: some systems cannot open a folder)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(path: str) -> None:
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                _fsync(full)
        _fsync(root)


# === Staging names, liveness and debris ===
def _staging_prefix(name: str, kind: str) -> str:
    return f".{name}.{kind}-"


def _staging_name(name: str, kind: str) -> str:
    return f"{_staging_prefix(name, kind)}{os.getpid()}-{os.urandom(4).hex()}"


def _lock(path: str) -> int | None:
    """Opens `path` and takes a shared lock on it: the mark of a live writer. Returns the fd (or None)."""
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        pass
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the last fd releases the lock


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or sys.platform == "win32":  # os.kill(pid, 0) would end the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, someone else's
        return True
    return True


def _claim_if_abandoned(path: str, prefix: str) -> int | None:
    """An fd holding an exclusive lock on the staging entry `path` if its writer is gone, else None.

    Gone: the pid in its name is not alive on this machine, and nobody holds a lock on it (a writer on
    another machine or in another pid namespace holds its lock)."""
    pid = os.path.basename(path)[len(prefix):].partition("-")[0]
    if not pid.isdigit() or _pid_alive(int(pid)) or fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # gone already, or not ours to read
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _siblings(target: str, kind: str) -> list[str]:
    parent, name = os.path.split(target)
    prefix = _staging_prefix(name, kind)
    try:
        return [os.path.join(parent, n) for n in os.listdir(parent or ".") if n.startswith(prefix)]
    except OSError:
        return []


def _ctime(path: str) -> float:
    try:
        return os.lstat(path).st_ctime
    except OSError:
        return 0.0


def recover_folder(target) -> None:
    """Puts back a folder that a killed `replace_folder_atomically` left set aside, and removes what
    interrupted writes of `target` left beside it (their writers gone). A no-op when there is nothing to do;
    the writers here run it themselves before they write."""
    target = os.path.abspath(os.fspath(target))
    name = os.path.basename(target)
    if not os.path.lexists(target):
        for old in sorted(_siblings(target, _OLD), key=_ctime, reverse=True):  # the newest first
            claim = _claim_if_abandoned(old, _staging_prefix(name, _OLD))
            if claim is None:
                continue
            try:
                os.rename(old, target)
                _fsync(os.path.dirname(target))
                break
            except OSError:  # another process restored one first
                pass
            finally:
                _unlock(claim)
    for kind in (_SAVING, _OLD):
        for path in _siblings(target, kind):
            # A staged entry is never restored (it may be half-written); an old folder only goes once `target`
            # exists again.
            if kind == _OLD and not os.path.lexists(target):
                continue
            claim = _claim_if_abandoned(path, _staging_prefix(name, kind))
            if claim is not None:
                try:
                    _remove(path)
                finally:
                    _unlock(claim)


# === One file ===
@contextlib.contextmanager
def writing_file_atomically(path) -> Iterator[str]:
    """Yields a temp path beside `path` for the caller to write; on success it becomes `path` (fsynced,
    default permissions), on failure it is removed, so `path` is always the whole old or whole new file."""
    path = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(path)
    recover_folder(path)  # removes the temp files of killed writers of `path`
    tmp = os.path.join(folder, _staging_name(name, _SAVING) + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    lock = _lock(tmp)
    try:
        yield tmp
        _fsync(tmp)
        apply_default_permissions(tmp)
        os.replace(tmp, path)
        _fsync(folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        _unlock(lock)


def check_output_file(path, overwrite: bool, suffix: str) -> str:
    """The absolute path of a file an export is about to write, after refusing what would lose or misplace data:
    a non-path, a folder, or an existing file without `overwrite` (`suffix` names the kind: ".onnx")."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path, got {type(path).__name__}: {path!r}")
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a folder; give the path of the {suffix} file to write")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True (CLI: --overwrite)")
    return path


def write_file_atomically(path, data: bytes | str) -> str:
    """Write `data` (text as UTF-8) to `path` through a temp file in the same folder and a rename, so a
    crash mid-write leaves the old file whole. The file gets the default permissions; returns `path`."""
    with writing_file_atomically(path) as tmp, open(tmp, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return os.fspath(path)


# === One folder ===
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2
_SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "ppc64le": 357, "s390x": 347, "riscv64": 276}
_renameat2_fn: list = []


def _renameat2():
    """glibc's `renameat2`, else the raw syscall where its number is known; None off Linux."""
    if _renameat2_fn:
        return _renameat2_fn[0]
    fn = None
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
        except OSError:
            libc = None
        if libc is not None and hasattr(libc, "renameat2"):
            fn = libc.renameat2
        elif libc is not None and os.uname().machine in _SYS_RENAMEAT2:
            number = _SYS_RENAMEAT2[os.uname().machine]
            fn = lambda *args: libc.syscall(number, *args)
    _renameat2_fn.append(fn)
    return fn


def _exchange(a: str, b: str) -> bool:
    """Atomically swaps the entries `a` and `b`. False where the system or file system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    import ctypes

    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), a, None, b)


def _link_or_copy(src: str, dst: str) -> None:
    """Carries a file or folder of the old folder into the new one (hard links where possible)."""

    def copy(s, d):
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
    elif os.path.isdir(src):
        shutil.copytree(src, dst, symlinks=True, copy_function=copy)
    else:
        copy(src, dst)


@contextlib.contextmanager
def replace_folder_atomically(target, *, keep: Callable[[str], bool] | None = None) -> Iterator[str]:
    """Yields an empty staging folder beside `target`; when the block ends without error the staged folder
    replaces `target` (whatever was there), and on error it is removed and `target` is untouched.

    Args:
        target: the folder to write (its parent is created if missing).
        keep: None to replace the old folder outright; else entries of the old folder that the new one
            does not hold and for which `keep(name)` is true are carried over (hard links where possible).

    The new folder is fsynced and gets the default permissions before the swap. With the exchange, the
    old folder is deleted after it; a process killed at any point leaves `target` wholly old or wholly
    new (in the fallback, after `recover_folder`, which the next save runs itself).
    """
    target = os.path.abspath(os.fspath(target))
    parent, name = os.path.split(target)
    if keep is not None and os.path.exists(target) and not os.path.isdir(target):
        raise NotADirectoryError(f"cannot save into {target}: it exists and is not a folder")
    os.makedirs(parent, exist_ok=True)
    recover_folder(target)
    staging = os.path.join(parent, _staging_name(name, _SAVING))
    os.mkdir(staging, 0o700)
    lock = _lock(staging)
    try:
        yield staging
        _commit(staging, target, keep)
    except BaseException:
        _remove(staging)
        raise
    finally:
        _unlock(lock)


def _commit(staging: str, target: str, keep) -> None:
    parent, name = os.path.split(target)
    _fsync_tree(staging)
    apply_default_permissions(staging)  # before the carry-over: carried files keep their own modes
    if not os.path.lexists(target):
        os.rename(staging, target)
        _fsync(parent)
        return
    if keep is not None and os.path.isdir(target):
        written = set(os.listdir(staging))
        for entry in os.listdir(target):
            if entry not in written and keep(entry):
                _link_or_copy(os.path.join(target, entry), os.path.join(staging, entry))
        _fsync(staging)
    old_lock = _lock(target)  # the old folder, wherever it goes now, belongs to this live writer
    try:
        if _exchange(staging, target):
            _fsync(parent)
            _remove(staging)  # now the old folder
            return
        old = os.path.join(parent, _staging_name(name, _OLD))
        os.rename(target, old)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(old, target)
            raise
        _fsync(parent)
        _remove(old)
    finally:
        _unlock(old_lock)
