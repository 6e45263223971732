"""Write `tests/fixtures/tokenizer/expected.json.gz`: HF AlbertTokenizer outputs for a corpus of hard strings.

The reference is transformers v4's SentencePiece-based `AlbertTokenizer` (the "slow" tokenizer); transformers
v5's `tokenizers`-backed `AlbertTokenizer` is run on the same model and its ids are recorded next to v4's so
that the differences are documented (tests assert equality with v4 only). Each reference runs in its own
virtual environment; this script starts them as subprocesses (`--worker v4|v5`) and merges their JSON.

    python tools/make_tokenizer_fixtures.py \
        --hf4-python /work/venv-hf4/bin/python --hf5-python /work/venv-hf5/bin/python

The workers also load a folder written by *our* `save_pretrained` (tf_albert/tokenization.py is imported by
file path, so the reference environments do not need TensorFlow) and record whether HF reproduces the ids from
it. Nothing here is imported by the package or the tests.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "tokenizer")

LONG_PARAGRAPH = (
    "ALBERT (A Lite BERT) shares one Transformer block across all layers and factorises the embedding "
    "matrix; "
    "its tokenizer is SentencePiece, trained on lower-cased text, with 30,000 pieces. In 2019, the model had "
    "about 12,000,000 parameters (base), 18,000,000 (large) and 235,000,000 (xxlarge). "
    "``Quotes'' become \"quotes\", "
    "accents (café, naïve, Ångström) are stripped, and [MASK] tokens survive: the capital of France is "
    "[MASK]. "
)

CORPUS: list[str] = [
    # --- plain and mixed case ---
    "Hello world!",
    "HeLLo WoRLD",
    "The Quick Brown Fox Jumps Over The Lazy Dog.",
    "ALL CAPS SENTENCE HERE",
    "don't won't it's we're I'm they've",
    "e.g. i.e. etc. Mr. Dr.",
    "snake_case and camelCase and kebab-case",
    # --- accents and combining marks ---
    "Café naïve résumé façade jalapeño",
    "CRÈME BRÛLÉE",
    "Ångström Øre Ærø",
    "e\u0301 a\u0308 o\u0302",
    "a\u0301\u0302\u0323b",
    "\u0301\u0302leading combining",
    "trailing combining\u0308",
    "Tiếng Việt Đà Nẵng",
    "Łódź Kraków Gdańsk",
    "İstanbul ıi İI",
    "Straße STRASSE ẞ",
    "Ёлка ёж",
    "ά έ ή ί ό ύ ώ ΐ ΰ",
    "हिन्दी भाषा",
    "ภาษาไทย",
    "עִבְרִית",
    "العَرَبِيَّة",
    "\u0e01\u0e34\u0e4d",
    "Z\u0351\u036b\u0343a\u0352\u035fl\u0357g\u0334o",
    # --- Greek sigma and case context ---
    "ΟΔΟΣ",
    "Σίσυφος",
    "ΣΑΣ ΣΑΣ.",
    "οδος οδοσ",
    "\U0001d6ba",
    "A\U0001d6ba",
    "\U0001d6baA",
    "x\U0001d6ba y",
    "\u212a\u2126\u212b Kelvin Ohm Angstrom signs",
    # --- CJK, fullwidth, halfwidth ---
    "東京は日本の首都です",
    "你好，世界！",
    "한국어 문장입니다",
    "ｶﾀｶﾅ ﾊﾝｶｸ",
    "ＡＢＣ１２３ｘｙｚ",
    "中文English混合text",
    "北京 2008",
    "「引用」『二重』【括弧】",
    # --- emoji ---
    "😀",
    "I ❤️ NY",
    "👍🏽 thumbs",
    "👨\u200d👩\u200d👧 family",
    "🇺🇸🇯🇵 flags",
    "1️⃣ keycap",
    "emoji😀inside",
    "🎉🎉🎉",
    # --- numbers with commas ---
    "1,000,000",
    "9,",
    "x9,",
    "9,9",
    "1,2,3",
    "3,14",
    "$1,234.56",
    "£100,000 and €5,",
    "10,000,",
    "1, 2, 3",
    ",,,",
    "9,,",
    "1 , 000",
    "12,345,678,901,234",
    "٣,٤ and ۱,۲",
    "x²,y",
    "①,②",
    "pages 10,11,12",
    "0,5",
    "a1,b2,",
    "year 2019, then 2020,",
    "1,000 9,000 99,999,",
    "+1,5 -2,5",
    # --- quotes ---
    "``hello''",
    "''",
    "``",
    "```",
    "''''",
    "He said ``yes'' and ''no''.",
    "`single' quotes",
    "‘curly’ “double”",
    '"plain" quotes',
    "it''s",
    "a`` b ''c",
    "``''``''",
    # --- whitespace ---
    "\thello\tworld\t",
    "a\nb\r\nc",
    "  lots   of   spaces  ",
    "a\u00a0b",
    "\u00a0\u00a0",
    "a\u2003b",
    "a\u3000b",
    "a\u200bb",
    "a\u200cb\u200dc",
    "\ufeffBOM at start",
    "a\u2028b\u2029c",
    "\x0bvt\x0c",
    "a\x1cb\x1fc",
    "a\u0085b",
    "a\u180eb",
    " ",
    "",
    "\t\n",
    "\u200b",
    "a \u200b b",
    "word\u00a0[MASK]",
    # --- special tokens ---
    "a[MASK]b",
    "[MASK].",
    "[MASK]",
    "[MASK][MASK]",
    "a [MASK] b",
    "a  [MASK]",
    "[MASK] .",
    "The capital is [MASK].",
    "[CLS] x [SEP] y [SEP]",
    "<unk>",
    "<UNK>",
    "<Pad> <pad>",
    "[mask]",
    "[Mask]",
    "[MASK",
    "MASK]",
    "[[MASK]]",
    "x<pad>y",
    "\t[MASK]\t",
    "[SEP][CLS]",
    "(([MASK]))",
    "9,[MASK]",
    "[MASK]9,",
    "café[MASK]ÉTÉ",
    # --- punctuation and ALBERT's user-defined symbols ---
    "(a)",
    "--",
    "a-b",
    "£€–",
    "...",
    "!?",
    "a—b",
    "~!@#$%^&*()_+{}|:<>?",
    "‘’‚‛“”„‟",
    "e.g.(x)-y",
    # --- control, private use, unusual code points ---
    "a\x00b",
    "a\x7fb",
    "\x1b[31mred\x1b[0m",
    "a\ufffdb",
    "\ue000private",
    "tag\U000e0001x",
    "\U0010ffff",
    "\u00ad soft\u00adhyphen",
    # --- compatibility characters ---
    "ﬁ ﬂ ﬃ",
    "½ ¼ ¾",
    "™ ℃ №",
    "㎏ ㎡",
    "Ⅻ ⅻ",
    "x² y³",
    "①②③",
    "…",
    "ﬀ" * 3,
    "Zoë's 1,000 ``naïve'' cafés [MASK]",
]
# Long strings: only their ids are recorded (tokens, decodes and offsets are checked on the short ones).
LONG_CORPUS: list[str] = [
    "word " * 600,
    "a" * 3000,
    "1,000," * 300,
    LONG_PARAGRAPH * 10,
    ("Café [MASK] 東京 9, " * 200).strip(),
    " ".join(str(i) + "," for i in range(500)),
]

PAIRS: list[tuple[str, str]] = [
    ("What is ALBERT?", "ALBERT is a lite BERT."),
    ("", ""),
    ("a[MASK]b", "[MASK]."),
    ("Café 1,000,000", "naïve ``quotes''"),
    ("short", "word " * 50),
    ("word " * 50, "short"),
    ("東京", "😀 emoji"),
    (LONG_PARAGRAPH, LONG_PARAGRAPH[::-1]),
    ("ΟΔΟΣ", "A\U0001d6ba"),
    ("  spaces  ", "\ttabs\t"),
    ("x" * 40, "y " * 40),
]

# (pair index, kwargs) for padding/truncation checks against the reference
TRUNCATION_CASES = [
    (pi, {"truncation": t, "max_length": m, "padding": p})
    for pi in (0, 3, 4, 5, 7, 10)
    for t, m, p in (
        ("longest_first", 12, "max_length"),
        ("longest_first", 9, False),
        ("only_first", 20, False),
        ("only_second", 20, "max_length"),
        ("longest_first", 64, "max_length"),
        (True, 7, False),
    )
]

OPTION_SETS = {
    "keep_accents": {"keep_accents": True},
    "cased": {"do_lower_case": False},
    "keep_space": {"remove_space": False},
    "cased_keep_accents": {"do_lower_case": False, "keep_accents": True},
    "extra_special": {"additional_special_tokens": ["<ent>", "[E1]"]},
}
EXTRA_SPECIAL_STRINGS = ["x <ent> [E1] [e1] <ent>[MASK]", "<ENT>", "a<ent>b", "[E1][E1]", "<ent>9,<ent>"]


def _load_ours():
    """Our tokenizer module, imported without running the package's __init__ files (which import Keras and
    TensorFlow, absent from the transformers venvs): the packages on its import path become bare namespaces."""
    import types

    for package in ("tf_albert", "tf_albert.checkpoints", "tf_albert.tokenization", "tf_albert.utils"):
        module = types.ModuleType(package)
        module.__path__ = [os.path.join(ROOT, *package.split("."))]
        sys.modules.setdefault(package, module)
    return importlib.import_module("tf_albert.tokenization.tokenizer")


def worker(version: str, model_dir: str) -> dict:
    import transformers
    from transformers import AlbertTokenizer

    def make(**kw):
        return AlbertTokenizer.from_pretrained(model_dir, model_max_length=10**6, **kw)

    tok = make()
    out: dict = {"transformers": transformers.__version__, "class": type(tok).__name__}
    out["ids"] = [tok(s)["input_ids"] for s in CORPUS]
    out["long_ids"] = [tok(s)["input_ids"] for s in LONG_CORPUS]
    out["tokens"] = [tok.convert_ids_to_tokens(ids) for ids in out["ids"]]
    if version == "v4":
        del out["tokens"]
        out["tokenize"] = [tok.tokenize(s) for s in CORPUS]
        out["decode"] = [tok.decode(ids) for ids in out["ids"]]
        out["decode_skip"] = [tok.decode(ids, skip_special_tokens=True) for ids in out["ids"]]
        out["decode_clean"] = [
            tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=True) for ids in out["ids"]
        ]
        out["special_mask_existing"] = [
            tok.get_special_tokens_mask(ids, already_has_special_tokens=True) for ids in out["ids"][:40]
        ]
        out["pairs"] = [dict(tok(a, b, return_special_tokens_mask=True)) for a, b in PAIRS]
        out["truncation"] = []
        for pi, kw in TRUNCATION_CASES:
            try:
                enc = dict(tok(*PAIRS[pi], **kw))
            except ValueError as e:  # recorded: the reference refuses this case
                enc = {"error": f"{type(e).__name__}: {e}"}
            out["truncation"].append(enc)
        out["single_truncation"] = [tok(s, truncation=True, max_length=10)["input_ids"] for s in CORPUS[:30]]
        out["options"] = {}
        for name, kw in OPTION_SETS.items():
            t = make(**kw)
            strings = CORPUS + (EXTRA_SPECIAL_STRINGS if "additional_special_tokens" in kw else [])
            ids = [t(s)["input_ids"] for s in strings]
            out["options"][name] = {
                "kwargs": kw,
                "ids": ids,
                "decode": [t.decode(i) for i in ids],
                "len": len(t),
                "all_special_ids": t.all_special_ids,
            }
    else:
        out["offsets"] = [tok(s, return_offsets_mapping=True)["offset_mapping"] for s in CORPUS]
        out["offsets"] = [[list(o) for o in offs] for offs in out["offsets"]]
    # Can HF load a folder written by our save_pretrained (with non-default options) and give the same ids?
    ours = _load_ours()
    with tempfile.TemporaryDirectory() as tmp:
        mine = ours.AlbertTokenizer.from_pretrained(
            model_dir, additional_special_tokens=["<ent>"], keep_accents=True
        )
        mine.save_pretrained(tmp)
        theirs = AlbertTokenizer.from_pretrained(tmp)
        strings = CORPUS[:60] + ["x <ent> y", "<ent>[MASK]"]
        same = [theirs(s)["input_ids"] == mine(s)["input_ids"] for s in strings]
        out["loads_our_folder"] = {
            "n": len(same),
            "same_ids": sum(same),
            "keep_accents": bool(getattr(theirs, "keep_accents", None)),
            "mask_token": str(theirs.mask_token),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worker", choices=["v4", "v5"])
    parser.add_argument("--model-dir", default=FIXTURES)
    parser.add_argument("--hf4-python", default="/work/venv-hf4/bin/python")
    parser.add_argument("--hf5-python", default="/work/venv-hf5/bin/python")
    parser.add_argument("--out", default=os.path.join(FIXTURES, "expected.json.gz"))
    args = parser.parse_args()
    if args.worker:
        json.dump(worker(args.worker, args.model_dir), sys.stdout, ensure_ascii=True)
        return

    results = {}
    for version, python in (("v4", args.hf4_python), ("v5", args.hf5_python)):
        env = dict(os.environ, TRANSFORMERS_VERBOSITY="error", TRANSFORMERS_OFFLINE="1", HF_HUB_OFFLINE="1")
        proc = subprocess.run(
            [python, os.path.abspath(__file__), "--worker", version, "--model-dir", args.model_dir],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if proc.returncode:
            sys.exit(f"{version} worker failed:\n{proc.stderr}")
        results[version] = json.loads(proc.stdout)
    v4, v5 = results["v4"], results["v5"]
    differs = [i for i, (a, b) in enumerate(zip(v4["ids"], v5["ids"])) if a != b]
    fixture = {
        "about": "HF AlbertTokenizer outputs on spiece.model; written by tools/make_tokenizer_fixtures.py",
        "references": {"v4": v4["transformers"], "v5": v5["transformers"]},
        "corpus": CORPUS,
        "long_corpus": LONG_CORPUS,
        "pairs": [list(p) for p in PAIRS],
        "truncation_cases": [[pi, kw] for pi, kw in TRUNCATION_CASES],
        "extra_special_strings": EXTRA_SPECIAL_STRINGS,
        "v4": {k: v for k, v in v4.items() if k not in ("transformers",)},
        "v5": {
            "ids": [None if i in differs else v for i, v in enumerate(v5["ids"])],
            "differing": {str(i): {"ids": v5["ids"][i], "tokens": v5["tokens"][i]} for i in differs},
            "offsets": [None if i in differs else v for i, v in enumerate(v5["offsets"])],
            "long_ids_equal_v4": [a == b for a, b in zip(v4["long_ids"], v5["long_ids"])],
            "class": v5["class"],
            "loads_our_folder": v5["loads_our_folder"],
        },
        "v5_differs_from_v4": differs,
    }
    # gzip with a fixed mtime: the same outputs give the same bytes (a 175 KB fixture becomes ~30 KB).
    text = json.dumps(fixture, ensure_ascii=True, separators=(",", ":")) + "\n"
    with open(args.out, "wb") as f:
        f.write(gzip.compress(text.encode("utf-8"), mtime=0))
    print(
        f"wrote {args.out}: {len(CORPUS)} strings, {len(PAIRS)} pairs; "
        f"v5 differs from v4 on {len(differs)} strings"
    )
    print("HF loads our saved folder:", {k: results[k]["loads_our_folder"] for k in results})


if __name__ == "__main__":
    main()
