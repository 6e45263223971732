"""The README's main job, end to end and offline, on the embedded `tf-albert-small` model:

1. fill-mask on the seed's sentence, with the pipeline;
2. a quick `fit()` fine-tune of `AlbertForSequenceClassification` from the pretrained weights on a small
   sentence-polarity task generated here, with held-out accuracy and a few predictions;
3. an export round trip: a TF Serving SavedModel, reloaded, must give the Keras model's logits (and, with
   tensorflow-text installed, take raw strings through its `serving_text` signature).

    python -m tf_albert.demo            (or: tf-albert demo)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_albert.export.saved_model import export_saved_model  # noqa: E402
from tf_albert.model.modeling import AlbertForSequenceClassification  # noqa: E402
from tf_albert.pipelines import pipeline  # noqa: E402
from tf_albert.pretrained import DEFAULT_MODEL  # noqa: E402
from tf_albert.tokenization.tokenizer import AlbertTokenizer  # noqa: E402

SEED_SENTENCE = "Plants create [MASK] through a process known as photosynthesis."

NOUNS = ["function", "module", "result", "method", "example", "program", "library", "interface", "value",
         "class", "answer", "design", "test", "update", "error message", "tutorial"]
POSITIVE = ["good", "useful", "fast", "simple", "correct", "clear", "helpful", "reliable", "excellent", "nice"]
NEGATIVE = ["bad", "slow", "wrong", "broken", "confusing", "useless", "terrible", "awful", "ugly", "poor"]
TEMPLATES = ["the {noun} is {adj}.", "this {noun} seems {adj} to me.", "i think the {noun} was {adj}.",
             "a {adj} {noun}.", "what a {adj} {noun}!", "overall, the {noun} looks {adj}."]


def make_polarity_data(seed: int):
    """Sentences that call something good or bad; held-out sentences use (noun, adjective) pairs never
    seen in training."""
    rng = np.random.default_rng(seed)
    pairs = [(n, a, label) for n in NOUNS for label, adjs in ((1, POSITIVE), (0, NEGATIVE)) for a in adjs]
    rng.shuffle(pairs)
    cut = int(0.8 * len(pairs))
    splits = []
    for chunk in (pairs[:cut], pairs[cut:]):
        texts, labels = [], []
        for noun, adj, label in chunk:
            template = TEMPLATES[rng.integers(len(TEMPLATES))]
            texts.append(template.format(noun=noun, adj=adj))
            labels.append(label)
        splits.append((texts, np.array(labels, "int32")))
    return splits


def _fill_mask(model_name: str) -> None:
    unmasker = pipeline("fill-mask", model=model_name)
    print(f'1. fill-mask with {model_name}: "{SEED_SENTENCE}"')
    for result in unmasker(SEED_SENTENCE, top_k=5):
        print(f"   {result['score']:.3f}  {result['token_str']!r:16} {result['sequence']}")


def _fine_tune(model_name: str, epochs: int, seed: int):
    keras.utils.set_random_seed(seed)
    tokenizer = AlbertTokenizer.from_pretrained(model_name)
    model = AlbertForSequenceClassification.from_pretrained(
        model_name, num_labels=2, id2label={0: "negative", 1: "positive"}
    )
    (train_texts, y_train), (test_texts, y_test) = make_polarity_data(seed)
    x_train = dict(tokenizer(train_texts, padding=True, return_tensors="np", return_token_type_ids=False))
    x_test = dict(tokenizer(test_texts, padding=True, return_tensors="np", return_token_type_ids=False))
    print(f"\n2. fine-tuning AlbertForSequenceClassification from {model_name} "
          f"({model.count_params():,} parameters) on {len(train_texts)} sentences")
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=1e-4, weight_decay=0.01), metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=16, epochs=epochs, shuffle=True, verbose=2)
    print(f"   fine-tuning took {time.perf_counter() - start:.1f} s")
    result = model.evaluate(x_test, y_test, batch_size=64, verbose=0, return_dict=True)
    print(f"   held-out accuracy: {result['accuracy']:.3f} on {len(test_texts)} sentences with unseen "
          f"(noun, adjective) pairs (chance 0.5)")
    logits = np.asarray(model.predict({k: v[:4] for k, v in x_test.items()}, verbose=0)["logits"])
    for text, row, label in zip(test_texts[:4], logits, y_test[:4]):
        print(f"   {text!r:44} → {model.config.id2label[int(row.argmax())]:8} "
              f"(true: {model.config.id2label[int(label)]})")
    return model, tokenizer, x_test


def _export_round_trip(model, tokenizer, x_test) -> float:
    try:
        import tensorflow_text  # noqa: F401

        signatures = ("ids", "text")
    except ImportError:
        signatures = ("ids",)
    folder = export_saved_model(model, os.path.join(tempfile.mkdtemp(), "polarity"), version=1,
                                tokenizer=tokenizer, signatures=signatures)
    print(f"\n3. exported a TF Serving SavedModel ({', '.join(signatures)} signatures) to {folder}")
    served = tf.saved_model.load(folder).signatures["serving_default"]
    batch = {k: tf.constant(v[:8], tf.int32) for k, v in x_test.items()}
    batch["token_type_ids"] = tf.zeros_like(batch["input_ids"])
    reloaded = served(**batch)["logits"].numpy()
    direct = np.asarray(model(batch)["logits"])
    diff = float(np.abs(reloaded - direct).max())
    print(f"   reloaded export vs Keras model, 8 sentences: max-abs-diff {diff:.2e}")
    if "text" in signatures:
        text_fn = tf.saved_model.load(folder).signatures["serving_text"]
        out = text_fn(text=tf.constant(["the tutorial is excellent.", "this method seems broken to me."]))
        labels = [[s.decode() for s in row] for row in out["top_k_labels"].numpy()]
        print(f"   serving_text on raw strings → top labels {[row[0] for row in labels]}")
    else:
        print("   (pip install 'tf_albert[text]' to also export and call the raw-text signature)")
    return diff


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tf-albert demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"model name or folder (default: {DEFAULT_MODEL})")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    _fill_mask(args.model)
    model, tokenizer, x_test = _fine_tune(args.model, args.epochs, args.seed)
    diff = _export_round_trip(model, tokenizer, x_test)
    if diff > 1e-4:
        print(f"export round trip differs by {diff:.2e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
