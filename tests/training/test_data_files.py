"""Fine-tuning data files → rows: CSV/TSV/JSONL/JSON readers, SQuAD flattening, column picking."""

import json

import pytest

from tf_albert.training import data_files as F


def test_load_examples_csv_tsv_jsonl_and_errors(tmp_path):
    (tmp_path / "a.csv").write_text('text,label\nhello there,1\n"a, b",0\n')
    (tmp_path / "a.tsv").write_text("sentence1\tsentence2\tlabel\nx\ty\t0.5\n")
    (tmp_path / "a.jsonl").write_text('{"tokens": ["a", "b"], "ner_tags": ["O", "B"]}\n\n')
    assert F.load_examples(str(tmp_path / "a.csv")) == [
        {"text": "hello there", "label": "1"},
        {"text": "a, b", "label": "0"},
    ]
    assert F.load_examples(str(tmp_path / "a.tsv"))[0]["sentence2"] == "y"
    assert F.load_examples(str(tmp_path / "a.jsonl"))[0]["tokens"] == ["a", "b"]
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\nnot json\n')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        F.load_examples(str(tmp_path / "bad.jsonl"))
    with pytest.raises(ValueError, match="unsupported data file"):
        F.load_examples(
            str(tmp_path / "a.csv").replace(".csv", ".txt") if (tmp_path / "a.txt").write_text("x") else ""
        )
    with pytest.raises(FileNotFoundError):
        F.load_examples(str(tmp_path / "missing.csv"))
    rows = [{"sentence": "x", "label": 1}]
    assert F.pick_column(rows, None, F.TEXT_COLUMNS, "text") == "sentence"
    with pytest.raises(
        ValueError, match="column 'txt' not found; the data has columns \\['sentence', 'label'\\]"
    ):
        F.pick_column(rows, "txt", F.TEXT_COLUMNS, "text")


def test_read_rows_from_a_path_a_squad_dict_or_a_list(tmp_path):
    squad = {
        "data": [
            {
                "paragraphs": [
                    {
                        "context": "Ada wrote it. Nobody read it.",
                        "qas": [
                            {"id": 7, "question": "Who?", "answers": [{"text": "Ada", "answer_start": "0"}]},
                            {"question": "When?", "answers": []},
                        ],
                    }
                ]
            }
        ]
    }
    rows = F.read_rows(squad)
    assert rows == [
        {
            "id": "7",
            "question": "Who?",
            "context": "Ada wrote it. Nobody read it.",
            "answers": {"text": ["Ada"], "answer_start": [0]},
            "is_impossible": False,
        },
        {
            "id": "1",
            "question": "When?",
            "context": "Ada wrote it. Nobody read it.",
            "answers": {"text": [], "answer_start": []},
            "is_impossible": True,
        },
    ]
    (tmp_path / "squad.json").write_text(json.dumps(squad))
    (tmp_path / "list.json").write_text(json.dumps({"data": [{"text": "x", "label": 0}]}))
    assert F.read_rows(tmp_path / "squad.json") == rows
    assert F.read_rows(str(tmp_path / "list.json")) == [{"text": "x", "label": 0}]
    assert F.read_rows(({"text": "y"},)) == [{"text": "y"}]
    with pytest.raises(TypeError, match="file path or a non-empty list of dicts"):
        F.read_rows([])
    with pytest.raises(TypeError, match="file path or a non-empty list of dicts"):
        F.read_rows(["just text"])
