"""A griffe extension for the documentation build: the package's `>>>` examples render as code.

The package writes its runnable examples the way doctest reads them, flush with the docstring::

    Example:
    >>> config = AlbertConfig.from_preset("albert-base-v2")

Google-style parsing (griffe) wants a section's content indented under its title, so without this the
examples would be read as prose, their `>>>` as nested quotes and their outputs as Markdown links. This
extension, loaded by mkdocs.yml for the API reference only, indents such a block under its `Example:` /
`Examples:` title (as `Examples:`, the title griffe renders as code) and fences any other run of `>>>` lines
as a `pycon` code block. It changes what the site
shows, never the docstrings (doctest still runs them as written: tests/test_docstrings.py).
"""

from __future__ import annotations

import re

import griffe

_TITLE = re.compile(r"^(\s*)Examples?:\s*$")
# The section titles griffe's Google parser knows: the end of an indented example block.
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Params|Parameters|Keyword Args|Keyword Arguments|Other Parameters|Raises|"
    r"Exceptions|Returns|Yields|Receives|Warns|Warnings|Attributes|Functions|Methods|Classes|Modules|"
    r"Note|Notes|Example|Examples|See Also|References|Todo):\s*$")
_PROMPT = re.compile(r"^(\s*)>>>( |$)")


def _indent_examples(lines: list[str]) -> list[str]:
    """Indent every unindented block that follows an `Example(s):` title, up to the next section title."""
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        title = _TITLE.match(line)
        # griffe reads "Examples:" as code examples and "Example:" as a plain admonition.
        out.append(f"{title.group(1)}Examples:" if title else line)
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if title and j < len(lines) and _PROMPT.match(lines[j]) and \
                len(_PROMPT.match(lines[j]).group(1)) == len(title.group(1)):
            i += 1
            while i < len(lines) and not (_SECTION.match(lines[i]) and
                                          len(lines[i]) - len(lines[i].lstrip()) <= len(title.group(1))):
                out.append("    " + lines[i] if lines[i].strip() else lines[i])
                i += 1
            continue
        i += 1
    return out


def _fence_bare_prompts(lines: list[str]) -> list[str]:
    """Fence runs of `>>>` lines (and their outputs, up to a blank line) outside an Examples section."""
    out, i, in_examples, section_indent = [], 0, False, 0
    while i < len(lines):
        line = lines[i]
        header = _SECTION.match(line)
        if header:
            in_examples = header.group(1) in ("Example", "Examples")
            section_indent = len(line) - len(line.lstrip())
        elif line.strip() and len(line) - len(line.lstrip()) <= section_indent and not _PROMPT.match(line):
            in_examples = in_examples and len(line) - len(line.lstrip()) > section_indent
        prompt = _PROMPT.match(line)
        if prompt and not in_examples:
            indent = prompt.group(1)
            out.append(f"{indent}```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out.append(f"{indent}```")
            continue
        out.append(line)
        i += 1
    return out


class DoctestExamples(griffe.Extension):
    """Rewrites each docstring's text before griffe parses it (see the module docstring)."""

    def on_instance(self, *, node, obj, agent, **kwargs) -> None:
        docstring = obj.docstring
        if docstring is None or ">>>" not in docstring.value:
            return
        docstring.value = "\n".join(_fence_bare_prompts(_indent_examples(docstring.value.split("\n"))))
