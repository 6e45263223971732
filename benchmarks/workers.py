"""One benchmark measurement in this process: `python -m benchmarks.workers --lib ... --mode ...`.

`benchmarks.run` starts one process per (library, shape, mode) so that imports, compilation caches and
peak RSS of one library never leak into another's numbers. The last line printed is a JSON object.

Libraries (each imports only its own stack, so the HF v4 one can run in a venv without tf_albert):
  tf_albert   AlbertModel / AlbertForSequenceClassification, Keras fit step (`train_on_batch`)
  keras_hub   keras_hub.models.AlbertBackbone / AlbertTextClassifier, Keras fit step
  hf_torch    transformers (>= 5) AlbertModel / AlbertForSequenceClassification, torch CPU, AdamW step
  hf_tf       transformers 4.x TFAlbertModel / TFAlbertForSequenceClassification (tf-keras), fit step
  matmul      the machine's fp32 2048³ matmul GFLOP/s with numpy, TensorFlow and torch (those installed)

Modes: `forward` (inference, tokens/s) and `train` (sequence classification, 2 labels, Adam).
All models get random weights; inputs are random ids with a full attention mask.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIGS = {
    # albert-base-v2 (dropout 0 in the encoder, 0.1 before the classifier).
    "base": dict(vocab_size=30000, embedding_size=128, hidden_size=768, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=3072, hidden_act="gelu_new",
                 hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, max_position_embeddings=512,
                 type_vocab_size=2, num_hidden_groups=1, inner_group_num=1, classifier_dropout_prob=0.1),
    # For the smoke test: seconds, not minutes.
    "tiny": dict(vocab_size=99, embedding_size=8, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=24, hidden_act="gelu_new", hidden_dropout_prob=0.0,
                 attention_probs_dropout_prob=0.0, max_position_embeddings=64, type_vocab_size=2,
                 num_hidden_groups=1, inner_group_num=1, classifier_dropout_prob=0.1),
}
LIBS = ("tf_albert", "keras_hub", "hf_torch", "hf_tf")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_inputs(config, batch, seq_len, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(5, config["vocab_size"], size=(batch, seq_len)).astype("int32")
    ids[:, 0] = 2
    mask = np.ones((batch, seq_len), "int32")
    types = np.zeros((batch, seq_len), "int32")
    labels = rng.integers(0, 2, size=(batch,)).astype("int32")
    return ids, mask, types, labels


# --- one builder per library: returns (step function, versions) -----------------------------------------
# A step function runs one forward pass or one optimizer step and blocks until its result is ready.

def build_tf_albert(config, mode, inputs, options):
    import keras
    import tensorflow as tf

    import tf_albert

    ids, mask, types, labels = inputs
    cfg = tf_albert.AlbertConfig(**config, num_labels=2)
    xla = options.get("xla", "1") == "1"
    encoder_options = {k: v for k, v in options.items() if k != "xla"}
    if mode == "forward":
        model = tf_albert.AlbertModel(cfg)
    else:
        model = tf_albert.AlbertForSequenceClassification(cfg)
    model.build()
    encoder = model.albert.encoder
    for key, value in encoder_options.items():  # e.g. gradient_checkpointing=1
        if not hasattr(encoder, key):
            raise ValueError(f"AlbertEncoder has no option {key!r}")
        setattr(encoder, key, bool(int(value)) if value in ("0", "1") else value)
    x = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    if mode == "forward":
        fn = tf.function(lambda kw: model(**kw)["last_hidden_state"], jit_compile=xla)
        tx = {k: tf.constant(v) for k, v in x.items()}
        step = lambda: fn(tx).numpy()
    else:
        model.compile(optimizer=keras.optimizers.Adam(1e-5), jit_compile=xla)
        step = lambda: model.train_on_batch(x, labels)
    return step, {"tf_albert": tf_albert.__version__, "tensorflow": tf.__version__, "keras": keras.__version__,
                  "xla": xla, **encoder_options}


def build_keras_hub(config, mode, inputs, options):
    import keras
    import keras_hub
    import tensorflow as tf

    ids, mask, types, labels = inputs
    xla = options.get("xla", "1") == "1"
    backbone = keras_hub.models.AlbertBackbone(
        vocabulary_size=config["vocab_size"], num_layers=config["num_hidden_layers"],
        num_heads=config["num_attention_heads"], embedding_dim=config["embedding_size"],
        hidden_dim=config["hidden_size"], intermediate_dim=config["intermediate_size"],
        num_groups=config["num_hidden_groups"], num_inner_repetitions=config["inner_group_num"],
        dropout=config["hidden_dropout_prob"], max_sequence_length=config["max_position_embeddings"],
        num_segments=config["type_vocab_size"],
    )
    x = {"token_ids": ids, "segment_ids": types, "padding_mask": mask}
    if mode == "forward":
        fn = tf.function(lambda kw: backbone(kw)["sequence_output"], jit_compile=xla)
        tx = {k: tf.constant(v) for k, v in x.items()}
        step = lambda: fn(tx).numpy()
    else:
        model = keras_hub.models.AlbertTextClassifier(backbone, num_classes=2, preprocessor=None,
                                                      dropout=config["classifier_dropout_prob"])
        model.compile(optimizer=keras.optimizers.Adam(1e-5),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=xla)
        step = lambda: model.train_on_batch(x, labels)
    return step, {"keras_hub": keras_hub.__version__, "tensorflow": tf.__version__, "keras": keras.__version__,
                  "xla": xla}


def _hf_config(transformers, config):
    return transformers.AlbertConfig(**config, num_labels=2)


def build_hf_torch(config, mode, inputs, options):
    import torch
    import transformers

    threads = int(options.get("threads", os.cpu_count() or 1))
    torch.set_num_threads(threads)
    ids, mask, types, labels = (torch.from_numpy(a.astype("int64")) for a in inputs)
    cfg = _hf_config(transformers, config)
    if mode == "forward":
        model = transformers.AlbertModel(cfg).eval()

        def step():
            with torch.inference_mode():
                return model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
    else:
        model = transformers.AlbertForSequenceClassification(cfg).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels).loss
            loss.backward()
            optimizer.step()
            return float(loss)
    return step, {"transformers": transformers.__version__, "torch": torch.__version__, "threads": threads,
                  "attn_implementation": model.config._attn_implementation}


def build_hf_tf(config, mode, inputs, options):
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tensorflow as tf
    import transformers

    ids, mask, types, labels = inputs
    xla = options.get("xla", "1") == "1"
    cfg = _hf_config(transformers, config)
    x = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    if mode == "forward":
        model = transformers.TFAlbertModel(cfg)
        fn = tf.function(lambda kw: model(kw, training=False).last_hidden_state, jit_compile=xla)
        tx = {k: tf.constant(v) for k, v in x.items()}
        step = lambda: fn(tx).numpy()
    else:
        import tf_keras

        model = transformers.TFAlbertForSequenceClassification(cfg)
        model.compile(optimizer=tf_keras.optimizers.Adam(1e-5), jit_compile=xla)  # the model's own loss
        step = lambda: model.train_on_batch(x, labels)
    return step, {"transformers": transformers.__version__, "tensorflow": tf.__version__, "xla": xla}


BUILDERS = {"tf_albert": build_tf_albert, "keras_hub": build_keras_hub, "hf_torch": build_hf_torch,
            "hf_tf": build_hf_tf}


def measure_model(lib, config_name, mode, batch, seq_len, steps, options):
    config = CONFIGS[config_name]
    if seq_len > config["max_position_embeddings"]:
        raise ValueError(f"seq_len {seq_len} > max_position_embeddings {config['max_position_embeddings']}")
    inputs = make_inputs(config, batch, seq_len)
    t0 = time.perf_counter()
    step, versions = BUILDERS[lib](config, mode, inputs, options)
    build_s = time.perf_counter() - t0
    rss_built = current_rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    step()
    first_s, first_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    times, cpu_times = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    median = statistics.median(times)
    # CPU seconds (all threads) are far less sensitive than wall time to other processes on a busy machine,
    # though threads that spin while waiting (OpenMP, Eigen) still inflate them.
    result = {
        "build_s": build_s, "first_s": first_s, "step_s": median, "step_all_s": times,
        "first_cpu_s": first_cpu_s, "step_cpu_s": statistics.median(cpu_times),
        "rss_built_mb": rss_built, "peak_rss_mb": peak_rss_mb(), "versions": versions,
    }
    if mode == "forward":
        result["tokens_per_s"] = batch * seq_len / median
    return result


def measure_matmul(n=2048, repeats=5):
    """Median GFLOP/s of an n³ fp32 matmul with every installed numeric library (warm-up excluded)."""
    import numpy as np

    flops = 2.0 * n**3
    out = {}

    def run(name, fn):
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out[name] = flops / statistics.median(times) / 1e9

    a = np.random.default_rng(0).standard_normal((n, n)).astype("float32")
    b = np.random.default_rng(1).standard_normal((n, n)).astype("float32")
    run("numpy", lambda: a @ b)
    try:
        import tensorflow as tf

        ta, tb = tf.constant(a), tf.constant(b)
        run("tensorflow", lambda: tf.linalg.matmul(ta, tb).numpy())
    except ImportError:
        pass
    try:
        import torch

        pa, pb = torch.from_numpy(a), torch.from_numpy(b)
        run("torch", lambda: torch.mm(pa, pb))
    except ImportError:
        pass
    return {"gflops": out, "matmul_n": n, "peak_rss_mb": peak_rss_mb()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lib", required=True, choices=LIBS + ("matmul",))
    p.add_argument("--mode", choices=("forward", "train"), default="forward")
    p.add_argument("--config", choices=sorted(CONFIGS), default="base")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--steps", type=int, default=3, help="timed calls after the first (compile) call")
    p.add_argument("--matmul-n", type=int, default=2048, help="matrix size for --lib matmul")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="library option: xla=0|1 (TF libraries), threads=N (torch), or an AlbertEncoder "
                        "attribute for tf_albert, e.g. gradient_checkpointing=1")
    args = p.parse_args(argv)
    options = {}
    for item in args.option:
        if "=" not in item:
            raise SystemExit(f"--option takes KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        options[key] = value
    record = {"lib": args.lib, "mode": args.mode, "config": args.config, "batch": args.batch,
              "seq_len": args.seq_len, "options": options, "loadavg_before": os.getloadavg(),
              "python": platform.python_version(), "executable": sys.executable}
    try:
        if args.lib == "matmul":
            record.update(measure_matmul(args.matmul_n))
        else:
            record.update(measure_model(args.lib, args.config, args.mode, args.batch, args.seq_len, args.steps,
                                        options))
    except ImportError as e:
        record["error"] = f"not installed: {e}"
    record["loadavg_after"] = os.getloadavg()
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
