"""Extractive question answering data: SQuAD-style examples → sliding windows → `tf.data`, and back from
start/end logits to answer texts, scored with SQuAD's exact match and F1.

A context longer than fits beside the question is cut into windows of context tokens; consecutive windows
start `doc_stride` tokens apart (Google's `run_squad.py` meaning of doc_stride: the step, so windows
overlap by `window - doc_stride` tokens). Each window is `[CLS] question [SEP] context-window [SEP]`, built by
`tf_albert.utils.qa_windows` as the question-answering pipeline's are.
A training window whose span does not contain the whole answer is labelled with the `[CLS]` position 0
("no answer here"), as are unanswerable questions (SQuAD 2.0).
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Mapping, Sequence

import numpy as np

from tf_albert.training.data_files import flatten_squad
from tf_albert.training.datasets import make_dataset
from tf_albert.utils.qa_windows import context_room, qa_windows


# === Examples ===
def normalize_examples(examples: Sequence[Mapping]) -> list[dict]:
    """Checks examples and brings answers to the `{"text": [...], "answer_start": [...]}` layout (a list of
    `{"text", "answer_start"}` dicts is accepted too)."""
    if isinstance(examples, Mapping) and "data" in examples:
        return flatten_squad(examples)
    out = []
    for i, ex in enumerate(examples):
        if not isinstance(ex, Mapping):
            raise TypeError(f"example {i} must be a dict, got {type(ex).__name__}")
        for key in ("question", "context"):
            if not isinstance(ex.get(key), str):
                raise ValueError(f"example {i} needs a string {key!r}, got {ex.get(key)!r}")
        answers = ex.get("answers") or {"text": [], "answer_start": []}
        if isinstance(answers, Sequence) and not isinstance(answers, str):
            answers = {
                "text": [a["text"] for a in answers],
                "answer_start": [int(a["answer_start"]) for a in answers],
            }
        texts, starts = list(answers.get("text", [])), [int(s) for s in answers.get("answer_start", [])]
        if len(texts) != len(starts):
            raise ValueError(f"example {i}: {len(texts)} answer texts but {len(starts)} answer_start values")
        out.append(
            {
                "id": str(ex.get("id", i)),
                "question": ex["question"],
                "context": ex["context"],
                "answers": {"text": texts, "answer_start": starts},
            }
        )
    return out


def _answer_span(context: str, text: str, start: int, example_id: str) -> tuple[int, int]:
    """Character span of the answer; if `answer_start` is off, the occurrence of the text nearest to it."""
    if context[start : start + len(text)] == text:
        return start, start + len(text)
    found = [m.start() for m in re.finditer(re.escape(text), context)]
    if not found:
        raise ValueError(f"example {example_id!r}: answer {text!r} does not occur in its context")
    best = min(found, key=lambda p: abs(p - start))
    return best, best + len(text)


# === Windows ===
def prepare_features(
    tokenizer,
    examples,
    max_length: int = 384,
    doc_stride: int = 128,
    max_query_length: int = 64,
    with_labels: bool = True,
) -> dict:
    """Sliding-window features of QA examples.

    Returns a dict with `input_ids`, `token_type_ids`, `attention_mask` (lists per window),
    `start_positions`/`end_positions` (with_labels), and for post-processing `example_index` (window →
    example) and `offsets` (per token: the (start, end) characters in the context, None outside it).

    Example:
    >>> from tf_albert.tokenization.tokenizer import AlbertTokenizer
    >>> tok = AlbertTokenizer.from_pretrained("tests/fixtures/tokenizer")
    >>> answers = {"text": ["Ada"], "answer_start": [0]}
    >>> ex = [{"question": "Who?", "context": "Ada wrote it.", "answers": answers}]
    >>> f = prepare_features(tok, ex)
    >>> ids = f["input_ids"][0]
    >>> tok.decode(ids[f["start_positions"][0]:f["end_positions"][0] + 1])
    'ada'
    """
    if not isinstance(doc_stride, int) or doc_stride < 1:
        raise ValueError(f"doc_stride must be a positive int, got {doc_stride!r}")
    if not isinstance(max_query_length, int) or max_query_length < 1:
        raise ValueError(f"max_query_length must be a positive int, got {max_query_length!r}")
    examples = normalize_examples(examples)
    questions = tokenizer([e["question"] for e in examples], add_special_tokens=False)["input_ids"]
    contexts = tokenizer(
        [e["context"] for e in examples], add_special_tokens=False, return_offsets_mapping=True
    )
    out = collections.defaultdict(list)
    for i, ex in enumerate(examples):
        q = questions[i][:max_query_length]
        ctx_ids, ctx_off = contexts["input_ids"][i], contexts["offset_mapping"][i]
        if context_room(max_length, len(q)) < 1:
            raise ValueError(
                f"max_length {max_length} leaves no room for context after a question of "
                f"{len(q)} tokens; raise max_length or lower max_query_length"
            )
        answer_tokens = None
        if with_labels and ex["answers"]["text"]:
            a_start, a_end = _answer_span(
                ex["context"], ex["answers"]["text"][0], ex["answers"]["answer_start"][0], ex["id"]
            )
            first = next((t for t, (s, e) in enumerate(ctx_off) if e > a_start), None)
            last = next((t for t in range(len(ctx_off) - 1, -1, -1) if ctx_off[t][0] < a_end), None)
            if first is not None and last is not None and first <= last:
                answer_tokens = (first, last)
        windows = qa_windows(
            q,
            ctx_ids,
            ctx_off,
            max_length=max_length,
            step=doc_stride,
            cls_id=tokenizer.cls_token_id,
            sep_id=tokenizer.sep_token_id,
        )
        for window in windows:
            out["input_ids"].append(window.input_ids)
            out["token_type_ids"].append(window.token_type_ids)
            out["attention_mask"].append([1] * len(window))
            out["offsets"].append(window.row_offsets())
            out["example_index"].append(i)
            if with_labels:
                s = e = 0
                if answer_tokens is not None:
                    p0, p1 = (window.position_of(t) for t in answer_tokens)
                    if p0 is not None and p1 is not None:  # the whole answer is in this window
                        s, e = p0, p1
                out["start_positions"].append(s)
                out["end_positions"].append(e)
    out["examples"] = examples
    return dict(out)


def question_answering_dataset(
    tokenizer,
    examples,
    *,
    max_length: int = 384,
    doc_stride: int = 128,
    max_query_length: int = 64,
    with_labels: bool = True,
    **dataset_kwargs,
):
    """SQuAD-style examples → `tf.data` of windows; labels `{"start_positions", "end_positions"}` [B].

    The dataset's `features` attribute holds `prepare_features`' output for `postprocess`.

    Example:
    >>> ds = question_answering_dataset(tok, squad_examples, batch_size=16, shuffle=True)  # doctest: +SKIP
    >>> model.fit(ds)  # doctest: +SKIP
    """
    features = prepare_features(tokenizer, examples, max_length, doc_stride, max_query_length, with_labels)
    labels = None
    if with_labels:
        labels = {"start_positions": features["start_positions"], "end_positions": features["end_positions"]}
    ds = make_dataset(
        features, labels, pad_token_id=tokenizer.pad_token_id, max_length=max_length, **dataset_kwargs
    )
    ds.features = features
    return ds


# === Predictions ===
def postprocess(
    features: Mapping,
    start_logits,
    end_logits,
    n_best: int = 20,
    max_answer_length: int = 30,
    null_threshold: float | None = None,
) -> dict[str, str]:
    """Best answer text per example id from the windows' logits (lists of per-window arrays, in the order
    of `features`). With `null_threshold` (SQuAD 2.0) the empty answer wins when the `[CLS]` score beats
    the best span score by more than the threshold."""
    examples = features["examples"]
    best: dict[int, tuple[float, str]] = {}
    null: dict[int, float] = {}
    for w, ex_i in enumerate(features["example_index"]):
        s_log, e_log = np.asarray(start_logits[w], np.float64), np.asarray(end_logits[w], np.float64)
        offsets = features["offsets"][w]
        n = len(offsets)
        s_log, e_log = s_log[:n], e_log[:n]
        null[ex_i] = min(null.get(ex_i, np.inf), s_log[0] + e_log[0])
        context_pos = [t for t, o in enumerate(offsets) if o is not None]
        if not context_pos:
            continue
        cs = sorted(context_pos, key=lambda t: -s_log[t])[:n_best]
        ce = sorted(context_pos, key=lambda t: -e_log[t])[:n_best]
        for s in cs:
            for e in ce:
                if e < s or e - s + 1 > max_answer_length:
                    continue
                score = s_log[s] + e_log[e]
                if ex_i not in best or score > best[ex_i][0]:
                    context = examples[ex_i]["context"]
                    best[ex_i] = (score, context[offsets[s][0] : offsets[e][1]])
    out = {}
    for i, ex in enumerate(examples):
        score, text = best.get(i, (-np.inf, ""))
        if null_threshold is not None and null.get(i, -np.inf) - score > null_threshold:
            text = ""
        out[ex["id"]] = text
    return out


def predict_windows(model, dataset) -> tuple[list, list]:
    """Start/end logits per window, unpadded (batches are padded to different lengths, so they are not
    concatenated into one array)."""
    starts, ends = [], []
    for batch in dataset:
        x = batch[0] if isinstance(batch, tuple) else batch
        out = model.predict_on_batch(x)
        lengths = np.asarray(x["attention_mask"]).sum(-1)
        for s, e, n in zip(np.asarray(out["start_logits"]), np.asarray(out["end_logits"]), lengths):
            starts.append(s[:n])
            ends.append(e[:n])
    return starts, ends


# === SQuAD scores ===
def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles (a/an/the), single spaces."""
    text = text.lower()
    text = "".join(c for c in text if c not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _f1(prediction: str, truth: str) -> float:
    p, t = normalize_answer(prediction).split(), normalize_answer(truth).split()
    if not p or not t:
        return float(p == t)
    common = collections.Counter(p) & collections.Counter(t)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(t)
    return 2 * precision * recall / (precision + recall)


def squad_metrics(predictions: Mapping[str, str], examples) -> dict:
    """Exact match and F1 in percent, each the best over an example's reference answers (an unanswerable
    question counts as right only when the prediction is empty).

    Example:
    >>> answers = {"text": ["the cat"], "answer_start": [0]}
    >>> ex = [{"id": "q", "question": "?", "context": "The cat sat.", "answers": answers}]
    >>> squad_metrics({"q": "cat"}, ex)
    {'exact_match': 100.0, 'f1': 100.0, 'examples': 1}
    """
    examples = normalize_examples(examples)
    em = f1 = 0.0
    for ex in examples:
        if ex["id"] not in predictions:
            raise ValueError(f"no prediction for example {ex['id']!r}")
        pred = predictions[ex["id"]]
        truths = ex["answers"]["text"] or [""]
        em += max(float(normalize_answer(pred) == normalize_answer(t)) for t in truths)
        f1 += max(_f1(pred, t) for t in truths)
    n = max(len(examples), 1)
    return {"exact_match": 100.0 * em / n, "f1": 100.0 * f1 / n, "examples": len(examples)}
