"""Checkpoint formats: one module per foreign format, all mapping onto the Keras models' weights.

* `api`: `from_pretrained` / `save_pretrained` (what `Albert*.from_pretrained` and `model.save_pretrained` call);
* `formats`: which shape a path holds; `loading`: assigning tensors and the `LoadingInfo` report;
* `hf_pytorch` (safetensors, pytorch_model.bin), `hf_tf` (tf_model.h5), `google_tf1` (TF1 checkpoints),
  `tf2` (TF Model Garden / TF Hub TF2 checkpoints), `keras_hub` (KerasHub presets, read and written);
* `safetensors_io` (the file format, numpy only), `hub` (hub ids), `convert` (`tf-albert convert`);
* `naming`: HF PyTorch names of our variables.
"""

from tf_albert.checkpoints.loading import LoadingInfo
from tf_albert.checkpoints.naming import canonical_hf_name, hf_name_of, hf_weight_map, load_hf_state_dict

__all__ = ["LoadingInfo", "canonical_hf_name", "hf_name_of", "hf_weight_map", "load_hf_state_dict"]
