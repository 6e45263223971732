"""`model.fit(ds)` on every head with the training datasets; resumable fit; NaN stop; pretrain/finetune
from Python and from the command line."""

import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.helpers import FIXTURE_TOKENIZER, REPO, load_tool, tiny_config
from tf_albert import (
    AlbertForMultipleChoice,
    AlbertForPreTraining,
    AlbertForQuestionAnswering,
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
)
from tf_albert.training import callbacks as C
from tf_albert.training import datasets as D
from tf_albert.training import qa as Q
from tf_albert.training.metrics import MaskedAccuracy
from tf_albert.training.optimization import create_optimizer


@pytest.fixture(scope="module")
def tok():
    from tf_albert.tokenization import AlbertTokenizer

    return AlbertTokenizer.from_pretrained(FIXTURE_TOKENIZER)


def _config(**kw):
    return tiny_config(vocab_size=1500, num_hidden_layers=2, max_position_embeddings=64, **kw)


def _compile(model, lr=1e-2, steps=100, metrics=None):
    keras.utils.set_random_seed(0)
    model.compile(
        optimizer=create_optimizer("adamw", learning_rate=lr, num_train_steps=steps, num_warmup_steps=0),
        metrics=metrics,
        jit_compile=False,
    )
    return model


def test_fit_sequence_classification_learns(tok):
    # Two mood words among three neutral ones, at random places. A tiny model on one signal word stalls at
    # loss ln 2 for about one seed in four; this task and width learned (accuracy >= 0.98) for all six
    # seeds tried, with the length-grouped shuffled batches `classification_dataset` makes by default.
    keras.utils.set_random_seed(0)  # also fixes the dataset's shuffle, whatever test ran before
    rng = np.random.default_rng(0)
    words = "film plot actor scene music story".split()
    texts, labels = [], []
    for i in range(64):
        good = i % 2
        body = list(rng.choice(words, 3)) + list(rng.choice(["great", "fine", "superb"] if good
                                                            else ["awful", "poor", "bad"], 2))
        rng.shuffle(body)
        texts.append(" ".join(body))
        labels.append(good)
    ds = D.classification_dataset(tok, texts, labels, batch_size=8, shuffle=True, seed=0)
    config = _config(num_labels=2, hidden_size=32, embedding_size=16, intermediate_size=64,
                     num_attention_heads=4)
    model = _compile(AlbertForSequenceClassification(config), metrics=[MaskedAccuracy()])
    history = model.fit(ds, epochs=10, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["accuracy"][-1] >= 0.9


def test_fit_other_heads_with_their_datasets(tok):
    token_ds = D.token_classification_dataset(
        tok,
        [["Paris", "is", "nice"], ["I", "saw", "Rome", "today"]] * 4,
        [["LOC", "O", "O"], ["O", "O", "LOC", "O"]] * 4,
        batch_size=4,
    )
    qa_rows = [
        {
            "id": str(i),
            "question": "Who wrote it?",
            "context": "Ada Lovelace wrote the first program.",
            "answers": {"text": ["Ada Lovelace"], "answer_start": [0]},
        }
        for i in range(8)
    ]
    qa_ds = Q.question_answering_dataset(tok, qa_rows, max_length=32, batch_size=4)
    mc_ds = D.multiple_choice_dataset(
        tok, ["The sky is"] * 8, [["blue.", "a fish."]] * 8, [0] * 8, batch_size=4
    )
    for cls, ds, kw in (
        (AlbertForTokenClassification, token_ds, {"num_labels": 2}),
        (AlbertForQuestionAnswering, qa_ds, {}),
        (AlbertForMultipleChoice, mc_ds, {}),
    ):
        keras.utils.set_random_seed(0)
        model = _compile(cls(_config(**kw)))
        losses = model.fit(ds, epochs=3, verbose=0).history["loss"]
        assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0], (cls.__name__, losses)


def _tiny_corpus(folder):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    words = (
        "the module returns a list of values when the function is called with one argument and "
        "raises an error for a missing file or a wrong type"
    ).split()
    docs = [
        "\n".join(
            " ".join(rng.choice(words, rng.integers(6, 12))).capitalize() + "."
            for _ in range(rng.integers(4, 8))
        )
        for _ in range(40)
    ]
    (folder / "docs.txt").write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    return folder


def test_pretraining_fit_with_masked_positions(tok, tmp_path):
    from tf_albert.training import pretraining_data as P

    corpus = _tiny_corpus(tmp_path / "corpus")
    cfg = P.PretrainingDataConfig(
        max_seq_length=32, max_predictions_per_seq=5, dupe_factor=1, num_shards=1, eval_fraction=0.0
    )
    P.write_pretraining_data(str(corpus), tok, str(tmp_path / "data"), cfg, log=lambda *_: None)
    ds = P.pretraining_dataset(str(tmp_path / "data"), batch_size=8)
    keras.utils.set_random_seed(0)
    model = AlbertForPreTraining(_config())
    model.compile(
        optimizer=create_optimizer("lamb", 1e-2, num_train_steps=40, num_warmup_steps=4),
        metrics=[MaskedAccuracy(name="mlm_accuracy")],
        jit_compile=False,
    )
    out = model(next(iter(ds))[0])
    assert out["prediction_logits"].shape == (8, 5, 1500), "MLM logits only at the masked positions"
    history = model.fit(ds, steps_per_epoch=6, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] and "mlm_accuracy" in history


def _regression_setup(tok):
    ds = D.classification_dataset(
        tok, ["a b", "c d", "e f", "g h"], [0.1, 0.5, 0.2, 0.9], batch_size=2, problem_type="regression"
    )
    keras.utils.set_random_seed(0)
    model = _compile(
        AlbertForSequenceClassification(_config(num_labels=1, problem_type="regression")), lr=1e-3
    )
    return ds, model


class _PoisonAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            v = self.model.trainable_variables[0]
            v.assign(np.full(v.shape, np.nan, "float32"))


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_good_backup(tok, tmp_path, capsys):
    ds, model = _regression_setup(tok)
    backup = tmp_path / "backup"
    with pytest.raises(
        C.TrainingDivergedError, match=r"loss became nan at epoch 3, batch 1.*lower learning rate"
    ):
        C.fit_resumable(model, ds, epochs=5, backup_dir=str(backup), callbacks=[_PoisonAtEpoch(2)], verbose=0)
    assert "training stopped: the loss became nan at epoch 3" in capsys.readouterr().err
    assert C.backed_up_epoch(str(backup)) == 2, "the backup of the last good epoch is kept"
    fresh = _regression_setup(tok)[1]
    fresh.build()
    fresh.optimizer.build(fresh.trainable_variables)
    fresh.load_weights(str(backup / "latest.weights.h5"))
    assert all(np.isfinite(v.numpy()).all() for v in fresh.weights)


def test_fit_resumable_argument_errors(tok, tmp_path):
    ds = D.classification_dataset(tok, ["a", "b"], [0, 1], batch_size=2)
    with pytest.raises(ValueError, match="give steps_per_epoch"):
        C.fit_resumable(None, ds.repeat(), epochs=1, backup_dir=str(tmp_path / "c"))
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        C.fit_resumable(None, ds, epochs=0, backup_dir=str(tmp_path / "c"))


def _run(args, timeout=300):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": REPO}
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO
    )
    return proc


def test_cli_pretrain_then_finetune(tmp_path):
    corpus = _tiny_corpus(tmp_path / "corpus")
    out = tmp_path / "pt"
    proc = _run(
        [
            "-m",
            "tf_albert.training.pretrain",
            "--corpus",
            str(corpus),
            "--out",
            str(out),
            "--vocab-size",
            "40",
            "--set",
            "embedding_size=8",
            "--set",
            "hidden_size=16",
            "--set",
            "num_attention_heads=2",
            "--set",
            "intermediate_size=24",
            "--set",
            "num_hidden_layers=2",
            "--set",
            "max_position_embeddings=64",
            "--max-seq-length",
            "32",
            "--max-predictions-per-seq",
            "5",
            "--dupe-factor",
            "1",
            "--eval-fraction",
            "0.2",
            "--batch-size",
            "8",
            "--num-train-steps",
            "6",
            "--steps-per-epoch",
            "3",
            "--quiet",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert results["steps"] == 6 and 0 <= results["mlm_accuracy"] <= 1 and 0 <= results["sop_accuracy"] <= 1
    model_dir = out / "model"
    assert {"config.json", "spiece.model", "model.safetensors"} <= set(os.listdir(model_dir))
    from tf_albert.tokenization import AlbertTokenizer

    spm = AlbertTokenizer.from_pretrained(str(model_dir))
    assert spm.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    assert spm.tokenize("The Module") == spm.tokenize("the module"), "lower-cased"

    rows = [
        {"text": t, "label": label}
        for t, label in (("the module returns a list", "list"), ("raises an error for a file", "error"))
    ] * 8
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = _run(
        [
            "-m",
            "tf_albert.training.finetune",
            "--task",
            "classification",
            "--train",
            str(train),
            "--eval",
            str(train),
            "--model",
            str(model_dir),
            "--out",
            str(tmp_path / "ft"),
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--learning-rate",
            "1e-3",
            "--quiet",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert metrics["examples"] == 16 and 0 <= metrics["accuracy"] <= 1
    saved = json.loads((tmp_path / "ft" / "model" / "config.json").read_text())
    assert saved["id2label"] == {"0": "error", "1": "list"}
    assert (tmp_path / "ft" / "log.csv").read_text().count("\n") == 3  # header + 2 epochs


def test_cli_entry_points_report_bad_input(tmp_path, capsys):
    from tf_albert.training import finetune_main, pretrain_main

    assert (
        finetune_main(
            [
                "--task",
                "classification",
                "--train",
                str(tmp_path / "missing.csv"),
                "--out",
                str(tmp_path / "x"),
                "--model",
                FIXTURE_TOKENIZER,
            ]
        )
        == 2
    )
    assert "missing.csv" in capsys.readouterr().err
    corpus = _tiny_corpus(tmp_path / "corpus")
    assert (
        pretrain_main(["--corpus", str(corpus), "--out", str(tmp_path / "big"), "--vocab-size", "5000"]) == 2
    )
    err = capsys.readouterr().err
    assert "vocab_size=5000" in err and "<=" in err


def test_cli_help_lists_the_options():
    from tf_albert.training.finetune import build_parser as finetune_parser
    from tf_albert.training.pretrain import build_parser as pretrain_parser

    text = finetune_parser().format_help()
    for option in ("--task", "--train", "--eval", "--model", "--out", "--doc-stride", "--strategy"):
        assert option in text
    text = pretrain_parser().format_help()
    for option in ("--corpus", "--spm", "--config", "--max-ngram", "--dupe-factor", "--num-train-steps"):
        assert option in text
    from tf_albert.training.finetune import finetune_main

    with pytest.raises(SystemExit) as e:
        finetune_main(["--task", "poetry", "--train", "x", "--out", "y"])
    assert e.value.code == 2


def test_finetune_python_api_token_classification_and_qa(tok, tmp_path):
    from tf_albert import AlbertModel
    from tf_albert.training import finetune

    folder = tmp_path / "base"
    keras.utils.set_random_seed(0)
    AlbertModel(_config()).save_pretrained(str(folder), tokenizer=tok)
    rows = [
        {"tokens": ["Paris", "is", "nice"], "ner_tags": ["LOC", "O", "O"]},
        {"tokens": ["I", "saw", "Rome"], "ner_tags": ["O", "O", "LOC"]},
    ] * 4
    out = tmp_path / "ner"
    metrics = finetune(
        "token_classification",
        rows,
        str(out),
        model=str(folder),
        epochs=2,
        batch_size=4,
        learning_rate=1e-2,
        verbose=0,
        log=lambda *_: None,
    )
    assert metrics["tokens"] == 8 * 3 and 0 <= metrics["accuracy"] <= 1 and "macro_f1" in metrics
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["id2label"] == {"0": "LOC", "1": "O"} and config["architectures"] == [
        "AlbertForTokenClassification"
    ]
    assert (out / "log.csv").read_text().count("\n") == 3  # header + 2 epochs

    qa = [
        {
            "id": str(i),
            "question": "Who wrote it?",
            "context": "Ada Lovelace wrote the first program.",
            "answers": {"text": ["Ada Lovelace"], "answer_start": [0]},
        }
        for i in range(8)
    ]
    metrics = finetune(
        "question_answering",
        qa,
        str(tmp_path / "qa"),
        model=str(folder),
        epochs=2,
        batch_size=4,
        learning_rate=1e-2,
        max_length=32,
        verbose=0,
        log=lambda *_: None,
    )
    assert metrics["examples"] == 8 and 0 <= metrics["exact_match"] <= 100 and 0 <= metrics["f1"] <= 100


def test_distributional_init_then_pretrain_starts_from_it(tok, tmp_path):
    """`pretrain(init_checkpoint=...)` starts from the given weights (here tools/distributional_init.py's)."""
    from tf_albert import AlbertForPreTraining
    from tf_albert.training.pretrain import pretrain
    from tf_albert.training.pretraining_data import PretrainingDataConfig

    tool = load_tool("distributional_init")
    corpus = _tiny_corpus(tmp_path / "corpus")
    config = dict(embedding_size=8, hidden_size=16, num_attention_heads=2, intermediate_size=24,
                  num_hidden_layers=2, max_position_embeddings=64)
    init = tmp_path / "init"
    tool.build(str(corpus / "docs.txt"), FIXTURE_TOKENIZER, config, str(init), window=2, log=lambda *_: None)
    start = AlbertForPreTraining.from_pretrained(str(init))
    table = np.asarray(start.albert.embeddings.word_embeddings.embeddings)
    used = tok.encode("the module returns a list", add_special_tokens=False)
    assert np.std(table[used]) == pytest.approx(0.1, rel=0.5)
    bias = np.asarray(start.predictions.bias)  # log P(piece): frequent pieces score higher than unseen ones
    assert bias[used].min() > np.median(bias)

    data = PretrainingDataConfig(max_seq_length=32, max_predictions_per_seq=5, dupe_factor=1, eval_fraction=0.2)
    kwargs = dict(spm=FIXTURE_TOKENIZER, data_config=data, batch_size=4, num_train_steps=1, steps_per_epoch=1,
                  verbose=0, log=lambda *_: None)
    pretrain(str(corpus), str(tmp_path / "run"), config=config, init_checkpoint=str(init), learning_rate=1e-9,
             **kwargs)
    trained = AlbertForPreTraining.from_pretrained(str(tmp_path / "run" / "model"))
    for a, b in zip(start.weights, trained.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6, err_msg=a.path)
    with pytest.raises(ValueError, match="does not fit the model being trained"):
        pretrain(str(corpus), str(tmp_path / "other"), config=dict(config, hidden_size=32),
                 init_checkpoint=str(init), **kwargs)

    # An earlier run's folder gives its last finished epoch's weights, also when the run was stopped early.
    os.rename(tmp_path / "run" / "model", tmp_path / "run-model")
    pretrain(str(corpus), str(tmp_path / "next"), config=config, init_checkpoint=str(tmp_path / "run"),
             learning_rate=1e-9, **kwargs)
    following = AlbertForPreTraining.from_pretrained(str(tmp_path / "next" / "model"))
    for a, b in zip(trained.weights, following.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6, err_msg=a.path)
    with pytest.raises(ValueError, match="does not fit the model being trained"):
        pretrain(str(corpus), str(tmp_path / "other2"), config=dict(config, hidden_size=32),
                 init_checkpoint=str(tmp_path / "run"), **kwargs)


def test_first_fit_traces_the_step_once_and_does_not_autograph_the_checks(tok, monkeypatch):
    # The first epoch's cost on TensorFlow without XLA is tracing: Keras builds the optimizer inside the first
    # trace (its slot variables then force a second trace of the whole step), and tf.data's map converted the
    # input checks with AutoGraph (2-4 s at small widths). Batches of 3 lengths: one trace all the same.
    texts = ["a film", "a good film with a fine plot", "the film", "the music of the film was fine and sad"] * 4
    ds = D.classification_dataset(tok, texts, [0, 1, 0, 1] * 4, batch_size=4, shuffle=True, seed=0,
                                  length_buckets=None)
    assert len({tuple(x["input_ids"].shape) for x, _ in ds}) >= 3
    model = _compile(AlbertForSequenceClassification(_config(num_labels=2)))
    model.build()
    traces = []
    original = type(model).train_step
    monkeypatch.setattr(type(model), "train_step", lambda self, *a: traces.append(1) or original(self, *a))
    converted = []
    from tensorflow.python.autograph.impl import api as autograph_api

    real_transform = autograph_api._convert_actual
    monkeypatch.setattr(autograph_api, "_convert_actual",
                        lambda entity, *a, **k: converted.append(entity) or real_transform(entity, *a, **k))
    model.fit(ds, epochs=2, verbose=0)
    assert len(traces) == 1
    assert model.optimizer.built
    assert not [f for f in converted if "tf_albert" in getattr(f, "__module__", "")], converted
