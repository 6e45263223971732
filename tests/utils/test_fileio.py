"""Atomic file write and atomic folder replace: a save SIGKILLed at every file-system step leaves the old
version or the new one (never a mix, never nothing), and the next save leaves no debris behind.

The saves run in child processes that load `tf_albert/utils/fileio.py` by path (it imports no other
tf_albert module, so a child starts in milliseconds). An audit hook counts the child's file-system steps
(open, mkdir, link, chmod, rename, remove, rmdir, and the exchange) and kills the child at step N, for
N = 1, 2, ... until a save runs to the end.
"""

import fcntl
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import REPO

FILEIO = os.path.join(REPO, "tf_albert", "utils", "fileio.py")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL, flock and renameat2")


def _load_fileio():
    spec = importlib.util.spec_from_file_location("fileio_under_test", FILEIO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fileio = _load_fileio()

OLD = {"a.txt": "old a", "b.txt": "old b", "weights.bin": "old weights", "sub/x.txt": "old x"}
WRITTEN = {"a.txt": "new a", "c.txt": "new c"}
# The new save carries over what it does not write, except earlier weight files.
NEW = {"a.txt": "new a", "b.txt": "old b", "c.txt": "new c", "sub/x.txt": "old x"}

CHILD = textwrap.dedent(f"""
    import importlib.util, os, signal, sys
    WRITTEN = {WRITTEN!r}
    spec = importlib.util.spec_from_file_location("fileio", sys.argv[1])
    fileio = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fileio)
    mode, kill_at, target = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    steps = 0

    def step():
        global steps
        steps += 1
        if steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    real_exchange = fileio._exchange
    if mode.endswith("fallback"):
        real_exchange = lambda a, b: False

    def exchange(a, b):
        step()
        return real_exchange(a, b)

    fileio._exchange = exchange
    fileio._renameat2()  # loads libc before counting starts
    EVENTS = {{"open", "os.mkdir", "os.link", "os.symlink", "os.chmod", "os.rename", "os.remove", "os.rmdir"}}
    sys.addaudithook(lambda event, args: step() if event in EVENTS else None)
    if mode.startswith("folder"):
        with fileio.replace_folder_atomically(target, keep=lambda name: not name.startswith("weights")) as tmp:
            for name, text in WRITTEN.items():
                with open(os.path.join(tmp, name), "w") as f:
                    f.write(text)
    else:
        fileio.write_file_atomically(target, "new")
    print(steps)
""")


def _save_in_child(mode, target, kill_at=0):
    env = {**os.environ, "PYTHONPATH": REPO}
    return subprocess.run([sys.executable, "-c", CHILD, FILEIO, mode, str(kill_at), str(target)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def _save_here(target):
    with fileio.replace_folder_atomically(target, keep=lambda name: not name.startswith("weights")) as tmp:
        _write_tree(tmp, WRITTEN)


def _write_tree(folder, files):
    for name, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)


def _read_tree(folder):
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path) as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out


@pytest.mark.parametrize("mode", ["folder", "folder-fallback"])
def test_folder_save_killed_at_every_step_leaves_old_or_new_and_no_debris(tmp_path, mode):
    outcomes = []
    for kill_at in range(1, 200):
        parent = tmp_path / str(kill_at)
        target = parent / "ckpt"
        _write_tree(target, OLD)
        result = _save_in_child(mode, target, kill_at)
        killed = result.returncode == -signal.SIGKILL
        assert killed or result.returncode == 0, result.stderr
        if mode == "folder" or os.path.isdir(target):
            assert os.path.isdir(target), f"killed at step {kill_at}: the folder is missing"
        else:
            # The fallback's one gap: killed between its two renames. `recover_folder` (which the next save
            # runs first) puts the old folder back.
            assert [n for n in os.listdir(parent) if n.startswith(".ckpt.old-")], os.listdir(parent)
            twin = tmp_path / f"{kill_at}-twin"
            shutil.copytree(parent, twin, symlinks=True)
            fileio.recover_folder(twin / "ckpt")
            assert _read_tree(twin / "ckpt") == OLD and os.listdir(twin) == ["ckpt"]
            shutil.rmtree(twin)
            outcomes.append("old")
            _save_here(target)  # the next save restores, then saves
            assert _read_tree(target) == NEW and os.listdir(parent) == ["ckpt"]
            continue
        state = _read_tree(target)
        assert state in (OLD, NEW), f"killed at step {kill_at}: {state}"
        outcomes.append("old" if state == OLD else "new")
        if not killed:
            assert state == NEW and int(result.stdout) == kill_at - 1
            break
        _save_here(target)  # one more save, to the end
        assert _read_tree(target) == NEW
        assert os.listdir(parent) == ["ckpt"], f"debris after a save killed at step {kill_at}"
    else:
        pytest.fail("the save never ran to the end")
    # Every step was a kill point: the first kills leave the old folder, the last ones the new one.
    assert outcomes[0] == "old" and outcomes[-1] == "new" and len(outcomes) > 10, outcomes
    assert outcomes == sorted(outcomes, key=lambda o: o == "new"), outcomes


def test_file_write_killed_at_every_step_leaves_old_or_new_and_no_debris(tmp_path):
    for kill_at in range(1, 100):
        parent = tmp_path / str(kill_at)
        parent.mkdir()
        (parent / "config.json").write_text("old")
        result = _save_in_child("file", parent / "config.json", kill_at)
        assert (parent / "config.json").read_text() in ("old", "new"), f"killed at step {kill_at}"
        if result.returncode == 0:
            assert (parent / "config.json").read_text() == "new" and kill_at > 3
            break
        assert result.returncode == -signal.SIGKILL, result.stderr
        fileio.write_file_atomically(parent / "config.json", "newer")
        assert os.listdir(parent) == ["config.json"], f"debris after a write killed at step {kill_at}"
        assert (parent / "config.json").read_text() == "newer"
    else:
        pytest.fail("the write never ran to the end")


def test_the_exchange_swaps_two_folders_on_linux(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "in_a").write_text("")
    (tmp_path / "b").mkdir()
    assert fileio._exchange(str(tmp_path / "a"), str(tmp_path / "b")) is True
    assert os.listdir(tmp_path / "b") == ["in_a"] and os.listdir(tmp_path / "a") == []


def test_replacing_outright_and_permissions(tmp_path):
    target = tmp_path / "export"
    _write_tree(target, OLD)
    with fileio.replace_folder_atomically(target) as tmp:  # keep=None: nothing of the old folder stays
        _write_tree(tmp, WRITTEN)
    assert _read_tree(target) == WRITTEN and os.listdir(tmp_path) == ["export"]
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(target).st_mode & 0o777 == 0o777 & ~mask
    assert os.stat(target / "a.txt").st_mode & 0o777 == 0o666 & ~mask


def test_a_failed_save_leaves_the_old_folder_and_nothing_else(tmp_path):
    target = tmp_path / "ckpt"
    _write_tree(target, OLD)
    with pytest.raises(RuntimeError, match="disk full"), fileio.replace_folder_atomically(target, keep=bool) as tmp:
        _write_tree(tmp, WRITTEN)
        raise RuntimeError("disk full")
    assert _read_tree(target) == OLD and os.listdir(tmp_path) == ["ckpt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="not a folder"), fileio.replace_folder_atomically(
            tmp_path / "file", keep=bool):
        pass


def _dead_pid():
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    return int(child.stdout)


def test_a_live_concurrent_save_keeps_its_staging_folder(tmp_path):
    target = tmp_path / "ckpt"
    _write_tree(target, OLD)
    # A live writer in another process, paused inside its save.
    code = textwrap.dedent("""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("fileio", sys.argv[1])
        fileio = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fileio)
        with fileio.replace_folder_atomically(sys.argv[2]) as tmp:
            open(tmp + "/from_the_other_save.txt", "w").close()
            print(tmp, flush=True)
            sys.stdin.readline()
    """)
    other = subprocess.Popen([sys.executable, "-c", code, FILEIO, str(target)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        live = other.stdout.readline().strip()
        # A live writer seen from another pid namespace or machine: its pid means nothing here, its lock does.
        dead_pid = _dead_pid()
        locked = tmp_path / f".ckpt.saving-{dead_pid}-0000aaaa"
        locked.mkdir()
        fd = os.open(locked, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_SH)
        stale = tmp_path / f".ckpt.saving-{dead_pid}-0000bbbb"  # a killed writer's: removed
        stale.mkdir()
        with fileio.replace_folder_atomically(target, keep=lambda n: True) as tmp:
            _write_tree(tmp, WRITTEN)
        assert os.path.isdir(live) and os.path.isdir(locked) and not os.path.exists(stale)
        assert _read_tree(target) == {**OLD, **WRITTEN}
        os.close(fd)
        other.communicate("go\n", timeout=30)
        assert other.returncode == 0
        assert _read_tree(target) == {"from_the_other_save.txt": ""}
        fileio.recover_folder(target)  # now nobody holds the lock: debris
        assert os.listdir(tmp_path) == ["ckpt"]
    finally:
        other.kill()
        other.wait()


def test_fileio_imports_no_other_tf_albert_module():
    import ast

    with open(FILEIO, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.startswith("tf_albert")], names
