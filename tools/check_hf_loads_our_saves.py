"""Do transformers v4 (TF and PyTorch) and v5 (PyTorch) load the folders our `save_pretrained` writes?

For every head it saves a tiny tf_albert model with random weights (2 groups x 2 inner blocks, num_labels 3),
then loads each folder in the reference libraries and compares every output with ours:

* transformers 4 `TFAlbert*.from_pretrained(folder, use_safetensors=False)`: reads our `tf_model.h5`;
* transformers 4 `TFAlbert*.from_pretrained(folder)`: prefers our `model.safetensors` (PyTorch names);
* transformers 4 and 5 `Albert*.from_pretrained(folder)`: read our `model.safetensors`;

and fails on any missing, unexpected or mismatched weight the reference reports, or any max-abs-diff > 1e-5.
Each library runs in its own environment (a subprocess), so run it with any Python:

    python tools/check_hf_loads_our_saves.py [--keep DIR]
        [--ours /work/venv/bin/python] [--v4 /work/venv-hf4/bin/python] [--v5 /work/venv-hf5/bin/python]

This file is a tool: the package never imports it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = dict(vocab_size=64, embedding_size=8, hidden_size=16, num_attention_heads=2, intermediate_size=24,
              num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2, max_position_embeddings=16,
              hidden_act="gelu_new", layer_norm_eps=1e-12)
HEADS = {  # folder -> (class name, config overrides)
    "model": ("AlbertModel", {}),
    "pretraining": ("AlbertForPreTraining", {}),
    "masked_lm": ("AlbertForMaskedLM", {}),
    "sequence_classification": ("AlbertForSequenceClassification", {"num_labels": 3}),
    "multiple_choice": ("AlbertForMultipleChoice", {}),
    "token_classification": ("AlbertForTokenClassification", {"num_labels": 3}),
    "question_answering": ("AlbertForQuestionAnswering", {}),
}
KEYS = ("last_hidden_state", "pooler_output", "prediction_logits", "sop_logits", "logits", "start_logits",
        "end_logits")
TOL = 1e-5


def inputs(head: str) -> dict:
    rng = np.random.default_rng(7)
    shape = (2, 3, 9) if head == "multiple_choice" else (2, 9)
    ids = rng.integers(5, CONFIG["vocab_size"], size=shape).astype(np.int32)
    mask = np.ones(shape, np.int32)
    ids[1, ..., 6:] = 0
    mask[1, ..., 6:] = 0
    types = np.zeros(shape, np.int32)
    types[..., 4:6] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def save_ours(out: str) -> None:
    import tf_albert

    rng = np.random.default_rng(11)
    for head, (cls_name, extra) in HEADS.items():
        model = getattr(tf_albert, cls_name)(tf_albert.AlbertConfig(**CONFIG, **extra))
        model.build()
        for variable in model.weights:  # non-trivial values everywhere, biases and LayerNorms included
            noise = rng.standard_normal(tuple(variable.shape)).astype(np.float32)
            gamma = variable.path.endswith("gamma")
            variable.assign(1.0 + 0.2 * noise if gamma else 0.3 * noise)
        model.save_pretrained(os.path.join(out, head))
        result = model(**inputs(head))
        np.savez(os.path.join(out, f"{head}.npz"), **{k: np.asarray(result[k]) for k in KEYS if k in result})
    print(f"saved {len(HEADS)} heads with tf_albert {tf_albert.__version__} into {out}: "
          f"{sorted(os.listdir(os.path.join(out, 'pretraining')))}")


def _report(label: str, info: dict, got: dict, want) -> bool:
    bad = {k: info.get(k) for k in ("missing_keys", "unexpected_keys", "mismatched_keys") if info.get(k)}
    diff = max(float(np.max(np.abs(np.asarray(got[k], np.float64) - want[k]))) for k in want.files)
    ok = not bad and diff <= TOL
    print(f"  {label:<62} max-abs-diff {diff:.2e}  {'ok' if ok else 'FAIL'}{'' if not bad else ' ' + str(bad)}")
    return ok


def _pick(result) -> dict:
    return {k: (v.detach().numpy() if hasattr(v, "detach") else np.asarray(v))
            for k in KEYS if (v := getattr(result, k, None)) is not None}


def check_torch(out: str) -> bool:
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    ok = True
    print(f"transformers {transformers.__version__} (PyTorch {torch.__version__}) loading our folders:")
    for head, (cls_name, _) in HEADS.items():
        model, info = getattr(transformers, cls_name).from_pretrained(os.path.join(out, head),
                                                                      output_loading_info=True)
        with torch.no_grad():
            result = model.eval()(**{k: torch.from_numpy(v.astype(np.int64)) for k, v in inputs(head).items()})
        ok &= _report(f"{cls_name}.from_pretrained (model.safetensors)", info, _pick(result),
                      np.load(os.path.join(out, f"{head}.npz")))
    return ok


def check_tf(out: str) -> bool:
    import tensorflow as tf
    import transformers

    transformers.logging.set_verbosity_error()
    ok = True
    print(f"transformers {transformers.__version__} (TensorFlow {tf.__version__}, tf-keras) loading our folders:")
    for head, (cls_name, _) in HEADS.items():
        for use_safetensors, what in ((False, "tf_model.h5"), (None, "default: model.safetensors")):
            try:
                model, info = getattr(transformers, "TF" + cls_name).from_pretrained(
                    os.path.join(out, head), use_safetensors=use_safetensors, output_loading_info=True)
            except TypeError as e:
                # transformers 4.57 with safetensors >= 0.8 cannot read any PyTorch safetensors into TF (HF's
                # own files included): its loader iterates a `safe_open` object, which is no longer iterable.
                if "safe_open" not in str(e):
                    raise
                print(f"  TF{cls_name}.from_pretrained ({what}): skipped, transformers' own bug here: {e}")
                continue
            result = model({k: tf.constant(v) for k, v in inputs(head).items()}, training=False)
            ok &= _report(f"TF{cls_name}.from_pretrained ({what})", info, _pick(result),
                          np.load(os.path.join(out, f"{head}.npz")))
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", choices=("save", "torch", "tf"), help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--keep", help="save into this folder (kept) instead of a temporary one")
    parser.add_argument("--ours", default="/work/venv/bin/python", help="Python with tf_albert installed")
    parser.add_argument("--v4", default="/work/venv-hf4/bin/python", help="Python with transformers 4 + tf-keras")
    parser.add_argument("--v5", default="/work/venv-hf5/bin/python", help="Python with transformers 5 + torch")
    args = parser.parse_args(argv)
    if args.stage == "save":
        save_ours(args.dir)
        return 0
    if args.stage == "torch":
        return 0 if check_torch(args.dir) else 1
    if args.stage == "tf":
        return 0 if check_tf(args.dir) else 1

    def run(python, stage, folder, **env):
        environ = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT, **env}
        done = subprocess.run([python, os.path.abspath(__file__), "--stage", stage, "--dir", folder], env=environ,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        print(done.stdout, end="")
        if done.returncode:
            print(done.stderr[-3000:], file=sys.stderr)
        return done.returncode == 0

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or tmp
        os.makedirs(folder, exist_ok=True)
        if not run(args.ours, "save", folder):
            return 1
        results = [run(args.v4, "tf", folder, TF_USE_LEGACY_KERAS="1"), run(args.v4, "torch", folder),
                   run(args.v5, "torch", folder)]
    print("ALL OK" if all(results) else "FAILURES above")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
