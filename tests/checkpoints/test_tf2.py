"""TF2 checkpoints of the TF Model Garden's AlbertEncoder and TF Hub-style TF2 SavedModel folders.

Fixtures (tools/make_format_fixtures.py tfmodels, tf-models-official 2.20): tests/fixtures/formats/tf2 is
`tf.train.Checkpoint(encoder=AlbertEncoder(...)).save(...)` + `albert_config.json`; tf2_savedmodel holds the
`variables/` of `tf.saved_model.save(encoder)` (saved_model.pb left out) + `albert_config.json`; tf2.npz has
the encoder's own outputs (3 layers sharing one block).
"""

import os
import shutil

import numpy as np
import pytest

import tf_albert
from tests.helpers import FORMATS, expected, format_outputs
from tf_albert.checkpoints import formats, tf2

TOL = 1e-5


@pytest.mark.parametrize("name", ["tf2", "tf2_savedmodel"])
def test_model_garden_encoder_outputs(name):
    x, _ = expected()
    want = format_outputs("tf2")
    model = tf_albert.AlbertModel.from_pretrained(os.path.join(FORMATS, name))
    info = model.loading_info
    assert info.format == "tf2" and info.loaded == 25 and not info.missing_keys and not info.unexpected_keys
    out = model(
        input_ids=x["input_ids"], attention_mask=x["attention_mask"], token_type_ids=x["token_type_ids"]
    )
    for key in ("last_hidden_state", "pooler_output"):
        diff = float(np.max(np.abs(np.asarray(out[key], np.float64) - want[f"tf2/{key}"])))
        assert diff <= TOL, (key, diff)


def test_object_graph_names_not_paths():
    """The checkpoint keys are object paths; the names come from the object graph."""
    import tensorflow as tf

    prefix = os.path.join(FORMATS, "tf2", "ckpt-1")
    reader = tf.train.load_checkpoint(prefix)
    names = tf2.variable_names(reader)
    key = "encoder/layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"
    assert names[key] == "word_embeddings/embeddings"
    assert formats.find_checkpoint(os.path.join(FORMATS, "tf2")).format == "tf2"
    assert formats.find_checkpoint(os.path.join(FORMATS, "..", "checkpoints", "google_tf1")).format == "tf1"
    source = tf2.open_tf2(prefix)
    assert source.entries[
        "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight"
    ].shape == (16, 16)
    assert "save_counter/.ATTRIBUTES/VARIABLE_VALUE" in source.ignored


def test_savedmodel_without_config_says_what_to_add(tmp_path):
    folder = tmp_path / "hub"
    shutil.copytree(os.path.join(FORMATS, "tf2_savedmodel", "variables"), folder / "variables")
    with pytest.raises(
        FileNotFoundError, match="do not record the number of layers: put the model's albert_config"
    ):
        tf_albert.AlbertModel.from_pretrained(str(folder))
