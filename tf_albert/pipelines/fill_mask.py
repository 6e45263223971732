"""`fill-mask`: the most likely tokens for each `[MASK]` of a text, from the masked-LM head."""

from __future__ import annotations

import numpy as np

from tf_albert.model.modeling import AlbertForMaskedLM, AlbertForPreTraining
from tf_albert.pipelines.base import Feature, Pipeline, check_positive_int, logger, softmax, too_long


class FillMaskPipeline(Pipeline):
    """Predicts the tokens behind `[MASK]`, shaped like HF's `FillMaskPipeline`.

    Call with a text or a list of texts, each with one or more `[MASK]`s. Per mask: a list of `top_k` dicts
    `{"score", "token", "token_str", "sequence"}`, best first; `score` is the softmax probability over the
    vocabulary (over `targets` only, when given), `sequence` the text with that token filled in. A text with one
    mask gives one such list, a text with several masks a list of lists (one per mask; `sequence` then keeps the
    other masks). As in HF, a list holding one text gives the same as that text.

    Parameters (to `pipeline(...)` or per call): `top_k` (5), `targets` (a token or list of tokens to choose among:
    vocabulary pieces such as "▁paris", or words, whose first piece is used), `truncation` (False: a text longer than
    the model's maximum length is an error).

    Example (the embedded `tf-albert-small`, the default model):
    >>> from tf_albert.pipelines import pipeline
    >>> unmasker = pipeline("fill-mask")
    >>> [sorted(p) for p in unmasker("Hello [MASK]!", top_k=2)]
    [['score', 'sequence', 'token', 'token_str'], ['score', 'sequence', 'token', 'token_str']]
    >>> len(unmasker("[MASK] and [MASK]", top_k=2))  # two masks: a list per mask
    2

    With a released model (illustration):

    >>> unmasker = pipeline("fill-mask", model="path/to/albert-base-v2")  # doctest: +SKIP
    >>> unmasker("Plants create [MASK] through a process known as photosynthesis.", top_k=2)  # doctest: +SKIP
    [{'score': 0.36, 'token': 2179, 'token_str': 'energy', 'sequence': 'plants create energy through ...'}, ...]
    """

    task = "fill-mask"
    model_classes = (AlbertForMaskedLM, AlbertForPreTraining)
    default_model_usable = True
    extra_inputs = ("masked_lm_positions",)
    defaults = {"top_k": 5, "targets": None, "truncation": False}

    def _check_params(self, params):
        check_positive_int("top_k", params["top_k"])
        targets = params["targets"]
        if targets is not None:
            listed = [targets] if isinstance(targets, str) else targets
            if not isinstance(listed, (list, tuple)) or not listed or not all(isinstance(t, str) for t in listed):
                raise ValueError(f"targets must be a str or a non-empty list of str, got {targets!r}")

    def target_ids(self, targets) -> np.ndarray | None:
        """Vocabulary ids of `targets` (HF's rule: a vocabulary piece as is, else the first piece of the word)."""
        if targets is None:
            return None
        key = (targets,) if isinstance(targets, str) else tuple(targets)
        cache = self.__dict__.setdefault("_target_cache", {})
        if key not in cache:
            cache[key] = self._target_ids(key)
        return cache[key]

    def _target_ids(self, targets: tuple) -> np.ndarray:
        vocab = self.tokenizer.get_vocab()
        ids = []
        for target in targets:
            if target in vocab:
                ids.append(vocab[target])
                continue
            pieces = self.tokenizer(target, add_special_tokens=False)["input_ids"]
            if not pieces:
                logger.warning("target %r gives no token; ignoring it", target)
                continue
            logger.warning("target %r is not a vocabulary piece; using its first piece %r", target,
                           self.tokenizer.convert_ids_to_tokens(pieces[0]))
            ids.append(pieces[0])
        ids = sorted(set(ids))
        if not ids:
            raise ValueError(f"none of the targets {targets!r} gives a token")
        return np.array(ids)

    def _prepare(self, items, params):
        out, texts, encoded = self._encode_texts(items, params)
        if texts:
            mask_id = self.tokenizer.mask_token_id
            for (i, text), ids in zip(texts.items(), encoded["input_ids"]):
                positions = [p for p, t in enumerate(ids) if t == mask_id]
                if len(ids) > self.max_length:
                    out[i] = too_long(len(ids), self.max_length)
                elif not positions:
                    out[i] = ValueError(f"no mask token ({self.tokenizer.mask_token}) in {text!r:.80}")
                else:
                    out[i] = [Feature(ids, [0] * len(ids), {"masked_lm_positions": positions})]
        return out

    def _outputs(self, model, inputs):
        # AlbertForMaskedLM's `logits`, AlbertForPreTraining's `prediction_logits`
        return {"logits": self._call_model(model, inputs)[model.main_output]}

    def _postprocess(self, text, features, outputs, params):
        feature = features[0]
        positions = feature.extra["masked_lm_positions"]
        probs = softmax(outputs[0]["logits"][:len(positions)])  # [masks, vocab]
        targets = self.target_ids(params["targets"])
        if targets is not None:
            probs = probs[:, targets]
        top_k = min(params["top_k"], probs.shape[-1])
        single = len(positions) == 1
        rows = []
        for m, position in enumerate(positions):
            best = np.argsort(-probs[m], kind="stable")[:top_k]
            row = []
            for b in best:
                token = int(targets[b]) if targets is not None else int(b)
                filled = list(feature.input_ids)
                filled[position] = token
                filled = [t for t in filled if t != self.tokenizer.pad_token_id]
                row.append({
                    "score": float(probs[m, b]),
                    "token": token,
                    "token_str": self.tokenizer.decode([token]),
                    # Other masks stay visible in the sequence of a several-mask text (HF's rule).
                    "sequence": self.tokenizer.decode(filled, skip_special_tokens=single),
                })
            rows.append(row)
        return rows[0] if single else rows

    def _finish(self, results, single, params):
        return results[0] if single or len(results) == 1 else results
