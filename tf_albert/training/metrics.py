"""Metrics for training: accuracy that skips ignored labels (-100), and numpy scores for evaluation."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tf_albert.model.losses import IGNORE_INDEX


@keras.saving.register_keras_serializable(package="tf_albert")
class MaskedAccuracy(keras.metrics.Metric):
    """Accuracy of `argmax(logits)` over the positions whose label is not `ignore_index` (-100).

    Works for every shape the heads produce: sequence classification ([B] vs [B, C]), token classification
    ([B, L] vs [B, L, C]) and masked LM ([B, P] vs [B, P, V]).

    Example:
    >>> import numpy as np
    >>> m = MaskedAccuracy()
    >>> m.update_state(np.array([[1, -100, 0]]), np.array([[[0., 1.], [1., 0.], [0., 1.]]]))
    >>> float(m.result())
    0.5
    """

    def __init__(self, name="accuracy", ignore_index=IGNORE_INDEX, dtype="float32", **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.ignore_index = int(ignore_index)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct", dtype="float32")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count", dtype="float32")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        if len(y_true.shape) == len(y_pred.shape):  # [B, 1] labels for [B, C] logits
            y_true = ops.squeeze(y_true, -1)
        counted = ops.cast(ops.not_equal(y_true, self.ignore_index), "float32")
        if sample_weight is not None:
            sw = ops.cast(sample_weight, "float32")
            while len(sw.shape) < len(counted.shape):
                sw = ops.expand_dims(sw, -1)
            counted = counted * sw
        hit = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32")
        self.correct.assign_add(ops.sum(hit * counted))
        self.count.assign_add(ops.sum(counted))

    def result(self):
        return self.correct / ops.maximum(self.count, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "ignore_index": self.ignore_index}


def accuracy(labels, predictions, ignore_index=IGNORE_INDEX) -> float:
    """Share of equal entries among those whose label is not `ignore_index`."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    counted = labels != ignore_index
    return float((labels[counted] == predictions[counted]).mean()) if counted.any() else 0.0


def f1_scores(labels, predictions, num_labels: int, ignore_index=IGNORE_INDEX) -> dict:
    """Per-class precision/recall/F1 and their macro average (and binary F1 of class 1 when 2 classes).

    Example:
    >>> round(f1_scores([1, 0, 1, 1], [1, 0, 0, 1], 2)["f1"], 4)
    0.8
    """
    labels, predictions = np.asarray(labels).ravel(), np.asarray(predictions).ravel()
    keep = labels != ignore_index
    labels, predictions = labels[keep], predictions[keep]
    f1s = []
    for c in range(num_labels):
        tp = np.sum((predictions == c) & (labels == c))
        fp = np.sum((predictions == c) & (labels != c))
        fn = np.sum((predictions != c) & (labels == c))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    out = {"macro_f1": float(np.mean(f1s)) if f1s else 0.0}
    if num_labels == 2:
        out["f1"] = float(f1s[1])
    return out


def pearson(labels, predictions) -> float:
    """Pearson correlation (regression tasks such as STS-B)."""
    a, b = np.asarray(labels, np.float64).ravel(), np.asarray(predictions, np.float64).ravel()
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])
