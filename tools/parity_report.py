"""Prints the max-abs-diff between our models and the HF v5 parity fixtures, per config, head and output.

    python tools/parity_report.py
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from tests.model.test_parity import HEADS, _build, _flatten  # noqa: E402


def main():
    print(f"{'config':8} {'head':22} {'outputs':>7} {'max-abs-diff':>13}  worst output")
    for variant in ("shared", "grouped"):
        for head in sorted(HEADS):
            model, inputs, expected = _build(variant, head)
            out = _flatten(model(**inputs, output_hidden_states=True, output_attentions=True))
            diffs = {k: float(np.max(np.abs(out[k] - v))) for k, v in expected.items() if k in out}
            worst = max(diffs, key=diffs.get)
            print(f"{variant:8} {head:22} {len(diffs):7d} {diffs[worst]:13.2e}  {worst}")


if __name__ == "__main__":
    main()
