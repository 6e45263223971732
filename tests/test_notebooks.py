"""The Colab notebooks: each runs top to bottom, and the committed files are clean.

Execution: nbclient starts a fresh Jupyter kernel on this interpreter for each notebook (kernel spec written
to a temporary JUPYTER_PATH, the repository first on PYTHONPATH, so the code under test is what runs), with
`TF_ALBERT_NOTEBOOK_MODEL` pointing at a small model: the embedded `tf-albert-tiny` when the package has it,
otherwise a tiny random ALBERT with the fixture SentencePiece model, saved with `save_pretrained`. Any cell
error fails the test; each notebook's own checks (pipeline vs by-hand scores, reload equality, in-graph vs
Python token ids) run as cells, and the test then checks what each notebook must leave behind (plots, saved
folders, the export). The install cell must have been skipped: CI never installs anything from a notebook.

Cleanliness: valid nbformat, no outputs or execution counts, exactly what `tools/strip_notebooks.py` writes.
"""

import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.helpers import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
FIXTURE_TOKENIZER = os.path.join(ROOT, "tests", "fixtures", "tokenizer")
NAMES = ["01_quickstart_fill_mask", "02_finetune_text_classification", "03_question_answering",
         "04_export_and_serve"]
COLAB_URL = "https://colab.research.google.com/github/tf-albert/tf_albert/blob/main/notebooks/{}.ipynb"
INSTALL_SKIPPED = "tf_albert is already installed: skipping pip install"
KERNEL = "tf-albert-notebook-tests"
CELL_TIMEOUT = 600


strip_notebooks = load_tool("strip_notebooks")


def _path(name):
    return os.path.join(NOTEBOOKS, name + ".ipynb")


def _read(name):
    return nbformat.read(_path(name), as_version=nbformat.NO_CONVERT)


# === The committed files ===
def test_the_notebooks_are_there():
    found = sorted(f[:-6] for f in os.listdir(NOTEBOOKS) if f.endswith(".ipynb"))
    assert found == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_clean(name):
    nb = _read(name)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    for cell in nb.cells:
        assert set(cell.metadata) <= {"tags"}, (cell.id, dict(cell.metadata))
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {cell.id} has outputs: run tools/strip_notebooks.py"
            assert cell.execution_count is None, f"{name} cell {cell.id} has an execution count"
    with open(_path(name), encoding="utf-8") as f:
        assert f.read() == strip_notebooks.clean_text(_path(name)), "run tools/strip_notebooks.py"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_has_badge_install_and_parameters(name):
    nb = _read(name)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert f"]({COLAB_URL.format(name)})" in first.source
    assert "colab-badge.svg" in first.source

    code = [c for c in nb.cells if c.cell_type == "code"]
    install = code[0].source
    assert 'importlib.util.find_spec("tf_albert") is None' in install
    assert '"tf_albert[notebooks] @ git+https://github.com/tf-albert/tf_albert.git"' in install
    assert INSTALL_SKIPPED in install

    parameters = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and parameters[0] is code[1]
    default = 'MODEL = os.environ.get("TF_ALBERT_NOTEBOOK_MODEL", "tf-albert-small")'
    assert default in parameters[0].source


def test_strip_tool_cleans_an_executed_notebook(tmp_path):
    clean = _read(NAMES[0])
    dirty = copy.deepcopy(clean)
    code = [c for c in dirty.cells if c.cell_type == "code"]
    code[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    code[0].execution_count = 3
    code[0].metadata["execution"] = {"iopub.execute_input": "2024-01-01T00:00:00Z"}
    code[0].metadata["colab"] = {"base_uri": "https://localhost:8080/"}
    dirty.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    dirty.metadata["colab"]["provenance"] = [{"file_id": "abc"}]
    path = str(tmp_path / "x.ipynb")
    nbformat.write(dirty, path)
    tool = [sys.executable, os.path.join(ROOT, "tools", "strip_notebooks.py")]
    check = subprocess.run(tool + ["--check", path], capture_output=True, text=True, check=False)
    assert check.returncode == 1 and path in check.stderr
    assert subprocess.run(tool + [path], capture_output=True, text=True, check=False).returncode == 0
    with open(path, encoding="utf-8") as f, open(_path(NAMES[0]), encoding="utf-8") as g:
        assert f.read() == g.read()
    again = subprocess.run(tool + ["--check", path], capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr


# === Running them ===
def _build_tiny_model(folder):
    import keras

    from tf_albert import AlbertConfig, AlbertForPreTraining
    from tf_albert.tokenization import AlbertTokenizer

    keras.utils.set_random_seed(0)
    tokenizer = AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)
    config = AlbertConfig(vocab_size=len(tokenizer), embedding_size=16, hidden_size=32, num_attention_heads=2,
                          intermediate_size=64, num_hidden_layers=2, max_position_embeddings=256)
    model = AlbertForPreTraining(config)
    model.build()
    return model.save_pretrained(folder, tokenizer=tokenizer)


@pytest.fixture(scope="module")
def notebook_model(tmp_path_factory):
    """The small model the notebooks run with: $TF_ALBERT_NOTEBOOK_MODEL if set, else the embedded
    tf-albert-tiny, else a tiny random one built here."""
    if os.environ.get("TF_ALBERT_NOTEBOOK_MODEL"):
        return os.environ["TF_ALBERT_NOTEBOOK_MODEL"]
    from tf_albert.pretrained import embedded_model_path

    try:
        embedded_model_path("tf-albert-tiny")
        return "tf-albert-tiny"
    except FileNotFoundError:
        return _build_tiny_model(str(tmp_path_factory.mktemp("notebook-model") / "tiny-albert"))


@pytest.fixture(scope="module")
def kernel(notebook_model, tmp_path_factory):
    """A kernel spec on this interpreter whose environment selects the small model."""
    jupyter_path = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter_path / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    python_path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tf_albert notebook tests",
        "language": "python",
        "env": {"TF_ALBERT_NOTEBOOK_MODEL": notebook_model, "PYTHONPATH": python_path,
                "TF_CPP_MIN_LOG_LEVEL": "2"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jupyter_path))
        yield KERNEL


def _execute(name, workdir, overrides=None):
    """Runs notebook `name` in `workdir`; `overrides` (code) runs right after the parameters cell, as
    papermill would inject it."""
    nb = _read(name)
    if overrides:
        index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(overrides))
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT, allow_errors=False,
                            resources={"metadata": {"path": str(workdir)}})
    started = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as e:
        pytest.fail(f"{name} failed:\n{str(e)[-4000:]}", pytrace=False)
    return nb, time.perf_counter() - started


def _text(cell) -> str:
    out = []
    for o in cell.outputs:
        if o.output_type == "stream":
            out.append(o.text)
        elif "data" in o and "text/plain" in o.data:
            out.append(o.data["text/plain"])
    return "".join(out)


def _images(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def _all_text(nb) -> str:
    return "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, kernel, tmp_path):
    nb, seconds = _execute(name, tmp_path)
    print(f"{name}: {seconds:.1f} s")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert INSTALL_SKIPPED in _text(code[0])
    text = _all_text(nb)
    if name.startswith("01"):
        assert "pipeline and by-hand scores agree" in text
        assert _images(nb) == 1  # the attention heatmap
    elif name.startswith("02"):
        assert _images(nb) == 1  # the loss and accuracy curves
        with open(tmp_path / "albert-sentiment" / "config.json") as f:
            config = json.load(f)
        assert config["architectures"] == ["AlbertForSequenceClassification"]
        assert config["id2label"] == {"0": "negative", "1": "positive"}
        assert "largest logit difference after reloading" in text
        assert len(re.findall(r"^\s*(negative|positive) \d\.\d{3}  ", text, re.MULTILINE)) == 4
    elif name.startswith("03"):
        assert _images(nb) == 2  # loss curve, start/end probabilities
        scores = re.search(r"held-out questions: (\{.*\})", text)
        assert scores and "'exact_match'" in scores.group(1) and "'examples': 8" in scores.group(1)
        assert os.path.isfile(tmp_path / "squad_train.json")
    else:
        export = tmp_path / "saved_models" / "albert-fill-mask" / "1"
        assert (export / "saved_model.pb").is_file()
        assert "Method name is: tensorflow/serving/predict" in text
        assert '"instances": [{"input_ids": [2, ' in text and '"inputs": {"input_ids": [[2, ' in text
        has_text = importlib.util.find_spec("tensorflow_text") is not None
        assert f"tensorflow-text installed: {has_text}" in text
        if has_text:
            assert "'serving_default', 'serving_text', 'serving_text_pair'" in text
            assert "top_k_tokens" in text


@pytest.mark.slow
@pytest.mark.parametrize("name, overrides", [
    ("02_finetune_text_classification", 'PRECISION = "mixed_float16"\nXLA = True\nEPOCHS = 2'),
    ("03_question_answering", "XLA = True\nEPOCHS = 2"),
])
def test_accelerator_settings_run_on_cpu(name, overrides, kernel, tmp_path):
    """What the notebooks do on a GPU — XLA-compiled training on fixed shapes, float16 with loss scaling —
    forced on the CPU, where the default run does neither."""
    nb, seconds = _execute(name, tmp_path, overrides)
    print(f"{name} with {overrides!r}: {seconds:.1f} s")
    text = _all_text(nb)
    if name.startswith("02"):
        assert "precision: mixed_float16; XLA: True" in text
        assert "largest logit difference after reloading" in text
    else:
        assert "held-out questions:" in text
