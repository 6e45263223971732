"""The documentation: the site builds strictly and offline, every public name has an API entry, and the README
stays a front page whose links land.

The build runs `python -m mkdocs build --strict` in a subprocess into a temporary folder (about 3 s on 2
cores): any warning fails it — a docstring griffe cannot parse, an API entry that names no object, a link to
a page or an anchor that does not exist.
"""

import importlib
import os
import re
import subprocess
import sys

import pytest

from tests.helpers import REPO

DOCS = os.path.join(REPO, "docs")
API = os.path.join(DOCS, "api")
README = os.path.join(REPO, "README.md")
# The packages whose `__all__` is the public API: the root and the public subpackages.
PUBLIC_PACKAGES = ("tf_albert", "tf_albert.model", "tf_albert.tokenization", "tf_albert.checkpoints",
                   "tf_albert.pipelines", "tf_albert.export", "tf_albert.training")
# Names left out of the API pages for now, each with why; test_pending_names_are_still_missing fails once
# one is documented again, so this list cannot go stale. Empty: every public name is documented.
PENDING: dict = {}
_DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.MULTILINE)


def _api_identifiers() -> list[str]:
    found = []
    for name in sorted(os.listdir(API)):
        if name.endswith(".md"):
            with open(os.path.join(API, name), encoding="utf-8") as f:
                found += _DIRECTIVE.findall(f.read())
    return found


def _resolve(identifier: str):
    """The object an API entry (`::: a.b.C`) names: the longest importable module prefix, then attributes."""
    parts = identifier.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(identifier)


def _public_names() -> dict[str, object]:
    """`package.name` → object, for every name in the public packages' `__all__`."""
    names = {}
    for package in PUBLIC_PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            names[f"{package}.{name}"] = getattr(module, name)
    return names


def test_site_builds_strictly_offline(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life banner, printed on every build
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-5000:]
    site = tmp_path / "site"
    for page in ("index.html", "getting-started.html", "performance.html", "api/models.html",
                 "changelog.html"):
        assert (site / page).is_file(), page
    models = (site / "api" / "models.html").read_text(encoding="utf-8")
    # the API page rendered the classes, their signatures and their `>>>` examples as code (not as quotes)
    assert 'id="tf_albert.model.modeling.AlbertForQuestionAnswering"' in models and "doc-signature" in models
    assert '<span class="gp">&gt;&gt;&gt; </span>' in models and "<blockquote>" not in models
    # nothing on any page is fetched from another host: no fonts, scripts or styles from a CDN
    remote = re.compile(r"""<(?:script|link|img)\b[^>]*(?:src|href)=["']https?://""", re.IGNORECASE)
    for root, _, files in os.walk(site):
        for name in files:
            if name.endswith(".html"):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    assert not remote.search(f.read()), os.path.relpath(os.path.join(root, name), site)


def test_every_public_name_has_an_api_entry():
    documented = {}
    for identifier in _api_identifiers():
        documented.setdefault(id(_resolve(identifier)), identifier)
    missing = sorted(f"{path} (defined in {getattr(obj, '__module__', '?')})"
                     for path, obj in _public_names().items()
                     if id(obj) not in documented and path.rsplit(".", 1)[1] not in PENDING)
    assert not missing, "public names with no `::: module.Name` entry in docs/api/*.md: " + ", ".join(missing)


def test_api_entries_name_the_defining_module():
    # `::: tf_albert.AlbertModel` would document the lazy re-export, not the class where it is defined
    for identifier in _api_identifiers():
        obj = _resolve(identifier)
        module = getattr(obj, "__module__", None)
        if module and (isinstance(obj, type) or callable(obj)) and hasattr(obj, "__qualname__"):
            assert identifier == f"{module}.{obj.__qualname__}", (identifier, module)


def test_pending_names_are_still_missing():
    documented = {identifier.rsplit(".", 1)[1] for identifier in _api_identifiers()}
    back = sorted(set(PENDING) & documented)
    assert not back, f"{back} are documented again: remove them from PENDING in tests/test_docs.py"


def test_readme_is_a_front_page():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    lines = text.splitlines()
    assert len(lines) <= 180, f"README.md has {len(lines)} lines; the manual belongs in docs/"
    for marker in ("<!-- main-command -->", "<!-- test-command -->"):
        assert lines.count(marker) == 1, marker
        after = lines[lines.index(marker) + 1:lines.index(marker) + 4]
        # .ci/run reads the fenced block right after the marker
        assert after[0] == "```bash" and after[2] == "```", (marker, after)
        assert after[1].startswith("python3 -m venv .venv && .venv/bin/pip install "), after[1]
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert any(link.startswith("docs/") for link in local), "the README links into docs/"
    for link in local:
        path, _, anchor = link.partition("#")
        assert os.path.exists(os.path.join(REPO, path)), f"README links to {path}, which does not exist"
        if anchor and path.endswith(".md"):
            with open(os.path.join(REPO, path), encoding="utf-8") as f:
                headings = [_slug(h) for h in re.findall(r"^#+\s+(.+)$", f.read(), re.MULTILINE)]
            assert anchor in headings, f"README links to {link}; {path} has no heading with that anchor"


def _slug(heading: str) -> str:
    """The anchor GitHub and MkDocs give a heading (lower case, punctuation dropped, spaces to hyphens)."""
    heading = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r"\s+", "-", re.sub(r"[^\w\s-]", "", heading))


@pytest.mark.parametrize("page", sorted(n for n in os.listdir(DOCS) if n.endswith(".md")))
def test_topic_pages_are_in_the_navigation(page):
    with open(os.path.join(REPO, "mkdocs.yml"), encoding="utf-8") as f:
        nav = f.read()
    assert re.search(rf":\s+{re.escape(page)}\s*$", nav, re.MULTILINE), f"docs/{page} is not in the nav"
