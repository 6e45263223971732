"""Small helpers every part of the package may use; nothing here imports another tf_albert module.

* `fileio`: the atomic file write and the atomic folder replace (a crash leaves the old or the new, never none);
* `keras_hooks`: every private Keras / TensorFlow API the package uses, each with why and what breaks it;
* `qa_windows`: question-answering sliding windows over token ids (training and the pipeline share them);
* `backends`: the Keras backend that runs, and `BackendError` for a TensorFlow-only feature on another;
* `shapes`: the shape policy (the lengths batches are padded to).
"""
