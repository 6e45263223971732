"""ALBERT building blocks, in data-flow order.

embeddings (V×E word + position + token type → LayerNorm → dropout → E→H projection)
→ one TransformerBlock per (group, inner group), called `num_hidden_layers` times by AlbertEncoder
→ pooler (tanh on [CLS]) / MLM head (tied decoder) / SOP head.

Everything here uses `keras.ops`, so it runs on any Keras backend. Weights are created in `build()` from
the config alone, so a model can be built (and its weights loaded) without running a forward pass.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from tf_albert.model.config import AlbertConfig
from tf_albert.model.validation import in_xla_context

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_FLOAT32_MIN = -3.4028234663852886e38


# The GELUs carry their own gradient, which keeps only the input for the backward pass: autodiff of the
# elementwise chain keeps several FFN-wide intermediates per layer (x³, tanh, ...), which inside the layer
# loop nothing fuses away (albert-base fit step at 8 × 128, XLA: peak RSS 2867 → 2445 MB).
@ops.custom_gradient
def _gelu_tanh(x):
    def grad(*args, upstream=None):
        upstream = args[0] if upstream is None else upstream
        x3 = 0.044715 * ops.power(x, 3)
        t = ops.tanh(_SQRT_2_OVER_PI * (x + x3))
        slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x)
        return upstream * slope

    return 0.5 * x * (1.0 + ops.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * ops.power(x, 3)))), grad


@ops.custom_gradient
def _gelu_erf(x):
    def grad(*args, upstream=None):
        upstream = args[0] if upstream is None else upstream
        cdf = 0.5 * (1.0 + ops.erf(x * _SQRT_HALF))
        return upstream * (cdf + x * ops.exp(-0.5 * x * x) * _INV_SQRT_2PI)

    return ops.gelu(x, approximate=False), grad


def _gelu_fast(x):
    return 0.5 * x * (1.0 + ops.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


_ACTIVATIONS = {
    "gelu": _gelu_erf,
    "gelu_python": _gelu_erf,
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "gelu_fast": _gelu_fast,
    "quick_gelu": lambda x: x * ops.sigmoid(1.702 * x),
    "relu": ops.relu,
    "relu6": ops.relu6,
    "silu": ops.silu,
    "swish": ops.silu,
    "tanh": ops.tanh,
    "sigmoid": ops.sigmoid,
    "mish": lambda x: x * ops.tanh(ops.softplus(x)),
    "linear": lambda x: x,
}


def get_activation(name: str):
    """The activation function for an HF `hidden_act` name (`gelu_new` = tanh approximation)."""
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(_ACTIVATIONS)}") from None


def as_config(config) -> AlbertConfig:
    if isinstance(config, AlbertConfig):
        return config
    if isinstance(config, dict):
        return AlbertConfig.from_dict(config)
    raise TypeError(f"config must be an AlbertConfig or a dict, got {type(config).__name__}")


def _next_seed(block):
    """A fresh [2] seed from the seed generator of one of `block`'s Dropout layers (no new variables;
    Keras gives a Dropout layer a generator only when its rate is > 0)."""
    for layer in (block.dropout, block.attention.attention_dropout):
        if getattr(layer, "seed_generator", None) is not None:
            return layer.seed_generator.next()
    raise ValueError("the block has no dropout to seed")


def _dropout(layer, x, training, seed, salt):
    """`layer(x)`, or with `seed` the same dropout as a pure function of (seed, salt)."""
    if seed is None:
        return layer(x, training=training)
    if not training or layer.rate == 0:
        return x
    if keras.backend.backend() != "tensorflow":
        raise NotImplementedError("seeded dropout (gradient checkpointing with dropout) needs TensorFlow")
    import tensorflow as tf

    seed = tf.cast(seed, "int64") + tf.constant([0, salt], "int64")
    return tf.nn.experimental.stateless_dropout(x, rate=layer.rate, seed=seed)


class _ConfigLayer(keras.layers.Layer):
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


class AlbertEmbeddings(_ConfigLayer):
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


class AlbertAttention(_ConfigLayer):
    """Multi-head self-attention with its output projection, dropout, residual and LayerNorm.

    Scores, mask and softmax are computed in float32 whatever the compute dtype.
    """

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        self.num_heads = c.num_attention_heads
        self.head_size = c.head_size
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

    def _split_heads(self, x, batch, seq_len):
        x = ops.reshape(x, (batch, seq_len, self.num_heads, self.head_size))
        return ops.transpose(x, (0, 2, 1, 3))  # [batch, heads, seq, head_size]

    def call(self, hidden_states, attention_bias=None, training=False, dropout_seed=None):
        """Returns (output [B, L, H], attention probabilities [B, heads, L, L] in float32).

        `dropout_seed` (a [2] int tensor) makes the dropout masks a function of the seed, so that
        recomputing this call in the backward pass (gradient checkpointing) draws the same masks.
        """
        batch, seq_len = ops.shape(hidden_states)[0], ops.shape(hidden_states)[1]
        query = self._split_heads(self.query(hidden_states), batch, seq_len)
        key = self._split_heads(self.key(hidden_states), batch, seq_len)
        value = self._split_heads(self.value(hidden_states), batch, seq_len)

        scores = ops.matmul(query, ops.transpose(key, (0, 1, 3, 2)))
        scores = ops.cast(scores, "float32") * self.head_size**-0.5
        if attention_bias is not None:
            scores = scores + attention_bias
        probs = ops.softmax(scores, axis=-1)
        dropped = _dropout(self.attention_dropout, ops.cast(probs, self.compute_dtype), training, dropout_seed, 1)

        context = ops.matmul(dropped, value)
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (batch, seq_len, self.config.hidden_size))
        projected = _dropout(self.output_dropout, self.dense(context), training, dropout_seed, 2)
        return self.LayerNorm(hidden_states + projected), probs


class TransformerBlock(_ConfigLayer):
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

    def call(self, hidden_states, attention_bias=None, training=False, dropout_seed=None):
        attention_output, probs = self.attention(hidden_states, attention_bias, training=training,
                                                 dropout_seed=dropout_seed)
        ffn_output = self.ffn_output(self.activation(self.ffn(attention_output)))
        ffn_output = _dropout(self.dropout, ffn_output, training, dropout_seed, 3)
        return self.full_layer_layer_norm(ffn_output + attention_output), probs


class AlbertEncoder(_ConfigLayer):
    """`num_hidden_groups` groups of `inner_group_num` shared TransformerBlocks, applied layer by layer.

    Layer `i` runs every block of group `int(i / (num_hidden_layers / num_hidden_groups))` in order. With
    the default config (one group, one inner block) there is exactly one TransformerBlock, called
    `num_hidden_layers` times.

    Because the block is shared, the layers of a group run as one compiled loop (`tf.while_loop` on the
    TensorFlow backend) rather than `num_hidden_layers` unrolled copies: the graph, and so the XLA
    compilation of a forward or training step, is one block deep whatever the depth.

    Args:
        config: AlbertConfig or its dict.
        gradient_checkpointing: bool. In training (TensorFlow backend), keep only each layer's input for
            the backward pass and recompute the layer's activations there, one layer at a time: much less
            memory for long sequences, for about one more forward pass of compute. Dropout masks are
            redrawn identically. Can be switched on an existing encoder; retrace compiled functions
            afterwards (`model.make_train_function(force=True)`).

    Example:
    >>> import numpy as np
    >>> from tf_albert import AlbertConfig
    >>> from tf_albert.model.layers import AlbertEncoder
    >>> config = AlbertConfig(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_hidden_layers=4)
    >>> encoder = AlbertEncoder(config, gradient_checkpointing=True)
    >>> last, hidden, attentions = encoder(np.zeros((1, 5, 16), "float32"), output_hidden_states=True)
    >>> tuple(last.shape), len(hidden), attentions is None
    ((1, 5, 16), 5, True)
    """

    def __init__(self, config, gradient_checkpointing=False, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        self.gradient_checkpointing = bool(gradient_checkpointing)
        self.albert_layer_groups = [
            [
                TransformerBlock(c, name=f"group_{g}_inner_{i}", dtype=self.dtype_policy)
                for i in range(c.inner_group_num)
            ]
            for g in range(c.num_hidden_groups)
        ]

    @property
    def blocks(self):
        return [block for group in self.albert_layer_groups for block in group]

    def build(self, input_shape=None):
        for block in self.blocks:
            block.build()
        self.built = True

    def _layer_fn(self, group, training, seeds=None):
        """One layer: every block of `group` in turn → (hidden, [(hidden, probs) per block]).

        With `seeds` ([2] int tensors, one per block) the layer takes its index as a third argument and its
        dropout masks are a pure function of (seed, index), as recomputation needs.
        """

        def layer(hidden_states, attention_bias, index=None):
            outputs = []
            for j, block in enumerate(group):
                seed = None
                if seeds is not None:
                    seed = ops.cast(seeds[j], "int64") + ops.cast(ops.stack([0, 8 * index]), "int64")
                hidden_states, probs = block(hidden_states, attention_bias, training=training, dropout_seed=seed)
                outputs.append((hidden_states, probs))
            return hidden_states, outputs

        return layer

    def call(self, hidden_states, attention_bias=None, output_hidden_states=False, output_attentions=False,
             training=False):
        """Returns (last hidden state, hidden states tuple or None, attentions tuple or None).

        Hidden states are the input (the projected embeddings) and the output of every block call,
        attentions come from every block call: `num_hidden_layers * inner_group_num (+ 1)` tensors, as in
        HF transformers v5. (v4 kept only each layer's last inner output; with `inner_group_num == 1`, as
        in every released ALBERT, the two agree.)
        """
        c = self.config
        collect = output_hidden_states or output_attentions
        checkpointed = bool(training) and self.gradient_checkpointing and keras.backend.backend() == "tensorflow"
        if checkpointed and _xla_with_dynamic_shape(hidden_states):
            raise ValueError(
                "gradient checkpointing under XLA (jit_compile=True) needs static shapes, but this batch has "
                f"shape {tuple(hidden_states.shape)}: batch with drop_remainder=True and pad to a fixed length, "
                "or compile with jit_compile=False"
            )
        if collect and checkpointed:
            raise ValueError("output_hidden_states/output_attentions cannot be combined with gradient "
                             "checkpointing in training (the per-layer activations are not kept)")
        all_hidden = [hidden_states] if output_hidden_states else None
        all_attentions = [] if output_attentions else None
        for group in self.albert_layer_groups:
            if checkpointed:
                seeds = None
                if max(c.hidden_dropout_prob, c.attention_probs_dropout_prob) > 0:
                    # Drawn once per call, outside the recomputed loop, from the blocks' own generators.
                    seeds = [_next_seed(block) for block in group]
                layer = self._layer_fn(group, training, seeds)
                hidden_states = _checkpointed_repeat(layer, c.layers_per_group, hidden_states, attention_bias,
                                                     with_index=seeds is not None)
                continue
            layer = self._layer_fn(group, training)
            hidden_states, per_layer = _repeat(layer, c.layers_per_group, len(group), hidden_states,
                                               attention_bias, collect)
            for outputs in per_layer:
                for block_hidden, probs in outputs:
                    if output_hidden_states:
                        all_hidden.append(block_hidden)
                    if output_attentions:
                        all_attentions.append(probs)
        return (
            hidden_states,
            tuple(all_hidden) if output_hidden_states else None,
            tuple(all_attentions) if output_attentions else None,
        )

    def get_config(self):
        return {**super().get_config(), "gradient_checkpointing": self.gradient_checkpointing}


def _xla_with_dynamic_shape(hidden_states) -> bool:
    """Tracing for XLA with a batch or length unknown at trace time (e.g. a tf.data batch without
    `drop_remainder`). XLA compiles such a step once per concrete shape, but the gradient of a
    `tf.while_loop` whose body has shape-dependent ops cannot be converted then ("must be a compile-time
    constant"), so the layers are unrolled instead."""
    return None in tuple(hidden_states.shape) and in_xla_context()


def _repeat(layer, count, n_blocks, hidden_states, attention_bias, collect):
    """Applies `layer` (hidden, bias → hidden, per-block outputs) `count` times.

    Returns (hidden, per-layer outputs if `collect` else []). On TensorFlow this is one `tf.while_loop`
    (collected outputs go through TensorArrays); elsewhere, and for a single layer, a Python loop.
    """
    if count == 1 or keras.backend.backend() != "tensorflow" or _xla_with_dynamic_shape(hidden_states):
        per_layer = []
        for _ in range(count):
            hidden_states, outputs = layer(hidden_states, attention_bias)
            if collect:
                per_layer.append(outputs)
        return hidden_states, per_layer

    import tensorflow as tf

    if not collect:
        def body(i, h):
            return i + 1, layer(h, attention_bias)[0]

        _, hidden_states = tf.while_loop(lambda i, h: i < count, body, (tf.constant(0), hidden_states),
                                         maximum_iterations=count)
        return hidden_states, []

    def body(i, h, arrays):
        h, outputs = layer(h, attention_bias)
        flat = [t for pair in outputs for t in pair]
        return i + 1, h, [a.write(i, t) for a, t in zip(arrays, flat)]

    dtypes = [hidden_states.dtype, "float32"] * n_blocks  # block outputs in the compute dtype, probs float32
    arrays = [tf.TensorArray(dtype, size=count) for dtype in dtypes]
    _, hidden_states, arrays = tf.while_loop(
        lambda i, h, a: i < count, body, (tf.constant(0), hidden_states, arrays), maximum_iterations=count
    )
    stacked = [a.stack() for a in arrays]
    per_layer = [[(stacked[2 * j][i], stacked[2 * j + 1][i]) for j in range(n_blocks)] for i in range(count)]
    return hidden_states, per_layer


def _checkpointed_repeat(layer, count, hidden_states, attention_bias, with_index):
    """`_repeat` for training with gradient checkpointing (TensorFlow).

    The forward loop keeps only each layer's input ([count, B, L, H]); the backward loop walks the layers
    in reverse, recomputes one layer's activations from its input under a tape and back-propagates
    through it, accumulating the weight gradients. Peak activation memory is one layer's instead of
    `count` layers'. The attention bias comes from the mask and gets no gradient.
    """
    import tensorflow as tf

    def apply(h, i):
        return layer(h, attention_bias, i if with_index else None)[0]

    @tf.custom_gradient
    def run(h0):
        def forward(i, h, inputs):
            return i + 1, apply(h, i), inputs.write(i, h)

        inputs = tf.TensorArray(h0.dtype, size=count, element_shape=h0.shape)
        _, h, inputs = tf.while_loop(lambda i, h, a: i < count, forward, (tf.constant(0), h0, inputs),
                                     maximum_iterations=count)
        layer_inputs = inputs.stack()

        def grad(dh, variables=None):
            variables = list(variables or [])

            def backward(i, dh, var_grads):
                index = count - 1 - i
                h_in = tf.gather(layer_inputs, index)
                with tf.GradientTape() as tape:
                    tape.watch(h_in)
                    out = apply(h_in, index)
                grads = tape.gradient(out, [h_in] + variables, output_gradients=dh,
                                      unconnected_gradients=tf.UnconnectedGradients.ZERO)
                return i + 1, grads[0], [a + tf.convert_to_tensor(g) for a, g in zip(var_grads, grads[1:])]

            zeros = [tf.zeros(v.shape, v.dtype) for v in variables]
            _, dh0, var_grads = tf.while_loop(lambda i, d, g: i < count, backward, (tf.constant(0), dh, zeros),
                                              maximum_iterations=count)
            return dh0, var_grads

        return h, grad

    return run(hidden_states)


class AlbertPooler(_ConfigLayer):
    """Dense + tanh on the first ([CLS]) token."""

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.dense = self._dense(self.config.hidden_size, "dense", activation="tanh")

    def build(self, input_shape=None):
        self.dense.build((None, self.config.hidden_size))
        self.built = True

    def call(self, sequence_output):
        return self.dense(sequence_output[:, 0])


def attention_bias_from_mask(attention_mask, dtype="float32"):
    """[B, L] mask of 1 (attend) / 0 (padding) → additive float32 bias [B, 1, 1, L] (0 or dtype min).

    The large negative is float32's lowest value, as in the reference, so a padded key gets exactly zero
    probability and a fully padded row stays finite.
    """
    mask = ops.cast(attention_mask, dtype)
    return ops.expand_dims(ops.expand_dims((1.0 - mask) * _FLOAT32_MIN, 1), 1)


class AlbertMainLayer(_ConfigLayer):
    """The ALBERT backbone: embeddings → encoder → (optional) pooler. HF's `albert.*` weights."""

    def __init__(self, config, add_pooling_layer=True, **kwargs):
        super().__init__(config, **kwargs)
        self.add_pooling_layer = add_pooling_layer
        self.embeddings = AlbertEmbeddings(self.config, name="embeddings", dtype=self.dtype_policy)
        self.encoder = AlbertEncoder(self.config, name="encoder", dtype=self.dtype_policy)
        self.pooler = (
            AlbertPooler(self.config, name="pooler", dtype=self.dtype_policy) if add_pooling_layer else None
        )

    def build(self, input_shape=None):
        self.embeddings.build()
        self.encoder.build()
        if self.pooler is not None:
            self.pooler.build()
        self.built = True

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
             inputs_embeds=None, output_hidden_states=False, output_attentions=False, training=False):
        hidden = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds, training=training)
        if attention_mask is None:
            attention_bias = None
        else:
            attention_bias = attention_bias_from_mask(attention_mask)
        sequence_output, hidden_states, attentions = self.encoder(
            hidden, attention_bias, output_hidden_states=output_hidden_states,
            output_attentions=output_attentions, training=training,
        )
        outputs = {"last_hidden_state": sequence_output}
        if self.pooler is not None:
            outputs["pooler_output"] = self.pooler(sequence_output)
        if output_hidden_states:
            outputs["hidden_states"] = hidden_states
        if output_attentions:
            outputs["attentions"] = attentions
        return outputs

    def get_config(self):
        return {**super().get_config(), "add_pooling_layer": self.add_pooling_layer}


class AlbertMLMHead(_ConfigLayer):
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


class AlbertSOPHead(_ConfigLayer):
    """Sentence-order prediction: dropout → 2-way classifier on the pooled output."""

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.dropout = keras.layers.Dropout(self.config.classifier_dropout_prob or 0.0, dtype=self.dtype_policy)
        self.classifier = self._dense(2, "classifier")

    def build(self, input_shape=None):
        self.classifier.build((None, self.config.hidden_size))
        self.built = True

    def call(self, pooled_output, training=False):
        return ops.cast(self.classifier(self.dropout(pooled_output, training=training)), "float32")
