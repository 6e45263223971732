"""`tf-albert convert` (tf_albert.checkpoints.convert.main): any shape in, our folder out, with a summary."""

import os
import shutil

import numpy as np
import pytest

import tf_albert
from tests.helpers import SPM, expected, head_inputs, materialize, max_diff
from tf_albert.checkpoints import convert


def test_convert_google_tf1_with_tokenizer(tmp_path, capsys):
    src = materialize("tf1", str(tmp_path / "google"))
    shutil.copy(SPM, os.path.join(src, "30k-clean.model"))
    dst = tmp_path / "converted"
    assert convert.main([src, str(dst)]) == 0
    out, err = capsys.readouterr()
    assert "model class      AlbertForPreTraining" in out
    assert "parameters       9,178" in out
    assert "not used         4: classifier.bias, classifier.weight, qa_outputs.bias, qa_outputs.weight" in out
    assert "round trip       max-abs-diff 0.00e+00" in out
    assert "reference check" in out
    assert "loading tf1: 80/80" in err  # the progress line
    assert sorted(os.listdir(dst)) == ["config.json", "model.safetensors", "special_tokens_map.json",
                                       "spiece.model", "tf_model.h5", "tokenizer_config.json"]
    model = tf_albert.AlbertForPreTraining.from_pretrained(dst)
    x, want = expected()
    assert max_diff(model(**head_inputs("pretraining", x)), want["pretraining"]) <= 1e-5


def test_convert_h5_into_a_chosen_head_without_checks(tmp_path, capsys):
    src = materialize("h5", str(tmp_path / "h5"))
    dst = tmp_path / "qa"
    assert convert.main([src, str(dst), "--model-class", "question_answering", "--no-check"]) == 0
    out = capsys.readouterr().out
    assert "AlbertForQuestionAnswering" in out and "round trip" not in out
    model = tf_albert.AlbertForQuestionAnswering.from_pretrained(dst)
    assert model.loading_info.clean
    x, want = expected()
    assert max_diff(model(**head_inputs("question_answering", x)), want["question_answering"]) <= 1e-5


def test_convert_infers_num_labels_of_a_google_classifier(tmp_path, capsys):
    src = materialize("tf1", str(tmp_path / "google"))
    dst = tmp_path / "clf"
    assert convert.main([src, str(dst), "--model-class", "sequence_classification", "--no-check"]) == 0
    model = tf_albert.AlbertForSequenceClassification.from_pretrained(dst)
    assert model.config.num_labels == 1
    x, want = expected()
    assert max_diff(model(**head_inputs("sequence_classification", x)), want["sequence_classification"]) <= 1e-5


def test_convert_errors_exit_2_with_a_message(tmp_path, capsys):
    assert convert.main([str(tmp_path / "missing" / "x"), str(tmp_path / "out")]) == 2
    assert "tf-albert convert: error: checkpoint not found" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out")


def test_progress_bar_on_a_terminal():
    class Tty:
        text = ""

        def isatty(self):
            return True

        def write(self, s):
            Tty.text += s

        def flush(self):
            pass

    bar = convert.Progress("loading", Tty())
    for i in range(1, 5):
        bar(i, 4)
    assert "\rloading [" in Tty.text and "4/4\n" in Tty.text and np.char.count(Tty.text, "\r") == 4


@pytest.mark.parametrize("bad", [["--model-class", "gpt"]])
def test_bad_arguments(tmp_path, bad):
    with pytest.raises(SystemExit):
        convert.main([str(tmp_path), str(tmp_path / "o"), *bad])
