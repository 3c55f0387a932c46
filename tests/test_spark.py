"""Spark engine against the local engine: same rows, same contract, atomic output.

One local[2] SparkSession serves the whole module; starting the JVM is most
of the cost, so each test scores only a few thousand rows.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from nscore.cli import cli
from nscore.errors import InputError
from nscore.sample import registry_table
from nscore.score.engine import CONTRACT_COLUMNS, Scorer
from nscore.score.pipeline import score_file

pytest.importorskip("pyspark")
if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
    pytest.skip(
        "Spark needs a Java runtime on PATH or in JAVA_HOME", allow_module_level=True
    )

from nscore import spark as nspark

pytestmark = pytest.mark.spark
REGISTRY_ROWS = 3000
PARQUET_FILES = 3
# Rows that take each abstention path, appended after the generated ones.
HARD_NAMES = [
    None,
    "",
    "   ",
    "123 456",
    "Dr. Maria Silva",
    "A" * 80 + " Souza",
    "josé",
]


@pytest.fixture(scope="module")
def spark():
    session = nspark.spark_session(
        "local[2]", progress=False, config={"spark.sql.shuffle.partitions": "2"}
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def registry() -> pa.Table:
    generated = registry_table(REGISTRY_ROWS, seed=11)
    hard = pa.table(
        {
            "student_id": pa.array(
                range(REGISTRY_ROWS, REGISTRY_ROWS + len(HARD_NAMES)), pa.int64()
            ),
            "nome": pa.array(HARD_NAMES, pa.string()),
            "enrolled": pa.array([2020] * len(HARD_NAMES), pa.int16()),
        }
    )
    return pa.concat_tables([generated, hard])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, registry: pa.Table) -> Path:
    """Write the registry as a directory of a few Parquet files, as a data lake stores it."""
    directory = tmp_path_factory.mktemp("registry") / "registry"
    directory.mkdir()
    per_file = -(-registry.num_rows // PARQUET_FILES)
    for index in range(PARQUET_FILES):
        part = registry.slice(index * per_file, per_file)
        pq.write_table(part, directory / f"part-{index}.parquet", row_group_size=400)
    return directory


def plain_rows(table: pa.Table) -> list[dict]:
    """Decode dictionary columns and sort by student_id, for comparing engines."""
    columns = {}
    for name in table.column_names:
        column = table[name].combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        columns[name] = column
    return pa.table(columns).sort_by("student_id").to_pylist()


def local_rows(dataset: Path, tmp_path: Path, model: Path, **options) -> list[dict]:
    output = tmp_path / "local.parquet"
    score_file(dataset, Scorer(model, provider="cpu", **options), output, quiet=True)
    return plain_rows(pq.read_table(output))


@pytest.mark.parametrize(
    "options", [{}, {"lookup": False, "threshold": 0.6}], ids=["census", "model-only"]
)
def test_spark_matches_local_engine(
    spark, dataset: Path, tmp_path: Path, tiny_model: Path, options: dict
) -> None:
    scored = nspark.score(
        spark.read.parquet(str(dataset)), "nome", tiny_model, **options
    )
    scored.write.parquet(str(tmp_path / "spark"))
    spark_rows = plain_rows(pq.read_table(tmp_path / "spark"))
    expected = local_rows(dataset, tmp_path, tiny_model, **options)
    assert len(spark_rows) == REGISTRY_ROWS + len(HARD_NAMES)
    assert spark_rows == expected


def test_spark_schema_is_contract_as_strings(
    spark, dataset: Path, tiny_model: Path
) -> None:
    scored = nspark.score(spark.read.parquet(str(dataset)), model=tiny_model)
    assert scored.columns == ["student_id", "nome", "enrolled", *CONTRACT_COLUMNS]
    types = dict(scored.dtypes)
    assert types["enrolled"] == "smallint"
    assert types["prob_female"] == "double"
    assert types["abstained"] == "boolean"
    for name in ("first_name", "gender", "source", "abstention_reason", "model_id"):
        assert types[name] == "string", name


def test_spark_keep_selects_columns(spark, dataset: Path, tiny_model: Path) -> None:
    df = spark.read.parquet(str(dataset))
    scored = nspark.score(df, "nome", tiny_model, keep=["student_id"])
    assert scored.columns == ["student_id", *CONTRACT_COLUMNS]
    reasons = {
        row.abstention_reason for row in scored.select("abstention_reason").collect()
    }
    assert {"missing", "no_letters", "too_long"} <= reasons


def test_spark_rejects_bad_columns(spark, dataset: Path, tiny_model: Path) -> None:
    df = spark.read.parquet(str(dataset))
    with pytest.raises(InputError, match="has type int16, not text"):
        nspark.score(df, "enrolled", tiny_model)
    with pytest.raises(InputError, match="'nascimento' not found"):
        nspark.score(df, "nascimento", tiny_model)
    with pytest.raises(InputError, match="would appear twice"):
        clashing = df.withColumnRenamed("enrolled", "gender").withColumn(
            "input_gender", df["nome"]
        )
        nspark.score(clashing, "nome", tiny_model)
    with pytest.raises(InputError, match="threads 0"):
        nspark.score(df, "nome", tiny_model, threads=0)


def test_spark_renames_result_named_input(
    spark, dataset: Path, tiny_model: Path
) -> None:
    df = spark.read.parquet(str(dataset)).withColumnRenamed("enrolled", "gender")
    scored = nspark.score(df, "nome", tiny_model)
    assert scored.columns[:3] == ["student_id", "nome", "input_gender"]
    assert "gender" in scored.columns[3:]
    assert scored.count() == df.count()


def test_two_models_with_one_file_name(
    spark, dataset: Path, tmp_path: Path, tiny_model: Path
) -> None:
    """Both models reach the executors although their files share a name."""
    onnx = pytest.importorskip("onnx")
    proto = onnx.load(str(tiny_model))
    for prop in proto.metadata_props:
        if prop.key == "model_id":
            prop.value = "renamed-copy"
    other = tmp_path / "other" / tiny_model.name
    other.parent.mkdir()
    onnx.save(proto, str(other))

    df = spark.read.parquet(str(dataset))
    first = nspark.score(df, "nome", tiny_model).select("model_id").distinct().collect()
    second = nspark.score(df, "nome", other).select("model_id").distinct().collect()
    assert [row.model_id for row in second] == ["renamed-copy"]
    assert [row.model_id for row in first] != ["renamed-copy"]


def test_worker_reuses_scorer(spark, tiny_model: Path) -> None:
    """A Python worker builds one scorer per model and options, then reuses it."""
    model = nspark.OnnxModel(tiny_model, provider="cpu", threads=1)
    settings = nspark.WorkerSettings(
        model_file=nspark.ship_model(spark, model.info.path, model.info.sha256),
        sha256=model.info.sha256,
        column="nome",
        keep=None,
        lookup=True,
        threshold=0.9,
        threads=1,
        bucket_size=64,
        provider="cpu",
        large_strings=False,
    )
    scorer = nspark.worker_scorer(settings)
    assert nspark.worker_scorer(settings) is scorer
    stricter = nspark.worker_scorer(dataclasses.replace(settings, threshold=0.95))
    assert stricter is not scorer
    assert stricter.model is scorer.model


def run_spark_cli(*args: str):
    return CliRunner().invoke(cli, ["run", *args, "--engine", "spark", "--quiet"])


def test_cli_spark_matches_local(
    spark, dataset: Path, tmp_path: Path, tiny_model: Path
) -> None:
    output = tmp_path / "scored"
    result = run_spark_cli(
        str(dataset), "--model", str(tiny_model), "--output", str(output)
    )
    assert result.exit_code == 0, result.output
    assert output.is_dir()
    assert len(list(output.glob("part-*.parquet"))) >= 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    expected = local_rows(dataset, tmp_path, tiny_model)
    assert plain_rows(pq.read_table(output)) == expected


def test_cli_spark_default_output(
    spark, dataset: Path, tmp_path: Path, tiny_model: Path
) -> None:
    source = tmp_path / "registry.parquet"
    pq.write_table(pq.read_table(dataset), source)
    args = ["run", str(source), "--model", str(tiny_model), "--keep", "student_id"]
    result = CliRunner().invoke(cli, [*args, "--engine", "spark"])
    assert result.exit_code == 0, result.output
    scored = pq.read_table(tmp_path / "registry.scored.parquet")
    assert scored.column_names == ["student_id", *CONTRACT_COLUMNS]
    rows = f"{REGISTRY_ROWS + len(HARD_NAMES):,} rows"
    assert f"scored {rows} on Spark" in result.output


def test_cli_spark_refuses_existing_output(
    dataset: Path, tmp_path: Path, tiny_model: Path
) -> None:
    output = tmp_path / "scored"
    output.mkdir()
    (output / "previous.txt").write_text("previous")
    result = run_spark_cli(
        str(dataset), "--model", str(tiny_model), "--output", str(output)
    )
    assert result.exit_code == 2
    assert "--overwrite" in result.output
    assert (output / "previous.txt").read_text() == "previous"


def test_cli_spark_overwrite_replaces(
    spark, dataset: Path, tmp_path: Path, tiny_model: Path
) -> None:
    output = tmp_path / "scored"
    output.mkdir()
    (output / "previous.txt").write_text("previous")
    result = run_spark_cli(
        str(dataset), "--model", str(tiny_model), "--output", str(output), "--overwrite"
    )
    assert result.exit_code == 0, result.output
    assert not (output / "previous.txt").exists()
    assert pq.read_table(output).num_rows == REGISTRY_ROWS + len(HARD_NAMES)
    assert [p.name for p in tmp_path.iterdir()] == ["scored"]


def test_cli_spark_failure_keeps_old_output(
    spark, dataset: Path, tmp_path: Path, tiny_model: Path
) -> None:
    """A task that fails mid-write leaves the old output and no temporary directory."""
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    # Starts and ends with the Parquet magic, so only reading its footer fails.
    (broken / "part-9.parquet").write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    output = tmp_path / "scored"
    output.mkdir()
    (output / "previous.txt").write_text("previous")
    result = run_spark_cli(
        str(broken), "--model", str(tiny_model), "--output", str(output), "--overwrite"
    )
    assert result.exit_code != 0
    assert result.exception is not None
    assert (output / "previous.txt").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "scored"]


@pytest.mark.parametrize(
    ("make_output", "message"),
    [
        (lambda dataset, tmp: dataset / "inside", "inside the input directory"),
        (lambda dataset, tmp: dataset.parent, "would delete it"),
        (lambda dataset, tmp: tmp / "scored.csv", "writes a Parquet dataset directory"),
        (lambda dataset, tmp: tmp / "missing" / "scored", "does not exist"),
    ],
    ids=["inside-input", "input-parent", "csv-suffix", "missing-parent"],
)
def test_cli_spark_rejects_output(
    dataset: Path, tmp_path: Path, tiny_model: Path, make_output, message: str
) -> None:
    output = make_output(dataset, tmp_path)
    result = run_spark_cli(
        str(dataset), "--model", str(tiny_model), "--output", str(output), "--overwrite"
    )
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_cli_spark_rejects_csv_input(tmp_path: Path, tiny_model: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text("id,nome\n1,Ana\n", encoding="utf-8")
    result = run_spark_cli(str(source), "--model", str(tiny_model))
    assert result.exit_code == 2
    assert "is not Parquet" in result.output


def test_cli_master_needs_spark_engine(dataset: Path, tiny_model: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(dataset), "--model", str(tiny_model), "--master", "local[1]"]
    )
    assert result.exit_code == 2
    assert "--engine spark" in result.output
