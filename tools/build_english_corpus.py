"""Builds a general-English pretraining corpus from permissively licensed text shipped in Debian packages.

    python tools/build_english_corpus.py --out /work/corpus/english --cache /work/corpus/cache

Needs `apt-get` (with package lists: run `apt-get update` once) and `dpkg-deb`; no root: each package is
fetched with `apt-get download PKG=VERSION` into `--cache` and unpacked there with `dpkg-deb -x`. After the
first run everything comes from the cache, so the build is offline from then on. The versions are pinned
(`SOURCES` below) and each .deb's sha256 is recorded, so the same cache gives a byte-identical corpus; the
script prints its sha256.

Sources (`--sources`, comma-separated, default all three), in this order in the corpus:

- `wordnet`: WordNet 3.0 (Debian `wordnet-base`, WordNet 3.0 licence: use, copy, modify and distribute
  for any purpose). Every synset gives a definition sentence built from its first lemma and gloss
  ("A bee is any of numerous hairy-bodied insects ...", "To hiss is to make a sharp sibilant sound.",
  '"Sweet" means having or denoting the characteristic taste of sugar.') followed by its quoted usage
  examples as sentences ("The sun rises in the east." style everyday English). One document per WordNet
  lexicographer file (noun.animal, verb.motion, ...), synsets in file order.
- `devil`: Ambrose Bierce's "The Devil's Dictionary" (1911, public domain; Debian `dict-devil`). One
  document per entry, the headword turned into '"Auctioneer" means the man who ...'; verse and
  attributions (indented lines) are dropped.
- `pydoc`: the prose of the Python 3.11 documentation (Debian `python3.11-doc`, PSF License Version 2),
  reduced to plain sentences by tools/make_pydoc_corpus.py. One document per page. Technical English;
  leave it out (`--sources wordnet,devil`) for a purely general-English corpus.

Output in `--out`:

- `corpus.txt`: the format of `tf-albert pretrain`: UTF-8, one sentence per line, an empty line between
  documents. Whitespace is collapsed and text NFC-normalized. Sentences are deduplicated across the whole
  corpus (the first occurrence is kept; documents left empty are dropped). The order is the document order
  of the sources, not shuffled: it is deterministic without a seed, and sentence-order prediction needs
  neighbouring sentences to stay neighbours.
- `sources.json`: per source the package, exact version, .deb sha256, licence (with a quote from the
  package's copyright file), origin, and how many documents, lines and words (whitespace-split) it gave.

Not used: fortunes (quotes of unclear copyright), the King James Bible (`bible-kjv-text`: public domain
but archaic English, stored in a compressed binary format), GCIDE / FreeDict (GPL), FOLDOC (GFDL).
"""

from __future__ import annotations

import argparse
import functools
import glob
import gzip
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> pinned Debian (bookworm) package and what its copyright file says.
SOURCES = {
    "wordnet": {
        "package": "wordnet-base",
        "version": "1:3.0-37",
        "licence": "WordNet 3.0 License (permissive, BSD-like)",
        "licence_file": "usr/share/doc/wordnet-base/copyright",
        "licence_quote": (
            "Permission to use, copy, modify and distribute this software and database and its "
            "documentation for any purpose and without fee or royalty is hereby granted, provided that you "
            "agree to comply with the following copyright notice and statements, including the disclaimer, "
            "and that the same appear on ALL copies of the software, database and documentation, including "
            "modifications that you make for internal use or for distribution. "
            "WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved."
        ),
        "origin": "Debian bookworm package wordnet-base; upstream https://wordnet.princeton.edu/",
    },
    "devil": {
        "package": "dict-devil",
        "version": "1.0-13.1",
        "licence": "Public domain (copyright expired)",
        "licence_file": "usr/share/doc/dict-devil/copyright",
        "licence_quote": (
            "The Devil's Dictionary is in the public domain, its copyright has expired. ... "
            "Copyright 1911 by Albert and Charles Boni, Inc. A Public Domain Text, Copyright Expired"
        ),
        "origin": "Debian bookworm package dict-devil; upstream The Internet Wiretap edition (devils.txt)",
    },
    "pydoc": {
        "package": "python3.11-doc",
        "version": "3.11.2-6+deb12u8",
        "licence": "PSF License Agreement Version 2 (code examples also 0BSD)",
        "licence_file": "usr/share/doc/python3.11/html/_sources/license.rst.txt",
        "licence_quote": (
            "PSF hereby grants Licensee a nonexclusive, royalty-free, world-wide license to reproduce, "
            "analyze, test, perform and/or display publicly, prepare derivative works, distribute, and "
            "otherwise use Python alone or in any derivative version, provided, however, that PSF's License "
            "Agreement and PSF's notice of copyright ... are retained in Python alone or in any derivative "
            "version prepared by Licensee."
        ),
        "origin": "Debian bookworm package python3.11-doc (html/_sources/*.rst.txt); upstream docs.python.org",
    },
}
DEFAULT_SOURCES = ("wordnet", "devil", "pydoc")


# === Text cleaning ===
def normalize(text: str) -> str:
    """NFC, `x' quotes as 'x', every run of whitespace one space, stripped."""
    text = re.sub(r"`([^`']*)'", r"'\1'", unicodedata.normalize("NFC", text))  # WordNet's `quotes'
    return re.sub(r"\s+", " ", text).strip()


def as_sentence(text: str) -> str:
    """`text` with its first letter capitalized and a full stop added unless it already ends a sentence."""
    text = normalize(text).strip(" ;,")
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    if text[-1] not in ".!?" and not (text[-1] in "\"')" and len(text) > 1 and text[-2] in ".!?"):
        text += "."
    return text


def split_gloss(gloss: str) -> tuple[str, list[str]]:
    """A WordNet gloss ('a sweet liquid; "examples"; "more"') -> (definition, [examples]).

    Examples are the double-quoted parts; an attribution after one ('"..." --Shakespeare') is dropped;
    the definition is the unquoted parts joined by '; '."""
    examples = [normalize(m) for m in re.findall(r'"([^"]*)"', gloss)]
    rest = re.sub(r'"[^"]*"', "\x00", gloss)
    parts = []
    for part in rest.split(";"):
        part = re.sub(r"\x00\s*-+\s*[^;\x00]*", "", part)  # an example's attribution
        part = normalize(part.replace("\x00", "").replace('"', ""))
        if part and not part.startswith("-"):
            parts.append(part)
    return "; ".join(parts), [e for e in examples if len(e.split()) >= 2]


COUNT_NOUN_STARTS = ("a ", "an ", "any ", "one ", "someone ", "something ", "each ")


def definition_sentence(lemma: str, pos: str, definition: str) -> str:
    """One sentence that defines `lemma` (WordNet part of speech n, v, a, s or r) by `definition`."""
    definition = normalize(definition).rstrip(".")
    if not definition:
        return ""
    paren = re.match(r"^\(([^)]*)\)\s*(.+)$", definition)
    qualifier = ""
    if paren:  # "(of sound) loud" -> qualifier after the lemma
        qualifier, definition = f" ({paren.group(1)})", paren.group(2)
    if pos == "n":
        if lemma[:1].isupper():
            subject = lemma
        elif definition.lower().startswith(COUNT_NOUN_STARTS):
            subject = ("an " if lemma[0].lower() in "aeiou" else "a ") + lemma
        else:
            subject = lemma
        return as_sentence(f"{subject}{qualifier} is {definition}")
    if pos == "v":
        definition = re.sub(r"^to ", "", definition)
        return as_sentence(f"to {lemma}{qualifier} is to {definition}")
    return as_sentence(f'"{lemma}"{qualifier} means {definition}')


def parse_wordnet_line(line: str) -> tuple[int, list[str]] | None:
    """One line of a WordNet data.* file -> (lexicographer file number, [definition, examples...]);
    None for the licence header (lines starting with spaces) and lines without a gloss."""
    if line.startswith(" ") or " | " not in line:
        return None
    head, gloss = line.split(" | ", 1)
    fields = head.split()
    lex_file, pos = int(fields[1]), fields[2]
    lemma = re.sub(r"\([a-z]+\)$", "", fields[4]).replace("_", " ")
    definition, examples = split_gloss(gloss)
    sentences = [definition_sentence(lemma, pos, definition)] + [as_sentence(e) for e in examples]
    return lex_file, [s for s in sentences if s]


DEVIL_HEAD_RE = re.compile(r"^([A-Z][A-Z' .-]*?),\s*((?:[a-z]+\.\s*)+)\s*(.*)$", re.S)


def devil_entry_sentences(entry: str) -> list[str]:
    """One Devil's Dictionary entry ('AUCTIONEER, n.  The man who ...') -> its prose sentences, the first
    rewritten as '"Auctioneer" means the man who ...'. Indented lines (verse, attributions) are dropped."""
    paragraphs, current = [], []
    for line in entry.splitlines():
        if not line.strip() or line.startswith((" ", "\t")):
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line.strip())
    if current:
        paragraphs.append(" ".join(current))
    if not paragraphs:
        return []
    m = DEVIL_HEAD_RE.match(paragraphs[0])
    if not m:
        return []
    head, body = m.group(1).strip(), m.group(3).strip()
    if body:
        first_word = body.split()[0]
        if not (len(first_word) > 1 and first_word.isupper()):  # keep acronyms, lower "The"/"A"
            body = body[0].lower() + body[1:]
        paragraphs[0] = f'"{head.capitalize()}" means {body}'
    else:
        paragraphs = paragraphs[1:]
    out = []
    for p in paragraphs:
        p = normalize(p.replace("_", ""))
        out.extend(as_sentence(s) for s in split_sentences(p))
    return [s for s in out if len(s.split()) >= 3]


DICTD_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def dictd_number(text: str) -> int:
    """A dictd index offset/length (base 64 in dictd's alphabet)."""
    n = 0
    for ch in text:
        n = n * 64 + DICTD_B64.index(ch)
    return n


@functools.lru_cache(maxsize=None)
def _pydoc_tool():
    """tools/make_pydoc_corpus.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_pydoc_corpus", os.path.join(HERE, "make_pydoc_corpus.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph (the splitter of tools/make_pydoc_corpus.py)."""
    return _pydoc_tool().split_sentences(paragraph)


# === Fetching ===
def _require(command: str) -> str:
    path = shutil.which(command)
    if not path:
        raise SystemExit(f"build_english_corpus: `{command}` not found; it is needed to fetch Debian packages")
    return path


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_deb(package: str, version: str, cache: str) -> str:
    """Path of PACKAGE_VERSION_*.deb in `cache`, downloaded with `apt-get download` if it is not there."""
    os.makedirs(cache, exist_ok=True)
    file_version = version.replace(":", "%3a")
    pattern = os.path.join(cache, f"{package}_{glob.escape(file_version)}_*.deb")
    found = sorted(glob.glob(pattern))
    if not found:
        _require("apt-get")
        result = subprocess.run(
            ["apt-get", "download", f"{package}={version}"], cwd=cache, capture_output=True, text=True
        )
        found = sorted(glob.glob(pattern))
        if result.returncode != 0 or not found:
            raise SystemExit(
                f"build_english_corpus: could not download Debian package {package}={version} "
                f"(`apt-get download` exited {result.returncode}: {result.stderr.strip()[-300:]}). "
                "Run `apt-get update`, or put the .deb in the cache folder, or update the pin in SOURCES."
            )
    return found[0]


def unpack_deb(deb: str, cache: str) -> str:
    """Folder holding the files of `deb` (unpacked once with `dpkg-deb -x`, then reused)."""
    target = os.path.join(cache, "unpacked", os.path.basename(deb)[: -len(".deb")])
    if os.path.exists(os.path.join(target, ".unpacked")):
        return target
    _require("dpkg-deb")
    shutil.rmtree(target, ignore_errors=True)
    tmp = target + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    result = subprocess.run(["dpkg-deb", "-x", deb, tmp], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"build_english_corpus: `dpkg-deb -x {deb}` failed: {result.stderr.strip()}")
    open(os.path.join(tmp, ".unpacked"), "w").close()
    os.replace(tmp, target)
    return target


# === Sources: each returns a list of documents (lists of sentences) ===
def wordnet_documents(root: str) -> list[list[str]]:
    """WordNet 3.0 definitions and usage examples, one document per lexicographer file."""
    by_lex_file: dict[int, list[str]] = {}
    for pos in ("noun", "verb", "adj", "adv"):
        path = os.path.join(root, "usr/share/wordnet", f"data.{pos}")
        if not os.path.exists(path):
            raise SystemExit(f"build_english_corpus: {path} missing from wordnet-base")
        with open(path, encoding="utf-8") as f:
            for line in f:
                parsed = parse_wordnet_line(line.rstrip("\n"))
                if parsed:
                    by_lex_file.setdefault(parsed[0], []).extend(parsed[1])
    return [by_lex_file[k] for k in sorted(by_lex_file)]


def devil_documents(root: str) -> list[list[str]]:
    """The Devil's Dictionary, one document per entry, in index (alphabetical) order."""
    base = os.path.join(root, "usr/share/dictd/devil")
    with gzip.open(base + ".dict.dz") as f:
        data = f.read()
    docs = []
    with open(base + ".index", encoding="utf-8") as f:
        for line in f:
            word, offset, length = line.rstrip("\n").split("\t")[:3]
            if word.startswith("00database"):
                continue
            start = dictd_number(offset)
            entry = data[start : start + dictd_number(length)].decode("utf-8", "replace")
            sentences = devil_entry_sentences(entry)
            if sentences:
                docs.append(sentences)
    return docs


def pydoc_documents(root: str) -> list[list[str]]:
    """Prose of the Python 3.11 documentation, one document per page (sorted by path)."""
    tool = _pydoc_tool()
    sources = os.path.join(root, "usr/share/doc/python3.11/html/_sources")
    files = sorted(glob.glob(os.path.join(sources, "**", "*.rst.txt"), recursive=True))
    if not files:
        raise SystemExit(f"build_english_corpus: no *.rst.txt under {sources} in python3.11-doc")
    docs = []
    for path in files:
        if os.path.basename(path) in ("license.rst.txt", "copyright.rst.txt"):
            continue
        sentences = [normalize(s) for section in tool.sections(path) for p in section for s in tool.split_sentences(p)]
        if sentences:
            docs.append(sentences)
    return docs


READERS = {"wordnet": wordnet_documents, "devil": devil_documents, "pydoc": pydoc_documents}


# === Assembly ===
def deduplicate(documents: list[list[str]], seen: set[str]) -> list[list[str]]:
    """Documents without empty lines and lines already in `seen` (which is updated); empty ones dropped."""
    out = []
    for doc in documents:
        kept = []
        for line in doc:
            line = normalize(line)
            if line and line not in seen:
                seen.add(line)
                kept.append(line)
        if kept:
            out.append(kept)
    return out


def render(documents: list[list[str]]) -> str:
    """The corpus text: one line per sentence, an empty line between documents."""
    return "".join("\n".join(doc) + "\n\n" for doc in documents).rstrip("\n") + "\n" if documents else ""


def build(names: list[str], cache: str) -> tuple[str, list[dict]]:
    seen: set[str] = set()
    all_docs, report = [], []
    for name in names:
        spec = SOURCES[name]
        deb = fetch_deb(spec["package"], spec["version"], cache)
        root = unpack_deb(deb, cache)
        if not os.path.exists(os.path.join(root, spec["licence_file"])):
            raise SystemExit(f"build_english_corpus: {spec['package']} has no {spec['licence_file']}")
        docs = deduplicate(READERS[name](root), seen)
        all_docs.extend(docs)
        lines = sum(len(d) for d in docs)
        words = sum(len(s.split()) for d in docs for s in d)
        report.append(
            {"name": name, **spec, "deb": os.path.basename(deb), "deb_sha256": sha256_file(deb),
             "documents": len(docs), "lines": lines, "words": words}
        )
        print(f"{name}: {spec['package']} {spec['version']}: {len(docs)} documents, {lines} lines, {words} words")
    return render(all_docs), report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder (corpus.txt, sources.json)")
    parser.add_argument("--cache", required=True, help="folder for downloaded and unpacked .deb packages")
    parser.add_argument("--sources", default=",".join(DEFAULT_SOURCES), help="comma-separated: " + ", ".join(SOURCES))
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sources.split(",") if n.strip()]
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        parser.error(f"unknown source(s) {unknown}; choose from {', '.join(SOURCES)}")

    from tf_albert.utils.fileio import write_file_atomically  # here: importing tf_albert loads TensorFlow

    started = time.monotonic()
    text, report = build(names, os.path.abspath(args.cache))
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(args.out, exist_ok=True)
    write_file_atomically(os.path.join(args.out, "corpus.txt"), data)
    summary = {
        "corpus": "corpus.txt",
        "sha256": digest,
        "format": "UTF-8, one sentence per line, an empty line between documents",
        "order": "source order, then each source's document order; not shuffled",
        "deduplication": "exact, after whitespace/NFC normalization; first occurrence kept",
        "lines": sum(r["lines"] for r in report),
        "words": sum(r["words"] for r in report),
        "bytes": len(data),
        "sources": report,
    }
    write_file_atomically(os.path.join(args.out, "sources.json"), json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(
        f"{summary['lines']} lines, {summary['words']} words, {len(data) / 1e6:.1f} MB "
        f"in {time.monotonic() - started:.1f} s\nsha256 {digest}  {os.path.join(args.out, 'corpus.txt')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
