"""Generate the HF-transformers parity fixtures in ``tests/fixtures/parity/``.

Builds two tiny ALBERT configurations with the reference implementation (HF transformers v5, PyTorch CPU),
overwrites every parameter with seeded random values of a realistic scale, and writes, per configuration:

* ``config.json``   the base ``AlbertConfig`` as HF serialises it (a valid HF ``config.json``);
* ``backbone.npz``  every ``albert.*`` tensor plus the MLM head ``predictions.*`` (no tied duplicates);
* ``<head>.npz``    the head's own weights (``w/``), its inputs (``in/``), its outputs (``out/``) and
  the extra config kwargs of the head (``head_config``, a JSON string).

See ``tests/fixtures/parity/README.md`` for the exact format. The script is deterministic (fixed seeds, one
torch thread, zip entries with a fixed timestamp) and idempotent: a second run rewrites byte-identical files.
Every file is written to a temporary name in the same folder and then renamed into place.

Usage::

    /work/venv-hf5/bin/python tools/make_parity_fixtures.py            # (re)generate
    /work/venv-hf5/bin/python tools/make_parity_fixtures.py --check    # rebuild from the files, compare
    /work/venv-hf4/bin/python tools/make_parity_fixtures.py --check    # same, against transformers v4

``--check`` loads the written weights by name into fresh HF models of the running transformers version, reruns
every head on the stored inputs and prints the max-abs-diff per output, so it also compares v4 with v5.
This file is a tool: the package never imports it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

import transformers
from transformers import (
    AlbertConfig,
    AlbertForMaskedLM,
    AlbertForMultipleChoice,
    AlbertForPreTraining,
    AlbertForQuestionAnswering,
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
    AlbertModel,
)

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "parity"

# ----------------------------------------------------------------------------------------------------
# Configurations
# ----------------------------------------------------------------------------------------------------
_COMMON = dict(
    vocab_size=64,
    embedding_size=8,
    hidden_size=16,
    num_attention_heads=2,
    intermediate_size=24,
    max_position_embeddings=16,
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    classifier_dropout_prob=0.1,
)
CONFIGS = {
    "shared": dict(
        _COMMON,
        num_hidden_layers=3,
        num_hidden_groups=1,
        inner_group_num=1,
        hidden_act="gelu_new",
        type_vocab_size=2,
        layer_norm_eps=1e-12,
    ),
    "grouped": dict(
        _COMMON,
        num_hidden_layers=4,
        num_hidden_groups=2,
        inner_group_num=2,
        hidden_act="gelu",
        type_vocab_size=3,
        layer_norm_eps=1e-5,
    ),
}
SEEDS = {"shared": 1234, "grouped": 5678}

# head name -> (HF class, extra config kwargs)
HEADS = {
    "model": (AlbertModel, {}),
    "pretraining": (AlbertForPreTraining, {}),
    "masked_lm": (AlbertForMaskedLM, {}),
    "seqcls_single": (AlbertForSequenceClassification, {"num_labels": 3}),
    "seqcls_regression": (AlbertForSequenceClassification, {"num_labels": 1}),
    "seqcls_multilabel": (
        AlbertForSequenceClassification,
        {"num_labels": 3, "problem_type": "multi_label_classification"},
    ),
    "multiple_choice": (AlbertForMultipleChoice, {}),
    "token_classification": (AlbertForTokenClassification, {"num_labels": 5}),
    "question_answering": (AlbertForQuestionAnswering, {}),
}

BATCH, SEQ, CHOICES = 2, 9, 3
SHARED_PREFIXES = ("albert.", "predictions.")
# Tied duplicates in HF (v4 and v5): decoder.weight IS albert.embeddings.word_embeddings.weight and
# decoder.bias IS predictions.bias. They are not stored separately.
TIED = {
    "predictions.decoder.weight": "albert.embeddings.word_embeddings.weight",
    "predictions.decoder.bias": "predictions.bias",
}


def make_config(name: str, head_kwargs: dict | None = None) -> AlbertConfig:
    kwargs = dict(CONFIGS[name], **(head_kwargs or {}))
    # attentions are only returned by eager attention
    return AlbertConfig(**kwargs, attn_implementation="eager")


def build(cls, config: AlbertConfig) -> nn.Module:
    model = cls(config)
    model.config._attn_implementation = "eager"
    return model.eval()


# ----------------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------------
def _layernorm_param_names(model: nn.Module) -> set[str]:
    names = set()
    for mod_name, mod in model.named_modules():
        if isinstance(mod, nn.LayerNorm):
            names.add(f"{mod_name}.weight")
            names.add(f"{mod_name}.bias")
    return names


@torch.no_grad()
def randomize(model: nn.Module, rng: np.random.Generator, keep=lambda name: False) -> list[str]:
    """Overwrite every parameter not kept with seeded random values, in place (ties survive)."""
    ln = _layernorm_param_names(model)
    done = []
    for name, param in model.named_parameters():  # tied parameters are listed once
        if keep(name):
            continue
        noise = rng.standard_normal(tuple(param.shape)).astype(np.float32)
        if name in ln and name.endswith(".weight"):
            value = 1.0 + 0.2 * noise
        elif name in ln:
            value = 0.2 * noise
        else:
            value = 0.3 * noise
        param.copy_(torch.from_numpy(value))
        done.append(name)
    return done


def check_ties(model: nn.Module) -> None:
    if not hasattr(model, "predictions"):
        return
    emb = model.albert.embeddings.word_embeddings.weight
    assert model.predictions.decoder.weight is emb, "MLM decoder not tied to the word embeddings"
    assert model.predictions.decoder.bias is model.predictions.bias, "decoder.bias is not predictions.bias"


def model_key(model: nn.Module, name: str) -> str:
    """Map a fixture name (``albert.*``) to the model's own state-dict name.

    ``AlbertModel`` *is* the backbone, so its names have no ``albert.`` prefix
    (``embeddings.word_embeddings.weight``); every task model holds it as ``self.albert``.
    """
    if isinstance(model, AlbertModel) and name.startswith("albert."):
        return name[len("albert."):]
    return name


def fixture_key(model: nn.Module, name: str) -> str:
    """Inverse of :func:`model_key`."""
    if isinstance(model, AlbertModel):
        return "albert." + name
    return name


def head_seed(config_name: str, head: str) -> int:
    return SEEDS[config_name] + zlib.crc32(f"{config_name}/{head}".encode()) % 100_000


# ----------------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------------
def _row(rng, n_real: int, first_segment: int, vocab: int):
    ids = np.zeros(SEQ, np.int32)
    ids[:n_real] = rng.integers(5, vocab, size=n_real)
    mask = np.zeros(SEQ, np.int32)
    mask[:n_real] = 1
    types = np.zeros(SEQ, np.int32)
    types[first_segment:n_real] = 1
    return ids, mask, types


def make_inputs(config_name: str) -> dict[str, dict[str, np.ndarray]]:
    cfg = CONFIGS[config_name]
    vocab = cfg["vocab_size"]
    rng = np.random.default_rng(SEEDS[config_name] + 1)

    # [2, 9]: row 0 full, row 1 with 3 pads at the end.
    rows = [_row(rng, 9, 4, vocab), _row(rng, 6, 3, vocab)]
    base = {
        "input_ids": np.stack([r[0] for r in rows]),
        "attention_mask": np.stack([r[1] for r in rows]),
        "token_type_ids": np.stack([r[2] for r in rows]),
    }
    real = base["attention_mask"].astype(bool)

    # MLM labels: -100 everywhere but 3 real positions per row.
    mlm = np.full((BATCH, SEQ), -100, np.int32)
    mlm[0, [1, 4, 7]] = rng.integers(0, vocab, size=3)
    mlm[1, [0, 2, 5]] = rng.integers(0, vocab, size=3)

    # Token classification labels: 5 classes, -100 on pads and on one real position.
    tok = rng.integers(0, 5, size=(BATCH, SEQ)).astype(np.int32)
    tok[~real] = -100
    tok[0, 2] = -100

    # Multiple choice: [2, 3, 9], different padding per choice.
    n_real = [[9, 7, 5], [8, 9, 6]]
    mc = {"input_ids": [], "attention_mask": [], "token_type_ids": []}
    for b in range(BATCH):
        choice_rows = [_row(rng, n, n // 2, vocab) for n in n_real[b]]
        for k, key in enumerate(("input_ids", "attention_mask", "token_type_ids")):
            mc[key].append(np.stack([r[k] for r in choice_rows]))
    mc = {k: np.stack(v) for k, v in mc.items()}
    mc["labels"] = np.array([2, 0], np.int32)

    # Explicit position ids (reversed, reaching the top row of the table) and non-zero token types.
    n_types = cfg["type_vocab_size"]
    posids = dict(base)
    posids["position_ids"] = np.stack(
        [np.arange(15, 15 - SEQ, -1), np.arange(SEQ - 1, -1, -1)]
    ).astype(np.int32)
    posids["token_type_ids"] = (
        rng.integers(1, n_types, size=(BATCH, SEQ)) * base["attention_mask"]
    ).astype(np.int32)
    posids["token_type_ids"][0, 0] = 0

    return {
        "model": dict(base),
        "pretraining": dict(base, labels=mlm, sentence_order_label=np.array([1, 0], np.int32)),
        "masked_lm": dict(base, labels=mlm),
        "seqcls_single": dict(base, labels=np.array([2, 0], np.int32)),
        "seqcls_regression": dict(base, labels=np.array([0.7, -1.3], np.float32)),
        "seqcls_multilabel": dict(base, labels=np.array([[1, 0, 1], [0, 1, 1]], np.float32)),
        "multiple_choice": mc,
        "token_classification": dict(base, labels=tok),
        "question_answering": dict(
            base,
            start_positions=np.array([3, 40], np.int32),  # 40 > seq: clamped to 9 == ignore_index
            end_positions=np.array([5, 2], np.int32),
        ),
        "_posids": posids,
    }


# ----------------------------------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------------------------------
def to_torch(inputs: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in inputs.items():
        t = torch.from_numpy(np.asarray(v))
        out[k] = t.long() if np.issubdtype(v.dtype, np.integer) else t.float()
    return out


@torch.no_grad()
def run(model: nn.Module, inputs: dict[str, np.ndarray], output_attentions: bool = True) -> dict[str, np.ndarray]:
    result = model(**to_torch(inputs), output_hidden_states=True, output_attentions=output_attentions,
                   return_dict=True)
    out = {}
    for key, value in result.items():
        if value is None:
            continue
        if isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                out[f"{key}/{i}"] = v.detach().float().numpy()
        else:
            out[key] = value.detach().float().numpy()
    return out


def head_own_params(model: nn.Module) -> dict[str, np.ndarray]:
    return {
        name: p.detach().numpy().astype(np.float32).copy()
        for name, p in model.named_parameters()
        if not fixture_key(model, name).startswith(SHARED_PREFIXES)
    }


# ----------------------------------------------------------------------------------------------------
# Writing (deterministic bytes, temp file then rename)
# ----------------------------------------------------------------------------------------------------
def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like np.savez_compressed, but with fixed zip timestamps so identical arrays give identical bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            arr = np.asarray(arrays[key])
            if arr.dtype == np.float64:
                raise TypeError(f"{path.name}:{key} is float64; fixtures are float32")
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.array(arr, order="C"), allow_pickle=False)  # keeps 0-d
            zf.writestr(info, npy.getvalue())
    _atomic_write(path, buf.getvalue())


# ----------------------------------------------------------------------------------------------------
# Generate
# ----------------------------------------------------------------------------------------------------
# Hidden states and attentions are the same for every head on the same inputs, so only these heads' files
# hold them (multiple choice runs on its own [batch, choices, seq] inputs); the others take model.npz's.
STATES_STORED_IN = ("model", "multiple_choice")
STATE_PREFIXES = ("out/hidden_states/", "out/attentions/")


def generate(config_name: str) -> None:
    out_dir = OUT_DIR / config_name
    base_config = make_config(config_name)
    inputs = make_inputs(config_name)

    # The pretraining model owns the backbone, the MLM head and the SOP head.
    pre = build(AlbertForPreTraining, base_config)
    check_ties(pre)
    randomize(pre, np.random.default_rng(SEEDS[config_name]))
    check_ties(pre)
    shared_sd = {k: v.detach().clone() for k, v in pre.state_dict().items() if k.startswith(SHARED_PREFIXES)}

    backbone = {k: v.numpy().astype(np.float32) for k, v in shared_sd.items() if k not in TIED}
    assert np.array_equal(shared_sd["predictions.decoder.bias"].numpy(), backbone["predictions.bias"])
    save_npz(out_dir / "backbone.npz", backbone)
    _atomic_write(out_dir / "config.json", base_config.to_json_string(use_diff=False).encode())

    reference_hidden = None  # every head on the same inputs must see the same backbone states
    for head, (cls, head_kwargs) in HEADS.items():
        if head == "pretraining":
            model = pre
        else:
            model = build(cls, make_config(config_name, head_kwargs))
            own = model.state_dict()
            load = {model_key(model, k): v for k, v in shared_sd.items() if model_key(model, k) in own}
            missing, unexpected = model.load_state_dict(load, strict=False)
            assert not unexpected, unexpected
            assert all(not fixture_key(model, m).startswith(SHARED_PREFIXES) for m in missing), missing
            assert not (cls is AlbertModel and missing), missing
            randomize(model, np.random.default_rng(head_seed(config_name, head)),
                      keep=lambda n: fixture_key(model, n).startswith(SHARED_PREFIXES))
            check_ties(model)
            # The whole shared part must be the pretraining model's.
            for k, v in model.state_dict().items():
                if fixture_key(model, k).startswith(SHARED_PREFIXES):
                    assert torch.equal(v, shared_sd[fixture_key(model, k)]), k
        model.eval()

        arrays = {f"w/{k}": v for k, v in head_own_params(model).items()}
        arrays.update({f"in/{k}": v for k, v in inputs[head].items()})
        arrays.update({f"out/{k}": v for k, v in run(model, inputs[head]).items()})
        if head == "model":
            posids = inputs["_posids"]
            arrays.update({f"posids/{k}": v for k, v in posids.items()})
            pos_out = run(model, posids)
            arrays["posids/last_hidden_state"] = pos_out["last_hidden_state"]
            arrays["posids/pooler_output"] = pos_out["pooler_output"]
        arrays["head_config"] = np.array(json.dumps(head_kwargs, sort_keys=True))
        states = {k: v for k, v in arrays.items() if k.startswith(STATE_PREFIXES)}
        if head != "multiple_choice":
            if reference_hidden is None:
                reference_hidden = states
            assert states.keys() == reference_hidden.keys(), head
            for k in states:
                assert np.array_equal(states[k], reference_hidden[k]), f"{head}: {k} differs from the model's"
        for k, v in arrays.items():
            if k.startswith("out/") and v.dtype.kind == "f":
                assert np.isfinite(v).all(), f"{config_name}/{head}: {k} not finite"
        n_h = sum(k.startswith("out/hidden_states/") for k in arrays)
        n_a = sum(k.startswith("out/attentions/") for k in arrays)
        if head not in STATES_STORED_IN:
            # Identical to model.npz's (asserted above): stored once, to keep the fixtures small.
            arrays = {k: v for k, v in arrays.items() if not k.startswith(STATE_PREFIXES)}
        save_npz(out_dir / f"{head}.npz", arrays)

        loss = float(arrays["out/loss"]) if "out/loss" in arrays else None
        print(f"{config_name:8s} {head:21s} hidden_states={n_h} attentions={n_a} loss={loss}")


# ----------------------------------------------------------------------------------------------------
# Check: rebuild from the files with the running transformers version and compare
# ----------------------------------------------------------------------------------------------------
def load_fixture_model(config_name: str, head: str, attn_implementation: str = "eager"):
    """A fresh HF model of the running transformers version with `head`'s fixture weights, and that head's
    file (inputs and outputs)."""
    out_dir = OUT_DIR / config_name
    base_dict = json.loads((out_dir / "config.json").read_text())
    backbone = dict(np.load(out_dir / "backbone.npz"))
    cls = HEADS[head][0]
    data = np.load(out_dir / f"{head}.npz")
    head_kwargs = json.loads(str(data["head_config"]))
    config_dict = {k: v for k, v in base_dict.items() if k not in ("transformers_version", "dtype")}
    config_dict.update(head_kwargs)
    if "num_labels" in head_kwargs:
        config_dict.pop("id2label", None)
        config_dict.pop("label2id", None)
    config = AlbertConfig(**config_dict, attn_implementation=attn_implementation)
    model = cls(config).eval()
    model.config._attn_implementation = attn_implementation
    sd = {k: torch.from_numpy(v) for k, v in backbone.items()}
    sd.update({k[2:]: torch.from_numpy(data[k]) for k in data.files if k.startswith("w/")})
    own = model.state_dict()
    load = {model_key(model, k): v for k, v in sd.items() if model_key(model, k) in own}
    missing, unexpected = model.load_state_dict(load, strict=False)
    assert set(missing) <= set(TIED), f"{head}: missing {missing}"
    assert len(load) + len(missing) == len(own), f"{head}: not every parameter came from the files"
    check_ties(model)
    return model, data


def check(config_name: str) -> float:
    out_dir = OUT_DIR / config_name
    worst = 0.0
    for head in HEADS:
        model, data = load_fixture_model(config_name, head)
        config = model.config
        inputs = {k[3:]: data[k] for k in data.files if k.startswith("in/")}
        got = run(model, inputs)
        want = {k[4:]: data[k] for k in data.files if k.startswith("out/")}
        if head not in STATES_STORED_IN:
            shared = np.load(out_dir / "model.npz")
            want.update({k[4:]: shared[k] for k in shared.files if k.startswith(STATE_PREFIXES)})
        if head == "model":
            pos_in = {k[7:]: data[k] for k in data.files
                      if k.startswith("posids/") and k[7:] in ("input_ids", "attention_mask",
                                                              "token_type_ids", "position_ids")}
            pos_out = run(model, pos_in)
            got["posids/last_hidden_state"] = pos_out["last_hidden_state"]
            got["posids/pooler_output"] = pos_out["pooler_output"]
            want["posids/last_hidden_state"] = data["posids/last_hidden_state"]
            want["posids/pooler_output"] = data["posids/pooler_output"]
        notes = []
        n_h_got = sum(k.startswith("hidden_states/") for k in got)
        n_h_want = sum(k.startswith("hidden_states/") for k in want)
        if n_h_got != n_h_want:
            # transformers v4 returns one hidden state per (outer) layer; v5 one per inner layer call.
            inner = config.inner_group_num
            if n_h_want == (n_h_got - 1) * inner + 1:
                notes.append(f"hidden_states: {n_h_got} here vs {n_h_want} in the file; comparing here[i] "
                             f"with file[i * {inner}]")
                want = {k: v for k, v in want.items() if not k.startswith("hidden_states/")} | {
                    f"hidden_states/{i}": data[f"out/hidden_states/{i * inner}"] for i in range(n_h_got)}
        if set(got) != set(want):
            notes.append(f"keys only in file: {sorted(set(want) - set(got))}; "
                         f"only in this run: {sorted(set(got) - set(want))}")
        diffs = {}
        for k in sorted(set(got) & set(want)):
            if got[k].shape != want[k].shape:
                notes.append(f"{k}: shape {got[k].shape} vs file {want[k].shape}")
                continue
            diffs[k] = float(np.max(np.abs(got[k] - want[k]))) if got[k].size else 0.0
        m = max(diffs.values()) if diffs else float("nan")
        worst = max(worst, m)
        print(f"{config_name:8s} {head:21s} max-abs-diff={m:.3g} hidden_states {n_h_got} (file {n_h_want})")
        for n in notes:
            print(f"    NOTE {n}")
    return worst


# ----------------------------------------------------------------------------------------------------
# HF's own SDPA attention on the same weights and inputs (tests/model/test_attention.py)
# ----------------------------------------------------------------------------------------------------
def generate_sdpa(config_name: str) -> None:
    """`C/hf_sdpa.npz`: every head's outputs (hidden states included, no attentions) from HF's
    `attn_implementation="sdpa"` in float32 (`fp32/<head>/<key>`) and with the model in bfloat16
    (`bf16/<head>/<key>`, stored as float32), on the inputs of `<head>.npz`."""
    arrays = {}
    for head in HEADS:
        model, data = load_fixture_model(config_name, head, attn_implementation="sdpa")
        inputs = {k[3:]: data[k] for k in data.files if k.startswith("in/")}
        with torch.no_grad():
            for key, value in run(model, inputs, output_attentions=False).items():
                arrays[f"fp32/{head}/{key}"] = value
            for key, value in run(model.to(torch.bfloat16), inputs, output_attentions=False).items():
                arrays[f"bf16/{head}/{key}"] = value
    save_npz(OUT_DIR / config_name / "hf_sdpa.npz", arrays)
    print(f"{config_name:8s} hf_sdpa.npz: {len(arrays)} arrays")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="rebuild the models from the written files and compare outputs")
    parser.add_argument("--sdpa", action="store_true",
                        help="only (re)write C/hf_sdpa.npz: HF's sdpa outputs, fp32 and bf16, from the files")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    if args.sdpa:
        for name in CONFIGS:
            generate_sdpa(name)
        return 0
    if args.check:
        worst = max(check(name) for name in CONFIGS)
        print(f"worst max-abs-diff: {worst:.3g}")
        return 0
    if int(transformers.__version__.split(".")[0]) < 5:
        print("generate with transformers v5 (the reference); v4 is only for --check", file=sys.stderr)
        return 2
    for name in CONFIGS:
        generate(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
