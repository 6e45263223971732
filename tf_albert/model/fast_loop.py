"""The TensorFlow fast path of AlbertEncoder: the same layers as its plain loop (encoder.py), run as

* `compiled_layers`: each group's `layers_per_group` layers as one `tf.while_loop` (per-layer outputs, when
  asked, gathered in TensorArrays inside the loop) instead of `num_hidden_layers` traced copies of the
  block, so the graph, and its XLA compilation, is one block deep whatever the depth (benchmarks/RESULTS.md:
  first albert-base XLA fit step 136 → 78 s);
* `checkpointed_layers`: training with gradient checkpointing. The forward loop keeps only each layer's
  input; the backward loop recomputes one layer at a time and back-propagates through it, so peak
  activation memory is one layer's (albert-base 8 × 512: −15 % peak RSS for +17 % step time).

Both give the plain loop's outputs and gradients (tests/model/test_encoder.py). This is the model core's
TensorFlow-specific code; encoder.py imports it only on the TensorFlow backend.
"""

from __future__ import annotations

import tensorflow as tf

from tf_albert.model.validation import in_xla_context


def xla_with_dynamic_shape(hidden_states) -> bool:
    """Tracing for XLA with a batch or length unknown at trace time (e.g. a tf.data batch without
    `drop_remainder`). XLA compiles such a step once per concrete shape, but the gradient of a
    `tf.while_loop` whose body has shape-dependent ops cannot be converted then ("must be a compile-time
    constant"), so the encoder unrolls the layers instead (its plain loop)."""
    return None in tuple(hidden_states.shape) and in_xla_context()


def compiled_loop_applies(config, hidden_states) -> bool:
    """Whether `compiled_layers` runs: a group repeats (with one layer per group there is no loop to
    compile) and the shapes allow it (see `xla_with_dynamic_shape`)."""
    return config.layers_per_group > 1 and not xla_with_dynamic_shape(hidden_states)


def compiled_layers(encoder, hidden_states, attention_bias, output_hidden_states, output_attentions, training):
    """Each group's layers run as one `tf.while_loop` → (last hidden state, [(hidden state, attention
    probabilities) per block call] when per-layer outputs are asked for, else [])."""
    c = encoder.config
    collect = output_hidden_states or output_attentions
    block_outputs = []
    # Group g runs layers g * layers_per_group ... (g + 1) * layers_per_group - 1, so group by group is layer
    # by layer.
    for group in encoder.albert_layer_groups:
        layer = _layer(group, attention_bias, training, output_attentions=output_attentions)
        hidden_states, per_layer = _repeat(layer, c.layers_per_group, len(group), hidden_states, collect)
        for outputs in per_layer:
            block_outputs.extend(outputs)
    return hidden_states, block_outputs


def checkpointed_layers(encoder, hidden_states, attention_bias, training):
    """The last hidden state in training with gradient checkpointing (no per-layer outputs are kept)."""
    if xla_with_dynamic_shape(hidden_states):
        raise ValueError(
            "gradient checkpointing under XLA (jit_compile=True) needs static shapes, but this batch has "
            f"shape {tuple(hidden_states.shape)}: batch with drop_remainder=True and pad to a fixed length, "
            "or compile with jit_compile=False"
        )
    c = encoder.config
    for group in encoder.albert_layer_groups:
        seeds = None
        if max(c.hidden_dropout_prob, c.attention_probs_dropout_prob) > 0:
            # Drawn once per call, outside the recomputed loop, from the blocks' own generators.
            seeds = [_next_seed(block) for block in group]
        layer = _layer(group, attention_bias, training, seeds)
        hidden_states = _checkpointed_repeat(layer, c.layers_per_group, hidden_states)
    return hidden_states


def _layer(group, attention_bias, training, seeds=None, output_attentions=False):
    """One ALBERT layer as a function, `layer(hidden_states, index) → (hidden_states, [(hidden_states,
    attention_probs) per block])`: every block of `group` in turn.

    With `seeds` ([2] int tensors, one per block) the dropout masks are a pure function of (seed, index), as
    recomputation needs; without, `index` is unused and the blocks' Dropout layers draw them.
    """

    def layer(hidden_states, index):
        outputs = []
        for j, block in enumerate(group):
            dropout_fn = None if seeds is None else _seeded_dropout(seeds[j], index)
            hidden_states, attention_probs = block(hidden_states, attention_bias, training=training,
                                                   dropout_fn=dropout_fn, output_attentions=output_attentions)
            if attention_probs is None:  # the fused attention ran: no probabilities, none asked for
                attention_probs = tf.zeros((), "float32")
            outputs.append((hidden_states, attention_probs))
        return hidden_states, outputs

    return layer


def _seeded_dropout(seed, index):
    """A TransformerBlock `dropout_fn` whose masks depend only on (seed, layer index, salt)."""
    layer_seed = tf.cast(seed, "int64") + tf.cast(tf.stack([0, 8 * index]), "int64")

    def dropout(x, rate, salt):
        return tf.nn.experimental.stateless_dropout(x, rate=rate, seed=layer_seed + tf.constant([0, salt], "int64"))

    return dropout


def _next_seed(block):
    """A fresh [2] seed from the seed generator of one of `block`'s Dropout layers (no new variables;
    Keras gives a Dropout layer a generator only when its rate is > 0)."""
    for layer in (block.dropout, block.attention.attention_dropout):
        if getattr(layer, "seed_generator", None) is not None:
            return layer.seed_generator.next()
    raise ValueError("the block has no dropout to seed")


def _repeat(layer, count, n_blocks, hidden_states, collect):
    """Applies `layer` `count` times in one `tf.while_loop` → (hidden, per-layer outputs if `collect`
    else [])."""
    if not collect:
        def body(i, h):
            return i + 1, layer(h, i)[0]

        _, hidden_states = tf.while_loop(lambda i, h: i < count, body, (tf.constant(0), hidden_states),
                                         maximum_iterations=count)
        return hidden_states, []

    def body(i, h, arrays):
        h, outputs = layer(h, i)
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


def _checkpointed_repeat(layer, count, hidden_states):
    """Applies `layer` `count` times, keeping only each layer's input ([count, B, L, H]) for the backward
    pass: the backward loop walks the layers in reverse, recomputes one layer's activations from its input
    under a tape and back-propagates through it, accumulating the weight gradients. The attention bias comes
    from the mask and gets no gradient.
    """

    def apply(h, i):
        return layer(h, i)[0]

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
