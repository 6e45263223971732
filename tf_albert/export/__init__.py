"""SavedModel export for TF Serving: one SavedModel per model, with an ids and an optional raw-text signature.

What lands on disk (``export_saved_model(model, "saved_models/my-model", version=1)``)::

    saved_models/my-model/1/
        saved_model.pb                 the graph and its signatures
        variables/                     the weights
        assets/labels.txt              id2label, one label per line (classifiers with a text signature)
        assets.extra/tf_albert.json    what was exported: head, config, signatures, options, versions

Signatures:

* ``serving_default`` (the *ids* signature): ``input_ids``, ``attention_mask``, ``token_type_ids``, all int32
  ``[batch, seq]`` (``[batch, num_choices, seq]`` for multiple choice), batch and length dynamic unless
  ``max_length`` fixes the length. Returns the head's named outputs (``logits``, ``start_logits`` /
  ``end_logits``, ``last_hidden_state`` / ``pooler_output``, ``prediction_logits`` / ``sop_logits``), float32.
  It holds only core TensorFlow ops, so a stock TF Serving binary loads it.
* ``serving_text`` / ``serving_text_pair`` (the *text* signatures, when a tokenizer is given): raw strings
  through the in-graph :class:`~tf_albert.tokenization.layer.AlbertTokenizerLayer`, returning the outputs, the
  ids used and readable predictions (top-k labels, tokens or choices; the QA answer text); see
  :mod:`tf_albert.export.text`. They need tensorflow-text's ops in the server (``saved_models/README.md``).
  ``text_first=True`` makes ``serving_text`` the default signature (and the ids one ``serving_ids``).

Bad input: a wrong dtype or rank is refused by the signature itself (TF's own error, e.g. TF Serving's
``Expects arg[0] to be int32 but int64 is provided``); an id outside its table (``input_ids`` outside
[0, vocab_size), ``token_type_ids`` outside [0, type_vocab_size)), an ``attention_mask`` value other than 0/1,
inputs of different shapes or a sequence longer than ``max_position_embeddings`` raise
``InvalidArgumentError`` naming the value, also with ``jit_compile=True``, where these checks run in an outer,
uncompiled function (XLA drops Assert ops).

Modules: :mod:`~tf_albert.export.signatures` (names, the ids signature), :mod:`~tf_albert.export.saved_model`
(options, writing, inspecting), :mod:`~tf_albert.export.text` (text signatures), :mod:`~tf_albert.export.tflite`
(``export_tflite``: the ids signature as a TFLite/LiteRT file, builtin ops only), :mod:`~tf_albert.export.onnx`
(``export_onnx``: an ONNX graph for ONNX Runtime, built from the weights; needs ``tf_albert[onnx]``),
:mod:`~tf_albert.export.calibration` (calibration data for static int8 in both), :mod:`~tf_albert.export.cli`
(``tf-albert export``; not imported here: the command line sits above the library).
"""

from tf_albert.utils.backends import require_tensorflow

# Export is a TensorFlow program: on the JAX / PyTorch backends (maybe with no TensorFlow installed) say so,
# and what to use instead, before importing TensorFlow.
require_tensorflow("export")

from tf_albert.export.saved_model import (  # noqa: E402
    ID_INPUTS,
    IDS_SIGNATURE,
    IDS_SIGNATURE_TEXT_FIRST,
    TEXT_SIGNATURE,
    export_saved_model,
    ops_outside_core,
    signature_op_types,
)
from tf_albert.export.onnx import export_onnx  # noqa: E402  (imports onnx itself only when it exports)
from tf_albert.export.tflite import export_tflite  # noqa: E402

__all__ = [
    "IDS_SIGNATURE",
    "IDS_SIGNATURE_TEXT_FIRST",
    "ID_INPUTS",
    "TEXT_SIGNATURE",
    "export_onnx",
    "export_saved_model",
    "export_tflite",
    "ops_outside_core",
    "signature_op_types",
]
