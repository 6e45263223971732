"""The `tf-albert` command: `run` on stdin for every task (in process, plus the seed's shell pipe end to end),
malformed lines, exit codes, --help of every command, delegation to convert/export/training/demo."""

import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import model_folders
from tf_albert import cli
from tf_albert.pipelines import pipeline

SEED = "Plants create [MASK] through a process known as photosynthesis."
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return model_folders(tmp_path_factory.mktemp("cli_models"))


def run_cli(monkeypatch, capsys, argv, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def _no_traceback(err):
    assert "Traceback" not in err


# === run, in process ============================================================================================
def test_run_question_answering_tab_separated_lines(folders, monkeypatch, capsys):
    lines = ["Where is the file?\tThe file is in the python module.",
             "no tab here",
             "What is open?\tThe module opens the file and reads the data.",
             "",
             "a\tb\tc"]
    status, out, err = run_cli(monkeypatch, capsys, ["run", "--task", "question-answering", "--model", folders["qa"],
                                                     "--top-k", "2"], "\n".join(lines) + "\n")
    _no_traceback(err)
    qa = pipeline("question-answering", model=folders["qa"], top_k=2)
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == 2
    for got, (q, c) in zip(results, [lines[0].split("\t"), lines[2].split("\t")]):
        want = qa(question=q, context=c)
        assert [a["answer"] for a in got] == [a["answer"] for a in want]
        assert [a["score"] for a in got] == pytest.approx([a["score"] for a in want], rel=1e-5)
    assert status == 1  # lines were skipped
    assert "line 2 skipped: expected question<TAB>context, got 1 tab-separated field(s)" in err
    assert "line 5 skipped: expected question<TAB>context, got 3" in err
    assert "2 of 4 input lines skipped" in err and "line(s) 2, 5" in err


def test_run_text_classification_pairs_and_text_format(folders, monkeypatch, capsys):
    stdin = "A lovely module.\nThe file is open.\tThe module reads it.\n"
    status, out, err = run_cli(monkeypatch, capsys, ["run", "--task", "text-classification", "--model",
                                                     folders["cls"], "--format", "text", "--top-k", "all"], stdin)
    assert status == 0, err
    classifier = pipeline("text-classification", model=folders["cls"], top_k=None)
    expected = [classifier("A lovely module."), classifier({"text": "The file is open.",
                                                            "text_pair": "The module reads it."})]
    assert out.splitlines() == [" | ".join(f"{r['label']} ({r['score']:.4f})" for r in e) for e in expected]
    status, out, err = run_cli(monkeypatch, capsys, ["run", "--task", "sentiment-analysis", "--model",
                                                     folders["cls"]], "A lovely module.\n")
    assert status == 0 and json.loads(out) == [
        {"label": expected[0][0]["label"], "score": pytest.approx(expected[0][0]["score"], rel=1e-5)}]


def test_run_token_classification_and_fill_mask_options(folders, monkeypatch, capsys):
    text = "Sarah reads the module in Berlin."
    status, out, err = run_cli(monkeypatch, capsys, ["run", "--task", "ner", "--model", folders["tok"],
                                                     "--aggregation-strategy", "simple"], text + "\n")
    assert status == 0, err
    want = pipeline("ner", model=folders["tok"], aggregation_strategy="simple")(text)
    got = json.loads(out)
    assert [(e["entity_group"], e["start"], e["end"], e["word"]) for e in got] == \
        [(e["entity_group"], e["start"], e["end"], e["word"]) for e in want]
    status, out, err = run_cli(monkeypatch, capsys, ["run", "--task", "fill-mask", "--model", folders["mlm"],
                                                     "--targets", "▁module", "▁file", "--progress", "always"],
                               "a [MASK] list\n" * 3)
    assert status == 0, err
    assert [len(json.loads(line)) for line in out.splitlines()] == [2, 2, 2]
    assert "3/3 lines" in err and "lines/s" in err  # the progress report


def test_run_fill_mask_defaults_to_the_embedded_model(monkeypatch, capsys):
    status, out, err = run_cli(monkeypatch, capsys, ["run", "--task", "fill-mask"], SEED + "\n")
    assert status == 0, err
    want = pipeline("fill-mask", model="tf-albert-small")(SEED)
    assert json.loads(out) == json.loads(json.dumps(want))


def test_run_usage_errors_exit_2_with_a_message(folders, monkeypatch, capsys):
    cases = [
        (["run", "--task", "summarization", "--model", folders["mlm"]], "invalid choice: 'summarization'"),
        (["run", "--task", "fill-mask", "--model", "./no/such/folder"],
         "model folder not found: './no/such/folder'"),
        (["run", "--task", "question-answering", "--model", folders["qa"], "--targets", "x"],
         "--targets does not apply to --task question-answering"),
        (["run", "--task", "fill-mask", "--model", folders["mlm"], "--top-k", "all"],
         "--top-k all is for text-classification only"),
        (["run", "--task", "fill-mask", "--model", folders["mlm"], "--device", "tpu"], "device 'tpu' is not understood"),
        (["run", "--task", "fill-mask", "--model", folders["mlm"], "--input", "missing.txt"],
         "input file not found: missing.txt"),
        (["run", "--task", "question-answering"],
         "the question-answering pipeline needs model=...: a model folder, a hub id or a built "
         "AlbertForQuestionAnswering (the embedded 'tf-albert-small' has no trained question-answering head"),
        ([], "usage: tf-albert"),
    ]
    for argv, message in cases:
        status, out, err = run_cli(monkeypatch, capsys, argv)
        assert status == 2, (argv, err)
        assert message in err, (argv, err)
        _no_traceback(err)
        assert out == ""


def test_run_bad_lines_of_fill_mask_are_reported_not_raised(folders, monkeypatch, capsys):
    too_long = " ".join(["module"] * 200) + " [MASK]"
    status, out, err = run_cli(monkeypatch, capsys, ["run", "--task", "fill-mask", "--model", folders["mlm"],
                                                     "--top-k", "1"], f"no mask\n{SEED}\n{too_long}\n")
    assert status == 1
    assert len(out.splitlines()) == 1 and json.loads(out)[0]["sequence"]
    assert "line 1 skipped: no mask token ([MASK])" in err
    assert re.search(r"line 3 skipped: input has 20\d tokens; the model takes at most 128 .*use --truncation", err)
    _no_traceback(err)


# === help and delegated commands ================================================================================
def test_help_of_every_command(monkeypatch, capsys):
    status, out, _ = run_cli(monkeypatch, capsys, ["--help"])
    assert status == 0
    for command in ("run", "convert", "export", "finetune", "pretrain", "demo"):
        assert command in out
    status, out, _ = run_cli(monkeypatch, capsys, ["run", "--help"])
    assert status == 0
    for option in ("--task", "--model", "--tokenizer", "--device", "--dtype", "--batch-size", "--top-k", "--format",
                   "--targets", "--function-to-apply", "--aggregation-strategy", "--stride", "--max-answer-len",
                   "--doc-stride", "--max-seq-len", "--handle-impossible-answer", "--pooling", "--truncation",
                   "--progress", "--input", "--jit-compile", "Exit status"):
        assert option in out, option
    for command, expected in (("convert", "usage: tf-albert convert"), ("export", "usage: tf-albert export"),
                              ("pretrain", "usage: tf-albert pretrain"), ("demo", "--epochs")):
        status, out, err = run_cli(monkeypatch, capsys, [command, "--help"])
        assert status == 0 and expected in out, (command, out, err)


def test_delegated_commands_pass_arguments_and_exit_codes(monkeypatch, capsys):
    status, out, err = run_cli(monkeypatch, capsys, ["convert", "--no-such-option"])
    assert status == 2 and "usage: tf-albert convert" in err
    status, out, err = run_cli(monkeypatch, capsys, ["export", "/no/such/folder"])
    assert status == 2 and "tf-albert export: error:" in err
    import tf_albert.training as training

    if not hasattr(training, "finetune_main"):
        try:
            import tf_albert.training.finetune  # noqa: F401
        except ModuleNotFoundError:
            status, out, err = run_cli(monkeypatch, capsys, ["finetune"])
            assert status == 1 and "tf-albert finetune: not available in this installation" in err
    calls = []
    monkeypatch.setattr("tf_albert.demo.main", lambda argv: calls.append(argv) or 0)
    assert cli.main(["demo", "--epochs", "1"]) == 0 and calls == [["--epochs", "1"]]


# === end to end, in fresh processes =============================================================================
def test_seed_command_verbatim_through_the_console_script(folders):
    script = shutil.which("tf-albert") or os.path.join(os.path.dirname(sys.executable), "tf-albert")
    if not os.path.exists(script):
        pytest.skip("the tf-albert console script is not installed (pip install -e .)")
    env = {**os.environ, "PATH": os.path.dirname(script) + os.pathsep + os.environ.get("PATH", "")}
    command = f'echo "{SEED}" | tf-albert run --task fill-mask --model {folders["mlm"]} --device 0'
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    want = pipeline("fill-mask", model=folders["mlm"])(SEED)
    assert [r["token"] for r in result] == [r["token"] for r in want]
    assert [r["score"] for r in result] == pytest.approx([r["score"] for r in want], rel=1e-5)
    _no_traceback(proc.stderr)


def test_python_dash_m_tf_albert_runs_feature_extraction(folders):
    proc = subprocess.run([sys.executable, "-m", "tf_albert", "run", "--task", "feature-extraction", "--model",
                           folders["mlm"], "--pooling", "mean", "--format", "text", "--device", "cpu"],
                          input="the module\n\nthe file is open\n", capture_output=True, text=True, cwd=REPO,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    vectors = [[float(x) for x in line.split()] for line in proc.stdout.splitlines()]
    extractor = pipeline("feature-extraction", model=folders["mlm"], pooling="mean")
    assert len(vectors) == 2  # the blank line is not an input
    for got, text in zip(vectors, ["the module", "the file is open"]):
        assert got == pytest.approx(extractor(text), rel=1e-4, abs=1e-5)
