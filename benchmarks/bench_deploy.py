"""CPU serving formats side by side, in numbers that survive a rerun: tf_albert's SavedModel / TFLite / Keras int8
/ ONNX (fp32, dynamic int8, static int8) against HF PyTorch and HF PyTorch → ONNX → ONNX Runtime.

    python -m benchmarks.bench_deploy --out /tmp/tf-albert-deploy --json /tmp/deploy.json   # 5 rounds

1. **prepare**: an albert-base sequence classifier (random weights, seed 0) saved with `save_pretrained`, then
   exported to every format. Static int8 is calibrated on 64 random id sequences (16–128 tokens; the weights
   are random, so no text is more representative). The reference formats are HF's AlbertForSequenceClassification
   (transformers, built from the same folder): `torch.onnx.export`, then onnxruntime's `quant_pre_process` and
   `quantize_dynamic` (QInt8 weights) — the reference, "HF → ORT int8"; and torch's dynamic int8.
   For accuracy: `tf-albert-small` fine-tuned on the demo's polarity task (tf_albert/demo.py, seed 0), exported
   the same way, static int8 calibrated on the demo's *training* sentences.
2. **speed**: each system in a fresh process per round (2 threads), `--rounds` rounds (default 5), the order
   rotated every round. Shapes: 1×128, 8×128 and a mixed-length batch (16 sequences of 16–128 tokens, sorted by
   length and run as two batches of 8, each padded to its longest, a multiple of 8). p50 per process; the
   table gives the median of the rounds' p50s and, per round, the reference's p50 / the system's p50
   (> 1: faster than HF → ORT int8): its median and range over the rounds. The 1-minute load average is
   recorded before and after every process and printed beside the table: a busy round shows in its range.
3. **accuracy**: each format's logits on the demo's held-out polarity sentences ((noun, adjective) pairs never
   seen in training, every template: 384 sentences) against the Keras fp32 model's: the share of equal labels
   and the cosine of the logits (mean and minimum over the sentences).

`--ref-python` runs the reference systems in another venv (default: this Python, which needs torch,
transformers, onnx, onnxruntime). Prints a markdown table; `--json` keeps every raw number.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time

import numpy as np

if __package__ in (None, ""):  # `python benchmarks/bench_deploy.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.processes import run_json_worker  # noqa: E402

OURS = ["savedmodel", "savedmodel_xla", "tflite_fp32", "tflite_fp16", "tflite_int8", "tflite_int8_static",
        "keras_int8", "onnx_fp32", "onnx_int8", "onnx_int8_static"]
REFERENCE = ["hf_torch", "torch_int8", "hf_onnx_fp32", "hf_onnx_int8"]
BASELINE = "hf_onnx_int8"
LABELS = {
    "savedmodel": "tf_albert SavedModel (no XLA)", "savedmodel_xla": "tf_albert SavedModel (XLA)",
    "tflite_fp32": "tf_albert TFLite fp32", "tflite_fp16": "tf_albert TFLite fp16",
    "tflite_int8": "tf_albert TFLite int8 (dynamic range)", "tflite_int8_static": "tf_albert TFLite int8 (static)",
    "keras_int8": "tf_albert Keras int8 (XLA)",
    "onnx_fp32": "tf_albert ONNX → ORT fp32", "onnx_int8": "tf_albert ONNX → ORT int8 (dynamic)",
    "onnx_int8_static": "tf_albert ONNX → ORT int8 (static)",
    "hf_torch": "HF PyTorch fp32", "torch_int8": "HF PyTorch dynamic int8",
    "hf_onnx_fp32": "HF PyTorch → ONNX → ORT fp32", "hf_onnx_int8": "HF PyTorch → ONNX → ORT int8",
}
THREADS = 2
SHAPES = {"1x128": 5, "8x128": 2, "mixed": 2}  # shape → timed calls per process (after one warm-up call)
WORKER_TIMEOUT_S = 900


# === Inputs ===
def speed_batches(shape: str, vocab_size: int = 30000, max_length: int = 128) -> list:
    """[(ids, mask)] int64 batches for one timed call of `shape`."""
    rng = np.random.default_rng(1)
    if shape in ("1x128", "8x128"):
        batch = int(shape.split("x")[0])
        ids = rng.integers(5, vocab_size, size=(batch, min(128, max_length)))
        return [(ids, np.ones_like(ids))]
    lengths = np.sort(rng.integers(16, min(128, max_length) + 1, size=16))
    batches = []
    for chunk in (lengths[:8], lengths[8:]):
        width = min(int(-(-chunk.max() // 8) * 8), max_length)
        ids = np.zeros((8, width), np.int64)
        mask = np.zeros_like(ids)
        for row, n in enumerate(chunk):
            ids[row, :n] = rng.integers(5, vocab_size, size=n)
            mask[row, :n] = 1
        batches.append((ids, mask))
    return batches


def _polarity_pairs(seed: int):
    """The demo's (noun, adjective, label) pairs, shuffled as demo.make_polarity_data(seed) shuffles them:
    (training pairs, held-out pairs)."""
    from tf_albert.demo import NEGATIVE, NOUNS, POSITIVE

    rng = np.random.default_rng(seed)
    pairs = [(n, a, label) for n in NOUNS for label, adjs in ((1, POSITIVE), (0, NEGATIVE)) for a in adjs]
    rng.shuffle(pairs)
    cut = int(0.8 * len(pairs))
    return pairs[:cut], pairs[cut:]


def _sentences(pairs):
    from tf_albert.demo import TEMPLATES

    texts = [t.format(noun=n, adj=a) for n, a, _ in pairs for t in TEMPLATES]
    return texts, np.array([label for _, _, label in pairs for _ in TEMPLATES])


def polarity_held_out(seed: int = 0):
    """(texts, labels): the demo's held-out (noun, adjective) pairs, each with every template (384 sentences)."""
    return _sentences(_polarity_pairs(seed)[1])


def polarity_calibration(seed: int = 0, limit: int = 300) -> list[str]:
    """Calibration sentences for static int8: the demo's *training* pairs with every template (none of them
    held out), shuffled, the first `limit`."""
    texts, _ = _sentences(_polarity_pairs(seed)[0])
    order = np.random.default_rng(seed + 1).permutation(len(texts))
    return [texts[i] for i in order[:limit]]


def random_calibration(vocab_size: int, max_length: int = 128, n: int = 64, seed: int = 7) -> list[dict]:
    """Id dicts of random ids, 16–`max_length` tokens: calibration for a model with random weights."""
    rng = np.random.default_rng(seed)
    return [{"input_ids": rng.integers(5, vocab_size, size=int(rng.integers(min(16, max_length), max_length + 1)))}
            for _ in range(n)]


def agreement(logits, reference) -> dict:
    """Share of equal argmax labels, and the cosine of each row's logits with the reference's (mean, min)."""
    logits, reference = np.asarray(logits, np.float64), np.asarray(reference, np.float64)
    cos = (logits * reference).sum(-1) / np.maximum(
        np.linalg.norm(logits, axis=-1) * np.linalg.norm(reference, axis=-1), 1e-30)
    return {"agree": float((logits.argmax(-1) == reference.argmax(-1)).mean()),
            "cos_mean": float(cos.mean()), "cos_min": float(cos.min())}


# === Loading one format (runs in the worker process) ===
def _path(root: str, fmt: str) -> str:
    for ext in (".onnx", ".tflite", ".keras"):
        if os.path.exists(os.path.join(root, fmt + ext)):
            return os.path.join(root, fmt + ext)
    return os.path.join(root, fmt)


def _load(fmt: str, root: str):
    """A function (ids, mask) -> logits (np) for format `fmt` of the models in `root`."""
    if fmt in ("hf_torch", "torch_int8"):
        import torch
        from transformers import AlbertForSequenceClassification

        torch.set_num_threads(THREADS)
        model = AlbertForSequenceClassification.from_pretrained(os.path.join(root, "folder")).eval()
        if fmt == "torch_int8":
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)

        def run(ids, mask):
            with torch.inference_mode():
                return model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                             token_type_ids=torch.zeros_like(torch.from_numpy(ids))).logits.numpy()
        return run
    if fmt.startswith(("onnx_", "hf_onnx_")):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(_path(root, fmt), options, providers=["CPUExecutionProvider"])
        return lambda ids, mask: session.run(["logits"], {"input_ids": ids, "attention_mask": mask,
                                                          "token_type_ids": np.zeros_like(ids)})[0]
    if fmt.startswith("tflite_"):
        from tf_albert.export.tflite import load_tflite_runner

        runner = load_tflite_runner(_path(root, fmt), num_threads=THREADS)
        return lambda ids, mask: runner(input_ids=ids.astype(np.int32), attention_mask=mask.astype(np.int32),
                                        token_type_ids=np.zeros(ids.shape, np.int32))["logits"]
    import tensorflow as tf

    if fmt == "keras_int8":
        from tf_albert import AlbertForSequenceClassification

        model = AlbertForSequenceClassification.from_pretrained(os.path.join(root, "folder"), dtype="int8")
        forward = tf.function(lambda ids, mask: model(ids, attention_mask=mask)["logits"], jit_compile=True)
        return lambda ids, mask: forward(tf.constant(ids, tf.int32), tf.constant(mask, tf.int32)).numpy()
    serve = tf.saved_model.load(_path(root, fmt)).signatures["serving_default"]
    return lambda ids, mask: serve(input_ids=tf.constant(ids, tf.int32), attention_mask=tf.constant(mask, tf.int32),
                                   token_type_ids=tf.zeros(ids.shape, tf.int32))["logits"].numpy()


def worker(fmt: str, root: str, task: str) -> dict:
    """Runs in a fresh process: times one format (task "speed") or returns its held-out logits ("accuracy")."""
    with open(os.path.join(root, "model.json")) as f:
        shape_info = json.load(f)
    start = time.perf_counter()
    run = _load(fmt, root)
    result = {"format": fmt, "load_s": time.perf_counter() - start, "loadavg_before": os.getloadavg()[0]}
    if fmt.startswith("tflite_"):  # LiteRT when installed, else TensorFlow's tf.lite.Interpreter
        litert = sys.modules.get("ai_edge_litert")
        result["runtime"] = f"ai-edge-litert {_dist_version('ai-edge-litert')}" if litert else "tf.lite"
    if task == "accuracy":
        data = np.load(os.path.join(root, "held_out.npz"))
        logits = [run(data["ids"][i:i + 32], data["mask"][i:i + 32]) for i in range(0, len(data["ids"]), 32)]
        result["logits"] = np.concatenate(logits).tolist()
        return result
    for shape, calls in SHAPES.items():
        batches = speed_batches(shape, shape_info["vocab_size"], shape_info["max_length"])
        for ids, mask in batches:  # warm-up: compilation, allocation, resizing for each shape
            run(ids, mask)
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            for ids, mask in batches:
                run(ids, mask)
            times.append(time.perf_counter() - t)
        result[shape] = {"times": times, "p50": float(np.median(times)),
                         "tokens": int(sum(m.sum() for _, m in batches))}
    result["loadavg_after"] = os.getloadavg()[0]
    return result


def _dist_version(name: str) -> str:
    from importlib import metadata

    return metadata.version(name)


# === Preparing the files ===
def _size(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path)


def prepare_ours(root: str, model, formats, calibration, tokenizer=None) -> dict:
    """The tf_albert `formats` of `model` under `root` (plus its `folder/`); returns {format: bytes on disk}."""
    from tf_albert import AlbertForSequenceClassification
    from tf_albert.export import export_onnx, export_saved_model, export_tflite

    sizes = {}
    folder = model.save_pretrained(os.path.join(root, "folder"), formats=("safetensors",))
    sizes["weights"] = _size(os.path.join(folder, "model.safetensors"))
    with open(os.path.join(root, "model.json"), "w") as f:
        json.dump({"vocab_size": model.config.vocab_size,
                   "max_length": min(128, model.config.max_position_embeddings)}, f)
    for fmt in formats:
        out = os.path.join(root, fmt)
        if fmt in ("savedmodel", "savedmodel_xla"):
            sizes[fmt] = _size(export_saved_model(model, out, signatures=("ids",), jit_compile=fmt.endswith("xla"),
                                                  overwrite=True))
        elif fmt.startswith(("tflite_", "onnx_")):
            mode = {"fp32": None, "fp16": "float16"}.get(fmt.split("_")[1], "int8")
            static = {"calibration_data": calibration, "tokenizer": tokenizer} if fmt.endswith("_static") else {}
            export = export_tflite if fmt.startswith("tflite_") else export_onnx
            suffix = ".tflite" if fmt.startswith("tflite_") else ".onnx"
            sizes[fmt] = _size(export(model, out + suffix, quantize=mode, overwrite=True, **static))
        elif fmt == "keras_int8":
            quantized = AlbertForSequenceClassification.from_pretrained(folder, dtype="int8")
            quantized.save(out + ".keras")
            sizes[fmt] = _size(out + ".keras")
    return sizes


REFERENCE_PREP = r'''
import json, os, sys, torch
from transformers import AlbertForSequenceClassification
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process
root, formats = sys.argv[1], sys.argv[2].split(",")
model = AlbertForSequenceClassification.from_pretrained(os.path.join(root, "folder")).eval()
ids = torch.randint(5, 50, (2, 16))
fp32, pre, int8 = (os.path.join(root, n) for n in ("hf_onnx_fp32.onnx", "hf_onnx_pre.onnx", "hf_onnx_int8.onnx"))
sizes = {"hf_torch": os.path.getsize(os.path.join(root, "folder", "model.safetensors"))}
if {"hf_onnx_fp32", "hf_onnx_int8"} & set(formats):
    axes = {n: {0: "batch", 1: "sequence"} for n in ("input_ids", "attention_mask", "token_type_ids")}
    torch.onnx.export(model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), fp32, input_names=list(axes),
                      output_names=["logits"], dynamic_axes={**axes, "logits": {0: "batch"}}, opset_version=17,
                      dynamo=False)
    quant_pre_process(fp32, pre, skip_symbolic_shape=True)
    quantize_dynamic(pre, int8, weight_type=QuantType.QInt8)
    sizes.update(hf_onnx_fp32=os.path.getsize(fp32), hf_onnx_int8=os.path.getsize(int8))
if "torch_int8" in formats:
    q = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    torch.save(q.state_dict(), os.path.join(root, "torch_int8.pt"))
    sizes["torch_int8"] = os.path.getsize(os.path.join(root, "torch_int8.pt"))
versions = {"transformers": __import__("transformers").__version__, "torch": torch.__version__,
            "onnxruntime": __import__("onnxruntime").__version__}
print(json.dumps({"sizes": sizes, "versions": versions}))
'''


def fine_tuned_polarity(model_name: str = "tf-albert-small", epochs: int = 3, seed: int = 0):
    """(model, tokenizer): `model_name` fine-tuned on the demo's polarity sentences, by the demo's own code."""
    from tf_albert import demo

    with contextlib.redirect_stdout(io.StringIO()):  # the demo narrates; only the model is wanted here
        model, tokenizer, _ = demo._fine_tune(model_name, epochs, seed)
    return model, tokenizer


def speed_model(config_name: str):
    """The model timed: albert-base widths (or a tiny config for the smoke test), random weights, seed 0."""
    import keras

    from tf_albert import AlbertConfig, AlbertForSequenceClassification

    keras.utils.set_random_seed(0)
    if config_name == "base":
        config = AlbertConfig.from_preset("albert-base-v2", num_labels=2)
    else:
        config = AlbertConfig(vocab_size=500, embedding_size=16, hidden_size=64, num_attention_heads=4,
                              intermediate_size=128, num_hidden_layers=2, max_position_embeddings=128, num_labels=2)
    model = AlbertForSequenceClassification(config)
    model.build()
    return model


def _run(python: str, fmt: str, root: str, task: str) -> tuple[dict | None, str | None]:
    cmd = [python, "-m", "benchmarks.bench_deploy", "--worker", fmt, root, task]
    return run_json_worker(cmd, WORKER_TIMEOUT_S, {"CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore",
                                                   "TF_CPP_MIN_LOG_LEVEL": "3"})


def prepare(args, formats) -> dict:
    """Writes every file the measurements read; returns {"sizes", "versions", "accuracy_model"}."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    base, acc = os.path.join(args.out, "speed"), os.path.join(args.out, "accuracy")
    ours = [f for f in formats if f in OURS]
    reference = [f for f in formats if f in REFERENCE]
    t = time.perf_counter()
    model = speed_model(args.config)
    sizes = prepare_ours(base, model, ours, random_calibration(model.config.vocab_size,
                                                               min(128, model.config.max_position_embeddings)))
    info = {"sizes": sizes, "versions": {}}
    if reference:
        record, error = run_json_worker([args.ref_python, "-c", REFERENCE_PREP, base, ",".join(reference)],
                                        WORKER_TIMEOUT_S)
        if error:
            raise RuntimeError(f"reference export failed: {error}")
        sizes.update(record["sizes"])
        info["versions"] = record["versions"]
    print(f"prepared the speed formats in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    if args.accuracy_model != "none":
        tuned, tokenizer = fine_tuned_polarity(args.accuracy_model, args.epochs)
        prepare_ours(acc, tuned, ours, polarity_calibration(), tokenizer)
        if reference:
            run_json_worker([args.ref_python, "-c", REFERENCE_PREP, acc, ",".join(reference)], WORKER_TIMEOUT_S)
        texts, labels = polarity_held_out()
        enc = tokenizer(texts, padding=True, return_tensors="np", return_token_type_ids=False)
        keras_logits = np.asarray(tuned(dict(enc))["logits"])
        np.savez(os.path.join(acc, "held_out.npz"), ids=enc["input_ids"].astype(np.int64),
                 mask=enc["attention_mask"].astype(np.int64), labels=labels, keras_logits=keras_logits)
        info["accuracy_model"] = f"{args.accuracy_model} fine-tuned {args.epochs} epochs on the demo's task, seed 0"
    with open(os.path.join(args.out, "prepare.json"), "w") as f:
        json.dump(info, f)
    return info


def measure(args, formats, report) -> None:
    """Accuracy once per format, then `args.rounds` interleaved speed rounds, each system in a fresh process."""
    base, acc = os.path.join(args.out, "speed"), os.path.join(args.out, "accuracy")
    python = {f: args.ref_python if f in REFERENCE else sys.executable for f in formats}
    report["accuracy"] = {}
    if os.path.exists(os.path.join(acc, "held_out.npz")):
        held_out = np.load(os.path.join(acc, "held_out.npz"))
        report["accuracy"]["keras_fp32"] = {"accuracy": float((held_out["keras_logits"].argmax(-1) ==
                                                               held_out["labels"]).mean())}
        for fmt in formats:
            record, error = _run(python[fmt], fmt, acc, "accuracy")
            if error:  # one broken format must not lose the others' numbers
                print(f"accuracy {fmt}: {error}", file=sys.stderr)
                continue
            logits = np.asarray(record["logits"])
            report["accuracy"][fmt] = {"accuracy": float((logits.argmax(-1) == held_out["labels"]).mean()),
                                       **agreement(logits, held_out["keras_logits"])}
    report["speed"] = {f: [] for f in formats}
    for r in range(args.rounds):
        order = formats[r % len(formats):] + formats[:r % len(formats)]
        for fmt in order:
            record, error = _run(python[fmt], fmt, base, "speed")
            if error:
                print(f"round {r + 1} {fmt}: {error}", file=sys.stderr)
                continue
            record["round"] = r
            report["speed"][fmt].append(record)
            print(f"round {r + 1} {fmt}: " + ", ".join(f"{s} {record[s]['p50'] * 1000:.1f} ms" for s in SHAPES) +
                  f" (load {record['loadavg_before']:.2f}–{record['loadavg_after']:.2f})", file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="/tmp/tf-albert-deploy", help="work folder (models, exports)")
    parser.add_argument("--ref-python", default=sys.executable,
                        help="python for the reference systems (transformers, torch, onnxruntime; default: this one)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, a fresh process per system "
                                                              "and round (default 5)")
    parser.add_argument("--formats", default=",".join(OURS + REFERENCE), help="comma-separated systems")
    parser.add_argument("--config", choices=("base", "tiny"), default="base",
                        help="the timed model's widths: albert-base (default) or a tiny one (smoke test)")
    parser.add_argument("--accuracy-model", default="tf-albert-small",
                        help="model fine-tuned for the accuracy columns ('none': skip them)")
    parser.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs of the accuracy model")
    parser.add_argument("--skip-prepare", action="store_true", help="reuse the files in --out")
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument("--worker", nargs=3, metavar=("FORMAT", "ROOT", "TASK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0
    formats = args.formats.split(",")
    unknown = [f for f in formats if f not in OURS + REFERENCE]
    if unknown or args.rounds < 1:
        raise SystemExit(f"unknown systems {unknown} in --formats; choose from {OURS + REFERENCE}" if unknown
                         else f"--rounds must be >= 1, got {args.rounds}")
    report = {"loadavg_before": os.getloadavg()[0], "started": time.strftime("%Y-%m-%d %H:%M"),
              "config": args.config, "rounds": args.rounds, "threads": THREADS, "cpus": os.cpu_count()}
    if args.skip_prepare:
        with open(os.path.join(args.out, "prepare.json")) as f:
            report.update(json.load(f))
    else:
        report.update(prepare(args, formats))
    measure(args, formats, report)
    report["loadavg_after"] = os.getloadavg()[0]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f)
    print(table(report))
    return 0


# === The table ===
def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}" if seconds >= 0.01 else f"{seconds * 1000:.1f}"


def round_ratios(runs: list, reference: list, shape: str) -> list[float]:
    """Per round: the reference's p50 / this system's p50 (> 1: faster), for rounds where both ran."""
    ref = {run["round"]: run[shape]["p50"] for run in reference}
    return [ref[run["round"]] / run[shape]["p50"] for run in runs if run["round"] in ref]


def table(report: dict) -> str:
    """The markdown table: p50 per shape (median of rounds), the per-round ratio to HF → ORT int8 (median and
    range), file size, and agreement with fp32 on the held-out sentences; the load beside it."""
    speed, sizes, accuracy = report["speed"], report.get("sizes", {}), report.get("accuracy", {})
    loads = [v for runs in speed.values() for run in runs for v in (run["loadavg_before"], run["loadavg_after"])]
    rounds = max((len(runs) for runs in speed.values()), default=0)
    lines = [f"{'albert-base widths' if report.get('config', 'base') == 'base' else 'tiny config'}, random "
             f"weights, {THREADS} threads, {rounds} interleaved round(s), a fresh process per system and round; "
             f"1-minute load: {report.get('loadavg_before', float('nan')):.2f} before, "
             + (f"{min(loads):.2f}–{max(loads):.2f} during the rounds, " if loads else "")
             + f"{report.get('loadavg_after', float('nan')):.2f} after. Ratio: HF → ORT int8's p50 / the system's "
             "p50 in the same round (> 1: faster), median [min–max] over the rounds.", ""]
    shapes = list(SHAPES)
    names = [s.replace("x", "×") if s[0].isdigit() else s for s in shapes]
    header = (["system"] + [f"{s} p50 ms" for s in names] + [f"{s} ratio" for s in names]
              + ["file MB", "labels = fp32", "cosine mean (min)"])
    lines += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    reference = speed.get(BASELINE, [])
    for fmt, runs in speed.items():
        if not runs:
            continue
        row = [LABELS.get(fmt, fmt)]
        row += [_ms(np.median([run[s]["p50"] for run in runs])) for s in shapes]
        for s in shapes:
            ratios = round_ratios(runs, reference, s)
            row.append(f"{np.median(ratios):.2f}× [{min(ratios):.2f}–{max(ratios):.2f}]" if ratios else "—")
        row.append(f"{sizes[fmt] / 1e6:.1f}" if fmt in sizes else "—")
        acc = accuracy.get(fmt)
        row.append(f"{acc['agree']:.3f}" if acc else "—")
        row.append(f"{acc['cos_mean']:.4f} ({acc['cos_min']:.4f})" if acc else "—")
        lines.append("| " + " | ".join(row) + " |")
    if "accuracy_model" in report:
        keras_acc = accuracy.get("keras_fp32", {}).get("accuracy", float("nan"))
        lines += ["", f"Accuracy columns: {report['accuracy_model']}; 384 held-out sentences; Keras fp32 labels "
                      f"{keras_acc:.3f} correct."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
