"""Training and evaluation on a user's labelled file instead of the census."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from nscore.cli import cli
from nscore.data import census_names, read_labelled_file


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory) -> Path:
    data = census_names()
    path = tmp_path_factory.mktemp("labelled") / "alunos.csv"
    rows = [
        f"{name.title()} da Silva,{'FM'[label]}"
        for name, label in zip(data.names[:800], data.labels[:800])
    ]
    path.write_text("nome,sexo\n" + "\n".join(rows) + "\n,F\nAna,\n", encoding="utf-8")
    return path


def test_labelled_file_drops_missing_rows(labelled_csv: Path) -> None:
    data = read_labelled_file(labelled_csv, "nome", "sexo")
    assert len(data) == 800
    assert data.names[0] == census_names().names[0]


def test_labelled_parquet_reads_one_zero(tmp_path: Path) -> None:
    path = tmp_path / "l.parquet"
    pq.write_table(pa.table({"name": ["Maria", "José"], "gender": [0, 1]}), path)
    data = read_labelled_file(path)
    assert data.labels.tolist() == [0, 1]


def test_labelled_file_rejects_other_labels(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("name,gender\nMaria,F\nAlex,X\n")
    with pytest.raises(ValueError, match="'X'"):
        read_labelled_file(path)


def test_train_and_evaluate_on_file(labelled_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    runner = CliRunner()
    trained = runner.invoke(
        cli,
        [
            "train",
            "--data",
            str(labelled_csv),
            "--name-column",
            "nome",
            "--label-column",
            "sexo",
            "--arch",
            "rnn",
            "--epochs",
            "1",
            "--batch-size",
            "64",
            "--threads",
            "1",
            "--out",
            str(out),
        ],
    )
    assert trained.exit_code == 0, trained.output
    assert json.loads((out / "metrics.json").read_text())["names"] == 160
    evaluated = runner.invoke(
        cli,
        [
            "evaluate",
            str(out / "checkpoint.pt"),
            str(labelled_csv),
            "--name-column",
            "nome",
            "--label-column",
            "sexo",
            "--json",
        ],
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output)["names"] == 800


def test_evaluate_bundled_model_on_file(labelled_csv: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "best",
            str(labelled_csv),
            "--name-column",
            "nome",
            "--label-column",
            "sexo",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["accuracy"] > 0.95
