"""Loading a `TensorSource` into a built model, and the report of what matched.

Every checkpoint tensor ends up in exactly one list of the `LoadingInfo`:

* loaded into the model's variable of the same HF name;
* `unexpected_keys`: a weight this model has no place for (a pretraining head loaded into a backbone, another
  task's head), never silently dropped: warned about, an error with `strict=True`;
* `ignored_keys`: copies and non-weights skipped by design (the tied MLM decoder, buffers, optimizer state,
  the pooler of heads that have none, as HF does).

Model variables the checkpoint does not provide are `missing_keys`: they keep their fresh initialisation (a new
task head on a backbone checkpoint). A tensor whose shape differs from the model's (say a classifier trained
with another `num_labels`) is an error naming file and tensor, unless `ignore_mismatched_sizes=True`, which
initialises it anew and lists it in `mismatched_keys`. Nothing is assigned until every check has passed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tf_albert.checkpoints.naming import hf_weight_map
from tf_albert.checkpoints.tensors import Entry, TensorSource, check_float, read_entry

logger = logging.getLogger("tf_albert")
_LIST_LIMIT = 60
_HEAD_PREFIXES = ("classifier.", "qa_outputs.", "sop_classifier.")


@dataclass
class LoadingInfo:
    """What `from_pretrained` loaded: see the module docstring for the meaning of each list (HF names)."""

    model_class: str
    source: str
    format: str
    missing_keys: list = field(default_factory=list)
    unexpected_keys: list = field(default_factory=list)
    mismatched_keys: list = field(default_factory=list)  # (name, checkpoint shape, model shape)
    ignored_keys: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    loaded: int = 0

    @property
    def clean(self) -> bool:
        """True when every model weight came from the checkpoint and every checkpoint weight was used."""
        return not (self.missing_keys or self.unexpected_keys or self.mismatched_keys)

    def to_dict(self) -> dict:
        """HF's `output_loading_info` keys, plus ours."""
        return {"missing_keys": list(self.missing_keys), "unexpected_keys": list(self.unexpected_keys),
                "mismatched_keys": list(self.mismatched_keys), "ignored_keys": list(self.ignored_keys),
                "notes": list(self.notes), "error_msgs": []}

    def __str__(self) -> str:
        lines = [f"{self.model_class} from {self.source} ({self.format}): {self.loaded} weights match"]
        if self.missing_keys:
            lines.append(f"newly initialised (not in the checkpoint; train them before use): "
                         f"{_listing(self.missing_keys)}")
        if self.mismatched_keys:
            items = [f"{n} (checkpoint {c}, model {m})" for n, c, m in self.mismatched_keys]
            lines.append(f"newly initialised because the shapes differ: {_listing(items)}")
        if self.unexpected_keys:
            lines.append(f"in the checkpoint but not used by {self.model_class}: {_listing(self.unexpected_keys)}")
        lines += self.notes
        return "\n  ".join(lines)


def _listing(names) -> str:
    names = list(names)
    shown = ", ".join(map(str, names[:_LIST_LIMIT]))
    more = f" ... and {len(names) - _LIST_LIMIT} more (see model.loading_info)" if len(names) > _LIST_LIMIT else ""
    return f"{len(names)}: {shown}{more}"


def _same(a: Entry, b: Entry) -> bool:
    x, y = read_entry(a), read_entry(b)
    return x.shape == y.shape and np.array_equal(np.asarray(x, np.float32), np.asarray(y, np.float32))


def _resolve_tied(source: TensorSource, info: LoadingInfo, has_mlm: bool) -> None:
    """The MLM decoder is tied to the word embeddings (weight) and to `predictions.bias` (bias)."""
    entries = source.entries
    if "predictions.decoder.weight" in entries:
        emb = "albert.embeddings.word_embeddings.weight"
        if emb in entries and _same(entries["predictions.decoder.weight"], entries[emb]):
            info.ignored_keys.append("predictions.decoder.weight")
            del entries["predictions.decoder.weight"]
        elif has_mlm:
            info.notes.append("predictions.decoder.weight differs from the word embeddings; tf_albert ties the "
                              "decoder to the word embeddings, so it is not used")
    if "predictions.decoder.bias" in entries:
        decoder = entries.pop("predictions.decoder.bias")
        if "predictions.bias" not in entries:
            entries["predictions.bias"] = decoder
        elif _same(decoder, entries["predictions.bias"]):
            info.ignored_keys.append("predictions.decoder.bias")
        else:
            # The decoder bias is the one the original forward pass added (v4 TF keeps two biases).
            entries["predictions.bias"] = decoder
            info.ignored_keys.append("predictions.bias")
            if has_mlm:
                info.notes.append("predictions.bias and predictions.decoder.bias differ; loaded the decoder bias, "
                                  "the one the original model's forward pass used")


def load_weights(model, source: TensorSource, *, strict: bool = False, ignore_mismatched_sizes: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> LoadingInfo:
    """Assigns the source's tensors to the model's variables; returns the `LoadingInfo` (see module docstring)."""
    targets = hf_weight_map(model)
    cls = type(model).__name__
    info = LoadingInfo(cls, source.path, source.format, notes=list(source.notes))
    info.ignored_keys += sorted(source.ignored)
    _resolve_tied(source, info, has_mlm="predictions.bias" in targets)
    has_pooler = any(n.startswith("albert.pooler.") for n in targets)
    matched = []
    for name in sorted(source.entries):
        entry = source.entries[name]
        if name not in targets:
            if name.startswith("albert.pooler.") and not has_pooler:
                info.ignored_keys.append(name)  # this head has no pooler, as in HF
            else:
                info.unexpected_keys.append(name)
            continue
        variable, transpose = targets[name]
        want = tuple(variable.shape)[::-1] if transpose else tuple(variable.shape)
        if tuple(entry.shape) != want:
            info.mismatched_keys.append((name, tuple(entry.shape), want))
            continue
        check_float(entry)
        matched.append(name)
    info.missing_keys = sorted(set(targets) - set(matched) - {n for n, _, _ in info.mismatched_keys})
    info.loaded = len(matched)
    if info.mismatched_keys and not ignore_mismatched_sizes:
        raise ValueError(_mismatch_message(cls, source, info.mismatched_keys))
    if strict and not info.clean:
        raise ValueError(f"strict loading failed:\n  {info}")
    non_finite = []
    for i, name in enumerate(matched):
        variable, transpose = targets[name]
        value = source.read(name)
        value = value.T if transpose else value
        if not np.all(np.isfinite(value)):
            non_finite.append(name)
        variable.assign(np.asarray(value, dtype=variable.dtype))
        if progress is not None:
            progress(i + 1, len(matched))
    if non_finite:
        info.notes.append(f"NaN or infinite values in {_listing(non_finite)} (was the checkpoint saved after "
                          "training diverged?)")
    return info


def _mismatch_message(cls: str, source: TensorSource, mismatched) -> str:
    lines = [f"{len(mismatched)} checkpoint tensor(s) do not fit {cls}:"]
    for name, got, want in mismatched:
        lines.append(f"  {source.entries[name].where()} -> {name}: checkpoint shape {got}, model expects {want}")
    heads = [n for n, _, _ in mismatched if n.startswith(_HEAD_PREFIXES)]
    if heads:
        lines.append("The task head was trained with a different number of outputs than this config's "
                     "num_labels. Pass ignore_mismatched_sizes=True to start the head fresh, or the checkpoint's "
                     "num_labels.")
    else:
        lines.append("The config does not describe this checkpoint. Pass ignore_mismatched_sizes=True to "
                     "initialise these weights anew.")
    return "\n".join(lines)


def report(info: LoadingInfo) -> None:
    """Logs the LoadingInfo as a warning when anything was not loaded one-to-one."""
    if not info.clean or info.notes:
        logger.warning("%s", info)
    else:
        logger.info("%s", info)
