from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from click.testing import CliRunner

from nscore.cli import cli
from nscore.sample import registry_table


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """Run the real console entry point, as a user's shell would."""
    return subprocess.run(
        [sys.executable, "-c", "from nscore.cli import main; main()", *args],
        capture_output=True,
        text=True,
    )


def test_run_parquet_keeps_rows_and_columns(tmp_path: Path, tiny_model: Path) -> None:
    registry = registry_table(5000, seed=3)
    source = tmp_path / "registry.parquet"
    pq.write_table(registry, source, row_group_size=1000)
    result = CliRunner().invoke(
        cli, ["run", str(source), "--model", str(tiny_model), "--batch-size", "700"]
    )
    assert result.exit_code == 0, result.output
    scored = pq.read_table(tmp_path / "registry.scored.parquet")
    assert scored.num_rows == registry.num_rows
    assert scored.select(registry.schema.names).equals(registry)
    assert scored.schema.field("student_id").type == pa.int64()
    assert (
        scored["first_name"][0].as_py()
        == registry["nome"][0].as_py().split()[0].lower()
    )


def test_run_csv_full_names(tmp_path: Path, tiny_model: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        "id,nome\n1,MARIA DA SILVA\n2,José dos Santos\n3,\n4,Ana\n", encoding="utf-8"
    )
    output = tmp_path / "people.scored.csv"
    result = run_cli(
        "run", str(source), "--model", str(tiny_model), "--output", str(output)
    )
    assert result.returncode == 0, result.stderr
    # CSV cannot tell null from empty; read empty fields back as null.
    table = pacsv.read_csv(
        output, convert_options=pacsv.ConvertOptions(strings_can_be_null=True)
    )
    assert table["id"].to_pylist() == [1, 2, 3, 4]
    assert table["first_name"].to_pylist() == ["maria", "jose", None, "ana"]
    assert table["gender"][2].as_py() is None
    assert table["abstention_reason"][2].as_py() == "missing"


def test_run_refuses_existing_output(tmp_path: Path, tiny_model: Path) -> None:
    source = tmp_path / "r.parquet"
    pq.write_table(registry_table(10), source)
    output = tmp_path / "out.parquet"
    output.write_bytes(b"previous")
    result = run_cli(
        "run", str(source), "--model", str(tiny_model), "--output", str(output)
    )
    assert result.returncode == 2
    assert "--overwrite" in result.stderr
    assert output.read_bytes() == b"previous"


def test_run_names_columns_when_none_match(tmp_path: Path, tiny_model: Path) -> None:
    source = tmp_path / "r.csv"
    source.write_text("id,pessoa\n1,Ana\n")
    result = run_cli("run", str(source), "--model", str(tiny_model))
    assert result.returncode == 2
    assert "id, pessoa" in result.stderr
    assert "--column" in result.stderr


def test_run_quiet_prints_nothing(tmp_path: Path, tiny_model: Path) -> None:
    source = tmp_path / "r.csv"
    source.write_text("id,nome\n1,Ana\n")
    output = tmp_path / "o.parquet"
    result = run_cli(
        "run",
        str(source),
        "--model",
        str(tiny_model),
        "--output",
        str(output),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert output.exists()


def test_models_lists_without_logs() -> None:
    result = run_cli("models")
    assert result.returncode == 0, result.stderr
    assert "onnxruntime" not in result.stderr
    assert len(result.stdout.splitlines()) == 5
