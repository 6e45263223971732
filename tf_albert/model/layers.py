"""ALBERT's building blocks, in data-flow order; encoder.py stacks them into the model.

embeddings (V×E word + position + token type → LayerNorm → dropout → E→H projection)
→ TransformerBlock (attention → add → LayerNorm; FFN → add → LayerNorm), the block that AlbertEncoder
  (encoder.py) shares across layers
→ pooler (tanh on [CLS]) / MLM head (tied decoder) / SOP head.

Everything here uses `keras.ops`, so it runs on any Keras backend. Weights are created in `build()` from
the config alone, so a model can be built (and its weights loaded) without running a forward pass.
"""

from __future__ import annotations

import warnings

import keras
from keras import ops

from tf_albert.model.activations import get_activation
from tf_albert.model.config import AlbertConfig
from tf_albert.utils import backends

_FLOAT32_MIN = -3.4028234663852886e38
# The fused attention takes its bias in the compute dtype: float32's lowest value is -inf in float16 (and
# rounds to -inf in bfloat16), and a row of -inf is NaN after softmax. These stay finite and still give a
# padded key exactly zero probability.
_FUSED_BIAS_FLOOR = {"float16": -3.0e4}
_FUSED_BIAS_FLOOR_DEFAULT = -1.0e30

#: What `attn_implementation=None` runs, by (backend, device): the faster of the two, measured side by side
#: (benchmarks/bench_attention.py; docs/performance.md). Devices not listed get "sdpa", the fused kernels.
DEFAULT_ATTN_IMPLEMENTATION = {
    ("tensorflow", "cpu"): "eager",
    ("jax", "cpu"): "eager",
    ("torch", "cpu"): "sdpa",
}


def resolve_attn_implementation(choice: str | None) -> str:
    """`choice` ("eager" / "sdpa"), or for None the measured default of the backend and device that run.

    Example:
    >>> resolve_attn_implementation("sdpa")
    'sdpa'
    >>> resolve_attn_implementation(None) in ("eager", "sdpa")
    True
    """
    if choice is not None:
        return choice
    return DEFAULT_ATTN_IMPLEMENTATION.get((backends.backend(), backends.accelerator()), "sdpa")


_warned_eager_fallback = False


def _warn_eager_fallback_once():
    global _warned_eager_fallback
    if not _warned_eager_fallback:
        _warned_eager_fallback = True
        warnings.warn(
            'attn_implementation="sdpa" cannot return attention probabilities; output_attentions=True runs '
            'the eager attention instead (same numbers within 1e-5), as HF transformers does',
            UserWarning,
            stacklevel=3,
        )


def as_config(config) -> AlbertConfig:
    if isinstance(config, AlbertConfig):
        return config
    if isinstance(config, dict):
        return AlbertConfig.from_dict(config)
    raise TypeError(f"config must be an AlbertConfig or a dict, got {type(config).__name__}")


def _dropout(layer, x, training, dropout_fn, salt):
    """`layer(x)`, or in training `dropout_fn(x, layer.rate, salt)` when the caller draws the masks itself
    (`salt` tells a block's dropouts apart)."""
    if dropout_fn is None:
        return layer(x, training=training)
    if not training or layer.rate == 0:
        return x
    return dropout_fn(x, layer.rate, salt)


class ConfigLayer(keras.layers.Layer):
    """A layer whose whole structure follows from an AlbertConfig (serialised as its dict)."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = as_config(config)
        # No automatic casting of float inputs to the compute dtype: the attention bias must stay float32
        # (float32's lowest value is -inf in float16); these layers cast what they compute on themselves.
        self.autocast = False

    def _init(self):
        return keras.initializers.TruncatedNormal(stddev=self.config.initializer_range)

    def _dense(self, units, name, activation=None):
        return keras.layers.Dense(
            units, activation=activation, kernel_initializer=self._init(), name=name, dtype=self.dtype_policy
        )

    def _layer_norm(self, name="LayerNorm"):
        return keras.layers.LayerNormalization(
            epsilon=self.config.layer_norm_eps, name=name, dtype=self.dtype_policy
        )

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict()}


class AlbertEmbeddings(ConfigLayer):
    """Word (V×E), position and token-type embeddings → LayerNorm → dropout → projection E→H.

    The projection is the factorization that gives ALBERT its small embedding: HF keeps it in the encoder
    as `embedding_hidden_mapping_in`; it lives here because it belongs to the embedding, and keeps that name.
    """

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        self.word_embeddings = keras.layers.Embedding(
            c.vocab_size, c.embedding_size, embeddings_initializer=self._init(), name="word_embeddings",
            dtype=self.dtype_policy,
        )
        self.position_embeddings = keras.layers.Embedding(
            c.max_position_embeddings, c.embedding_size, embeddings_initializer=self._init(),
            name="position_embeddings", dtype=self.dtype_policy,
        )
        self.token_type_embeddings = keras.layers.Embedding(
            c.type_vocab_size, c.embedding_size, embeddings_initializer=self._init(),
            name="token_type_embeddings", dtype=self.dtype_policy,
        )
        self.LayerNorm = self._layer_norm()
        self.dropout = keras.layers.Dropout(c.hidden_dropout_prob, dtype=self.dtype_policy)
        self.embedding_hidden_mapping_in = self._dense(c.hidden_size, "embedding_hidden_mapping_in")

    def build(self, input_shape=None):
        e = self.config.embedding_size
        for layer in (self.word_embeddings, self.position_embeddings, self.token_type_embeddings):
            layer.build()
        self.LayerNorm.build((None, None, e))
        self.embedding_hidden_mapping_in.build((None, None, e))
        self.built = True

    def call(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None, training=False):
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        else:
            inputs_embeds = ops.cast(inputs_embeds, self.compute_dtype)
        seq_len = ops.shape(inputs_embeds)[1]
        if position_ids is None:
            position_ids = ops.expand_dims(ops.arange(seq_len, dtype="int32"), 0)
        if token_type_ids is None:
            token_type_ids = ops.zeros(ops.shape(inputs_embeds)[:2], dtype="int32")
        embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(position_ids)
        embeddings = self.LayerNorm(embeddings)
        embeddings = self.dropout(embeddings, training=training)
        return self.embedding_hidden_mapping_in(embeddings)


class AlbertAttention(ConfigLayer):
    """Multi-head self-attention with its output projection, dropout, residual and LayerNorm.

    Two implementations with HF's names (`config.attn_implementation`): "eager" computes scores, mask and
    softmax in float32 whatever the compute dtype and returns the probabilities; "sdpa" calls
    `keras.ops.dot_product_attention` (fused kernels where the backend has them; softmax in float32 too) and
    returns none. "sdpa" runs eager where the probabilities are needed (`output_attentions=True`) or dropped
    out (training with `attention_probs_dropout_prob > 0`: the fused op has no dropout).
    """

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        self.num_heads = c.num_attention_heads
        self.head_size = c.head_size
        self.implementation = resolve_attn_implementation(c.attn_implementation)
        self.query = self._dense(c.hidden_size, "query")
        self.key = self._dense(c.hidden_size, "key")
        self.value = self._dense(c.hidden_size, "value")
        self.dense = self._dense(c.hidden_size, "dense")
        self.LayerNorm = self._layer_norm()
        self.attention_dropout = keras.layers.Dropout(c.attention_probs_dropout_prob, dtype=self.dtype_policy)
        self.output_dropout = keras.layers.Dropout(c.hidden_dropout_prob, dtype=self.dtype_policy)

    def build(self, input_shape=None):
        h = self.config.hidden_size
        for layer in (self.query, self.key, self.value, self.dense, self.LayerNorm):
            layer.build((None, None, h))
        self.built = True

    def _runs_fused(self, training, output_attentions) -> bool:
        if self.implementation != "sdpa":
            return False
        if output_attentions:
            _warn_eager_fallback_once()
            return False
        return not (training and self.attention_dropout.rate > 0)

    def call(self, hidden_states, attention_bias=None, training=False, dropout_fn=None,
             output_attentions=False):
        """Returns (output [B, L, H], attention probabilities [B, heads, L, L] in float32, or None where the
        fused attention ran).

        `dropout_fn` (see TransformerBlock.call) replaces the Dropout layers' own random draws;
        `output_attentions=True` asks for the probabilities.
        """
        batch, seq_len = ops.shape(hidden_states)[0], ops.shape(hidden_states)[1]
        heads_shape = (batch, seq_len, self.num_heads, self.head_size)
        query = ops.reshape(self.query(hidden_states), heads_shape)  # [batch, seq, heads, head_size]
        key = ops.reshape(self.key(hidden_states), heads_shape)
        value = ops.reshape(self.value(hidden_states), heads_shape)

        if self._runs_fused(training, output_attentions):
            bias = None
            if attention_bias is not None:
                floor = _FUSED_BIAS_FLOOR.get(self.compute_dtype, _FUSED_BIAS_FLOOR_DEFAULT)
                bias = ops.cast(ops.maximum(attention_bias, floor), self.compute_dtype)
            context = ops.dot_product_attention(query, key, value, bias=bias, scale=self.head_size**-0.5)
            probs = None
        else:
            query, key, value = (ops.transpose(x, (0, 2, 1, 3)) for x in (query, key, value))  # heads first
            scores = ops.matmul(query, ops.transpose(key, (0, 1, 3, 2)))
            scores = ops.cast(scores, "float32") * self.head_size**-0.5
            if attention_bias is not None:
                scores = scores + attention_bias
            probs = ops.softmax(scores, axis=-1)
            dropped = ops.cast(probs, self.compute_dtype)
            dropped = _dropout(self.attention_dropout, dropped, training, dropout_fn, 1)
            context = ops.transpose(ops.matmul(dropped, value), (0, 2, 1, 3))
        context = ops.reshape(context, (batch, seq_len, self.config.hidden_size))
        projected = _dropout(self.output_dropout, self.dense(context), training, dropout_fn, 2)
        return self.LayerNorm(hidden_states + projected), probs


class TransformerBlock(ConfigLayer):
    """One post-LayerNorm ALBERT layer: attention block, then FFN → act → dense → dropout → add → LN.

    ALBERT's parameter sharing means one instance of this block is called at many depths.
    (HF's PyTorch AlbertLayer defines but never applies the FFN-output dropout; Google's original does.
    We follow the original: it only matters in training.)
    """

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        self.attention = AlbertAttention(c, name="attention", dtype=self.dtype_policy)
        self.ffn = self._dense(c.intermediate_size, "ffn")
        self.ffn_output = self._dense(c.hidden_size, "ffn_output")
        self.full_layer_layer_norm = self._layer_norm("full_layer_layer_norm")
        self.dropout = keras.layers.Dropout(c.hidden_dropout_prob, dtype=self.dtype_policy)
        self.activation = get_activation(c.hidden_act)

    def build(self, input_shape=None):
        c = self.config
        self.attention.build()
        self.ffn.build((None, None, c.hidden_size))
        self.ffn_output.build((None, None, c.intermediate_size))
        self.full_layer_layer_norm.build((None, None, c.hidden_size))
        self.built = True

    def call(self, hidden_states, attention_bias=None, training=False, dropout_fn=None,
             output_attentions=False):
        """Returns (output [B, L, H], attention probabilities [B, heads, L, L] in float32, or None where the
        fused attention ran: see AlbertAttention).

        `dropout_fn(x, rate, salt) -> x`, if given, draws the block's dropout masks in training instead of
        its Dropout layers (`salt` is 1, 2, 3 for the attention-probability, attention-output and FFN-output
        dropouts). Gradient checkpointing passes a seeded one, so that recomputing the block in the backward
        pass redraws the same masks (encoder.py's fast path).
        """
        attention_output, probs = self.attention(hidden_states, attention_bias, training=training,
                                                 dropout_fn=dropout_fn, output_attentions=output_attentions)
        ffn_output = self.ffn_output(self.activation(self.ffn(attention_output)))
        ffn_output = _dropout(self.dropout, ffn_output, training, dropout_fn, 3)
        return self.full_layer_layer_norm(ffn_output + attention_output), probs


class AlbertPooler(ConfigLayer):
    """Dense + tanh on the first ([CLS]) token."""

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.dense = self._dense(self.config.hidden_size, "dense", activation="tanh")

    def build(self, input_shape=None):
        self.dense.build((None, self.config.hidden_size))
        self.built = True

    def call(self, sequence_output):
        # [:, :1] padded by one NaN position, then position 0: the first token; for a sequence with no
        # position (an empty [0, 0] batch, or under XLA, which cannot raise) NaN instead of a crash.
        first = ops.pad(sequence_output[:, :1], [[0, 0], [0, 1], [0, 0]], constant_values=float("nan"))[:, 0]
        return self.dense(first)


def attention_bias_from_mask(attention_mask, dtype="float32"):
    """[B, L] mask of 1 (attend) / 0 (padding) → additive float32 bias [B, 1, 1, L] (0 or dtype min).

    The large negative is float32's lowest value, as in the reference, so a padded key gets exactly zero
    probability and a fully padded row stays finite.
    """
    mask = ops.cast(attention_mask, dtype)
    return ops.expand_dims(ops.expand_dims((1.0 - mask) * _FLOAT32_MIN, 1), 1)


class AlbertMLMHead(ConfigLayer):
    """dense H→E → activation → LayerNorm → decoder tied to the word embeddings (+ its own bias).

    The decoder matrix is the word-embedding table, passed in at call time, so the tie cannot be broken
    by saving, loading or cloning.
    """

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        self.dense = self._dense(c.embedding_size, "dense")
        self.LayerNorm = self._layer_norm()
        self.activation = get_activation(c.hidden_act)

    def build(self, input_shape=None):
        c = self.config
        self.dense.build((None, None, c.hidden_size))
        self.LayerNorm.build((None, None, c.embedding_size))
        self.bias = self.add_weight(shape=(c.vocab_size,), initializer="zeros", name="bias")
        self.built = True

    def call(self, hidden_states, word_embeddings):
        hidden = self.LayerNorm(self.activation(self.dense(hidden_states)))
        table = ops.cast(word_embeddings, self.compute_dtype)
        logits = ops.matmul(hidden, ops.transpose(table))
        return ops.cast(logits, "float32") + ops.cast(self.bias, "float32")


class AlbertSOPHead(ConfigLayer):
    """Sentence-order prediction: dropout → `num_labels`-way classifier on the pooled output.

    Sized by `config.num_labels` as in HF's `AlbertSOPHead` (2, the default, for every released checkpoint).
    """

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.dropout = keras.layers.Dropout(self.config.classifier_dropout_prob or 0.0, dtype=self.dtype_policy)
        self.classifier = self._dense(self.config.num_labels, "classifier")

    def build(self, input_shape=None):
        self.classifier.build((None, self.config.hidden_size))
        self.built = True

    def call(self, pooled_output, training=False):
        return ops.cast(self.classifier(self.dropout(pooled_output, training=training)), "float32")
