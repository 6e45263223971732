"""What every pipeline shares: finding the model and tokenizer, device and dtype, and the batched forward pass.

A pipeline turns Python inputs into *features* (token ids of one model row each; a long question-answering
context gives several), runs the model on batches of features and turns the outputs back into HF-shaped
results. The forward pass sorts the features by length, pads each to one of the lengths of the shape policy
(`tf_albert.utils.shapes.lengths_for`: multiples of `pad_to_multiple_of` (8); with XLA the few lengths of its
ladder, 8, 16, 24, 32, 48, 64, 96, 128, ...), splits each length's rows into batches of at most `batch_size` and
runs one compiled function per distinct batch shape; the results come back in input order.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import keras
import numpy as np

from tf_albert.checkpoints.resolve import resolve_path
from tf_albert.model.modeling import AlbertPreTrainedModel
from tf_albert.model.quantization import float_copy, quantization_mode
from tf_albert.pretrained import DEFAULT_MODEL
from tf_albert.tokenization.tokenizer import AlbertTokenizer
from tf_albert.utils import shapes

logger = logging.getLogger("tf_albert.pipelines")

#: dtype names accepted by `pipeline(dtype=...)` → the Keras dtype policy the model is built with.
DTYPE_POLICIES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "mixed_bfloat16",
    "bf16": "mixed_bfloat16",
    "mixed_bfloat16": "mixed_bfloat16",
    "float16": "mixed_float16",
    "fp16": "mixed_float16",
    "mixed_float16": "mixed_float16",
    # Keras int8 (`model.quantize("int8")`): weights and matmuls in int8; the forward pass runs with XLA
    # unless jit_compile=False is asked for (without XLA, Keras int8 is ~4x slower than float32 on a CPU).
    "int8": "int8",
}


# === Devices ===================================================================================================
def resolve_device(device) -> str | None:
    """The TF device name for `device`, or None for TensorFlow's own placement.

    Accepted: None; "cpu" / "cpu:0"; "gpu" / "gpu:N" / "cuda:N" / "/GPU:N" (an error when that GPU does not exist);
    an int as in HF's pipelines: -1 is the CPU, N >= 0 is GPU N — on a machine without any GPU this falls back to
    the CPU with a warning (so `--device 0` examples run anywhere), while a missing GPU N on a machine that has
    GPUs is an error. Strings of digits ("0", "-1") count as ints.
    """
    if device is None:
        return None
    if keras.backend.backend() != "tensorflow":
        raise ValueError(f"device={device!r} places the pipeline with TensorFlow, but Keras runs on the "
                         f"{keras.backend.backend()} backend: leave device=None (JAX and PyTorch run on their "
                         "default device; CUDA_VISIBLE_DEVICES chooses the GPU)")
    import tensorflow as tf

    if isinstance(device, bool) or not isinstance(device, (int, np.integer, str)):
        raise TypeError(f"device must be None, an int (-1 = CPU, N = GPU N) or a string like 'cpu' or 'gpu:0', "
                        f"got {type(device).__name__}: {device!r}")
    text = str(device).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if index < -1:
            raise ValueError(f"device {device!r}: an int device must be -1 (CPU) or a GPU index >= 0")
        if index == -1:
            return "/device:CPU:0"
        gpus = tf.config.list_logical_devices("GPU")
        if not gpus:
            logger.warning("device %s asks for GPU %d but TensorFlow sees no GPU on this machine; running on "
                           "the CPU", text, index)
            return "/device:CPU:0"
        return _existing("GPU", index, device, gpus)
    low = text.lower().removeprefix("/").removeprefix("device:")
    kind, _, number = low.partition(":")
    if kind == "cuda":
        kind = "gpu"
    if kind not in ("cpu", "gpu") or (number and not number.isdigit()):
        raise ValueError(f"device {device!r} is not understood; use 'cpu', 'gpu', 'gpu:N' or an int "
                         "(-1 = CPU, N = GPU N)")
    index = int(number or 0)
    return _existing(kind.upper(), index, device, tf.config.list_logical_devices(kind.upper()))


def _existing(kind: str, index: int, asked, devices) -> str:
    if index >= len(devices):
        seen = ", ".join(d.name for d in devices) or "none"
        raise ValueError(f"device {asked!r} does not exist: TensorFlow sees {len(devices)} {kind} device(s) "
                         f"({seen})")
    return f"/device:{kind}:{index}"


def resolve_dtype(dtype) -> str | None:
    """The Keras dtype policy name for `dtype` (None keeps the model's own)."""
    if dtype is None:
        return None
    name = getattr(dtype, "name", dtype)
    if not isinstance(name, str) or name.lower() not in DTYPE_POLICIES:
        raise ValueError(f"dtype must be one of {sorted(set(DTYPE_POLICIES))}, got {dtype!r}")
    return DTYPE_POLICIES[name.lower()]


# === Model and tokenizer =======================================================================================
def resolve_model_path(name) -> str:
    """A local path for `name` (`checkpoints.resolve`): an existing file/folder, a model shipped with the
    package, or a hub id as is (downloaded by `from_pretrained`)."""
    return resolve_path(name, download=False, what="model folder")


def load_tokenizer(tokenizer, model_path: str | None):
    """An AlbertTokenizer from an instance, a folder / spiece.model / hub id, or the model's own folder."""
    if tokenizer is not None and not isinstance(tokenizer, (str, os.PathLike)):
        needed = ("convert_ids_to_tokens", "decode", "mask_token_id", "cls_token_id", "sep_token_id")
        missing = [n for n in needed if not hasattr(tokenizer, n)]
        if missing:
            raise TypeError(f"tokenizer must be an AlbertTokenizer (or a folder / spiece.model path), got "
                            f"{type(tokenizer).__name__} which lacks {missing}")
        return tokenizer
    source = tokenizer if tokenizer is not None else model_path
    if source is None:
        raise ValueError("a built model needs tokenizer=...: an AlbertTokenizer, a folder holding spiece.model "
                         "or the path of a SentencePiece model")
    source = os.fspath(source)
    if os.path.isdir(source) and not any(os.path.isfile(os.path.join(source, f))
                                         for f in ("spiece.model", "30k-clean.model")):
        raise FileNotFoundError(f"{source} has no tokenizer (spiece.model); pass tokenizer=... (a folder or a "
                                "SentencePiece model file)")
    return AlbertTokenizer.from_pretrained(source)


def _with_dtype(model, policy: str):
    """`model` itself when it already computes in `policy`, else a copy of it built with that policy."""
    if policy == "int8":
        if quantization_mode(model) == "int8":
            return model
        # A copy (the caller's model is never quantized in place), from float weights (LoRA merged).
        copy = _copy_with_policy(float_copy(model), "float32")
        copy.quantize("int8")
        return copy
    if policy is None or model.dtype_policy.name == policy:
        return model
    return _copy_with_policy(model, policy)


def _copy_with_policy(model, policy: str):
    config = model.get_config()
    config["dtype"] = policy
    copy = type(model).from_config(config)
    copy.build()
    source = {v.path: v for v in (model if quantization_mode(model) else float_copy(model)).weights}  # LoRA merged
    for variable in copy.weights:
        if variable.path not in source:
            raise ValueError(f"cannot re-create {type(model).__name__} with dtype {policy}: it has no weight "
                             f"{variable.path}")
        variable.assign(source[variable.path])
    if hasattr(model, "loading_info"):
        copy.loading_info = model.loading_info
    return copy


# === Features and the forward pass =============================================================================
@dataclass
class Feature:
    """One model row: ids and segment ids, per-row integer model inputs (`extra`, e.g. `masked_lm_positions`)
    and what the task needs to read the outputs back (`meta`, e.g. character offsets)."""

    input_ids: list
    token_type_ids: list
    extra: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.input_ids)


def _next_power_of_two(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(n, 1))))


class Pipeline:
    """Base of the task pipelines: model + tokenizer, device, dtype, and the bucketed, compiled forward pass.

    Subclasses set `task`, `model_classes` (accepted heads; the first is loaded from a folder) and `extra_inputs`,
    and implement `_sanitize` (call parameters), `_prepare` (inputs → features), `_outputs` (model → tensors, run
    inside the compiled function) and `_postprocess` (outputs → results). Build them with `tf_albert.pipeline`.
    """

    task = ""
    model_classes: tuple = ()
    load_class = None  # the class loaded from a folder; model_classes[0] when None
    # Whether model=None means the embedded DEFAULT_MODEL: only for tasks whose head comes pretrained.
    default_model_usable = False
    extra_inputs: tuple = ()
    # Parameters of __call__ that may also be given to the constructor, with their defaults.
    defaults: dict = {}
    # Keyword arguments of __call__ that are inputs, not parameters (question-answering's question=, context=).
    input_kwargs: tuple = ()
    # The model outputs `_postprocess` reads: what the default `_outputs` returns.
    output_names: tuple = ()

    def __init__(self, model, tokenizer=None, *, device=None, dtype=None, batch_size: int = 32,
                 pad_to_multiple_of: int = 8, pad_to_length: int | None = None, jit_compile: bool | None = None,
                 **params):
        check_positive_int("batch_size", batch_size)
        check_positive_int("pad_to_multiple_of", pad_to_multiple_of)
        if pad_to_length is not None and not is_int(pad_to_length, 1):
            raise ValueError(f"pad_to_length must be None or a positive int, got {pad_to_length!r}")
        if jit_compile not in (None, True, False):
            raise ValueError(f"jit_compile must be None (auto: XLA on a GPU), True or False, got {jit_compile!r}")
        self.batch_size = int(batch_size)
        self.pad_to_multiple_of = int(pad_to_multiple_of)
        self.pad_to_length = None if pad_to_length is None else int(pad_to_length)
        self.device = resolve_device(device)
        self.dtype_policy = resolve_dtype(dtype)
        self.model, self.tokenizer = self._load(model, tokenizer)
        self.config = self.model.config
        if jit_compile is None:
            jit_compile = self._on_gpu() or quantization_mode(self.model) == "int8"
        self.jit_compile = bool(jit_compile)
        self.max_length = min(int(self.tokenizer.model_max_length), int(self.config.max_position_embeddings))
        if self.pad_to_length is not None and self.pad_to_length > self.config.max_position_embeddings:
            raise ValueError(f"pad_to_length {self.pad_to_length} exceeds max_position_embeddings "
                             f"{self.config.max_position_embeddings}")
        top_id = len(self.tokenizer) - 1
        if top_id >= self.config.vocab_size:
            raise ValueError(f"the tokenizer has ids up to {top_id} but the model's vocab_size is "
                             f"{self.config.vocab_size}: tokenizer and model do not belong together")
        self._params = self._sanitize(dict(self.defaults), params)
        self._function = None
        #: The (batch, length, ...) shapes the forward function has run with; with XLA each is one compilation.
        self.forward_shapes: set = set()

    # --- construction --------------------------------------------------------------------------------------
    def _load(self, model, tokenizer):
        if isinstance(model, AlbertPreTrainedModel):
            if not isinstance(model, self.model_classes):
                names = " or ".join(c.__name__ for c in self.model_classes)
                raise TypeError(f"the {self.task} pipeline needs {names}, got {type(model).__name__}")
            if not model.built:
                model.build()
            with self._device_scope():
                model = _with_dtype(model, self.dtype_policy)
            return model, load_tokenizer(tokenizer, None)
        if model is None and self.default_model_usable:
            model = DEFAULT_MODEL
        if model is None:
            raise ValueError(f"the {self.task} pipeline needs model=...: a model folder, a hub id or a built "
                             f"{(self.load_class or self.model_classes[0]).__name__} (the embedded "
                             f"{DEFAULT_MODEL!r} has no trained {self.task} head: fine-tune it first)")
        if not isinstance(model, (str, os.PathLike)):
            raise TypeError(f"model must be a folder, a hub id or an ALBERT model, got {type(model).__name__}: "
                            f"{model!r}")
        path = resolve_model_path(model)
        kwargs = {"dtype": self.dtype_policy} if self.dtype_policy else {}
        with self._device_scope():
            loaded = (self.load_class or self.model_classes[0]).from_pretrained(path, **kwargs)
        if tokenizer is None and not os.path.exists(path):
            tokenizer = path  # a hub id: its tokenizer files come from the same repository
        return loaded, load_tokenizer(tokenizer, path)

    def _device_scope(self):
        import contextlib

        if keras.backend.backend() != "tensorflow":
            return contextlib.nullcontext()  # JAX / PyTorch: the backend's default device
        import tensorflow as tf

        return tf.device(self.device) if self.device else contextlib.nullcontext()

    def _on_gpu(self) -> bool:
        if keras.backend.backend() != "tensorflow":
            return False  # JAX / PyTorch run the model eagerly here (see `_compiled`): no XLA switch to make
        import tensorflow as tf

        if self.device is not None:
            return "GPU" in self.device
        return bool(tf.config.list_logical_devices("GPU"))

    def __repr__(self):
        return (f"{type(self).__name__}(task={self.task!r}, model={type(self.model).__name__}, "
                f"device={self.device or 'default'}, dtype={self.model.dtype_policy.name}, "
                f"batch_size={self.batch_size}, jit_compile={self.jit_compile})")

    # --- task hooks ----------------------------------------------------------------------------------------
    def _sanitize(self, base: dict, params: dict) -> dict:
        """`base` updated with `params`, each checked; unknown names are a TypeError, and so is anything but
        True or False for a parameter whose default is a bool."""
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise TypeError(f"the {self.task} pipeline got unknown parameter(s) {unknown}; it takes "
                            f"{sorted(self.defaults)}")
        merged = {**base, **params}
        self._check_params(merged)
        for name, default in self.defaults.items():
            if isinstance(default, bool) and not isinstance(merged[name], bool):
                raise TypeError(f"{name} must be True or False, got {merged[name]!r}")
        return merged

    def _check_params(self, params: dict) -> None:
        pass

    def _normalize(self, args, kwargs) -> tuple[list, bool]:
        """(the list of items, whether the caller passed one item rather than a list); by default the call
        takes one text or a list of texts."""
        if len(args) != 1 or kwargs:
            raise TypeError(f"call the {self.task} pipeline with one text or a list of texts")
        return as_items(args[0], f"{self.task} input")

    def _prepare(self, items: list, params: dict) -> list:
        """Per item: a list of Features, or the exception (ValueError/TypeError) that makes the item invalid."""
        raise NotImplementedError

    def _encode_texts(self, items: list, params: dict):
        """Tokenize the items that are strings (cut to max_length when params["truncation"]).

        Returns (out, texts, encoded): `out` holds a TypeError at each item that is not a str and None
        elsewhere, `texts` maps an item's index to its text, `encoded` is the tokenizer's output for
        `texts.values()` (None when there is no text)."""
        out: list = [None] * len(items)
        texts = {}
        for i, item in enumerate(items):
            if isinstance(item, str):
                texts[i] = item
            else:
                out[i] = TypeError(f"an input must be a str, got {type(item).__name__}: {item!r:.80}")
        encoded = None
        if texts:
            kwargs = {"truncation": True, "max_length": self.max_length} if params["truncation"] else {}
            encoded = self.tokenizer(list(texts.values()), **kwargs)
        return out, texts, encoded

    def _outputs(self, model, inputs: dict) -> dict:
        """The outputs named in `output_names`; runs inside the compiled function."""
        out = self._call_model(model, inputs)
        return {k: out[k] for k in self.output_names}

    def _call_model(self, model, inputs: dict) -> dict:
        """The model's output dict for a batch: ids, mask, segment ids and the `extra_inputs`."""
        return model(inputs["input_ids"], attention_mask=inputs["attention_mask"],
                     token_type_ids=inputs["token_type_ids"], **{n: inputs[n] for n in self.extra_inputs})

    def _postprocess(self, item, features: list, outputs: list, params: dict):
        raise NotImplementedError

    def _finish(self, results: list, single: bool, params: dict):
        return results[0] if single else results

    # --- running -------------------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        call_params = {k: kwargs.pop(k) for k in list(kwargs) if k not in self.input_kwargs}
        items, single = self._normalize(args, kwargs)
        params = self._sanitize(self._params, call_params)
        results = []
        for index, result in self.run(items, params):
            if isinstance(result, Exception):
                if single:
                    raise result
                raise type(result)(f"input #{index}: {result}") from None
            results.append(result)
        return self._finish(results, single, params)

    def run(self, items: list, params: dict | None = None, progress=None):
        """Yields `(index, result)` for every item in input order; an invalid item yields its ValueError /
        TypeError instead of a result (the command line reports and skips those). `progress(done, total)` is
        called after every batch with counts of model rows."""
        params = self._params if params is None else params
        prepared = self._prepare(list(items), params)
        features, owners = [], []
        for index, entry in enumerate(prepared):
            if isinstance(entry, Exception):
                continue
            for feature in entry:
                features.append(feature)
                owners.append(index)
        outputs = self.forward(features, progress=progress)
        per_item: dict[int, list] = {}
        for index, out in zip(owners, outputs):
            per_item.setdefault(index, []).append(out)
        for index, entry in enumerate(prepared):
            if isinstance(entry, Exception):
                yield index, entry
            else:
                yield index, self._postprocess(items[index], entry, per_item.get(index, []), params)

    def forward(self, features: list, progress=None) -> list[dict]:
        """Model outputs for each feature (numpy, batch axis removed, not yet trimmed), in the given order."""
        if not features:
            return []
        results: list = [None] * len(features)
        done = 0
        for batch_indices, length in self._plan(features):
            batch = self._collate([features[i] for i in batch_indices], length)
            out = self._run_batch(batch)
            for row, i in enumerate(batch_indices):
                results[i] = {name: value[row] for name, value in out.items()}
            done += len(batch_indices)
            if progress is not None:
                progress(done, len(features))
        return results

    def _plan(self, features: list):
        """Batches of feature indices, shortest first, each with the length it is padded to."""
        lengths = [len(f) for f in features]
        if self.pad_to_length and max(lengths) > self.pad_to_length:
            raise ValueError(f"an input has {max(lengths)} tokens, more than pad_to_length={self.pad_to_length}")
        return shapes.sorted_batches(lengths, self.padded_lengths(), self.batch_size)

    def padded_lengths(self) -> tuple[int, ...]:
        """The lengths inputs are padded to: `pad_to_length`, else those of the shape policy."""
        if self.pad_to_length:
            return (self.pad_to_length,)
        return shapes.lengths_for(self.config.max_position_embeddings, compiled=self.jit_compile,
                                  multiple=self.pad_to_multiple_of)

    def _collate(self, features: list, length: int) -> dict:
        rows = len(features)
        # With XLA every batch shape is a compilation: round the batch up to a power of two (capped at batch_size)
        # so that a run compiles a handful of shapes, not one per leftover batch.
        padded_rows = shapes.padded_rows(rows, self.batch_size) if self.jit_compile else rows
        pad_id = self.tokenizer.pad_token_id
        ids = np.full((padded_rows, length), pad_id, np.int32)
        mask = np.zeros((padded_rows, length), np.int32)
        types = np.zeros((padded_rows, length), np.int32)
        for r, f in enumerate(features):
            n = len(f.input_ids)
            ids[r, :n] = f.input_ids
            mask[r, :n] = 1
            types[r, :n] = f.token_type_ids
        mask[rows:, 0] = 1  # filler rows attend to one token, like a real row (their outputs are dropped)
        batch = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        for name in self.extra_inputs:
            width = _next_power_of_two(max(len(f.extra[name]) for f in features))
            values = np.zeros((padded_rows, width), np.int32)
            for r, f in enumerate(features):
                values[r, :len(f.extra[name])] = f.extra[name]
            batch[name] = values
        return batch

    def _compiled(self):
        if self._function is None and keras.backend.backend() != "tensorflow":
            # JAX / PyTorch: the model's own (eager) call; `jit_compile` applies to TensorFlow only.
            names = ("input_ids", "attention_mask", "token_type_ids") + tuple(self.extra_inputs)

            def forward(*tensors):
                out = self._outputs(self.model, dict(zip(names, tensors)))
                return {k: keras.ops.cast(v, "float32") for k, v in out.items()}

            self._function = forward
        if self._function is None:
            import tensorflow as tf

            names = ("input_ids", "attention_mask", "token_type_ids") + tuple(self.extra_inputs)
            signature = [tf.TensorSpec([None, None], tf.int32, name=n) for n in names]
            model = self.model

            def forward(*tensors):
                with self._device_scope():
                    out = self._outputs(model, dict(zip(names, tensors)))
                    return {k: tf.cast(v, tf.float32) for k, v in out.items()}

            # One trace for every shape (the signature's dims are None); with jit_compile XLA compiles and caches
            # one executable per concrete bucket shape.
            self._function = tf.function(forward, input_signature=signature, jit_compile=self.jit_compile)
        return self._function

    def _run_batch(self, batch: dict) -> dict:
        names = ("input_ids", "attention_mask", "token_type_ids") + tuple(self.extra_inputs)
        self.forward_shapes.add(batch["input_ids"].shape + tuple(batch[n].shape[1] for n in self.extra_inputs))
        with self._device_scope():
            out = self._compiled()(*[batch[n] for n in names])
        return {k: keras.ops.convert_to_numpy(v) for k, v in out.items()}


# === Helpers shared by the tasks ===============================================================================
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.asarray(x, np.float64)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def is_int(value, minimum: int) -> bool:
    """Whether `value` is an int (numpy integers too, bools not) of at least `minimum`."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= minimum


def check_positive_int(name: str, value) -> None:
    """Raises ValueError unless `value` is an int >= 1 (see `is_int`)."""
    if not is_int(value, 1):
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def too_long(n: int, limit: int) -> ValueError:
    return ValueError(f"input has {n} tokens; the model takes at most {limit} (max_position_embeddings / "
                      "model_max_length): pass truncation=True to cut it")


def as_items(inputs, what: str) -> tuple[list, bool]:
    """([inputs], True) for one str, (list(inputs), False) for a list/tuple of them."""
    if isinstance(inputs, str):
        return [inputs], True
    if isinstance(inputs, (list, tuple)):
        return list(inputs), False
    if isinstance(inputs, Mapping):
        raise TypeError(f"{what} must be a str or a list of str, got a dict")
    raise TypeError(f"{what} must be a str or a list of str, got {type(inputs).__name__}: {inputs!r:.80}")
