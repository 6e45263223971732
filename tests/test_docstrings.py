"""Every `>>>` example in the package runs, so the documentation cannot rot.

One test per module that has examples (collected by walking tf_albert/); examples that need a network, a GPU or
files that do not exist here say `# doctest: +SKIP` on the line.
"""

import doctest
import importlib
import os
import pkgutil

import pytest

import tf_albert
from tests.helpers import REPO


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(tf_albert.__path__, "tf_albert."):
        if info.name.endswith("__main__"):
            continue
        spec = importlib.util.find_spec(info.name)
        with open(spec.origin, encoding="utf-8") as f:
            if ">>> " in f.read():
                names.append(info.name)
    return sorted(names)


MODULES = _modules_with_examples()


def test_examples_are_found():
    assert len(MODULES) >= 20, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)  # examples name fixtures by their path from the repository root
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has '>>> ' in its source but no example doctest can find"
    for test in tests:
        runner.run(test, out=lambda s: None)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples failed in {name}; run " \
        f"`python -m doctest -v {os.path.relpath(module.__file__, REPO)}` to see which"
