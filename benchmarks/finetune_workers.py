"""One fine-tuning run in this process: `python -m benchmarks.finetune_workers --system ... --data DIR`.

`benchmarks.bench_finetune` starts one process per run so that imports, compilation caches and peak RSS
never leak from one system into another. Each system imports only its own stack (KerasHub and HF PyTorch
run in their own venvs) and reads the corpus that `benchmarks.finetune_corpus` wrote (train.jsonl,
test.jsonl). The last line printed is a JSON object.

Systems and their options (`--option KEY=VALUE`):
  tf_albert   `classification_dataset(shuffle=True)` + `AlbertForSequenceClassification.fit`, as
              `tf-albert finetune` builds them. xla=1|0; group=1 (the default: shuffled, grouped by length,
              with XLA padded to 5 fitted lengths) or group=0 (before: shuffled, each batch padded to its
              longest row rounded up to 8); buckets=auto|none|N (override); pad=N (pad_to_multiple_of,
              default 8; 1: none); model=NAME (start from a pretrained model, e.g. tf-albert-tiny,
              instead of random weights); backend=tensorflow|jax|torch (Keras' backend: tf.data on
              TensorFlow, the same batches as a PyDataset on JAX and PyTorch; on JAX every step is
              XLA-compiled, so xla=0 is not offered there).
  keras_hub   `AlbertTextClassifier` with its `AlbertTextClassifierPreprocessor`, `fit` on raw strings;
              seq=512 (its default) or another sequence length; Keras' default jit_compile.
  hf_torch    transformers (>= 5) `AlbertForSequenceClassification`, torch CPU, `DataCollatorWithPadding`
              (dynamic padding) with `RandomSampler` (group=0) or HF's `LengthGroupedSampler` (group=1).

Every system: the same architecture (`--config`), random weights (seeded), AdamW (weight decay 0.01) with
linear warm-up over 10 % of the steps and linear decay, the same batch size and epochs, labels of the
corpus' 4 topics. Reported: seconds per epoch, padded/real tokens, distinct batch shapes, peak RSS,
held-out accuracy after the last epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The tokenizer every system uses (spiece.model + tokenizer_config.json): the embedded model's.
SPM_FOLDER = os.path.join(REPO, "tf_albert", "pretrained", "tf-albert-tiny")
MAX_LENGTH = 128
NUM_LABELS = 4
CONFIGS = {
    # albert-base widths with 4 layers (the setting); the vocabulary is the tokenizer's (6000).
    "base4": dict(embedding_size=128, hidden_size=768, num_hidden_layers=4, num_attention_heads=12,
                  intermediate_size=3072),
    # The same widths with 2 layers: half the compute, for a busy machine.
    "base2": dict(embedding_size=128, hidden_size=768, num_hidden_layers=2, num_attention_heads=12,
                  intermediate_size=3072),
    # Small widths (the H 256 setting): 4 layers sharing one block, 4 heads.
    "small4": dict(embedding_size=128, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                   intermediate_size=1024),
    # For the smoke test.
    "tiny": dict(embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=48),
}
COMMON = dict(hidden_act="gelu_new", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
              max_position_embeddings=512, type_vocab_size=2, num_hidden_groups=1, inner_group_num=1,
              classifier_dropout_prob=0.1)


def read_split(folder: str, name: str) -> tuple[list[str], list[int]]:
    with open(os.path.join(folder, f"{name}.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def warmup_decay(step: float, total: int) -> float:
    """The learning-rate factor at `step`: linear warm-up over 10 % of `total`, then linear decay to 0."""
    warmup = max(1, round(0.1 * total))
    return step / warmup if step < warmup else max(0.0, (total - step) / max(1, total - warmup))


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self.cpu_seconds = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.cpu_start = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)
            self.cpu_seconds.append(time.process_time() - self.cpu_start)

    return EpochTimer()


# === tf_albert ===
def run_tf_albert(args, options) -> dict:
    import keras
    import numpy as np

    import tf_albert
    from tf_albert.tokenization.tokenizer import AlbertTokenizer
    from tf_albert.utils.batching import for_compiler, parse_length_buckets
    from tf_albert.training.datasets import classification_dataset
    from tf_albert.training.metrics import MaskedAccuracy
    from tf_albert.training.optimization import create_optimizer

    xla, group = options.get("xla", "1") == "1", options.get("group", "1") == "1"
    backend = keras.backend.backend()
    if backend == "jax" and not xla:
        raise SystemExit("xla=0 on JAX runs every op eagerly; JAX's steps are XLA-compiled (xla=1)")
    if backend == "torch" and xla:
        raise SystemExit("xla=1 on PyTorch would be torch.compile, not XLA; PyTorch runs eagerly (xla=0)")
    keras.utils.set_random_seed(args.seed)
    texts, labels = read_split(args.data, "train")
    test_texts, test_labels = read_split(args.data, "test")
    pretrained = options.get("model")
    tokenizer = AlbertTokenizer.from_pretrained(pretrained or SPM_FOLDER)
    if pretrained:
        model = tf_albert.AlbertForSequenceClassification.from_pretrained(pretrained, num_labels=NUM_LABELS)
    else:
        config = tf_albert.AlbertConfig(vocab_size=len(tokenizer), num_labels=NUM_LABELS, **COMMON,
                                        **CONFIGS[args.config])
        model = tf_albert.AlbertForSequenceClassification(config)
        model.build()
    # What `tf-albert finetune` does by default (group=1), or before length grouping (group=0).
    buckets = for_compiler(parse_length_buckets(options.get("buckets", "auto")), xla)
    batching = dict(pad_to_multiple_of=int(options.get("pad", 8)) or None, group_by_length=group,
                    length_buckets=buckets)
    train = classification_dataset(tokenizer, texts, labels, max_length=MAX_LENGTH, batch_size=args.batch,
                                   shuffle=True, seed=args.seed, **batching)
    steps = train.batches.steps
    shapes, real, padded = set(), 0, 0
    for epoch in range(args.epochs):  # the batches fit() will see (the same shapes every epoch)
        for k in range(steps):
            x, _ = train.batches.batch_at(epoch * steps + k)
            shapes.add(tuple(x["input_ids"].shape))
            real += int(np.asarray(x["attention_mask"]).sum())
            padded += int(np.prod(x["input_ids"].shape))
    total = steps * args.epochs
    model.compile(optimizer=create_optimizer("adamw", args.learning_rate, num_train_steps=total,
                                             num_warmup_steps=round(0.1 * total), weight_decay=0.01),
                  metrics=[MaskedAccuracy()], jit_compile=xla)
    timer = _epoch_timer()
    model.fit(train, epochs=args.epochs, callbacks=[timer], verbose=0)
    test = classification_dataset(tokenizer, test_texts, test_labels, max_length=MAX_LENGTH, batch_size=64,
                                  group_by_length=True, length_buckets=buckets, pad_to_multiple_of=8)
    right = count = 0
    for x, y in test:
        logits = keras.ops.convert_to_numpy(model.predict_on_batch(x)["logits"])
        right += int((logits.argmax(-1) == keras.ops.convert_to_numpy(y)).sum())
        count += len(logits)
    return {"epoch_s": timer.seconds, "epoch_cpu_s": timer.cpu_seconds, "shapes": sorted(shapes),
            "real_tokens": real // args.epochs, "padded_tokens": padded // args.epochs,
            "accuracy": right / count, "steps_per_epoch": steps,
            "length_buckets": train.length_buckets,
            "versions": {"tf_albert": tf_albert.__version__, "backend": backend,
                         f"{backend}": _version(backend), "keras": keras.__version__, "xla": xla,
                         "group_by_length": group}}


def _version(module: str) -> str:
    import importlib

    return importlib.import_module(module).__version__


# === KerasHub ===
def run_keras_hub(args, options) -> dict:
    import keras
    import keras_hub
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    seq = int(options.get("seq", 512))
    texts, labels = read_split(args.data, "train")
    test_texts, test_labels = read_split(args.data, "test")
    tokenizer = keras_hub.models.AlbertTokenizer(proto=os.path.join(SPM_FOLDER, "spiece.model"))
    preprocessor = keras_hub.models.AlbertTextClassifierPreprocessor(tokenizer, sequence_length=seq)
    c = {**COMMON, **CONFIGS[args.config]}
    backbone = keras_hub.models.AlbertBackbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=c["num_hidden_layers"],
        num_heads=c["num_attention_heads"], embedding_dim=c["embedding_size"], hidden_dim=c["hidden_size"],
        intermediate_dim=c["intermediate_size"], num_groups=1, num_inner_repetitions=1,
        dropout=c["hidden_dropout_prob"], max_sequence_length=c["max_position_embeddings"], num_segments=2)
    classifier = keras_hub.models.AlbertTextClassifier(backbone, num_classes=NUM_LABELS,
                                                       preprocessor=preprocessor,
                                                       dropout=c["classifier_dropout_prob"])
    steps = -(-len(texts) // args.batch)
    total = steps * args.epochs

    class Schedule(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = keras.ops.cast(step, "float32")
            warmup = float(max(1, round(0.1 * total)))
            up = step / warmup
            down = keras.ops.maximum(0.0, (total - step) / max(1.0, total - warmup))
            return args.learning_rate * keras.ops.where(step < warmup, up, down)

    classifier.compile(optimizer=keras.optimizers.AdamW(Schedule(), weight_decay=0.01),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                       metrics=["sparse_categorical_accuracy"])
    train = tf.data.Dataset.from_tensor_slices((texts, labels))
    train = train.shuffle(len(texts), seed=args.seed).batch(args.batch)
    real = int(np.asarray(preprocessor(tf.constant(texts))["padding_mask"]).sum())
    timer = _epoch_timer()
    classifier.fit(train, epochs=args.epochs, callbacks=[timer], verbose=0)
    logits = classifier.predict(tf.constant(test_texts), batch_size=64, verbose=0)
    shapes = {(args.batch, seq)} | ({(len(texts) % args.batch, seq)} if len(texts) % args.batch else set())
    return {"epoch_s": timer.seconds, "epoch_cpu_s": timer.cpu_seconds, "shapes": sorted(shapes),
            "real_tokens": real, "padded_tokens": len(texts) * seq, "steps_per_epoch": steps,
            "accuracy": float((np.asarray(logits).argmax(-1) == np.asarray(test_labels)).mean()),
            "versions": {"keras_hub": keras_hub.__version__, "tensorflow": tf.__version__,
                         "keras": keras.__version__, "jit_compile": bool(classifier.jit_compile),
                         "sequence_length": seq}}


# === HF PyTorch ===
def run_hf_torch(args, options) -> dict:
    import torch
    import transformers
    from torch.utils.data import DataLoader, RandomSampler
    from transformers.trainer_pt_utils import LengthGroupedSampler

    group = options.get("group", "0") == "1"
    torch.manual_seed(args.seed)
    texts, labels = read_split(args.data, "train")
    test_texts, test_labels = read_split(args.data, "test")
    tokenizer = transformers.AutoTokenizer.from_pretrained(SPM_FOLDER)

    def rows(split_texts, split_labels):
        enc = tokenizer(split_texts, truncation=True, max_length=MAX_LENGTH)
        return [{**{k: enc[k][i] for k in enc}, "labels": split_labels[i]} for i in range(len(split_texts))]

    train, test = rows(texts, labels), rows(test_texts, test_labels)
    config = transformers.AlbertConfig(vocab_size=len(tokenizer), num_labels=NUM_LABELS, **COMMON,
                                       **CONFIGS[args.config])
    model = transformers.AlbertForSequenceClassification(config)
    generator = torch.Generator().manual_seed(args.seed)
    if group:  # what Trainer(group_by_length=True) samples with
        lengths = [len(r["input_ids"]) for r in train]
        sampler = LengthGroupedSampler(args.batch, lengths=lengths, generator=generator)
    else:
        sampler = RandomSampler(train, generator=generator)
    collate = transformers.DataCollatorWithPadding(tokenizer)
    loader = DataLoader(train, batch_size=args.batch, sampler=sampler, collate_fn=collate)
    total = len(loader) * args.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_decay(step, total))
    seconds, cpu_seconds, shapes, real, padded = [], [], set(), 0, 0
    model.train()
    for _ in range(args.epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        for batch in loader:
            shapes.add(tuple(batch["input_ids"].shape))
            real += int(batch["attention_mask"].sum())
            padded += batch["input_ids"].numel()
            optimizer.zero_grad(set_to_none=True)
            model(**batch).loss.backward()
            optimizer.step()
            schedule.step()
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    model.eval()
    right = 0
    with torch.inference_mode():
        for batch in DataLoader(test, batch_size=64, collate_fn=collate):
            right += int((model(**{k: v for k, v in batch.items() if k != "labels"}).logits.argmax(-1)
                          == batch["labels"]).sum())
    return {"epoch_s": seconds, "epoch_cpu_s": cpu_seconds, "shapes": sorted(shapes),
            "real_tokens": real // args.epochs,
            "padded_tokens": padded // args.epochs, "accuracy": right / len(test),
            "steps_per_epoch": len(loader),
            "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                         "threads": torch.get_num_threads(), "sampler": type(sampler).__name__}}


SYSTEMS = {"tf_albert": run_tf_albert, "keras_hub": run_keras_hub, "hf_torch": run_hf_torch}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--system", required=True, choices=sorted(SYSTEMS))
    p.add_argument("--data", required=True, help="folder with train.jsonl and test.jsonl")
    p.add_argument("--config", choices=sorted(CONFIGS), default="base4")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    options = dict(item.split("=", 1) for item in args.option)
    if "backend" in options:  # before anything imports Keras
        os.environ["KERAS_BACKEND"] = options["backend"]
    record = {"system": args.system, "options": options, "config": args.config, "epochs": args.epochs,
              "batch": args.batch, "seed": args.seed, "loadavg_before": os.getloadavg(),
              "python": platform.python_version(), "executable": sys.executable}
    try:
        record.update(SYSTEMS[args.system](args, options))
    except ImportError as e:
        record["error"] = f"not installed: {e}"
    record["peak_rss_mb"] = peak_rss_mb()
    record["loadavg_after"] = os.getloadavg()
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
