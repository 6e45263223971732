"""ALBERT's cross-layer parameter sharing (AlbertEncoder) and the backbone built on it (AlbertMainLayer).

    embeddings → for i in range(num_hidden_layers): run every block of group int(i / (layers / groups))
               → pooler

`AlbertEncoder.call` is that loop, written out in `keras.ops`; it is the reference and runs on every backend.
On the TensorFlow backend the same layers have a fast path, in fast_loop.py: each group's layers as one
compiled loop (`tf.while_loop`), and optional gradient checkpointing; on JAX and PyTorch gradient
checkpointing wraps each layer of the plain loop in `keras.remat`. It gives the plain loop's outputs and
gradients (tests/model/test_encoder.py). The blocks themselves are in layers.py.
"""

from __future__ import annotations

import keras

from tf_albert.model.layers import (
    AlbertEmbeddings,
    AlbertPooler,
    ConfigLayer,
    TransformerBlock,
    attention_bias_from_mask,
)


class AlbertEncoder(ConfigLayer):
    """`num_hidden_groups` groups of `inner_group_num` shared TransformerBlocks, applied layer by layer.

    Layer `i` runs every block of group `int(i / (num_hidden_layers / num_hidden_groups))` in order. With
    the default config (one group, one inner block) there is exactly one TransformerBlock, called
    `num_hidden_layers` times.

    On the TensorFlow backend the layers of a group run as one compiled loop rather than
    `num_hidden_layers` unrolled copies (fast_loop.py): the graph, and so the XLA compilation of a forward
    or training step, is one block deep whatever the depth.

    Args:
        config: AlbertConfig or its dict.
        gradient_checkpointing: bool. In training, keep only each layer's input for the backward pass and
            recompute the layer's activations there, one layer at a time: much less memory for long
            sequences, for about one more forward pass of compute. Dropout masks are redrawn identically.
            TensorFlow: the compiled loop (fast_loop.py); JAX / PyTorch: `keras.remat` per layer. Can be
            switched on an existing encoder; retrace compiled functions afterwards
            (`model.make_train_function(force=True)`).

    Example:
    >>> import numpy as np
    >>> from tf_albert import AlbertConfig
    >>> from tf_albert.model.encoder import AlbertEncoder
    >>> config = AlbertConfig(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_hidden_layers=4)
    >>> encoder = AlbertEncoder(config, gradient_checkpointing=True)
    >>> last, hidden, attentions = encoder(np.zeros((1, 5, 16), "float32"), output_hidden_states=True)
    >>> tuple(last.shape), len(hidden), attentions is None
    ((1, 5, 16), 5, True)
    """

    def __init__(self, config, gradient_checkpointing=False, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        # === Layers === (named group_{g}_inner_{i}: the checkpoint readers map these names)
        self.albert_layer_groups = [
            [
                TransformerBlock(c, name=f"group_{g}_inner_{i}", dtype=self.dtype_policy)
                for i in range(c.inner_group_num)
            ]
            for g in range(c.num_hidden_groups)
        ]
        # === Config ===
        self.gradient_checkpointing = bool(gradient_checkpointing)

    @property
    def blocks(self):
        return [block for group in self.albert_layer_groups for block in group]

    def build(self, input_shape=None):
        for block in self.blocks:
            block.build()
        self.built = True

    def call(self, hidden_states, attention_bias=None, output_hidden_states=False, output_attentions=False,
             training=False):
        """Returns (last hidden state, hidden states tuple or None, attentions tuple or None).

        Hidden states are the input (the projected embeddings) and the output of every block call,
        attentions come from every block call: `num_hidden_layers * inner_group_num (+ 1)` tensors, as in
        HF transformers v5. (v4 kept only each layer's last inner output; with `inner_group_num == 1`, as
        in every released ALBERT, the two agree.)
        """
        c = self.config
        checkpointed = training and self.gradient_checkpointing
        if checkpointed and (output_hidden_states or output_attentions):
            raise ValueError("output_hidden_states/output_attentions cannot be combined with gradient "
                             "checkpointing in training (the per-layer activations are not kept)")
        first_hidden_states = hidden_states
        if keras.backend.backend() == "tensorflow":
            # TensorFlow is not installed on the JAX and PyTorch backends: its fast path is imported only here.
            from tf_albert.model import fast_loop

            if checkpointed:
                return fast_loop.checkpointed_layers(self, hidden_states, attention_bias, training), None, None
            if fast_loop.compiled_loop_applies(c, hidden_states):
                hidden_states, block_outputs = fast_loop.compiled_layers(
                    self, hidden_states, attention_bias, output_hidden_states, output_attentions, training)
                return _encoder_outputs(first_hidden_states, hidden_states, block_outputs, output_hidden_states,
                                        output_attentions)
        elif checkpointed:
            return self._rematerialized_layers(hidden_states, attention_bias), None, None

        collect = output_hidden_states or output_attentions  # else keep no layer's tensors alive
        block_outputs = []
        for i in range(c.num_hidden_layers):
            group = self.albert_layer_groups[int(i / (c.num_hidden_layers / c.num_hidden_groups))]
            for block in group:
                hidden_states, attention_probs = block(hidden_states, attention_bias, training=training,
                                                       output_attentions=output_attentions)
                if collect:
                    block_outputs.append((hidden_states, attention_probs))
        return _encoder_outputs(first_hidden_states, hidden_states, block_outputs, output_hidden_states,
                                output_attentions)

    def _rematerialized_layers(self, hidden_states, attention_bias):
        """Gradient checkpointing on JAX and PyTorch: the plain loop with each layer under `keras.remat`
        (`jax.checkpoint` / `torch.utils.checkpoint`), which keeps only the layer's input for the backward
        pass and recomputes the rest there. The recomputation must draw the same dropout masks: on JAX they
        come from seeds drawn outside the recomputed function; on PyTorch from torch's global generator,
        whose state `torch.utils.checkpoint` restores before recomputing. Returns the last hidden state."""
        c = self.config
        jax = keras.backend.backend() == "jax"
        for i in range(c.num_hidden_layers):
            group = self.albert_layer_groups[int(i / (c.num_hidden_layers / c.num_hidden_groups))]
            seeds = [_dropout_seed(block) if jax else None for block in group]

            def layer(h, bias, seeds, group=group):
                for block, seed in zip(group, seeds):
                    h, _ = block(h, bias, training=True, dropout_fn=_seeded_dropout(seed))
                return h

            hidden_states = keras.remat(layer)(hidden_states, attention_bias, seeds)
        return hidden_states

    def get_config(self):
        return {**super().get_config(), "gradient_checkpointing": self.gradient_checkpointing}


def _encoder_outputs(first_hidden_states, hidden_states, block_outputs, output_hidden_states,
                     output_attentions):
    """`AlbertEncoder.call`'s result from the block calls' [(hidden state, attention probabilities)]."""
    all_hidden_states = (first_hidden_states, *(h for h, _ in block_outputs)) if output_hidden_states else None
    all_attentions = tuple(p for _, p in block_outputs) if output_attentions else None
    return hidden_states, all_hidden_states, all_attentions


def _dropout_seed(block):
    """A fresh seed from one of `block`'s Dropout layers' generators (None when the block has no dropout)."""
    for layer in (block.dropout, block.attention.attention_dropout, block.attention.output_dropout):
        if getattr(layer, "seed_generator", None) is not None:
            return layer.seed_generator.next()
    return None


def _seeded_dropout(seed):
    """A TransformerBlock `dropout_fn`: masks from `seed` (+ a salt per dropout of the block), or from the
    backend's global generator when `seed` is None (PyTorch)."""

    def dropout(x, rate, salt):
        if seed is None:
            return keras.random.dropout(x, rate)
        return keras.random.dropout(x, rate, seed=seed + keras.ops.convert_to_tensor([0, salt], seed.dtype))

    return dropout


class AlbertMainLayer(ConfigLayer):
    """The ALBERT backbone: embeddings → encoder → (optional) pooler. HF's `albert.*` weights."""

    def __init__(self, config, add_pooling_layer=True, **kwargs):
        super().__init__(config, **kwargs)
        # === Layers ===
        self.embeddings = AlbertEmbeddings(self.config, name="embeddings", dtype=self.dtype_policy)
        self.encoder = AlbertEncoder(self.config, name="encoder", dtype=self.dtype_policy)
        self.pooler = (
            AlbertPooler(self.config, name="pooler", dtype=self.dtype_policy) if add_pooling_layer else None
        )
        # === Config ===
        self.add_pooling_layer = add_pooling_layer

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
