"""The heads' losses, XLA-safe: static shapes, no boolean_mask, computed in float32.

Each matches HF's PyTorch loss for the same head (mean over the positions that count) with one deliberate
difference: where no position counts (every label is -100), HF returns NaN and we return 0, so one
all-padding batch cannot poison a training run.

`sample_weight` (optional, shape [batch]) weighs each example's terms; the mean is still taken over the
positions that count, as Keras' "sum over batch size" reduction does.
"""

from __future__ import annotations

from keras import ops

IGNORE_INDEX = -100


def _weighted_mean(values, counted, sample_weight=None):
    """sum(values * counted * sample_weight) / max(sum(counted), 1); `counted` is 0/1 like `values`."""
    counted = ops.cast(counted, "float32")
    weights = counted
    if sample_weight is not None:
        sw = ops.cast(sample_weight, "float32")
        while len(sw.shape) < len(values.shape):
            sw = ops.expand_dims(sw, -1)
        weights = weights * sw
    total = ops.sum(ops.cast(values, "float32") * weights)
    return total / ops.maximum(ops.sum(counted), 1.0)


def masked_cross_entropy(labels, logits, ignore_index=IGNORE_INDEX, sample_weight=None):
    """Mean sparse softmax cross-entropy over positions whose label is not `ignore_index`.

    labels: int [...]; logits: [..., classes].
    """
    labels = ops.cast(labels, "int32")
    counted = ops.not_equal(labels, ignore_index)
    safe_labels = ops.where(counted, labels, ops.zeros_like(labels))
    per_position = ops.sparse_categorical_crossentropy(
        safe_labels, ops.cast(logits, "float32"), from_logits=True
    )
    return _weighted_mean(per_position, counted, sample_weight)


def sequence_classification_loss(labels, logits, problem_type, sample_weight=None):
    """HF's three problem types: regression (MSE), single-label (CE) and multi-label (BCE with logits)."""
    logits = ops.cast(logits, "float32")
    if problem_type == "regression":
        labels = ops.cast(labels, "float32")
        if logits.shape[-1] == 1:
            logits = ops.squeeze(logits, -1)
            if len(labels.shape) == len(logits.shape) + 1:
                labels = ops.squeeze(labels, -1)
        squared = ops.square(logits - labels)
        return _weighted_mean(squared, ops.ones_like(squared), sample_weight)
    if problem_type == "single_label_classification":
        return masked_cross_entropy(labels, logits, sample_weight=sample_weight)
    if problem_type == "multi_label_classification":
        labels = ops.cast(labels, "float32")
        # Numerically stable sigmoid cross-entropy, as torch's BCEWithLogitsLoss computes it.
        per_label = ops.maximum(logits, 0.0) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits)))
        return _weighted_mean(per_label, ops.ones_like(per_label), sample_weight)
    raise ValueError(f"unknown problem_type {problem_type!r}")


def infer_problem_type(problem_type, num_labels, labels_dtype: str) -> str:
    """HF's rule: num_labels 1 → regression; integer labels → single-label; else multi-label."""
    if problem_type is not None:
        return problem_type
    if num_labels == 1:
        return "regression"
    if labels_dtype.startswith("int") or labels_dtype.startswith("uint"):
        return "single_label_classification"
    return "multi_label_classification"


def span_loss(start_positions, end_positions, start_logits, end_logits, sample_weight=None):
    """QA: mean of start and end cross-entropy. Positions are clamped to [0, seq_len] and seq_len is
    ignored, so an answer outside the window (e.g. truncated away) does not count, as in HF."""
    seq_len = ops.shape(start_logits)[-1]

    def one_side(positions, logits):
        positions = ops.clip(ops.reshape(ops.cast(positions, "int32"), (-1,)), 0, seq_len)
        counted = ops.not_equal(positions, seq_len)
        safe = ops.where(counted, positions, ops.zeros_like(positions))
        per_example = ops.sparse_categorical_crossentropy(safe, ops.cast(logits, "float32"), from_logits=True)
        return _weighted_mean(per_example, counted, sample_weight)

    return (one_side(start_positions, start_logits) + one_side(end_positions, end_logits)) / 2.0
