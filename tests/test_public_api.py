"""Users' import lines: public names at the package root and in their modules; imports point one way."""

import os
import subprocess
import sys

import pytest

import tf_albert
from tests.helpers import REPO

# The 0.1 module paths, aliases in 0.2, removed in 0.3 (docs/changelog.md says where each name went).
REMOVED_PATHS = {
    "tf_albert.config": "tf_albert.model.config",
    "tf_albert.base_model": "tf_albert.model.base",
    "tf_albert.modeling": "tf_albert.model.modeling",
    "tf_albert.layers": "tf_albert.model.layers",
    "tf_albert.losses": "tf_albert.model.losses",
    "tf_albert.validation": "tf_albert.model.validation",
    "tf_albert.distribution": "tf_albert.model.distribution",
    "tf_albert.fileio": "tf_albert.utils.fileio",
    "tf_albert.tokenization_rules": "tf_albert.tokenization.rules",
    "tf_albert.tokenization_offsets": "tf_albert.tokenization.offsets",
    "tf_albert.tokenization_files": "tf_albert.tokenization.files",
    "tf_albert.tokenization_layer": "tf_albert.tokenization.layer",
}


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-W", "always::FutureWarning", "-c", code], env=env,
                          capture_output=True, text=True, timeout=300)


def test_every_public_name_resolves():
    for name in tf_albert.__all__:
        assert getattr(tf_albert, name) is not None, name
    assert tf_albert.from_pretrained.__module__ == "tf_albert.checkpoints.api"
    assert tf_albert.AlbertTokenizer.__name__ == "AlbertTokenizer"


def test_package_root_holds_only_real_modules():
    """The 0.1 aliases are gone: each old path fails to import, its new home imports, and the names users
    imported from the old paths are still at the package root."""
    root = os.path.join(REPO, "tf_albert")
    modules = sorted(n[:-3] for n in os.listdir(root) if n.endswith(".py"))
    assert modules == ["__init__", "__main__", "cli", "demo", "tasks", "version"], modules
    lines = ["import importlib"]
    for old, new in REMOVED_PATHS.items():
        lines += [f"importlib.import_module({new!r})",
                  f"try:\n    importlib.import_module({old!r})\nexcept ModuleNotFoundError:\n"
                  f"    pass\nelse:\n    raise AssertionError({old!r} + ' still imports')"]
    lines += ["from tf_albert import AlbertModel, MODEL_CLASSES, AlbertEncoder, AlbertMainLayer",
              "from tf_albert import TransformerBlock, AlbertTokenizerLayer, AlbertConfig, AlbertPreTrainedModel"]
    result = _python("\n".join(lines))
    assert result.returncode == 0, result.stderr[-3000:]


def test_subpackages_are_reachable_after_import_tf_albert():
    result = _python("import tf_albert\n"
                     "print(tf_albert.export.export_saved_model.__name__, tf_albert.pipelines.pipeline.__name__,\n"
                     "      tf_albert.training.finetune.__name__, tf_albert.tasks.MODEL_CLASS_NAMES['model'])")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["export_saved_model", "pipeline", "finetune", "AlbertModel"]
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        tf_albert.nonsense  # noqa: B018


def test_import_tf_albert_loads_no_exporter_pipeline_or_training_code():
    result = _python("import sys, tf_albert\n"
                     "print(sorted(m for m in sys.modules if m.startswith(('tf_albert.export', "
                     "'tf_albert.pipelines', 'tf_albert.training', 'tf_albert.cli'))))")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


def test_no_import_circles():
    tool = os.path.join(os.path.dirname(REPO), "shared", "tools", "import_circles.py")
    if not os.path.isfile(tool):
        pytest.skip("../shared/tools/import_circles.py is not beside this checkout")
    result = subprocess.run([sys.executable, tool, REPO], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert " 0 import circles" in result.stdout, result.stdout
