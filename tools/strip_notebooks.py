"""Keeps the committed notebooks free of outputs: clears outputs, execution counts and run metadata.

Run it before committing a notebook you executed (or saved from Colab):

    python tools/strip_notebooks.py                  # every notebooks/*.ipynb, rewritten in place
    python tools/strip_notebooks.py --check          # exit 1 and name the notebooks that are not clean (CI)
    python tools/strip_notebooks.py path/to/x.ipynb  # only these

What a clean notebook keeps: the cells' sources and ids, the cells' `tags` (the "parameters" tag marks the
cell that chooses the model), and the notebook metadata Colab needs to open it as meant (`kernelspec`,
`language_info.name`, `colab.name`, `colab.gpuType` and `accelerator` for a GPU runtime). Everything else —
outputs, execution counts, timings, widget state, Colab's per-cell bookkeeping — is dropped. The file is
written in nbformat's canonical JSON (one-space indent, sorted keys), to a temporary file that then replaces
the notebook, so an interrupted run never leaves half a notebook.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile

import nbformat

NOTEBOOKS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")
KEPT_CELL_METADATA = ("tags",)
KEPT_COLAB_METADATA = ("name", "gpuType")


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """`nb` without outputs, execution counts or run metadata (changed in place and returned)."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata = nbformat.NotebookNode(
            {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA})
        if not cell.get("id"):
            cell.id = f"cell-{index:02d}"
    old = nb.metadata
    meta = nbformat.NotebookNode()
    if "kernelspec" in old:
        meta.kernelspec = old.kernelspec
    meta.language_info = nbformat.NotebookNode({"name": old.get("language_info", {}).get("name", "python")})
    colab = old.get("colab", {})
    meta.colab = nbformat.NotebookNode({k: colab[k] for k in KEPT_COLAB_METADATA if k in colab})
    meta.colab.provenance = []
    if "accelerator" in old:
        meta.accelerator = old.accelerator
    nb.metadata = meta
    return nb


def clean_text(path: str) -> str:
    """The clean notebook at `path`, as the text this tool writes (checked against nbformat's schema)."""
    nb = nbformat.read(path, as_version=4)
    nb = clean(nb)
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def write_atomically(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".strip-", suffix=".ipynb", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="notebooks (default: notebooks/*.ipynb)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook is not clean")
    args = parser.parse_args(argv)
    paths = args.paths or sorted(glob.glob(os.path.join(NOTEBOOKS_DIR, "*.ipynb")))
    if not paths:
        print(f"no notebooks found in {NOTEBOOKS_DIR}", file=sys.stderr)
        return 2
    dirty = []
    for path in paths:
        if not path.endswith(".ipynb") or not os.path.isfile(path):
            print(f"not a notebook file: {path}", file=sys.stderr)
            return 2
        text = clean_text(path)
        with open(path, encoding="utf-8") as f:
            current = f.read()
        if current == text:
            continue
        dirty.append(path)
        if not args.check:
            write_atomically(path, text)
            print(f"stripped {path}")
    if args.check and dirty:
        print("not clean (run python tools/strip_notebooks.py):\n  " + "\n  ".join(dirty), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
