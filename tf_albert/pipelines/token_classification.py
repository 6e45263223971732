"""`token-classification` (alias `ner`): a label per token, or entities grouped from them, with character spans.

Grouping follows HF's `TokenClassificationPipeline` step by step, so results match it:

1. every token that is not `[CLS]`/`[SEP]` becomes a *pre-entity* with its softmax scores, its piece (`word`), its
   character span in the text and whether it continues a word. SentencePiece has no word-continuation marker, so
   HF's fallback rule applies: a token continues a word when it does not start the text and neither its first
   character nor the one before it is a space; an `<unk>` token always starts a word and shows the text it covers;
2. `aggregation_strategy="none"`: each token with its best label; `"simple"`: the same, then grouped;
   `"first"` / `"max"` / `"average"`: the tokens of each word take the label of the first token, of the token
   with the highest score, or of the averaged scores, then grouped;
3. grouping joins neighbouring entities of the same type (`B-X`/`I-X`/`X`) unless the next is a `B-`; a group's
   score is the mean of its tokens' scores, its word the pieces joined back into text;
4. entities whose label is in `ignore_labels` (`["O"]`) are dropped.
"""

from __future__ import annotations

import numpy as np

from tf_albert.model.modeling import AlbertForTokenClassification
from tf_albert.pipelines.base import Feature, Pipeline, is_int, softmax

STRATEGIES = ("none", "simple", "first", "max", "average")


class TokenClassificationPipeline(Pipeline):
    """Labels tokens (named entities, parts of speech), shaped like HF's `TokenClassificationPipeline`.

    Call with a text or a list of texts; each gives a list of dicts. With `aggregation_strategy="none"`:
    `{"entity", "score", "index", "word", "start", "end"}` per token (`index` is the token's position in the model
    input, `word` its piece); otherwise `{"entity_group", "score", "word", "start", "end"}` per entity. `start`/
    `end` are character offsets into the text. See the module docstring for the exact rules.

    Parameters: `aggregation_strategy` ("none"), `ignore_labels` (["O"]), `stride` (None: a text longer than the
    model takes is cut; an int: it is read in overlapping windows sharing `stride` tokens, and entities found
    twice are merged, keeping the longer or, if as long, the higher-scoring one — needs an aggregation strategy).

    Example (the embedded `tf-albert-tiny` with a new, untrained 2-label head: fine-tune it first):
    >>> from tf_albert.pipelines import pipeline
    >>> ner = pipeline("ner", model="tf-albert-tiny", ignore_labels=[])
    >>> [(e["word"], e["start"], e["end"]) for e in ner("the module")]
    [('▁the', 0, 3), ('▁module', 4, 10)]
    >>> sorted(ner("the module", aggregation_strategy="first")[0])
    ['end', 'entity_group', 'score', 'start', 'word']

    With a released model (illustration):

    >>> ner = pipeline("ner", model="path/to/albert-ner", aggregation_strategy="simple")  # doctest: +SKIP
    >>> ner("My name is Wolfgang and I live in Berlin")  # doctest: +SKIP
    [{'entity_group': 'PER', 'score': 0.99, 'word': 'wolfgang', 'start': 11, 'end': 19}, ...]
    """

    task = "token-classification"
    model_classes = (AlbertForTokenClassification,)
    output_names = ("logits",)
    defaults = {"aggregation_strategy": "none", "ignore_labels": ("O",), "stride": None}

    def _check_params(self, params):
        strategy = params["aggregation_strategy"]
        strategy = getattr(strategy, "value", strategy)  # HF's AggregationStrategy enum
        if not isinstance(strategy, str) or strategy.lower() not in STRATEGIES:
            raise ValueError(f"aggregation_strategy must be one of {STRATEGIES}, got {strategy!r}")
        params["aggregation_strategy"] = strategy.lower()
        labels = params["ignore_labels"]
        if isinstance(labels, str) or not all(isinstance(x, str) for x in labels):
            raise ValueError(f"ignore_labels must be a list of label names, got {labels!r}")
        stride = params["stride"]
        if stride is not None:
            if not is_int(stride, 0):
                raise ValueError(f"stride must be None or a non-negative int, got {stride!r}")
            if params["aggregation_strategy"] == "none":
                raise ValueError("stride reads a long text in windows, which needs aggregation_strategy other "
                                 "than 'none' to merge what the windows found")
            if stride >= self.max_length - 2:
                raise ValueError(f"stride {stride} must be smaller than the tokens per window "
                                 f"({self.max_length - 2} = max length {self.max_length} - 2 special tokens)")

    def _prepare(self, items, params):
        out: list = []
        room = self.max_length - 2
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        for i, text in enumerate(items):
            if not isinstance(text, str):
                out.append(TypeError(f"an input must be a str, got {type(text).__name__}: {text!r:.80}"))
                continue
            enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            ids, offsets = enc["input_ids"], [tuple(o) for o in enc["offset_mapping"]]
            starts = [0]
            if params["stride"] is not None:
                step = room - params["stride"]
                while starts[-1] + room < len(ids):
                    starts.append(starts[-1] + step)
            features = []
            for s in starts:
                window = ids[s:s + room]
                features.append(Feature([cls] + window + [sep], [0] * (len(window) + 2),
                                        meta={"offsets": [(0, 0)] + offsets[s:s + room] + [(0, 0)]}))
            out.append(features)
        return out

    def _postprocess(self, text, features, outputs, params):
        strategy = params["aggregation_strategy"]
        entities = []
        for feature, output in zip(features, outputs):
            scores = softmax(output["logits"][:len(feature)])
            pre = self.gather_pre_entities(text, feature.input_ids, scores, feature.meta["offsets"])
            grouped = self.aggregate(pre, strategy)
            entities += [e for e in grouped
                         if e.get("entity", e.get("entity_group")) not in params["ignore_labels"]]
        if len(features) > 1:
            entities = merge_overlapping(entities)
        return entities

    # --- HF's steps ----------------------------------------------------------------------------------------
    def gather_pre_entities(self, text: str, input_ids, scores: np.ndarray, offsets) -> list[dict]:
        pre = []
        unk = self.tokenizer.unk_token_id
        for idx in range(1, len(input_ids) - 1):  # [CLS] and [SEP] are left out
            token = int(input_ids[idx])
            start, end = offsets[idx]
            word = self.tokenizer.convert_ids_to_tokens(token)
            is_subword = start > 0 and " " not in text[start - 1:start + 1]
            if token == unk:
                word, is_subword = text[start:end], False
            pre.append({"word": word, "scores": scores[idx], "start": int(start), "end": int(end), "index": idx,
                        "is_subword": is_subword})
        return pre

    def aggregate(self, pre: list[dict], strategy: str) -> list[dict]:
        labels = self.config.id2label
        if strategy in ("none", "simple"):
            entities = []
            for p in pre:
                best = int(np.argmax(p["scores"]))
                entities.append({"entity": labels[best], "score": float(p["scores"][best]), "index": p["index"],
                                 "word": p["word"], "start": p["start"], "end": p["end"]})
            if strategy == "none":
                return entities
        else:
            entities = self.aggregate_words(pre, strategy)
        return self.group_entities(entities)

    def aggregate_word(self, tokens: list[dict], strategy: str) -> dict:
        labels = self.config.id2label
        if strategy == "first":
            scores = tokens[0]["scores"]
        elif strategy == "max":
            scores = max(tokens, key=lambda t: t["scores"].max())["scores"]
        else:  # average
            scores = np.nanmean(np.stack([t["scores"] for t in tokens]), axis=0)
        best = int(np.argmax(scores))
        return {"entity": labels[best], "score": float(scores[best]),
                "word": self.tokenizer.convert_tokens_to_string([t["word"] for t in tokens]),
                "start": tokens[0]["start"], "end": tokens[-1]["end"]}

    def aggregate_words(self, pre: list[dict], strategy: str) -> list[dict]:
        words, group = [], []
        for p in pre:
            if group and not p["is_subword"]:
                words.append(self.aggregate_word(group, strategy))
                group = []
            group.append(p)
        if group:
            words.append(self.aggregate_word(group, strategy))
        return words

    def group_sub_entities(self, entities: list[dict]) -> dict:
        return {"entity_group": entities[0]["entity"].split("-", 1)[-1],
                "score": float(np.nanmean([e["score"] for e in entities])),
                "word": self.tokenizer.convert_tokens_to_string([e["word"] for e in entities]),
                "start": entities[0]["start"], "end": entities[-1]["end"]}

    def group_entities(self, entities: list[dict]) -> list[dict]:
        groups, current = [], []
        for entity in entities:
            if current:
                bi, tag = split_tag(entity["entity"])
                _, last_tag = split_tag(current[-1]["entity"])
                if tag != last_tag or bi == "B":
                    groups.append(self.group_sub_entities(current))
                    current = []
            current.append(entity)
        if current:
            groups.append(self.group_sub_entities(current))
        return groups


def split_tag(label: str) -> tuple[str, str]:
    """("B" or "I", type) of a label; a label without a B-/I- prefix continues ("I")."""
    if label.startswith("B-"):
        return "B", label[2:]
    if label.startswith("I-"):
        return "I", label[2:]
    return "I", label


def merge_overlapping(entities: list[dict]) -> list[dict]:
    """Entities found by overlapping windows: of those that overlap, the longest (then highest-scoring) stays."""
    if not entities:
        return entities
    entities = sorted(entities, key=lambda e: e["start"])
    merged, previous = [], entities[0]
    for entity in entities:
        if previous["start"] <= entity["start"] < previous["end"]:
            longer = entity["end"] - entity["start"] - (previous["end"] - previous["start"])
            if longer > 0 or (longer == 0 and entity["score"] > previous["score"]):
                previous = entity
        else:
            merged.append(previous)
            previous = entity
    merged.append(previous)
    return merged
