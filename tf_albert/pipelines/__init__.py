"""Pipelines: text in, HF-shaped results out — fill-mask, text and token classification, question answering,
feature extraction.

>>> from tf_albert.pipelines import pipeline
>>> unmasker = pipeline("fill-mask", model="path/to/albert-base-v2")  # doctest: +SKIP
>>> unmasker("Plants create [MASK] through a process known as photosynthesis.")  # doctest: +SKIP
"""

from __future__ import annotations

import os

from tf_albert import tasks
from tf_albert.model.config import read_json_object
from tf_albert.pipelines.base import DTYPE_POLICIES, Pipeline, resolve_device, resolve_dtype, resolve_model_path
from tf_albert.pipelines.feature_extraction import FeatureExtractionPipeline
from tf_albert.pipelines.fill_mask import FillMaskPipeline
from tf_albert.pipelines.question_answering import QuestionAnsweringPipeline
from tf_albert.pipelines.text_classification import TextClassificationPipeline
from tf_albert.pipelines.token_classification import TokenClassificationPipeline

#: Task name (`tf_albert.tasks.PIPELINE_TASKS`) → pipeline class.
TASKS = {cls.task: cls for cls in (FillMaskPipeline, TextClassificationPipeline, TokenClassificationPipeline,
                                   QuestionAnsweringPipeline, FeatureExtractionPipeline)}
TASK_ALIASES = tasks.PIPELINE_ALIASES
check_task = tasks.pipeline_task


def task_from_model(model) -> str:
    """The task a model folder or built model is for, from its class / config.json `architectures`."""
    if isinstance(model, (str, os.PathLike)):
        config_file = os.path.join(resolve_model_path(model), "config.json")
        architectures = []
        if os.path.isfile(config_file):
            architectures = read_json_object(config_file).get("architectures") or []
    else:
        architectures = [type(model).__name__]
    task = tasks.pipeline_of_architectures(architectures)
    if task is None:
        raise ValueError(f"cannot tell the task of {model!r} (architectures: {architectures}); pass task=...")
    return task


def pipeline(task: str | None = None, model=None, tokenizer=None, *, device=None, dtype=None, batch_size: int = 32,
             jit_compile: bool | None = None, pad_to_multiple_of: int = 8, pad_to_length: int | None = None,
             **kwargs) -> Pipeline:
    """A ready-to-call pipeline for `task`, like `transformers.pipeline`.

    Args:
        task: "fill-mask", "text-classification" ("sentiment-analysis"), "token-classification" ("ner"),
            "question-answering" or "feature-extraction"; None to take it from the model's `architectures`.
        model: a model folder (HF / our `save_pretrained` layout, Google TF1), a model shipped with the package by
            name, a Hugging Face Hub id (needs `tf_albert[hub]` and a network), or a built ALBERT model.
            None: the embedded `tf-albert-small` for "fill-mask" and "feature-extraction" (the other tasks
            need a fine-tuned head).
        tokenizer: an `AlbertTokenizer`, or a folder / spiece.model / hub id; by default the model folder's own.
            Required with a built model.
        device: None (TensorFlow's choice), "cpu", "gpu:N", or an int as in HF (-1 CPU, N GPU N; with no GPU
            present an int falls back to the CPU with a warning, a "gpu:N" string is an error).
        dtype: "float32", "bfloat16" or "float16": the Keras mixed-precision policy the model computes in
            (variables stay float32; scores are computed in float32).
        batch_size: model rows per forward call.
        jit_compile: XLA-compile the forward function (one compilation per bucket shape); None: on a GPU, where
            it pays off, and for an int8 model (Keras int8 without XLA is ~4x slower than float32 on a CPU);
            otherwise not, since on a CPU each compilation costs seconds.
        pad_to_multiple_of: inputs are sorted by length and padded to a multiple of this (8); with XLA to the
            few lengths 8, 16, 24, 32, 48, 64, 96, 128, ... only (`tf_albert.utils.shapes.lengths_for`).
        pad_to_length: pad every batch to this one length instead (a single compiled shape).
        **kwargs: the task's parameters (e.g. `top_k`, `aggregation_strategy`, `doc_stride`), defaults for
            every call; each call may override them.

    Example:
    >>> import tempfile, os
    >>> from tf_albert import AlbertConfig, AlbertForMaskedLM
    >>> from tf_albert.pipelines import pipeline
    >>> from tf_albert.tokenization.tokenizer import AlbertTokenizer
    >>> tok = AlbertTokenizer.from_pretrained("tests/fixtures/tokenizer")
    >>> config = AlbertConfig(vocab_size=len(tok), embedding_size=8, hidden_size=16, num_attention_heads=2,
    ...                       intermediate_size=32, num_hidden_layers=2)
    >>> folder = os.path.join(tempfile.mkdtemp(), "tiny")
    >>> _ = AlbertForMaskedLM(config).save_pretrained(folder, tokenizer=tok)
    >>> unmasker = pipeline("fill-mask", model=folder, top_k=2)
    >>> [sorted(p) for p in unmasker("Hello [MASK]!")]
    [['score', 'sequence', 'token', 'token_str'], ['score', 'sequence', 'token', 'token_str']]
    """
    task = task_from_model(model) if task is None else check_task(task)
    return TASKS[task](model, tokenizer, device=device, dtype=dtype, batch_size=batch_size, jit_compile=jit_compile,
                       pad_to_multiple_of=pad_to_multiple_of, pad_to_length=pad_to_length, **kwargs)


__all__ = [
    "pipeline", "Pipeline", "TASKS", "TASK_ALIASES", "DTYPE_POLICIES", "check_task", "task_from_model",
    "resolve_device", "resolve_dtype", "FillMaskPipeline", "TextClassificationPipeline",
    "TokenClassificationPipeline", "QuestionAnsweringPipeline", "FeatureExtractionPipeline",
]
