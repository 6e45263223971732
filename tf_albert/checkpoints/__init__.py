"""Checkpoint formats: one module per foreign format, all mapping onto the Keras models' weights."""

from tf_albert.checkpoints.naming import hf_name_of, hf_weight_map, load_hf_state_dict

__all__ = ["hf_name_of", "hf_weight_map", "load_hf_state_dict"]
