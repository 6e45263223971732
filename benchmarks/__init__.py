"""Side-by-side benchmarks of tf_albert against KerasHub, HF transformers (PyTorch) and HF v4 TFAlbert.

Run `python -m benchmarks.run --help` from the repository root; see benchmarks/RESULTS.md. Nothing in the
package imports this folder, and the reference libraries are benchmark-only (requirements-bench.txt).
"""
