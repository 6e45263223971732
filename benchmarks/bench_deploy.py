"""CPU serving formats side by side: tf_albert's SavedModel / TFLite / Keras int8 / ONNX against HF PyTorch,
torch dynamic int8 and HF PyTorch → ONNX Runtime; speed on albert-base, accuracy on a real fine-tuned model.

    python -m benchmarks.bench_deploy --ref-python /work/venvs/ortref/bin/python --out /tmp/deploy

1. **prepare**: an albert-base sequence classifier (random weights, seed 0) saved with `save_pretrained`, then
   exported to every format; a `tf-albert-tiny` classifier fine-tuned on the demo's polarity task
   (tf_albert/demo.py) and exported the same way. The reference formats are made in the reference venv
   (transformers 5 + torch 2.13 + onnxruntime): `torch.onnx.export` of HF's model, then the same int8
   quantization as ours (`quant_pre_process`, then `quantize_dynamic`, QInt8 weights).
2. **speed**: every format in its own fresh process (2 threads), formats interleaved, `--rounds` rounds
   (order rotated per round). Shapes: 1×128, 8×128 and a mixed-length batch (16 sequences of 16–128
   tokens, sorted by length and run as two batches of 8, each padded to its longest, a multiple of 8).
   p50 latency per call (per pass over the 16 sequences for "mixed"), tokens/s = real tokens / p50.
3. **accuracy**: each format's predictions on held-out polarity sentences (pairs of noun and adjective never
   seen in training, every template: 384 sentences), vs. the labels and vs. the Keras fp32 model.

The reference venv needs `torch==2.13.0 "transformers>=5" onnx onnxruntime onnxscript sentencepiece`; the
main one tf_albert with `[onnx]`. Prints a markdown table; `--json` keeps the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

OURS = ["savedmodel", "savedmodel_xla", "tflite_fp32", "tflite_fp16", "tflite_int8", "keras_int8",
        "onnx_fp32", "onnx_int8"]
REFERENCE = ["hf_torch", "torch_int8", "hf_onnx_fp32", "hf_onnx_int8"]
LABELS = {
    "savedmodel": "tf_albert SavedModel (no XLA)", "savedmodel_xla": "tf_albert SavedModel (XLA)",
    "tflite_fp32": "tf_albert TFLite fp32", "tflite_fp16": "tf_albert TFLite fp16",
    "tflite_int8": "tf_albert TFLite int8 (dynamic range)", "keras_int8": "tf_albert Keras int8 (XLA)",
    "onnx_fp32": "tf_albert ONNX → ORT fp32", "onnx_int8": "tf_albert ONNX → ORT int8",
    "hf_torch": "HF PyTorch fp32", "torch_int8": "HF PyTorch dynamic int8",
    "hf_onnx_fp32": "HF PyTorch → ONNX → ORT fp32", "hf_onnx_int8": "HF PyTorch → ONNX → ORT int8",
}
THREADS = 2
SHAPES = {"1x128": 5, "8x128": 2, "mixed": 2}  # shape → timed calls per process (after one warm-up call)


# === Inputs ===
def speed_batches(shape: str, vocab_size: int = 30000) -> list:
    """[(ids, mask)] int64 batches for one timed call of `shape`."""
    rng = np.random.default_rng(1)
    if shape in ("1x128", "8x128"):
        batch = int(shape.split("x")[0])
        ids = rng.integers(5, vocab_size, size=(batch, 128))
        return [(ids, np.ones_like(ids))]
    lengths = np.sort(rng.integers(16, 129, size=16))
    batches = []
    for chunk in (lengths[:8], lengths[8:]):
        width = int(-(-chunk.max() // 8) * 8)
        ids = np.zeros((8, width), np.int64)
        mask = np.zeros_like(ids)
        for row, n in enumerate(chunk):
            ids[row, :n] = rng.integers(5, vocab_size, size=n)
            mask[row, :n] = 1
        batches.append((ids, mask))
    return batches


def polarity_held_out(seed: int = 0):
    """(texts, labels): the demo's held-out (noun, adjective) pairs, each with every template."""
    from tf_albert.demo import NEGATIVE, NOUNS, POSITIVE, TEMPLATES

    rng = np.random.default_rng(seed)
    pairs = [(n, a, label) for n in NOUNS for label, adjs in ((1, POSITIVE), (0, NEGATIVE)) for a in adjs]
    rng.shuffle(pairs)  # the same shuffle as demo.make_polarity_data(seed): the same held-out pairs
    held_out = pairs[int(0.8 * len(pairs)):]
    texts = [t.format(noun=n, adj=a) for n, a, _ in held_out for t in TEMPLATES]
    labels = [label for _, _, label in held_out for _ in TEMPLATES]
    return texts, np.array(labels)


# === Loading one format (runs in the worker process) ===
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
        session = ort.InferenceSession(os.path.join(root, fmt + ".onnx"), options,
                                       providers=["CPUExecutionProvider"])
        return lambda ids, mask: session.run(["logits"], {"input_ids": ids, "attention_mask": mask,
                                                          "token_type_ids": np.zeros_like(ids)})[0]
    if fmt.startswith("tflite_"):
        from tf_albert.export.tflite import load_tflite_runner

        runner = load_tflite_runner(os.path.join(root, fmt + ".tflite"), num_threads=THREADS)
        return lambda ids, mask: runner(input_ids=ids.astype(np.int32), attention_mask=mask.astype(np.int32),
                                        token_type_ids=np.zeros(ids.shape, np.int32))["logits"]
    import tensorflow as tf

    if fmt == "keras_int8":
        from tf_albert import AlbertForSequenceClassification

        model = AlbertForSequenceClassification.from_pretrained(os.path.join(root, "folder"), dtype="int8")
        forward = tf.function(lambda ids, mask: model(ids, attention_mask=mask)["logits"], jit_compile=True)
        return lambda ids, mask: forward(tf.constant(ids, tf.int32), tf.constant(mask, tf.int32)).numpy()
    serve = tf.saved_model.load(os.path.join(root, fmt)).signatures["serving_default"]
    return lambda ids, mask: serve(input_ids=tf.constant(ids, tf.int32), attention_mask=tf.constant(mask, tf.int32),
                                   token_type_ids=tf.zeros(ids.shape, tf.int32))["logits"].numpy()


def worker(fmt: str, root: str, task: str) -> dict:
    """Runs in a fresh process: times one format (task "speed") or returns its held-out logits ("accuracy")."""
    start = time.perf_counter()
    run = _load(fmt, root)
    result = {"format": fmt, "load_s": time.perf_counter() - start}
    if task == "accuracy":
        data = np.load(os.path.join(root, "held_out.npz"))
        logits = [run(data["ids"][i:i + 32], data["mask"][i:i + 32]) for i in range(0, len(data["ids"]), 32)]
        result["logits"] = np.concatenate(logits).tolist()
        return result
    for shape, calls in SHAPES.items():
        batches = speed_batches(shape)
        for ids, mask in batches:  # warm-up: compilation, allocation, resizing for each shape
            run(ids, mask)
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            for ids, mask in batches:
                run(ids, mask)
            times.append(time.perf_counter() - t)
        result[shape] = {"times": times, "tokens": int(sum(m.sum() for _, m in batches))}
    return result


# === Preparing the files ===
def _size(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path)


def prepare_ours(root: str, model) -> dict:
    """Every tf_albert format of `model` under `root`; returns {format: bytes on disk}."""
    from tf_albert import AlbertForSequenceClassification
    from tf_albert.export import export_onnx, export_saved_model, export_tflite

    sizes = {}
    folder = model.save_pretrained(os.path.join(root, "folder"), formats=("safetensors",))
    sizes["weights"] = _size(os.path.join(folder, "model.safetensors"))
    for fmt, jit in (("savedmodel", False), ("savedmodel_xla", True)):
        sizes[fmt] = _size(export_saved_model(model, os.path.join(root, fmt), signatures=("ids",),
                                              jit_compile=jit, overwrite=True))
    for fmt, mode in (("tflite_fp32", None), ("tflite_fp16", "float16"), ("tflite_int8", "int8")):
        sizes[fmt] = _size(export_tflite(model, os.path.join(root, fmt + ".tflite"), quantize=mode,
                                         overwrite=True))
    for fmt, mode in (("onnx_fp32", None), ("onnx_int8", "int8")):
        sizes[fmt] = _size(export_onnx(model, os.path.join(root, fmt + ".onnx"), quantize=mode, overwrite=True))
    quantized = AlbertForSequenceClassification.from_pretrained(folder, dtype="int8")
    quantized.save(os.path.join(root, "keras_int8.keras"))
    sizes["keras_int8"] = _size(os.path.join(root, "keras_int8.keras"))
    return sizes


REFERENCE_PREP = r'''
import json, os, sys, torch
from transformers import AlbertForSequenceClassification
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process
root = sys.argv[1]
model = AlbertForSequenceClassification.from_pretrained(os.path.join(root, "folder")).eval()
ids = torch.randint(5, 100, (2, 16))
fp32, pre, int8 = (os.path.join(root, n) for n in ("hf_onnx_fp32.onnx", "hf_onnx_pre.onnx", "hf_onnx_int8.onnx"))
axes = {n: {0: "batch", 1: "sequence"} for n in ("input_ids", "attention_mask", "token_type_ids")}
torch.onnx.export(model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), fp32,
                  input_names=list(axes), output_names=["logits"], dynamic_axes={**axes, "logits": {0: "batch"}},
                  opset_version=17, dynamo=False)
quant_pre_process(fp32, pre, skip_symbolic_shape=True)
quantize_dynamic(pre, int8, weight_type=QuantType.QInt8)
q = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
torch.save(q.state_dict(), os.path.join(root, "torch_int8.pt"))
sizes = {"hf_torch": os.path.getsize(os.path.join(root, "folder", "model.safetensors")),
         "torch_int8": os.path.getsize(os.path.join(root, "torch_int8.pt")),
         "hf_onnx_fp32": os.path.getsize(fp32), "hf_onnx_int8": os.path.getsize(int8)}
versions = {"transformers": __import__("transformers").__version__, "torch": torch.__version__,
            "onnxruntime": __import__("onnxruntime").__version__}
print(json.dumps({"sizes": sizes, "versions": versions}))
'''


def _fine_tuned_tiny(seed: int = 0, epochs: int = 3):
    """tf-albert-tiny fine-tuned on the demo's polarity sentences, as the demo does it."""
    import keras

    from tf_albert import AlbertForSequenceClassification
    from tf_albert.demo import make_polarity_data
    from tf_albert.tokenization import AlbertTokenizer

    keras.utils.set_random_seed(seed)
    tokenizer = AlbertTokenizer.from_pretrained("tf-albert-tiny")
    model = AlbertForSequenceClassification.from_pretrained("tf-albert-tiny", num_labels=2)
    (texts, labels), _ = make_polarity_data(seed)
    x = dict(tokenizer(texts, padding=True, return_tensors="np", return_token_type_ids=False))
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=1e-4, weight_decay=0.01))
    model.fit(x, labels, batch_size=16, epochs=epochs, shuffle=True, verbose=0)
    return model, tokenizer


def _subprocess(python: str, args: list, stdin: str | None = None) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([python, *args], input=stdin, capture_output=True, text=True, env=env,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _load_avg() -> float:
    return os.getloadavg()[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="/tmp/tf-albert-deploy", help="work folder (models, exports)")
    parser.add_argument("--ref-python", default="/work/venvs/ortref/bin/python",
                        help="python of the reference venv (transformers 5, torch 2.13, onnxruntime)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--formats", default=",".join(OURS + REFERENCE))
    parser.add_argument("--skip-prepare", action="store_true", help="reuse the files in --out")
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument("--worker", nargs=3, metavar=("FORMAT", "ROOT", "TASK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0
    formats = args.formats.split(",")
    base, tiny = os.path.join(args.out, "base"), os.path.join(args.out, "tiny")
    report = {"load_before": _load_avg(), "started": time.strftime("%Y-%m-%d %H:%M")}
    if not args.skip_prepare:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras

        from tf_albert import AlbertConfig, AlbertForSequenceClassification

        keras.utils.set_random_seed(0)
        model = AlbertForSequenceClassification(AlbertConfig.from_preset("albert-base-v2", num_labels=2))
        model.build()
        t = time.perf_counter()
        sizes = prepare_ours(base, model)
        reference = _subprocess(args.ref_python, ["-c", REFERENCE_PREP, base])
        sizes.update(reference["sizes"])
        print(f"prepared albert-base formats in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        tiny_model, tokenizer = _fine_tuned_tiny()
        prepare_ours(tiny, tiny_model)
        _subprocess(args.ref_python, ["-c", REFERENCE_PREP, tiny])
        texts, labels = polarity_held_out()
        enc = tokenizer(texts, padding=True, return_tensors="np", return_token_type_ids=False)
        keras_logits = np.asarray(tiny_model(dict(enc))["logits"])
        np.savez(os.path.join(tiny, "held_out.npz"), ids=enc["input_ids"].astype(np.int64),
                 mask=enc["attention_mask"].astype(np.int64), labels=labels, keras_logits=keras_logits)
        with open(os.path.join(args.out, "prepare.json"), "w") as f:
            json.dump({"sizes": sizes, "versions": reference["versions"]}, f)
    with open(os.path.join(args.out, "prepare.json")) as f:
        report.update(json.load(f))

    held_out = np.load(os.path.join(tiny, "held_out.npz"))
    keras_pred = held_out["keras_logits"].argmax(-1)
    report["accuracy"] = {"keras_fp32": float((keras_pred == held_out["labels"]).mean())}
    report["speed"] = {f: [] for f in formats}
    for fmt in formats:
        python = args.ref_python if fmt in REFERENCE else sys.executable
        try:
            out = _subprocess(python, ["-m", "benchmarks.bench_deploy", "--worker", fmt, tiny, "accuracy"])
        except RuntimeError as e:  # one broken format must not lose the others' numbers
            print(e, file=sys.stderr)
            continue
        pred = np.asarray(out["logits"]).argmax(-1)
        report["accuracy"][fmt] = {"accuracy": float((pred == held_out["labels"]).mean()),
                                   "agree_with_keras": float((pred == keras_pred).mean()),
                                   "max_logit_diff": float(np.abs(np.asarray(out["logits"]) -
                                                                  held_out["keras_logits"]).max())}
    for r in range(args.rounds):
        order = formats[r % len(formats):] + formats[:r % len(formats)]
        for fmt in order:
            python = args.ref_python if fmt in REFERENCE else sys.executable
            load = _load_avg()
            try:
                out = _subprocess(python, ["-m", "benchmarks.bench_deploy", "--worker", fmt, base, "speed"])
            except RuntimeError as e:
                print(e, file=sys.stderr)
                continue
            out["load"] = (load, _load_avg())
            report["speed"][fmt].append(out)
            print(f"round {r + 1} {fmt}: " + ", ".join(f"{s} {np.median(out[s]['times']):.3f} s" for s in SHAPES),
                  file=sys.stderr)
    report["load_after"] = _load_avg()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f)
    print(table(report))
    return 0


def table(report: dict) -> str:
    """The markdown table: p50 latency, tokens/s, file size, accuracy per format; ratios to two references."""
    rows = []
    stats = {}
    for fmt, runs in report["speed"].items():
        if not runs:
            continue
        cells = {}
        for shape in SHAPES:
            times = [t for run in runs for t in run[shape]["times"]]
            p50 = float(np.median(times))
            cells[shape] = (p50, runs[0][shape]["tokens"] / p50)
        stats[fmt] = cells
    best = {}
    for fmt, cells in stats.items():
        for shape, (_, tps) in cells.items():
            best[shape] = best.get(shape, {})
            best[shape][fmt] = tps
    header = ("| format | 1×128 p50 ms | 1×128 tok/s | 8×128 p50 ms | 8×128 tok/s | mixed p50 ms | mixed tok/s "
              "| file MB | held-out acc. | agrees with Keras fp32 |")
    rows.append(header)
    rows.append("|---|" + "---:|" * 9)
    sizes = report.get("sizes", {})
    for fmt, cells in stats.items():
        acc = report["accuracy"].get(fmt, {})
        row = [LABELS.get(fmt, fmt)]
        for shape in SHAPES:
            p50, tps = cells[shape]
            row += [f"{p50 * 1000:.0f}", f"{tps:.0f}"]
        row.append(f"{sizes.get(fmt, 0) / 1e6:.1f}")
        row.append(f"{acc.get('accuracy', float('nan')):.3f}")
        row.append(f"{acc.get('agree_with_keras', float('nan')):.3f}")
        rows.append("| " + " | ".join(row) + " |")
    ratios = ["", "Ratios (tokens/s; > 1 means faster):", "",
              "| shape | best tf_albert fp32 / HF→ORT fp32 | best tf_albert int8 / HF→ORT int8 |", "|---|---:|---:|"]
    fp32 = [f for f in ("savedmodel", "savedmodel_xla", "tflite_fp32", "tflite_fp16", "onnx_fp32") if f in stats]
    int8 = [f for f in ("tflite_int8", "keras_int8", "onnx_int8") if f in stats]
    for shape in SHAPES:
        b = best[shape]
        line = [shape]
        for ours, ref in ((fp32, "hf_onnx_fp32"), (int8, "hf_onnx_int8")):
            if ours and ref in b:
                top = max(ours, key=lambda f: b[f])
                line.append(f"{b[top] / b[ref]:.2f}× ({LABELS[top].removeprefix('tf_albert ')})")
            else:
                line.append("—")
        ratios.append("| " + " | ".join(line) + " |")
    return "\n".join(rows + ratios)


if __name__ == "__main__":
    sys.exit(main())
