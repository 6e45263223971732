"""A small text-classification task from the Python documentation, for the fine-tuning demo of tf-albert-tiny.

Task: which part of the Python docs does a sentence come from — `tutorial`, `library` (reference of the
standard library), `c-api` or `whatsnew` (release notes)? Sentences are read from the corpus written by
`tools/make_pydoc_corpus.py` (one .txt per page, named after its folder: `library__json.txt`, ...).
Pages are split between train and eval (no page in both), classes are balanced (chance = 25 %).

    python tools/make_finetune_demo.py --corpus /tmp/pydoc-corpus --out /tmp/pydoc-sections
    tf-albert finetune --task classification --train /tmp/pydoc-sections/train.jsonl \\
        --eval /tmp/pydoc-sections/eval.jsonl --model tf-albert-tiny --out runs/sections
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import sys

CLASSES = ("tutorial", "library", "c-api", "whatsnew")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", required=True, help="output folder of tools/make_pydoc_corpus.py")
    parser.add_argument("--out", required=True)
    parser.add_argument("--train-per-class", type=int, default=400)
    parser.add_argument("--eval-per-class", type=int, default=100)
    parser.add_argument("--eval-page-fraction", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    pages = {c: [] for c in CLASSES}
    for path in sorted(glob.glob(os.path.join(args.corpus, "*.txt"))):
        page = os.path.basename(path)[:-4]
        label = page.split("__")[0]
        if label not in CLASSES:
            continue
        with open(path, encoding="utf-8") as f:
            sentences = [s.strip() for s in f if 6 <= len(s.split()) <= 40]
        pages[label].append((hashlib.sha1(page.encode()).hexdigest(), sentences))
    # Per class, whole pages (in hash order) go to eval until it holds eval_page_fraction of the sentences.
    pools = {c: {"train": [], "eval": []} for c in CLASSES}
    for label, items in pages.items():
        total = sum(len(s) for _, s in items)
        for _, sentences in sorted(items):
            split = "eval" if len(pools[label]["eval"]) < args.eval_page_fraction * total else "train"
            pools[label][split].extend(sentences)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for split, per_class in (("train", args.train_per_class), ("eval", args.eval_per_class)):
        rows = []
        for label in CLASSES:
            pool = sorted(set(pools[label][split]))
            if len(pool) < per_class:
                print(f"{label}/{split}: only {len(pool)} sentences for {per_class}", file=sys.stderr)
                return 1
            rows += [{"text": s, "label": label} for s in rng.sample(pool, per_class)]
        rng.shuffle(rows)
        with open(os.path.join(args.out, f"{split}.jsonl"), "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        print(f"{split}: {len(rows)} sentences, {per_class} per class")
    return 0


if __name__ == "__main__":
    sys.exit(main())
