"""`feature-extraction`: the backbone's hidden states of texts, per token or pooled into one vector."""

from __future__ import annotations

import numpy as np

from tf_albert.model.modeling import AlbertModel, AlbertPreTrainedModel
from tf_albert.pipelines.base import Feature, Pipeline, too_long

POOLINGS = (None, "cls", "mean", "pooler")


class FeatureExtractionPipeline(Pipeline):
    """Hidden states of the last layer, shaped like HF's `FeatureExtractionPipeline`.

    Call with a text or a list of texts. Per text (with `pooling=None`, HF's form): a nested list
    `[1, tokens, hidden_size]` covering every token including `[CLS]`/`[SEP]`. With `pooling`, one vector
    `[hidden_size]` per text: "cls" the `[CLS]` state, "mean" the mean over the text's tokens (special tokens
    included), "pooler" the pooler output (tanh dense on `[CLS]`, ALBERT's sentence-order features; the checkpoint
    must hold the pooler's weights). `return_tensors=True` gives numpy arrays instead of lists. `truncation`
    (False): a longer text than the model takes is an error unless True.

    Any ALBERT model works (its backbone is used); from a folder the bare `AlbertModel` is loaded.

    Example (the embedded `tf-albert-small`, H 384, the default model):
    >>> import numpy as np
    >>> from tf_albert.pipelines import pipeline
    >>> extractor = pipeline("feature-extraction")
    >>> np.shape(extractor("the module")), np.shape(extractor("the module", pooling="mean"))
    ((1, 4, 384), (384,))

    With a released model (illustration):

    >>> extractor = pipeline("feature-extraction", model="path/to/albert-base-v2")  # doctest: +SKIP
    >>> len(extractor("Hello world")[0][0])  # doctest: +SKIP
    768
    >>> len(extractor("Hello world", pooling="mean"))  # doctest: +SKIP
    768
    """

    task = "feature-extraction"
    model_classes = (AlbertPreTrainedModel,)  # any head's backbone
    default_model_usable = True
    load_class = AlbertModel
    defaults = {"truncation": False, "pooling": None, "return_tensors": False}

    def _check_params(self, params):
        if params["pooling"] not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {params['pooling']!r}")
        if params["pooling"] == "pooler":
            if self.model.albert.pooler is None:
                raise ValueError(f"pooling='pooler' needs a model with a pooler; {type(self.model).__name__} has "
                                 "none (use 'cls' or 'mean')")
            missing = [k for k in getattr(getattr(self.model, "loading_info", None), "missing_keys", [])
                       if "pooler" in k]
            if missing:
                raise ValueError(f"pooling='pooler' needs trained pooler weights, but the checkpoint lacks "
                                 f"{missing} (they were initialised at random); use 'cls' or 'mean'")

    def _prepare(self, items, params):
        out, texts, encoded = self._encode_texts(items, params)
        if texts:
            for i, ids, types in zip(texts, encoded["input_ids"], encoded["token_type_ids"]):
                out[i] = too_long(len(ids), self.max_length) if len(ids) > self.max_length else [Feature(ids, types)]
        return out

    def _outputs(self, model, inputs):
        out = model.albert(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
        return {k: out[k] for k in ("last_hidden_state", "pooler_output") if k in out}

    def _postprocess(self, text, features, outputs, params):
        n = len(features[0])
        hidden = outputs[0]["last_hidden_state"][:n]
        pooling = params["pooling"]
        if pooling is None:
            value = hidden[None]
        elif pooling == "cls":
            value = hidden[0]
        elif pooling == "mean":
            value = hidden.mean(axis=0)
        else:
            value = outputs[0]["pooler_output"]
        value = np.asarray(value, np.float32)
        return value if params["return_tensors"] else value.tolist()
