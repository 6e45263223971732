"""Train the small test SentencePiece model `tests/fixtures/tokenizer/spiece.model`.

The model is trained with the settings Google used for ALBERT's `30k-clean.model` (see the ALBERT README):
unigram, `<pad>` = 0, `<unk>` = 1, no BOS/EOS, control symbols `[CLS]` `[SEP]` `[MASK]` (ids 2, 3, 4), the
same user-defined symbols, the default `nmt_nfkc` normaliser, and lower-cased training text. Only the
vocabulary size is smaller (1500 pieces instead of 30000) so that the file stays small.

Training text (all available offline, no download):
  * docstrings of the Python 3.11 standard-library modules in /usr/lib/python3.11/*.py (PSF License 2.0);
  * a few hundred deterministic lines written for this project (numbers with thousands separators, Greek, CJK,
    accented words, emoji), so that the hard-string corpus exercises pieces that actually exist in the model.

Run from the repository root (any Python with `sentencepiece` installed):

    python tools/train_fixture_spm.py [--stdlib /usr/lib/python3.11] [--out tests/fixtures/tokenizer]

Training is single-threaded and unshuffled, so the same inputs give the same model; a different Python patch
release changes a few docstrings and so the model. After retraining, run tools/make_tokenizer_fixtures.py.
"""

from __future__ import annotations

import argparse
import ast
import glob
import io
import os
import random
import unicodedata

import sentencepiece as spm

ALBERT_USER_DEFINED_SYMBOLS = ["(", ")", '"', "-", ".", "\u2013", "\u00a3", "\u20ac"]
VOCAB_SIZE = 1500


def _clean(text: str) -> str:
    """Lower-case and strip accents like ALBERT's preprocessing, collapse whitespace."""
    text = " ".join(text.split())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.lower()


def stdlib_docstrings(stdlib_dir: str) -> list[str]:
    lines = []
    for path in sorted(glob.glob(os.path.join(stdlib_dir, "*.py"))):
        try:
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read())
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    for para in doc.split("\n\n"):
                        para = _clean(para)
                        if len(para) > 20:
                            lines.append(para)
    return lines


def project_lines(seed: int = 1234) -> list[str]:
    """Deterministic extra lines (written for this project, Apache-2.0) covering numbers and other scripts."""
    rng = random.Random(seed)
    words = ["population", "revenue", "distance", "the total", "about", "nearly", "costs", "was", "is"]
    lines = []
    for _ in range(600):
        n = rng.choice([rng.randint(1000, 9999999), rng.randint(1, 999), rng.randint(10**6, 10**9)])
        w1, w2 = rng.choice(words), rng.choice(words)
        lines.append(
            f"{w1} {n:,} {w2}, {rng.randint(1, 99)}, {rng.randint(0, 9)}.{rng.randint(0, 99)} and {n}"
        )
    multilingual = [
        "καλημέρα κόσμε, η οδός είναι μεγάλη και ο δρόμος μακρύς",
        "ελληνικά γράμματα: α β γ δ ε ζ η θ ι κ λ μ ν ξ ο π ρ σ ς τ υ φ χ ψ ω",
        "東京 北京 日本語 中文 漢字 你好 世界 我们 学习 语言 机器 翻译",
        "ひらがな カタカナ です ます こんにちは ありがとう",
        "한국어 문장 안녕하세요 감사합니다",
        "café naïve résumé façade jalapeño über straße ångström crème brûlée",
        "emoji 😀 🎉 👍 ❤ ✨ are common in chat messages",
        "русский текст привет мир спасибо",
        "العربية مرحبا بالعالم",
        'price £100 or €90 – a fair deal (really) - "quoted" text.',
    ]
    for i in range(40):
        for line in multilingual:
            lines.append(line.lower())
            lines.append(_clean(line))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stdlib", default="/usr/lib/python3.11")
    parser.add_argument("--out", default=os.path.join("tests", "fixtures", "tokenizer"))
    args = parser.parse_args()

    sentences = stdlib_docstrings(args.stdlib) + project_lines()
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        model_type="unigram",
        vocab_size=VOCAB_SIZE,
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        user_defined_symbols=ALBERT_USER_DEFINED_SYMBOLS,
        character_coverage=0.99995,
        shuffle_input_sentence=False,
        num_threads=1,
        minloglevel=2,
    )
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "spiece.model")
    with open(path, "wb") as f:
        f.write(model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    print(
        f"wrote {path}: {len(model.getvalue())} bytes, {sp.get_piece_size()} pieces "
        f"from {len(sentences)} lines"
    )
    print("first ids:", [sp.id_to_piece(i) for i in range(14)])


if __name__ == "__main__":
    main()
