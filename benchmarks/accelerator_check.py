"""Accelerator check: tf_albert on JAX (XLA) beside HF transformers' PyTorch ALBERT (SDPA), on one GPU.

One self-contained script for a GPU machine that has JAX, PyTorch and transformers but no TensorFlow:

    pip install --no-index --find-links wheels/ tf_albert   # keras + tf_albert wheels copied there (below)
    python accelerator_check.py [--json results.json]           # ≤ 8 minutes, start-up included

1. **Parity** on the GPU: an albert-base-shaped `AlbertForPreTraining` with random (perturbed) weights is
   written by transformers as a safetensors folder, loaded by `tf_albert`, and both run the same padded
   batch of 8 × 128. fp32 (TF32 off on both sides): max-abs-diff of the MLM and SOP logits ≤ 1e-4.
   bf16 (mixed precision on both sides: fp32 weights, bf16 compute): each side's max-abs-diff from the fp32
   reference is measured, and ours must stay within `BF16_TOLERANCE` × HF's own bf16 error.
2. **Speed**, albert-base and albert-large, batch × length 32 × 128 and 8 × 512, bf16:
   * fine-tune step (sequence classification, AdamW): ours `compile(jit_compile=True)` + `train_on_batch`
     under `mixed_bfloat16` (XLA); HF: `torch.autocast(bfloat16)` + `AdamW(fused=True)`;
   * inference: ours `predict_on_batch` (XLA); HF: the model cast to bfloat16, `torch.inference_mode()`.
   Both sides wait for each step's result (a float loss / host logits). First steps (compilation) are
   reported apart. One table at the end; `--json` keeps the numbers.

Without a GPU (neither JAX nor PyTorch sees one) the same code runs with a tiny config and one tiny shape in
about a minute (its timings mean nothing): tests/backends/test_backends.py runs it so, TensorFlow hidden.

Wheels for a machine without the package index (built where it is reachable, then copied):
`pip wheel --no-deps -w wheels/ . "keras==3.15.*"` plus keras' own dependencies (absl-py, h5py, ml-dtypes,
namex, optree, rich, packaging) and sentencepiece, unless the GPU machine already has them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

FP32_TOLERANCE = 1e-4
BF16_TOLERANCE = 2.0  # ours' bf16 error from the fp32 reference, at most this many times HF's own
BUDGET_S = 420  # the speed cells stop (reported as skipped) once this much time has passed
CONFIGS = {
    "base": dict(vocab_size=30000, embedding_size=128, hidden_size=768, num_attention_heads=12,
                 intermediate_size=3072, num_hidden_layers=12),
    "large": dict(vocab_size=30000, embedding_size=128, hidden_size=1024, num_attention_heads=16,
                  intermediate_size=4096, num_hidden_layers=24),
    "tiny": dict(vocab_size=1000, embedding_size=16, hidden_size=32, num_attention_heads=2,
                 intermediate_size=64, num_hidden_layers=2),
}
COMMON = dict(hidden_act="gelu_new", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
              max_position_embeddings=512, type_vocab_size=2, classifier_dropout_prob=0.1)
GPU_PLAN = {"parity": ("base", 8, 128), "sizes": ["base", "large"], "shapes": [(32, 128), (8, 512)],
            "train_steps": 10, "infer_steps": 20}
CPU_PLAN = {"parity": ("tiny", 2, 16), "sizes": ["tiny"], "shapes": [(2, 16)],
            "train_steps": 2, "infer_steps": 2}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def devices():
    """(jax platform, torch device); both "gpu"/"cuda" or both CPU, else an error (a half-GPU run compares
    nothing)."""
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
    vocab = CONFIGS[size]["vocab_size"]
    ids = rng.integers(5, vocab, size=(batch_size, seq_len)).astype("int32")
    ids[:, 0] = 2
    mask = np.ones_like(ids)
    mask[::2, seq_len - seq_len // 4:] = 0
    types = np.zeros_like(ids)
    types[:, seq_len // 2:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


# --- 1. parity -------------------------------------------------------------------------------------------
def hf_reference(size, folder, device):
    """An HF AlbertForPreTraining with random weights, perturbed (LayerNorm scales, biases too) so that
    every parameter matters, saved as safetensors in `folder`."""
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
    import jax
    import keras
    import torch

    import tf_albert

    inputs = batch(size, batch_size, seq_len)
    keys = ("prediction_logits", "sop_logits")
    with tempfile.TemporaryDirectory() as folder:
        hf = hf_reference(size, folder, device)
        to_torch = {k: torch.from_numpy(v.astype("int64")).to(device) for k, v in inputs.items()}
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        with torch.inference_mode():
            ref = hf(**to_torch)
            hf32 = {k: getattr(ref, k).float().cpu().numpy() for k in keys}
            with torch.autocast(device_type=device, dtype=torch.bfloat16):
                low = hf(**to_torch)
            hf16 = {k: getattr(low, k).float().cpu().numpy() for k in keys}

        def ours(policy):
            keras.mixed_precision.set_global_policy(policy)
            try:
                model = tf_albert.AlbertForPreTraining.from_pretrained(folder)
                with jax.default_matmul_precision("highest" if policy == "float32" else "default"):
                    out = model(inputs)
                return {k: np.asarray(out[k], "float32") for k in keys}
            finally:
                keras.mixed_precision.set_global_policy("float32")

        ours32, ours16 = ours("float32"), ours("mixed_bfloat16")

    def diff(a, b):
        return max(float(np.max(np.abs(a[k] - b[k]))) for k in keys)

    result = {"shape": f"{batch_size}×{seq_len}", "config": size,
              "fp32_max_abs_diff": diff(ours32, hf32),
              "bf16_ours_vs_fp32": diff(ours16, hf32), "bf16_hf_vs_fp32": diff(hf16, hf32),
              "bf16_ours_vs_hf_bf16": diff(ours16, hf16)}
    result["fp32_ok"] = result["fp32_max_abs_diff"] <= FP32_TOLERANCE
    result["bf16_ok"] = result["bf16_ours_vs_fp32"] <= BF16_TOLERANCE * max(result["bf16_hf_vs_fp32"], 1e-3)
    return result


# --- 2. speed --------------------------------------------------------------------------------------------
def _timed(step, steps):
    """(first call's seconds, median seconds of the next `steps` calls)."""
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    step()  # a second warm-up call: some backends finish compiling / autotuning here
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return first, float(np.median(times))


def ours_speed(size, batch_size, seq_len, plan):
    import jax.numpy as jnp
    import keras

    import tf_albert

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(0)
        config = tf_albert.AlbertConfig(**CONFIGS[size], **COMMON, num_labels=2)
        model = tf_albert.AlbertForSequenceClassification(config)
        model.compile(optimizer=keras.optimizers.AdamW(1e-5), jit_compile=True)
        x = {k: jnp.asarray(v) for k, v in batch(size, batch_size, seq_len).items()}
        y = jnp.asarray(np.arange(batch_size) % 2, "int32")
        train = _timed(lambda: model.train_on_batch(x, y), plan["train_steps"])
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

    infer = _timed(infer_step, plan["infer_steps"])
    return {"train": train, "infer": infer}


# --- report ----------------------------------------------------------------------------------------------
def versions():
    import jax
    import keras
    import torch
    import transformers

    import tf_albert

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"python": platform.python_version(), "tf_albert": tf_albert.__version__,
            "keras": keras.__version__, "jax": jax.__version__,
            "jax_devices": [str(d) for d in jax.devices()],
            "torch": torch.__version__,
            "transformers": transformers.__version__, "gpu": gpu,
            "tensorflow_imported": "tensorflow" in sys.modules}


def table(parity_result, cells):
    p = parity_result
    lines = [
        (f"parity ({p['config']}, {p['shape']}): fp32 max-abs-diff {p['fp32_max_abs_diff']:.2e} "
         f"(≤ {FP32_TOLERANCE:g}: {'ok' if p['fp32_ok'] else 'FAIL'}); bf16 from the fp32 reference: ours "
         f"{p['bf16_ours_vs_fp32']:.3g}, HF {p['bf16_hf_vs_fp32']:.3g} (ours ≤ {BF16_TOLERANCE:g}× HF: "
         f"{'ok' if p['bf16_ok'] else 'FAIL'}); ours bf16 vs HF bf16 {p['bf16_ours_vs_hf_bf16']:.3g}"),
        "",
        ("| model | batch×len | mode | tf_albert JAX/XLA bf16 ms | HF PyTorch SDPA bf16 ms | speed-up | "
         "tf_albert tokens/s | HF tokens/s | first step ours / HF s |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in cells:
        name = f"| {cell['size']} | {cell['batch']}×{cell['seq_len']} | "
        if "skipped" in cell:
            lines.append(name + f"— | {cell['skipped']} | | | | | |")
            continue
        tokens = cell["batch"] * cell["seq_len"]
        for mode, label in (("train", "fine-tune step"), ("infer", "inference")):
            (ours_first, ours_s), (hf_first, hf_s) = cell["ours"][mode], cell["hf"][mode]
            lines.append(name + f"{label} | {ours_s * 1e3:.1f} | {hf_s * 1e3:.1f} | {hf_s / ours_s:.2f}× | "
                         f"{tokens / ours_s:,.0f} | {tokens / hf_s:,.0f} | "
                         f"{ours_first:.1f} / {hf_first:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--budget-s", type=float, default=BUDGET_S,
                        help="stop starting speed cells after this many seconds (default %(default)s)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    import keras

    if keras.backend.backend() != "jax":
        raise SystemExit(f"run with KERAS_BACKEND=jax (got {keras.backend.backend()})")
    gpu, device = devices()
    plan = GPU_PLAN if gpu else CPU_PLAN
    info = versions()
    log(f"{'GPU' if gpu else 'no GPU: tiny shapes'}; {json.dumps(info)}")

    parity_result = parity(*plan["parity"], device)
    log(f"parity: {json.dumps(parity_result)}")
    cells = []
    for size in plan["sizes"]:
        for batch_size, seq_len in plan["shapes"]:
            cell = {"size": size, "batch": batch_size, "seq_len": seq_len}
            if time.perf_counter() - start > args.budget_s:
                cell["skipped"] = f"skipped: past the {args.budget_s:.0f} s budget"
            else:
                cell["ours"] = ours_speed(size, batch_size, seq_len, plan)
                cell["hf"] = hf_speed(size, batch_size, seq_len, plan, device)
                log(f"{size} {batch_size}×{seq_len}: ours {cell['ours']}, HF {cell['hf']}")
            cells.append(cell)
    report = table(parity_result, cells)
    elapsed = time.perf_counter() - start
    print(f"\n{report}\n\n{info['gpu']}; jax {info['jax']}, torch {info['torch']}, transformers "
          f"{info['transformers']}, keras {info['keras']}, tf_albert {info['tf_albert']}; {elapsed:.0f} s in "
          "all "
          f"(start-up not counted: see the shell's time)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": info, "parity": parity_result, "cells": cells, "elapsed_s": elapsed}, f,
                      indent=1)
    return 0 if parity_result["fp32_ok"] and parity_result["bf16_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
