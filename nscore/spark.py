"""Score Spark DataFrames with the same model and result contract as `nscore run`.

`score` adds the contract columns with `mapInArrow`, so executors receive Arrow
record batches and hand them to the same `Scorer` the local engine uses. Each
Python worker process builds one onnxruntime session per model and keeps it,
with the scorer's cache of first names, for every task it runs afterwards
(Spark reuses Python workers unless `spark.python.worker.reuse` is false).
The model file travels to executors through `SparkContext.addFile`, under a
name derived from its SHA-256 so that two models with the same file name never
collide. No rows are collected to the driver.

Unlike the local engine, the dictionary-encoded contract columns (first_name,
gender, source, abstention_reason, model_id, model_sha256) are plain strings,
because Spark has no dictionary type that `mapInArrow` output could carry.

Left out: CSV input and URIs such as s3a:// or hdfs:// in `score_dataset`
(read them with `spark.read` and call `score`), and Spark Connect sessions,
which have no SparkContext.
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark import SparkFiles
from pyspark.errors import PySparkRuntimeError, PySparkTypeError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import (
    BooleanType,
    DoubleType,
    StringType,
    StructField,
    StructType,
)

from nscore.errors import InputError, ModelError, NscoreError
from nscore.score.engine import (
    CONTRACT_COLUMNS,
    Scorer,
    check_threshold,
    passthrough_names,
)
from nscore.score.io import (
    check_input,
    find_name_column,
    parquet_files,
    sniff_format,
)
from nscore.score.model import (
    DEFAULT_BUCKET_SIZE,
    DEFAULT_MODEL,
    PROVIDERS,
    OnnxModel,
)
from nscore.score.pipeline import check_keep, plan_output

CONTRACT_FIELDS = (
    StructField("first_name", StringType()),
    StructField("gender", StringType()),
    StructField("prob_female", DoubleType()),
    StructField("source", StringType()),
    StructField("abstained", BooleanType()),
    StructField("abstention_reason", StringType()),
    StructField("model_id", StringType()),
    StructField("model_sha256", StringType()),
)
LARGE_VAR_TYPES = "spark.sql.execution.arrow.useLargeVarTypes"
ARROW_BATCH_ROWS = "spark.sql.execution.arrow.maxRecordsPerBatch"

# Per Python worker process: onnxruntime sessions and scorers, built on first use.
_MODELS: dict[tuple, OnnxModel] = {}
_SCORERS: dict[tuple, Scorer] = {}
# Per driver process: the content-addressed copy of each model shipped with addFile.
_SHIPPED: dict[str, Path] = {}


@dataclass(frozen=True)
class WorkerSettings:
    """Model file and options for building a worker's scorer, pickled into every task."""

    model_file: str  # name under SparkFiles
    sha256: str
    column: str
    keep: tuple[str, ...] | None
    lookup: bool
    threshold: float
    threads: int
    bucket_size: int | None
    provider: str
    large_strings: bool

    @property
    def model_key(self) -> tuple:
        return (self.sha256, self.threads, self.bucket_size, self.provider)

    @property
    def scorer_key(self) -> tuple:
        return (*self.model_key, self.lookup, self.threshold)


def score(
    df: DataFrame,
    column: str | None = None,
    model: str | os.PathLike = DEFAULT_MODEL,
    *,
    keep: list[str] | None = None,
    lookup: bool = True,
    threshold: float = 0.9,
    threads: int | None = None,
    bucket_size: int | None = DEFAULT_BUCKET_SIZE,
    provider: str = "cpu",
) -> DataFrame:
    """Add the result contract columns to `df` (or to its `keep` columns), lazily.

    `column` defaults to the one column with a usual name header such as
    `nome`. `threads` sets onnxruntime's intra-op threads per Python worker
    and defaults to `spark.task.cpus` (1 unless set), so each Spark task gets
    the cores the scheduler reserved for it. The result is lazy: scoring runs
    when an action such as a write needs it.
    """
    # TODO: Spark Connect DataFrames fail here with a JVM attribute error,
    # because addFile needs the SparkContext; ship with spark.addArtifacts.
    spark = df.sparkSession
    large_strings = spark.conf.get(LARGE_VAR_TYPES, "false") == "true"
    column = find_name_column(arrow_schema(df, large_strings), column)
    keep = check_keep(keep, df.columns, option="keep")
    check_threshold(threshold)
    if provider not in PROVIDERS:
        raise ModelError(
            f"unknown provider {provider!r}: use one of {', '.join(PROVIDERS)}"
        )
    if threads is None:
        threads = int(spark.sparkContext.getConf().get("spark.task.cpus", "1"))
    if threads < 1:
        raise InputError(f"threads {threads} is below 1: pass 1 or more")

    # Load the model once on the driver, so a bad file fails before any task.
    info = OnnxModel(model, provider="cpu", threads=1).info
    settings = WorkerSettings(
        model_file=ship_model(spark, info.path, info.sha256),
        sha256=info.sha256,
        column=column,
        keep=tuple(keep) if keep is not None else None,
        lookup=lookup,
        threshold=threshold,
        threads=threads,
        bucket_size=bucket_size,
        provider=provider,
        large_strings=large_strings,
    )
    passed = keep if keep is not None else df.columns
    selected = list(dict.fromkeys([*passed, column]))
    passed_fields = [
        StructField(renamed, df.schema[name].dataType, df.schema[name].nullable)
        for name, renamed in zip(passed, passthrough_names(list(passed)))
    ]
    schema = StructType(passed_fields + list(CONTRACT_FIELDS))
    # A module-level function under partial is pickled by reference, so workers
    # share this module's caches instead of receiving a fresh copy per task.
    return df.select(*selected).mapInArrow(partial(score_batches, settings), schema)


def arrow_schema(df: DataFrame, large_strings: bool) -> pa.Schema:
    """Return the Arrow schema of the batches that `mapInArrow` hands to workers."""
    options = {
        "timezone": df.sparkSession.conf.get("spark.sql.session.timeZone"),
        "prefers_large_types": large_strings,
    }
    # pyspark 3.5 takes only the schema; later versions added these options.
    accepted = inspect.signature(to_arrow_schema).parameters
    options = {key: value for key, value in options.items() if key in accepted}
    try:
        return to_arrow_schema(df.schema, **options)
    except PySparkTypeError as error:
        raise InputError(
            f"the input has a column that Arrow cannot carry ({error}): select the "
            "columns to score and pass through before calling score"
        ) from error


def ship_model(spark: SparkSession, path: Path, sha256: str) -> str:
    """Add the model file to the Spark job and return its name under SparkFiles.

    The copy is named after the model's SHA-256, because Spark rejects a second
    file with the same name and different contents. It stays on the driver
    until the process exits, since executors fetch it when their tasks start.
    """
    name = f"nscore-{sha256}.onnx"
    copy = _SHIPPED.get(sha256)
    if copy is None:
        directory = Path(tempfile.mkdtemp(prefix="nscore-model-"))
        atexit.register(shutil.rmtree, directory, True)
        copy = directory / name
        shutil.copyfile(path, copy)
        _SHIPPED[sha256] = copy
    spark.sparkContext.addFile(str(copy))
    return name


def worker_scorer(settings: WorkerSettings) -> Scorer:
    """Return this Python worker's scorer for `settings`, building it on first use."""
    scorer = _SCORERS.get(settings.scorer_key)
    if scorer is not None:
        return scorer
    model = _MODELS.get(settings.model_key)
    if model is None:
        model = OnnxModel(
            SparkFiles.get(settings.model_file),
            provider=settings.provider,
            threads=settings.threads,
            bucket_size=settings.bucket_size,
        )
        if model.info.sha256 != settings.sha256:
            raise ModelError(
                f"model file {model.info.path} on this executor has SHA-256 "
                f"{model.info.sha256}, not {settings.sha256}: rerun the job"
            )
        _MODELS[settings.model_key] = model
    scorer = Scorer(model, lookup=settings.lookup, threshold=settings.threshold)
    _SCORERS[settings.scorer_key] = scorer
    return scorer


def score_batches(
    settings: WorkerSettings, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """Score one partition's Arrow batches on an executor (the mapInArrow body)."""
    scorer = worker_scorer(settings)
    keep = list(settings.keep) if settings.keep is not None else None
    text = pa.large_string() if settings.large_strings else pa.string()
    for batch in batches:
        scored = scorer.score_batch(batch, settings.column, keep)
        yield to_spark_types(scored, text)


def to_spark_types(batch: pa.RecordBatch, text: pa.DataType) -> pa.RecordBatch:
    """Decode the contract's dictionary columns into the string type Spark expects."""
    arrays = []
    fields = []
    for field, array in zip(batch.schema, batch.columns):
        if field.name in CONTRACT_COLUMNS:
            if pa.types.is_dictionary(field.type):
                array = array.dictionary_decode()
            if pa.types.is_string(array.type) and array.type != text:
                array = pc.cast(array, text)
            field = pa.field(field.name, array.type)
        arrays.append(array)
        fields.append(field)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def spark_session(
    master: str | None = None,
    app_name: str = "nscore",
    progress: bool = True,
    config: dict[str, str] | None = None,
) -> SparkSession:
    """Return the active SparkSession, or start one on `master`.

    Without `master`, Spark's own configuration applies: the master given to
    spark-submit or in spark-defaults.conf, else local[*]. An explicit local
    master binds the driver to 127.0.0.1, turns the web UI off and runs Python
    workers with this interpreter, so workers import the same nscore.
    """
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            builder.config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.ui.enabled", "false")
        )
    builder = builder.config("spark.ui.showConsoleProgress", str(progress).lower())
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except PySparkRuntimeError as error:
        raise NscoreError(
            f"Spark failed to start on master {master or 'local[*]'}: {error}. "
            "Spark needs a Java 17 or newer runtime on PATH or in JAVA_HOME"
        ) from error


@dataclass(frozen=True)
class SparkRunSummary:
    output: Path
    rows: int
    files: int
    seconds: float

    def line(self) -> str:
        files = f"{self.files} Parquet file" + ("" if self.files == 1 else "s")
        return (
            f"scored {self.rows:,} rows on Spark in {self.seconds:.1f} s -> "
            f"{self.output} ({files})"
        )


def plan_dataset_output(input_path: Path, output: Path | None, overwrite: bool) -> Path:
    """Check the input and pick the output directory before Spark starts."""
    check_input(input_path)
    if input_path.is_dir():
        parquet_files(input_path)
    elif sniff_format(input_path) != "parquet":
        raise InputError(
            f"input {input_path} is not Parquet: --engine spark reads Parquet files "
            "and dataset directories; score CSV with the local engine"
        )
    output = plan_output(input_path, output, overwrite, directory=True)
    if input_path.resolve().is_relative_to(output.resolve()):
        raise InputError(
            f"input {input_path} is inside the output {output}, so replacing the "
            "output would delete it: choose another --output"
        )
    if output.suffix.lower() == ".csv" or output.name.lower().endswith(".csv.gz"):
        raise InputError(
            f"output {output} names a CSV file, but --engine spark writes a Parquet "
            "dataset directory: choose an --output without .csv"
        )
    return output


def score_dataset(
    input_path: Path,
    output: Path | None = None,
    column: str | None = None,
    model: str | os.PathLike = DEFAULT_MODEL,
    *,
    master: str | None = None,
    overwrite: bool = False,
    batch_rows: int | None = None,
    quiet: bool = False,
    **options,
) -> SparkRunSummary:
    """Score a Parquet file or dataset directory on Spark into a Parquet directory.

    Spark writes into a hidden temporary directory beside `output`, which is
    renamed into place only after every task has finished, so a failed run
    leaves any previous output untouched. `options` are those of `score`.
    """
    started = time.perf_counter()
    output = plan_dataset_output(input_path, output, overwrite)
    spark = spark_session(master, progress=not quiet)
    if batch_rows is not None:
        spark.conf.set(ARROW_BATCH_ROWS, str(batch_rows))
    scored = score(spark.read.parquet(str(input_path)), column, model, **options)
    temp = Path(
        tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    )
    try:
        # The temporary directory is ours and empty, so overwrite replaces nothing.
        # TODO: a corrupt input file fails here with a Py4JJavaError (exit code 1),
        # where the local engine raises InputError (exit code 2).
        scored.write.mode("overwrite").parquet(str(temp))
        files = parquet_files(temp)
        rows = sum(pq.ParquetFile(file).metadata.num_rows for file in files)
        replace_directory(temp, output)
    except BaseException:
        # The run already failed; a second error while cleaning up would hide it.
        with contextlib.suppress(OSError):
            shutil.rmtree(temp)
        raise
    return SparkRunSummary(output, rows, len(files), time.perf_counter() - started)


def replace_directory(source: Path, target: Path) -> None:
    """Rename `source` to `target`, first moving an existing target aside.

    The old target is deleted only after the new one is in place, and a rename
    that fails puts it back, so `target` is never a partial output.
    """
    if not target.exists() and not target.is_symlink():
        os.replace(source, target)
        return
    aside = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
    )
    previous = aside / target.name
    # NOTE: a process killed between these two renames leaves no `target`; the
    # old output then survives only inside the hidden `.old` directory.
    os.replace(target, previous)
    try:
        os.replace(source, target)
    except OSError:
        os.replace(previous, target)
        raise
    finally:
        if previous.is_dir() and not previous.is_symlink():
            shutil.rmtree(aside)
        else:
            with contextlib.suppress(FileNotFoundError):
                previous.unlink()
            aside.rmdir()
