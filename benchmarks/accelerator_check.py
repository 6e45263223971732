"""Accelerator check: tf_albert beside HF transformers' PyTorch ALBERT (SDPA) on one GPU, in one prepared run.

For a GPU machine that has JAX, PyTorch and transformers but no TensorFlow and no network, from the
repository (the package, with a keras wheel beside it when the machine lacks keras 3.15):

    pip install --no-index --no-deps wheels/keras-*.whl    # only if keras is missing there
    python benchmarks/accelerator_check.py --out gpu-results [--corpus corpus.txt] [--budget-s 510]

It writes `OUT/results.json` and `OUT/results.md` (after every section, so a run cut short still leaves
what it measured) and, with `--corpus`, `OUT/pretrain/model/`: tf-albert-small continued.

(a) **Parity**: an albert-base-shaped `AlbertForPreTraining` with random (perturbed) weights is written by
    transformers as a safetensors folder and loaded by tf_albert; both run the same padded batch. For each
    of our attention implementations (eager, sdpa), on JAX and on Keras' PyTorch backend: fp32 max-abs-diff of
    the MLM and SOP logits against HF's sdpa and eager (TF32 off; ≤ `FP32_TOLERANCE`), and bf16 (mixed
    precision: fp32 weights, bf16 compute) error from HF's fp32 reference, at most `BF16_TOLERANCE` times
    HF's own bf16 sdpa error.
(b) **Speed**, albert-base in bf16 at 8×128 and 16×512: a fine-tuning step (sequence classification,
    AdamW) and inference. Ours on JAX (XLA) with eager and with sdpa attention, ours on Keras' PyTorch
    backend (eager PyTorch) with both, against HF PyTorch with SDPA (`torch.autocast`, fused AdamW).
(c) **Pretraining step**: `AlbertForPreTraining` with LAMB in bf16 under XLA for tf-albert-small's config
    and albert-base's, each attention implementation: positions/s, TFLOP/s (`flops_per_token` of
    benchmarks/bench_pretrain.py) and the share of the GPU's bf16 rate (a measured 8192³ bf16 matmul, and
    the card's nominal peak where the GPU is known).
(d) With the minutes left and `--corpus`: `tf-albert pretrain` continues tf-albert-small (JAX, bf16, XLA,
    a large batch, a time budget) into `OUT/pretrain/`.

Without a GPU (neither JAX nor PyTorch sees one) the same code runs with tiny configs and shapes in a couple
of minutes (its timings mean nothing): tests/backends/test_backends.py runs it so, TensorFlow hidden.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

from benchmarks.bench_pretrain import flops_per_token  # noqa: E402

FP32_TOLERANCE = 1e-4
BF16_TOLERANCE = 2.0  # ours' bf16 error from the fp32 reference, at most this many times HF's own
BUDGET_S = 510  # 8.5 minutes of measuring; a section that would start later is reported as skipped
IMPLEMENTATIONS = ("eager", "sdpa")
#: Nominal dense bf16 tensor rates (TFLOP/s) of the GPUs this project may borrow (SXM parts).
NOMINAL_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0}
CONFIGS = {
    "base": dict(vocab_size=30000, embedding_size=128, hidden_size=768, num_attention_heads=12,
                 intermediate_size=3072, num_hidden_layers=12),
    "small": dict(vocab_size=16000, embedding_size=128, hidden_size=384, num_attention_heads=6,
                  intermediate_size=1536, num_hidden_layers=6),  # tf-albert-small
    "tiny": dict(vocab_size=1000, embedding_size=16, hidden_size=32, num_attention_heads=2,
                 intermediate_size=64, num_hidden_layers=2),
}
COMMON = dict(hidden_act="gelu_new", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
              max_position_embeddings=512, type_vocab_size=2, classifier_dropout_prob=0.1)
GPU_PLAN = {"parity": ("base", 8, 128), "speed_size": "base", "shapes": [(8, 128), (16, 512)],
            "train_steps": 10, "infer_steps": 20, "pretrain": [("small", 512, 128), ("base", 128, 128)],
            "pretrain_implementations": IMPLEMENTATIONS, "pretrain_steps": 10, "matmul": 8192,
            "pretrain_batch": 1024}
# One pretraining-step cell on the CPU: its XLA compilation is most of the test's time.
CPU_PLAN = {"parity": ("tiny", 2, 16), "speed_size": "tiny", "shapes": [(2, 16)],
            "train_steps": 2, "infer_steps": 2, "pretrain": [("tiny", 4, 16)],
            "pretrain_implementations": ("sdpa",), "pretrain_steps": 2, "matmul": 256, "pretrain_batch": 8}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def devices():
    """(GPU or not, torch device); JAX and PyTorch must agree (a half-GPU run compares nothing)."""
    import jax
    import torch

    jax_gpu = jax.devices()[0].platform == "gpu"
    torch_gpu = torch.cuda.is_available()
    if jax_gpu != torch_gpu:
        raise SystemExit(f"JAX sees {jax.devices()[0].platform}, PyTorch sees "
                         f"{'cuda' if torch_gpu else 'cpu'}: install the CUDA builds of both (or neither)")
    return jax_gpu, ("cuda" if torch_gpu else "cpu")


def batch(size, batch_size, seq_len, seed=0):
    """Random ids with padding in every other row (the last quarter masked), token types 0 then 1."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, CONFIGS[size]["vocab_size"], size=(batch_size, seq_len)).astype("int32")
    ids[:, 0] = 2
    mask = np.ones_like(ids)
    mask[::2, seq_len - seq_len // 4:] = 0
    types = np.zeros_like(ids)
    types[:, seq_len // 2:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def _backend():
    import keras

    return keras.backend.backend()


# --- (a) parity ----------------------------------------------------------------------------------------
def hf_reference(size, folder, device):
    """HF AlbertForPreTraining with random weights, perturbed (LayerNorm scales, biases too) so that every
    parameter matters, saved as safetensors in `folder`; the same weights on every call (seeded)."""
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.AlbertConfig(**CONFIGS[size], **COMMON, attn_implementation="sdpa")
    model = transformers.AlbertForPreTraining(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.02)
    model.save_pretrained(folder, safe_serialization=True)
    return model.to(device).eval()


def parity(size, batch_size, seq_len, device):
    """Per implementation of ours on the running Keras backend: fp32 and bf16 against HF's sdpa and eager."""
    import keras
    import torch

    import tf_albert

    inputs = batch(size, batch_size, seq_len)
    keys = ("prediction_logits", "sop_logits")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    with tempfile.TemporaryDirectory() as folder:
        hf = hf_reference(size, folder, device)
        to_torch = {k: torch.from_numpy(v.astype("int64")).to(device) for k, v in inputs.items()}
        hf32, hf16 = {}, {}
        with torch.inference_mode():
            for impl in IMPLEMENTATIONS:
                hf.config._attn_implementation = impl
                hf32[impl] = {k: getattr(hf(**to_torch), k).float().cpu().numpy() for k in keys}
                with torch.autocast(device_type=device, dtype=torch.bfloat16):
                    hf16[impl] = {k: getattr(hf(**to_torch), k).float().cpu().numpy() for k in keys}

        def ours(impl, policy):
            keras.mixed_precision.set_global_policy(policy)
            try:
                model = tf_albert.AlbertForPreTraining.from_pretrained(folder, attn_implementation=impl)
                if _backend() == "jax":
                    import jax

                    with jax.default_matmul_precision("highest" if policy == "float32" else "default"):
                        out = model(inputs)
                else:
                    out = model(inputs)
                return {k: np.asarray(keras.ops.convert_to_numpy(out[k]), "float32") for k in keys}
            finally:
                keras.mixed_precision.set_global_policy("float32")

        rows = []
        for impl in IMPLEMENTATIONS:
            ours32, ours16 = ours(impl, "float32"), ours(impl, "mixed_bfloat16")
            row = {"backend": _backend(), "implementation": impl, "config": size,
                   "shape": f"{batch_size}×{seq_len}",
                   "fp32_vs_hf_sdpa": _diff(ours32, hf32["sdpa"], keys),
                   "fp32_vs_hf_eager": _diff(ours32, hf32["eager"], keys),
                   "bf16_ours_vs_fp32": _diff(ours16, hf32["sdpa"], keys),
                   "bf16_hf_sdpa_vs_fp32": _diff(hf16["sdpa"], hf32["sdpa"], keys)}
            row["fp32_ok"] = max(row["fp32_vs_hf_sdpa"], row["fp32_vs_hf_eager"]) <= FP32_TOLERANCE
            row["bf16_ok"] = row["bf16_ours_vs_fp32"] <= BF16_TOLERANCE * max(row["bf16_hf_sdpa_vs_fp32"], 1e-3)
            rows.append(row)
    return rows


def _diff(a, b, keys):
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in keys)


# --- (b) speed -----------------------------------------------------------------------------------------
def _timed(step, steps):
    """(first call's seconds, median seconds of the next `steps` calls after a second warm-up call)."""
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    step()  # some backends finish compiling / autotuning here
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return first, float(np.median(times))


def ours_speed(size, batch_size, seq_len, plan, impl):
    """Our fine-tuning step and inference in bf16 on the running backend (XLA on JAX, eager on PyTorch)."""
    import keras

    import tf_albert

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(0)
        config = tf_albert.AlbertConfig(**CONFIGS[size], **COMMON, num_labels=2, attn_implementation=impl)
        model = tf_albert.AlbertForSequenceClassification(config)
        model.compile(optimizer=keras.optimizers.AdamW(1e-5), jit_compile=_backend() == "jax")
        x = {k: keras.ops.convert_to_tensor(v) for k, v in batch(size, batch_size, seq_len).items()}
        y = keras.ops.convert_to_tensor(np.arange(batch_size) % 2, "int32")
        train = _timed(lambda: float(keras.ops.convert_to_numpy(model.train_on_batch(x, y))), plan["train_steps"])
        infer = _timed(lambda: model.predict_on_batch(x), plan["infer_steps"])
        return {"train": train, "infer": infer}
    finally:
        keras.mixed_precision.set_global_policy("float32")


def hf_speed(size, batch_size, seq_len, plan, device):
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.AlbertConfig(**CONFIGS[size], **COMMON, num_labels=2, attn_implementation="sdpa")
    model = transformers.AlbertForSequenceClassification(config).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device == "cuda")
    inputs = batch(size, batch_size, seq_len)
    x = {k: torch.from_numpy(v.astype("int64")).to(device) for k, v in inputs.items()}
    y = torch.from_numpy(np.arange(batch_size) % 2).to(device)

    def train_step():
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            loss = model(**x, labels=y).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    train = _timed(train_step, plan["train_steps"])
    model = model.to(torch.bfloat16).eval()

    def infer_step():
        with torch.inference_mode():
            return model(**x).logits.float().cpu().numpy()

    return {"train": train, "infer": _timed(infer_step, plan["infer_steps"])}


# --- (c) the pretraining step --------------------------------------------------------------------------
def matmul_tflops(n: int) -> float:
    """The GPU's achieved bf16 rate on an n×n×n JAX matmul (best of 10), in TFLOP/s."""
    import jax
    import jax.numpy as jnp

    a = jnp.ones((n, n), jnp.bfloat16)
    f = jax.jit(lambda x, y: x @ y)
    f(a, a).block_until_ready()
    best = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        f(a, a).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e12


def pretrain_step_rate(size, batch_size, seq_len, steps, impl):
    """`AlbertForPreTraining` + LAMB (create_optimizer's settings) in bf16 under XLA: seconds per step."""
    import keras

    import tf_albert
    from tf_albert.training.optimization import create_optimizer

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(0)
        config = tf_albert.AlbertConfig(**CONFIGS[size], **COMMON, attn_implementation=impl)
        model = tf_albert.AlbertForPreTraining(config)
        model.compile(optimizer=create_optimizer("lamb", 1e-4, num_train_steps=None), jit_compile=True)
        x = batch(size, batch_size, seq_len)
        rng = np.random.default_rng(0)
        labels = np.where(rng.random(x["input_ids"].shape) < 0.15, x["input_ids"], -100)
        y = {"labels": labels, "sentence_order_label": rng.integers(0, 2, size=(batch_size,))}
        first, step = _timed(lambda: float(keras.ops.convert_to_numpy(model.train_on_batch(x, y))), steps)
        flops = flops_per_token(config.to_dict(), seq_len, 0.15) * batch_size * seq_len
        return {"config": size, "implementation": impl, "batch": batch_size, "seq_len": seq_len,
                "first_step_s": first, "step_s": step, "positions_per_s": batch_size * seq_len / step,
                "tflops": flops / step / 1e12}
    finally:
        keras.mixed_precision.set_global_policy("float32")


# --- (d) continue tf-albert-small with the one pretraining command -------------------------------------
def pretrain_command(corpus: str, out: str, seconds: float, batch_size: int) -> list[str]:
    """`tf-albert pretrain` continuing tf-albert-small on JAX: bf16, XLA, a time budget."""
    small = os.path.join(REPO, "tf_albert", "pretrained", "tf-albert-small")
    return [sys.executable, "-m", "tf_albert.cli", "pretrain", "--corpus", corpus, "--init-checkpoint", small,
            "--out", out, "--train-seconds", str(int(seconds)), "--batch-size", str(batch_size),
            "--learning-rate", "1e-3", "--warmup-fraction", "0.05", "--max-seq-length", "128",
            "--max-predictions-per-seq", "20", "--steps-per-epoch", "25", "--dtype", "mixed_bfloat16",
            "--jit", "on", "--save-every", "60", "--save-formats", "safetensors", "--seed", "7", "--quiet"]


# --- the run -------------------------------------------------------------------------------------------
def versions():
    import jax
    import keras
    import torch
    import transformers

    import tf_albert

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"python": platform.python_version(), "tf_albert": tf_albert.__version__,
            "keras": keras.__version__, "jax": jax.__version__,
            "jax_devices": [str(d) for d in jax.devices()], "torch": torch.__version__,
            "transformers": transformers.__version__, "gpu": gpu,
            "tensorflow_imported": "tensorflow" in sys.modules}


def torch_backend_worker(plan_name: str, device: str) -> dict:
    """Run in a child process with KERAS_BACKEND=torch: (a) and (b) for ours on Keras' PyTorch backend."""
    plan = GPU_PLAN if plan_name == "gpu" else CPU_PLAN
    result = {"parity": parity(*plan["parity"], device), "speed": {}}
    for batch_size, seq_len in plan["shapes"]:
        for impl in IMPLEMENTATIONS:
            result["speed"][f"{batch_size}x{seq_len}/{impl}"] = ours_speed(plan["speed_size"], batch_size, seq_len,
                                                                          plan, impl)
    return result


def run_torch_backend(plan_name: str, device: str, timeout: float) -> dict:
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", plan_name, "--device", device]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-3:]}
    return json.loads(lines[-1])


def report(results: dict) -> str:
    """The results as markdown."""
    lines = [f"# Accelerator check ({results['versions']['gpu']})", "",
             f"keras {results['versions']['keras']}, jax {results['versions']['jax']}, torch "
             f"{results['versions']['torch']}, transformers {results['versions']['transformers']}, tf_albert "
             f"{results['versions']['tf_albert']}; {results.get('elapsed_s', 0):.0f} s", "",
             "## (a) Parity (MLM and SOP logits, max-abs-diff)", "",
             "| backend | ours | fp32 vs HF sdpa | fp32 vs HF eager | bf16 ours vs fp32 | bf16 HF sdpa vs fp32 | ok |",
             "|---|---|---|---|---|---|---|"]
    for row in results.get("parity", []):
        ok = "ok" if row["fp32_ok"] and row["bf16_ok"] else "FAIL"
        lines.append(f"| {row['backend']} | {row['implementation']} | {row['fp32_vs_hf_sdpa']:.2e} | "
                     f"{row['fp32_vs_hf_eager']:.2e} | {row['bf16_ours_vs_fp32']:.3g} | "
                     f"{row['bf16_hf_sdpa_vs_fp32']:.3g} | {ok} |")
    lines += ["", "## (b) bf16 speed (ms; speed-up = HF PyTorch SDPA time / ours)", "",
              "| shape | mode | ours | ms | HF SDPA ms | speed-up | first call ours / HF s |",
              "|---|---|---|---:|---:|---:|---|"]
    for cell in results.get("speed", []):
        for mode in ("train", "infer"):
            hf_first, hf_s = cell["hf"][mode]
            for name, timing in cell["ours"].items():
                first, s = timing[mode]
                lines.append(f"| {cell['shape']} | {'fine-tune step' if mode == 'train' else 'inference'} | "
                             f"{name} | {s * 1e3:.1f} | {hf_s * 1e3:.1f} | {hf_s / s:.2f}× | "
                             f"{first:.1f} / {hf_first:.1f} |")
    peak = results.get("peak", {})
    lines += ["", "## (c) Pretraining step (bf16, XLA, LAMB)", "",
              f"measured bf16 matmul: {peak.get('matmul_tflops', 0):.0f} TFLOP/s; nominal: "
              f"{peak.get('nominal_tflops') or 'unknown'} TFLOP/s", "",
              "| config | attention | batch×len | step ms | positions/s | TFLOP/s | share of matmul | share of nominal |",
              "|---|---|---|---:|---:|---:|---:|---:|"]
    for row in results.get("pretrain_rate", []):
        nominal = f"{100 * row['tflops'] / peak['nominal_tflops']:.1f} %" if peak.get("nominal_tflops") else "—"
        lines.append(f"| {row['config']} | {row['implementation']} | {row['batch']}×{row['seq_len']} | "
                     f"{row['step_s'] * 1e3:.1f} | {row['positions_per_s']:,.0f} | {row['tflops']:.1f} | "
                     f"{100 * row['tflops'] / peak['matmul_tflops']:.1f} % | {nominal} |")
    if "pretrain" in results:
        lines += ["", "## (d) tf-albert pretrain continuing tf-albert-small", "", "```",
                  " ".join(results["pretrain"]["command"]), "```", "",
                  f"exit {results['pretrain']['returncode']} after {results['pretrain']['seconds']:.0f} s; "
                  f"model folder: {results['pretrain'].get('model') or 'none'}"]
    for note in results.get("skipped", []):
        lines.append(f"\nskipped: {note}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="folder for results.json, results.md and pretrain/ (required)")
    parser.add_argument("--corpus", help="text corpus for (d); without it (d) is skipped")
    parser.add_argument("--budget-s", type=float, default=BUDGET_S,
                        help="seconds of measuring; later sections are skipped (default %(default)s)")
    parser.add_argument("--torch-worker", choices=("gpu", "cpu"), help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.torch_worker:
        print(json.dumps(torch_backend_worker(args.torch_worker, args.device)))
        return 0
    if not args.out:
        parser.error("--out FOLDER is required")
    if _backend() != "jax":
        raise SystemExit(f"run with KERAS_BACKEND=jax (got {_backend()})")
    start = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    gpu, device = devices()
    plan_name = "gpu" if gpu else "cpu"
    plan = GPU_PLAN if gpu else CPU_PLAN
    results = {"versions": versions(), "plan": plan_name, "skipped": []}
    log(f"{'GPU' if gpu else 'no GPU: tiny shapes'}; {json.dumps(results['versions'])}")

    def left():
        return args.budget_s - (time.perf_counter() - start)

    def save():
        results["elapsed_s"] = time.perf_counter() - start
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        with open(os.path.join(args.out, "results.md"), "w") as f:
            f.write(report(results))

    results["parity"] = parity(*plan["parity"], device)
    log(f"parity (jax): {results['parity']}")
    torch_side = run_torch_backend(plan_name, device, timeout=max(60.0, left() / 2))
    if "error" in torch_side:
        results["skipped"].append(f"Keras' PyTorch backend: {torch_side['error']}")
    else:
        results["parity"] += torch_side["parity"]
    save()

    results["speed"] = []
    for batch_size, seq_len in plan["shapes"]:
        if left() < 60:
            results["skipped"].append(f"speed at {batch_size}×{seq_len}: past the budget")
            continue
        cell = {"shape": f"{batch_size}×{seq_len}", "hf": hf_speed(plan["speed_size"], batch_size, seq_len, plan,
                                                                  device), "ours": {}}
        for impl in IMPLEMENTATIONS:
            cell["ours"][f"JAX {impl}"] = ours_speed(plan["speed_size"], batch_size, seq_len, plan, impl)
        for key, timing in torch_side.get("speed", {}).items():
            shape, impl = key.split("/")
            if shape == f"{batch_size}x{seq_len}":
                cell["ours"][f"PyTorch {impl}"] = timing
        results["speed"].append(cell)
        log(f"speed {cell['shape']}: {cell}")
        save()

    name = results["versions"]["gpu"]
    nominal = next((v for k, v in NOMINAL_BF16_TFLOPS.items() if k in name), None)
    results["peak"] = {"matmul_tflops": matmul_tflops(plan["matmul"]), "nominal_tflops": nominal}
    results["pretrain_rate"] = []
    for size, batch_size, seq_len in plan["pretrain"]:
        for impl in plan["pretrain_implementations"]:
            if left() < 45:
                results["skipped"].append(f"pretraining step {size} {impl}: past the budget")
                continue
            row = pretrain_step_rate(size, batch_size, seq_len, plan["pretrain_steps"], impl)
            results["pretrain_rate"].append(row)
            log(f"pretraining step: {row}")
            save()

    if not args.corpus:
        results["skipped"].append("(d) tf-albert pretrain: no --corpus")
    elif left() < 90:
        results["skipped"].append(f"(d) tf-albert pretrain: {left():.0f} s left")
    else:
        out = os.path.join(args.out, "pretrain")
        cmd = pretrain_command(args.corpus, out, left() - 60, plan["pretrain_batch"])
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False,
                              env={**os.environ, "KERAS_BACKEND": "jax"})
        model = os.path.join(out, "model")
        results["pretrain"] = {"command": cmd, "returncode": proc.returncode, "seconds": time.perf_counter() - t0,
                               "model": model if os.path.isdir(model) else None,
                               "stdout_tail": proc.stdout[-3000:], "stderr_tail": proc.stderr[-3000:]}
    save()
    print(report(results))
    ok = all(row["fp32_ok"] and row["bf16_ok"] for row in results["parity"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
