"""The README's main job runs end to end (embedded model, offline)."""

from tf_albert import demo


def test_main_job_runs_end_to_end(capsys):
    assert demo.main(["--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "1. fill-mask with tf-albert-small" in out and "photosynthesis" in out
    assert "held-out accuracy:" in out
    accuracy = float(out.split("held-out accuracy: ")[1].split()[0])
    assert accuracy >= 0.8, out  # the polarity task is easy; chance is 0.5
    assert "reloaded export vs Keras model" in out


def test_polarity_data_holds_out_unseen_pairs():
    (train, _), (test, _) = demo.make_polarity_data(0)
    assert len(train) == 256 and len(test) == 64
    assert not set(train) & set(test)
