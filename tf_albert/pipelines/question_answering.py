"""`question-answering`: the span of a context that answers a question, over windows of long contexts.

The rules are HF's (transformers 4 `QuestionAnsweringPipeline`, fast-tokenizer path):

* each model row is `[CLS] question [SEP] context window [SEP]`; a context that does not fit in `max_seq_len`
  tokens is read in windows that overlap by `doc_stride` tokens (built by `tf_albert.utils.qa_windows`, as the
  training windows are);
* per window, start and end logits outside the context (question, `[SEP]`) are set to -10000 and each is
  softmaxed; a span's score is p(start) * p(end), for start <= end < start + `max_answer_len`;
* `[CLS]`'s p(start) * p(end) is the "no answer" score; with `handle_impossible_answer` the lowest of it over the
  windows competes as the answer `""` (start = end = 0);
* the best spans of every window are mapped to characters (with `align_to_words`, widened to whole
  whitespace-separated words), answers with the same text (case-insensitively) add their scores, and the
  `top_k` best are returned.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tf_albert.model.modeling import AlbertForQuestionAnswering
from tf_albert.pipelines.base import Feature, Pipeline, check_positive_int, is_int
from tf_albert.utils.qa_windows import context_room, qa_windows

_MASKED = -10000.0


class QuestionAnsweringPipeline(Pipeline):
    """Extractive question answering, shaped like HF's `QuestionAnsweringPipeline`.

    Call as `qa(question=..., context=...)`, `qa({"question": ..., "context": ...})`, `qa(question, context)`,
    or with lists (of dicts, or `question=[...]` with one context or a list of them). Each example gives
    `{"score", "start", "end", "answer"}` (character offsets into the context; `answer == context[start:end]`),
    or a list of the `top_k` best such dicts when there is more than one; one example gives its result,
    several a list.

    Parameters: `top_k` (1), `max_answer_len` (15 tokens), `max_seq_len` (384, at most the model's length),
    `doc_stride` (overlap of the windows; min(max_seq_len // 2, 128)), `max_question_len` (64, kept for HF
    compatibility; HF's fast path ignores it too), `handle_impossible_answer` (False), `align_to_words` (True).

    Example (the embedded `tf-albert-tiny` with a new, untrained QA head: fine-tune it for real answers):
    >>> from tf_albert.pipelines import pipeline
    >>> qa = pipeline("question-answering", model="tf-albert-tiny")
    >>> context = "The file is in the python module."
    >>> answer = qa(question="Where is the file?", context=context)
    >>> sorted(answer), answer["answer"] == context[answer["start"]:answer["end"]]
    (['answer', 'end', 'score', 'start'], True)

    With a released model (illustration):

    >>> qa = pipeline("question-answering", model="path/to/albert-squad2")  # doctest: +SKIP
    >>> qa(question="Where do I live?", context="My name is Wolfgang and I live in Berlin")  # doctest: +SKIP
    {'score': 0.92, 'start': 34, 'end': 40, 'answer': 'Berlin'}
    """

    task = "question-answering"
    model_classes = (AlbertForQuestionAnswering,)
    input_kwargs = ("question", "context")
    output_names = ("start_logits", "end_logits")
    defaults = {"top_k": 1, "max_answer_len": 15, "max_seq_len": None, "doc_stride": None, "max_question_len": 64,
                "handle_impossible_answer": False, "align_to_words": True}

    def _check_params(self, params):
        for name in ("top_k", "max_answer_len", "max_question_len"):
            check_positive_int(name, params[name])
        seq = params["max_seq_len"]
        if seq is not None and not is_int(seq, 4):
            raise ValueError(f"max_seq_len must be an int >= 4, got {seq!r}")
        if seq is not None and seq > self.max_length:
            raise ValueError(f"max_seq_len {seq} exceeds what the model takes ({self.max_length})")
        stride = params["doc_stride"]
        if stride is not None and not is_int(stride, 0):
            raise ValueError(f"doc_stride must be a non-negative int, got {stride!r}")

    def _lengths(self, params) -> tuple[int, int]:
        max_seq_len = params["max_seq_len"] or min(self.max_length, 384)
        doc_stride = params["doc_stride"] if params["doc_stride"] is not None else min(max_seq_len // 2, 128)
        if doc_stride > max_seq_len:
            raise ValueError(f"doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len})")
        return max_seq_len, doc_stride

    # --- inputs --------------------------------------------------------------------------------------------
    def _normalize(self, args, kwargs):
        question, context = kwargs.get("question"), kwargs.get("context")
        if args and (question is not None or context is not None):
            raise TypeError("give the examples either as arguments or as question=/context=, not both")
        if len(args) == 2 and all(isinstance(a, str) for a in args):
            question, context = args
        elif len(args) == 1:
            items = [args[0]] if isinstance(args[0], Mapping) else args[0]
            if not isinstance(items, (list, tuple)):
                raise TypeError(f"question-answering input must be a {{'question', 'context'}} dict or a list "
                                f"of them, got {type(args[0]).__name__}")
            items = list(items)
            return items, len(items) == 1
        elif args:
            raise TypeError("call the question-answering pipeline with question=..., context=..., a dict, or a "
                            "list of dicts")
        if question is None or context is None:
            raise TypeError("the question-answering pipeline needs both question= and context=")
        if isinstance(question, str) and isinstance(context, str):
            items = [{"question": question, "context": context}]
        elif isinstance(question, (list, tuple)) and isinstance(context, str):
            items = [{"question": q, "context": context} for q in question]
        elif isinstance(question, (list, tuple)) and isinstance(context, (list, tuple)):
            if len(question) != len(context):
                raise ValueError(f"{len(question)} questions but {len(context)} contexts")
            items = [{"question": q, "context": c} for q, c in zip(question, context)]
        else:
            raise TypeError(f"question and context must be str or lists of str, got {type(question).__name__} "
                            f"and {type(context).__name__}")
        return items, len(items) == 1

    @staticmethod
    def _example(i, item):
        if isinstance(item, (list, tuple)) and len(item) == 2:
            item = {"question": item[0], "context": item[1]}
        if not isinstance(item, Mapping) or "question" not in item or "context" not in item:
            return TypeError(f"an example must be a dict with keys 'question' and 'context', got {item!r:.80}")
        for key in ("question", "context"):
            if not isinstance(item[key], str):
                return TypeError(f"{key} must be a str, got {type(item[key]).__name__}")
            if not item[key].strip():
                return ValueError(f"{key} is empty")
        return item["question"], item["context"]

    def _prepare(self, items, params):
        max_seq_len, doc_stride = self._lengths(params)
        out: list = []
        for i, item in enumerate(items):
            example = self._example(i, item)
            if isinstance(example, Exception):
                out.append(example)
                continue
            question, context = example
            q_ids = self.tokenizer(question, add_special_tokens=False)["input_ids"]
            enc = self.tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
            room = context_room(max_seq_len, len(q_ids))
            if room < 1:
                out.append(ValueError(f"the question has {len(q_ids)} tokens, which leaves no room "
                                      f"for the context in max_seq_len={max_seq_len}"))
                continue
            if len(enc["input_ids"]) > room and doc_stride >= room:
                out.append(ValueError(
                    f"doc_stride ({doc_stride}) must be smaller than the context tokens per "
                    f"window ({room} = max_seq_len {max_seq_len} - {len(q_ids)} question tokens - 3)"))
                continue
            # HF's doc_stride is the overlap of consecutive windows: they start room - doc_stride tokens apart
            windows = qa_windows(q_ids, enc["input_ids"], enc["offset_mapping"], max_length=max_seq_len,
                                 step=room - doc_stride, cls_id=self.tokenizer.cls_token_id,
                                 sep_id=self.tokenizer.sep_token_id)
            out.append([Feature(w.input_ids, w.token_type_ids,
                                meta={"context_start": w.context_start, "offsets": w.offsets})
                        for w in windows])
        return out

    # --- answers -------------------------------------------------------------------------------------------
    def _postprocess(self, item, features, outputs, params):
        context = self._example(0, item)[1]
        top_k, max_answer_len = params["top_k"], params["max_answer_len"]
        candidates = top_k * 2 + 10 if params["align_to_words"] else top_k
        null_score = 1000000.0
        answers: list[dict] = []
        for feature, output in zip(features, outputs):
            n = len(feature)
            first, count = feature.meta["context_start"], len(feature.meta["offsets"])
            allowed = np.zeros(n, bool)
            allowed[0] = True  # [CLS]: the "no answer" position
            allowed[first:first + count] = True
            start = _masked_softmax(output["start_logits"][:n], allowed)
            end = _masked_softmax(output["end_logits"][:n], allowed)
            null_score = min(null_score, float(start[0] * end[0]))
            start[0] = end[0] = 0.0
            allowed[0] = False  # [CLS] is in no span (HF lets zero-score spans through when few are left)
            for s, e, score in best_spans(start, end, allowed, candidates, max_answer_len):
                lo, hi = feature.meta["offsets"][s - first][0], feature.meta["offsets"][e - first][1]
                if params["align_to_words"]:
                    lo, hi = _word_start(context, lo), _word_end(context, hi)
                text = context[lo:hi]
                same = next((a for a in answers if a["answer"].lower() == text.lower()), None)
                if same is not None:
                    same["score"] += score
                else:
                    answers.append({"score": score, "start": int(lo), "end": int(hi), "answer": text})
        if params["handle_impossible_answer"]:
            answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
        answers = sorted(answers, key=lambda a: a["score"], reverse=True)[:top_k]
        return answers[0] if len(answers) == 1 else answers


def _masked_softmax(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    x = np.where(allowed, np.asarray(logits, np.float64), _MASKED)
    x = np.exp(x - x.max())
    return x / x.sum()


def best_spans(start: np.ndarray, end: np.ndarray, allowed: np.ndarray, k: int, max_answer_len: int):
    """The k best (start, end, score) with start <= end < start + max_answer_len, both at allowed tokens."""
    scores = np.outer(start, end)
    ones = np.ones_like(scores, bool)
    valid = np.triu(ones) & ~np.triu(ones, max_answer_len) & allowed[:, None] & allowed[None, :]
    flat = np.where(valid, scores, -1.0).ravel()
    k = min(k, int(valid.sum()))
    best = np.argsort(-flat, kind="stable")[:k]  # ties: the first in row-major order, as HF's argmax
    rows, cols = np.unravel_index(best, scores.shape)
    return [(int(s), int(e), float(scores[s, e])) for s, e in zip(rows, cols)]


def _word_start(text: str, i: int) -> int:
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return i


def _word_end(text: str, i: int) -> int:
    while i < len(text) and not text[i].isspace():
        i += 1
    return i
