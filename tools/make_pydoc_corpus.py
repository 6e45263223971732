"""Turns the Python documentation sources (reStructuredText) into a plain-text pretraining corpus.

Source: Debian's `python3.11-doc` package (`apt-get install python3.11-doc`), whose HTML build ships the
reST sources in /usr/share/doc/python3.11/html/_sources/. The text is under the PSF License Version 2
(see /usr/share/doc/python3.11-doc/copyright and the docs' own license page).

Output: the corpus format of `tf-albert pretrain` — one sentence per line, an empty line between
documents — with one document per page (`--per-section` for one per section; pages fill the
pretraining sequences better, sections are often shorter than one sequence). Literal blocks, doctest
sessions, tables, code-like directives, comments and link targets are dropped; inline markup is reduced to
its text.

    python tools/make_pydoc_corpus.py --out /tmp/pydoc-corpus
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys

DEFAULT_SOURCES = "/usr/share/doc/python3.11/html/_sources"

# Directives whose whole indented body is code, layout or metadata, not prose.
SKIP_DIRECTIVES = {
    "code-block",
    "code",
    "sourcecode",
    "testsetup",
    "testcleanup",
    "testcode",
    "testoutput",
    "doctest",
    "productionlist",
    "highlight",
    "literalinclude",
    "toctree",
    "module",
    "moduleauthor",
    "sectionauthor",
    "index",
    "raw",
    "image",
    "figure",
    "csv-table",
    "table",
    "list-table",
    "tabularcolumns",
    "audit-event",
    "audit-event-table",
    "include",
    "program",
    "cmdoption",
    "option",
    "envvar",
    "opcode",
    "pdbcommand",
    "c:macro",
    "c:var",
    "c:type",
    "c:member",
    "c:function",
    "c:struct",
    "currentmodule",
    "impl-detail-x",
    "availability",
    "literal",
    "parsed-literal",
    "graphviz",
    "role",
    "default-role",
    "contents",
    "limited-api-list",
    "opcode2",
    "2to3fixer",
    "describe",
}
HEADING_RE = re.compile(r"^([=\-~^\"'`#*+<>:_.])\1{2,}\s*$")
DIRECTIVE_RE = re.compile(r"^(\s*)\.\.\s+([\w:-]+)::\s*(.*)$")
ROLE_RE = re.compile(r":([\w:+-]+):`([^`]*)`")
ROLE_PREFIX = {"pep": "PEP ", "rfc": "RFC ", "issue": "issue ", "gh": "gh-"}
ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "Mr.", "Dr.", "approx.", "resp.", "No.", "al.")


def _role_text(match: re.Match) -> str:
    role, text = match.group(1), match.group(2)
    if role in ROLE_PREFIX and re.fullmatch(r"[\d#]+", text):
        return ROLE_PREFIX[role] + text.lstrip("#")
    m = re.match(r"^(.*?)\s*<[^>]*>$", text, re.S)
    if m and m.group(1):
        return m.group(1)
    text = text.lstrip("!")
    if text.startswith("~"):
        text = text[1:].split(".")[-1]
    return text


def inline(text: str) -> str:
    """Inline reST markup to plain text."""
    text = ROLE_RE.sub(_role_text, text)
    text = re.sub(r"``([^`]*)``", r"\1", text)
    text = re.sub(r"`([^`<]*?)\s*<[^>]*>`_{1,2}", r"\1", text)
    text = re.sub(r"`([^`]*)`_{1,2}", r"\1", text)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    text = re.sub(r"\*([^*\s][^*]*)\*", r"\1", text)
    text = re.sub(r"\|[\w -]+\|_?", "", text)
    text = re.sub(r"\[#[^\]]*\]_", "", text)
    text = text.replace("\\ ", "").replace("\\", "")
    return re.sub(r"\s+", " ", text).strip()


def split_sentences(paragraph: str) -> list[str]:
    protected = paragraph
    for i, abbr in enumerate(ABBREVIATIONS):
        protected = protected.replace(abbr, f"\x00{i}\x00")
    parts = re.split(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z\"'(\[])", protected)
    out = []
    for part in parts:
        for i, abbr in enumerate(ABBREVIATIONS):
            part = part.replace(f"\x00{i}\x00", abbr)
        part = part.strip()
        if part:
            out.append(part)
    return out


def is_prose(text: str) -> bool:
    words = text.split()
    if len(words) < 5:
        return False
    alpha = sum(1 for w in words if re.fullmatch(r"[A-Za-z][A-Za-z'’-]*[.,;:!?)]*", w.strip("(\"'")))
    return alpha / len(words) >= 0.6


def sections(path: str) -> list[list[str]]:
    """Prose paragraphs of one reST file, grouped by section."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    docs: list[list[str]] = [[]]
    paragraph: list[str] = []
    skip_indent = None  # skip lines indented deeper than this (directive bodies, literal blocks)
    literal_next = False
    literal_next_indent = 0

    def flush():
        nonlocal paragraph
        if paragraph:
            text = inline(" ".join(paragraph))
            if text.endswith("::"):
                text = text[:-2].rstrip() + ":" if not text.endswith(" ::") else text[:-3].rstrip()
            if is_prose(text):
                docs[-1].append(text)
        paragraph = []

    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if skip_indent is not None:
            if not stripped or indent > skip_indent:
                i += 1
                continue
            skip_indent = None
        if not stripped:
            flush()
            if literal_next:
                # The block after a "::" paragraph is literal: skip everything indented deeper than it.
                skip_indent = literal_next_indent
                literal_next = False
            i += 1
            continue
        if i + 1 < len(lines) and HEADING_RE.match(lines[i + 1].strip()) and not HEADING_RE.match(stripped):
            flush()
            if docs[-1]:
                docs.append([])
            i += 2
            continue
        if HEADING_RE.match(stripped):
            flush()
            i += 1
            continue
        m = DIRECTIVE_RE.match(line)
        if m:
            flush()
            name = m.group(2)
            if name in SKIP_DIRECTIVES or name.startswith("c:"):
                skip_indent = indent
            i += 1
            # directive options (":synopsis: ...") follow directly
            while i < len(lines) and re.match(r"^\s+:[\w-]+:", lines[i]):
                i += 1
            continue
        if stripped.startswith(".."):  # comments, link targets, substitutions
            flush()
            skip_indent = indent
            i += 1
            continue
        if stripped.startswith((">>>", "...", "+-", "+=", "|")) or re.fullmatch(r"[=\s]+", stripped):
            flush()
            i += 1
            continue
        item = re.match(r"^([*\-+]|#\.|\d+\.|\(\w\))\s+(.*)$", stripped)
        if item:
            flush()
            stripped = item.group(2)
        field = re.match(r"^:[\w -]+:(?:\s+(.*))?$", stripped)
        if field:
            flush()
            stripped = field.group(1) or ""
        if stripped:
            paragraph.append(stripped)
        if stripped.endswith("::"):
            literal_next = True
            literal_next_indent = indent
            flush()
        i += 1
    flush()
    return [d for d in docs if d]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", default=DEFAULT_SOURCES, help="folder of *.rst.txt files")
    parser.add_argument("--out", required=True, help="output folder (one .txt per source file)")
    parser.add_argument("--per-section", action="store_true", help="one document per section, not per page")
    args = parser.parse_args(argv)
    files = sorted(glob.glob(os.path.join(args.sources, "**", "*.rst.txt"), recursive=True))
    if not files:
        print(f"no *.rst.txt under {args.sources}; install python3.11-doc", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    n_docs = n_sent = n_words = 0
    for path in files:
        rel = os.path.relpath(path, args.sources)[: -len(".rst.txt")].replace(os.sep, "__")
        docs = []
        for section in sections(path):
            sentences = [s for p in section for s in split_sentences(p)]
            if sentences:
                docs.append("\n".join(sentences))
                n_docs += 1 if args.per_section or len(docs) == 1 else 0
                n_sent += len(sentences)
                n_words += sum(len(s.split()) for s in sentences)
        if docs:
            with open(os.path.join(args.out, rel + ".txt"), "w", encoding="utf-8") as f:
                f.write(("\n\n" if args.per_section else "\n").join(docs) + "\n")
    print(
        f"{len(files)} source files -> {n_docs} documents, {n_sent} sentences, {n_words} words in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
