"""How much English a pretrained ALBERT folder knows: fill-mask on simple cloze sentences, and transfer to a
task only pretraining knowledge can help with (issue 17's measurements for an embedded model).

    python tools/evaluate_english.py tf_albert/pretrained/tf-albert-tiny --seeds 0,1,2 --json /tmp/eval.json

1. **Fill-mask**: the top 5 for the seed documentation's sentence ("Plants create [MASK] through a process
   known as photosynthesis.") and, over `CLOZE` (everyday sentences with the words that fit), the share whose
   top 5 holds one of those words ("hits@5").
2. **Transfer**: `CATEGORIES` holds words of two kinds (animals, foods). A sequence classifier is fine-tuned on
   a sentence per word ("i saw a [word] yesterday.") for some words of each kind and tested on the other,
   unseen words: only what pretraining taught about those words can tell them apart. The same architecture
   from random weights is the baseline; the score is held-out accuracy, per seed and averaged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

SEED_SENTENCE = "Plants create [MASK] through a process known as photosynthesis."

# (sentence, words that fit): everyday facts, one [MASK] each.
CLOZE = [
    ("The sun rises in the [MASK].", {"east", "morning"}),
    ("Bees make [MASK].", {"honey", "wax"}),
    ("A dog is a kind of [MASK].", {"animal", "mammal", "pet", "canine", "dog"}),
    ("Water freezes into [MASK] when it is cold.", {"ice", "snow"}),
    ("We see with our [MASK].", {"eyes", "eye"}),
    ("A bird can [MASK].", {"fly", "sing"}),
    ("The capital of France is [MASK].", {"paris"}),
    ("Snow is [MASK] and cold.", {"white", "soft", "wet"}),
    ("People sleep at [MASK].", {"night", "home"}),
    ("A year has twelve [MASK].", {"months"}),
    ("Fish live in the [MASK].", {"water", "sea", "ocean", "river"}),
    ("A knife is used to [MASK] food.", {"cut", "slice", "chop"}),
    ("The opposite of hot is [MASK].", {"cold", "cool"}),
    ("A cow gives [MASK].", {"milk"}),
    ("Trees have green [MASK].", {"leaves", "leaf"}),
    ("The moon shines at [MASK].", {"night"}),
]

CATEGORIES = {
    "animal": ["dog", "cat", "horse", "cow", "sheep", "lion", "tiger", "bear", "wolf", "fox", "rabbit", "mouse",
               "deer", "goat", "pig", "duck", "eagle", "owl", "snake", "frog", "whale", "shark", "monkey", "camel",
               "zebra", "donkey", "elephant", "squirrel", "turtle", "chicken"],
    "food": ["bread", "cheese", "apple", "rice", "butter", "milk", "soup", "cake", "sugar", "salt", "egg",
             "potato", "onion", "banana", "orange", "carrot", "tomato", "pasta", "honey", "coffee", "tea", "wine",
             "beer", "pie", "cookie", "sausage", "bean", "pepper", "lemon", "grape"],
}
TEMPLATE = "i saw a {} yesterday."


def fill_mask(folder: str, top_k: int = 5):
    """{"seed": top-k words for SEED_SENTENCE, "cloze": [(sentence, top-k words, hit)], "hits_at_5": share}."""
    from tf_albert.pipelines import pipeline

    unmasker = pipeline("fill-mask", model=folder, top_k=top_k)

    def words(sentence):
        return [c["token_str"].strip().lower() for c in unmasker(sentence)]

    cloze = [(s, top, bool(set(top) & fits)) for s, fits in CLOZE for top in [words(s)]]
    return {"seed": words(SEED_SENTENCE), "cloze": cloze, "hits_at_5": sum(h for *_, h in cloze) / len(cloze)}


def split_words(seed: int, train_share: float = 0.5):
    """Per category, a seeded split of its words into (train, test)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for name, words in CATEGORIES.items():
        order = rng.permutation(len(words))
        cut = int(round(train_share * len(words)))
        out[name] = ([words[i] for i in order[:cut]], [words[i] for i in order[cut:]])
    return out


def transfer(folder: str, seed: int, pretrained: bool, epochs: int = 20, learning_rate: float = 1e-4):
    """Held-out accuracy on unseen words after fine-tuning from `folder` (or its architecture, random)."""
    import keras
    import numpy as np

    from tf_albert import AlbertConfig, AlbertForSequenceClassification, AlbertTokenizer

    keras.utils.set_random_seed(seed)
    tokenizer = AlbertTokenizer.from_pretrained(folder)
    if pretrained:
        model = AlbertForSequenceClassification.from_pretrained(folder, num_labels=2)
    else:
        model = AlbertForSequenceClassification(AlbertConfig.from_pretrained(folder, num_labels=2))
    split = split_words(seed)
    labels = sorted(CATEGORIES)

    def batch(part):
        texts, ys = [], []
        for y, name in enumerate(labels):
            for word in split[name][part]:
                texts.append(TEMPLATE.format(word))
                ys.append(y)
        return dict(tokenizer(texts, padding=True, return_tensors="np")), np.array(ys)

    (x, y), (x_test, y_test) = batch(0), batch(1)
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate), jit_compile=False)
    model.fit(x, y, batch_size=8, epochs=epochs, shuffle=True, verbose=0)
    predicted = np.asarray(model.predict(x_test, verbose=0)["logits"]).argmax(-1)
    return float((predicted == y_test).mean())


def evaluate(folder: str, seeds=(0, 1, 2)) -> dict:
    results = fill_mask(folder)
    runs = {s: {"pretrained": transfer(folder, s, True), "random": transfer(folder, s, False)} for s in seeds}
    results["transfer"] = runs
    for kind in ("pretrained", "random"):
        results[f"transfer_{kind}"] = sum(r[kind] for r in runs.values()) / len(runs)
    results["transfer_gain_points"] = 100 * (results["transfer_pretrained"] - results["transfer_random"])
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", help="a model folder with its tokenizer")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--json")
    args = p.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    results = evaluate(args.folder, [int(s) for s in args.seeds.split(",")])
    print(f"seed sentence top 5: {results['seed']}")
    for sentence, top, hit in results["cloze"]:
        print(f"  {'+' if hit else ' '} {sentence}  {top}")
    print(f"cloze hits@5: {results['hits_at_5']:.3f}")
    for seed, r in results["transfer"].items():
        print(f"transfer seed {seed}: pretrained {r['pretrained']:.3f}, random {r['random']:.3f}")
    print(f"transfer: pretrained {results['transfer_pretrained']:.3f}, random {results['transfer_random']:.3f}, "
          f"gain {results['transfer_gain_points']:+.1f} points")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
