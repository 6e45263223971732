"""`text-classification` (alias `sentiment-analysis`): labels and scores of texts or text pairs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tf_albert.model.modeling import AlbertForSequenceClassification
from tf_albert.pipelines.base import Feature, Pipeline, is_int, sigmoid, softmax, too_long

FUNCTIONS = ("softmax", "sigmoid", "none")


class _Unset:
    def __repr__(self):
        return "<unset>"


UNSET = _Unset()


class TextClassificationPipeline(Pipeline):
    """Classifies texts or text pairs, shaped like HF's `TextClassificationPipeline`.

    Inputs: a text, a `{"text": ..., "text_pair": ...}` dict, or a list of those (a `(text, text_pair)` tuple
    is a pair too). Without `top_k` (HF's legacy form) each input gives its best `{"label", "score"}` — wrapped in
    a list for a single text, as HF does. With `top_k=k` each input gives a list of the k best, with `top_k=None`
    all labels, best first. Labels are the config's `id2label` names.

    `function_to_apply`: "softmax", "sigmoid" or "none"; by default as HF: none for `problem_type="regression"`,
    sigmoid for multi-label models and models with one label, softmax otherwise. `truncation` (False): a longer
    input than the model takes is an error unless True (then the longest of the pair is cut first).

    Example (the embedded `tf-albert-tiny` with a new, untrained 2-label head: fine-tune it first):
    >>> from tf_albert.pipelines import pipeline
    >>> classify = pipeline("text-classification", model="tf-albert-tiny")
    >>> [sorted(r) for r in classify("A fine module.")]
    [['label', 'score']]
    >>> sorted(r["label"] for r in classify({"text": "It rains.", "text_pair": "It pours."}, top_k=None))
    ['LABEL_0', 'LABEL_1']

    With a released model (illustration):

    >>> classifier = pipeline("text-classification", model="path/to/albert-sst2")  # doctest: +SKIP
    >>> classifier("What a lovely film!")  # doctest: +SKIP
    [{'label': 'POSITIVE', 'score': 0.998}]
    >>> classifier({"text": "A man plays.", "text_pair": "Someone plays."}, top_k=None)  # doctest: +SKIP
    [{'label': 'entailment', 'score': 0.91}, {'label': 'neutral', 'score': 0.07}, ...]
    """

    task = "text-classification"
    model_classes = (AlbertForSequenceClassification,)
    output_names = ("logits",)
    defaults = {"top_k": UNSET, "function_to_apply": None, "truncation": False}

    def _check_params(self, params):
        top_k = params["top_k"]
        if top_k is not UNSET and top_k is not None and not is_int(top_k, 1):
            raise ValueError(f"top_k must be a positive int or None (all labels), got {top_k!r}")
        fn = params["function_to_apply"]
        if fn is not None and (not isinstance(fn, str) or fn.lower() not in FUNCTIONS):
            raise ValueError(f"function_to_apply must be one of {FUNCTIONS} (or None for the model's default), "
                             f"got {fn!r}")

    def default_function(self) -> str:
        """HF's choice when `function_to_apply` is not given."""
        c = self.config
        if c.problem_type == "regression":
            return "none"
        if c.problem_type == "multi_label_classification" or c.num_labels == 1:
            return "sigmoid"
        return "softmax"

    def _normalize(self, args, kwargs):
        if len(args) != 1 or kwargs:
            raise TypeError("call the text-classification pipeline with one input: a text, a "
                            "{'text', 'text_pair'} dict, or a list of those")
        inputs = args[0]
        if isinstance(inputs, str):
            return [inputs], "text"
        if isinstance(inputs, Mapping):
            return [inputs], "dict"
        if isinstance(inputs, (list, tuple)):
            return list(inputs), False
        raise TypeError(f"text-classification input must be a str, a dict or a list, got {type(inputs).__name__}")

    @staticmethod
    def _pair(item):
        """(text, text_pair or None) of one input, or the reason it is not one."""
        if isinstance(item, str):
            return item, None
        if isinstance(item, Mapping):
            unknown = sorted(set(item) - {"text", "text_pair"})
            if unknown or "text" not in item:
                return TypeError(f"a dict input takes the keys 'text' and optionally 'text_pair', got "
                                 f"{sorted(item)}")
            text, pair = item["text"], item.get("text_pair")
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            text, pair = item
        else:
            return TypeError(f"an input must be a str, a {{'text', 'text_pair'}} dict or a (text, text_pair) "
                             f"pair, got {type(item).__name__}: {item!r:.80}")
        if not isinstance(text, str) or not (pair is None or isinstance(pair, str)):
            return TypeError(f"text and text_pair must be str, got {type(text).__name__} and "
                             f"{type(pair).__name__}")
        return text, pair

    def _prepare(self, items, params):
        out: list = [None] * len(items)
        singles, pairs = {}, {}
        for i, item in enumerate(items):
            parsed = self._pair(item)
            if isinstance(parsed, Exception):
                out[i] = parsed
            elif parsed[1] is None:
                singles[i] = parsed[0]
            else:
                pairs[i] = parsed
        kwargs = {"truncation": True, "max_length": self.max_length} if params["truncation"] else {}
        batches = []
        if singles:
            batches.append((list(singles), self.tokenizer(list(singles.values()), **kwargs)))
        if pairs:
            batches.append((list(pairs), self.tokenizer([a for a, _ in pairs.values()],
                                                        [b for _, b in pairs.values()], **kwargs)))
        for indices, encoded in batches:
            for i, ids, types in zip(indices, encoded["input_ids"], encoded["token_type_ids"]):
                out[i] = too_long(len(ids), self.max_length) if len(ids) > self.max_length else [Feature(ids, types)]
        return out

    def _postprocess(self, item, features, outputs, params):
        logits = np.asarray(outputs[0]["logits"], np.float64)
        fn = (params["function_to_apply"] or self.default_function()).lower()
        scores = softmax(logits) if fn == "softmax" else sigmoid(logits) if fn == "sigmoid" else logits
        labels = self.config.id2label
        top_k = params["top_k"]
        if top_k is UNSET:
            best = int(np.argmax(scores))
            return {"label": labels[best], "score": float(scores[best])}
        order = np.argsort(-scores, kind="stable")
        if top_k is not None:
            order = order[:top_k]
        return [{"label": labels[int(i)], "score": float(scores[i])} for i in order]

    def _finish(self, results, single, params):
        if single == "text" and params["top_k"] is UNSET:
            return [results[0]]  # HF wraps the best label of a single text in a list
        return results[0] if single else results
