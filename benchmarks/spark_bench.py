"""Throughput of Spark local[2] beside the local engine on the same registry.

Generates the synthetic registry (`nscore.sample.write_registry`), rewrites
it as a dataset directory of a few Parquet files, and times in one run, with
repeats interleaved:

- the local engine (`score_file`, onnxruntime on every core) on the single file;
- `nscore.spark.score_dataset` on Spark local[2] (one onnxruntime thread per
  task) on the dataset directory, with cold Python workers in a fresh
  SparkContext, then again with the warm workers of that context;
- the same on the single file, which has one row group and so one task.

Every timing covers reading, scoring and writing Parquet; Spark's start-up is
timed apart.

    python -m benchmarks.spark_bench --rows 1000000 --out benchmarks/results/spark.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.hardware import describe_hardware
from benchmarks.schema import library_versions, write_result
from nscore.sample import write_registry
from nscore.score.engine import Scorer
from nscore.score.model import default_threads
from nscore.score.pipeline import score_file

MASTER = "local[2]"
LIBRARIES = ("nscore", "numpy", "pyarrow", "onnxruntime-gpu", "pyspark")
log = logging.getLogger("benchmarks")


def split_registry(source: Path, directory: Path, files: int) -> None:
    """Rewrite a registry file as `files` Parquet files of equal row counts."""
    table = pq.read_table(source)
    per_file = -(-table.num_rows // files)
    directory.mkdir()
    for index in range(files):
        part = table.slice(index * per_file, per_file)
        pq.write_table(part, directory / f"part-{index:03d}.parquet")


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def run_local(source: Path, output: Path, model: str) -> None:
    scorer = Scorer(model, provider="cpu")
    score_file(source, scorer, output, overwrite=True, quiet=True)


def run_spark(source: Path, output: Path, model: str) -> None:
    from nscore.spark import score_dataset

    score_dataset(
        source, output, model=model, master=MASTER, overwrite=True, quiet=True
    )


def measure_repeat(
    file: Path, dataset: Path, work: Path, model: str, seconds: dict[str, list[float]]
) -> None:
    """Time each configuration once, Spark in a fresh SparkContext."""
    from nscore.spark import spark_session

    seconds["local engine"].append(
        timed(lambda: run_local(file, work / "local.parquet", model))
    )
    seconds["Spark start-up"].append(
        timed(lambda: spark_session(MASTER, progress=False))
    )
    spark = spark_session(MASTER, progress=False)
    spark.sparkContext.setLogLevel("ERROR")
    seconds["Spark, dataset, cold workers"].append(
        timed(lambda: run_spark(dataset, work / "spark", model))
    )
    seconds["Spark, dataset, warm workers"].append(
        timed(lambda: run_spark(dataset, work / "spark", model))
    )
    seconds["Spark, single file"].append(
        timed(lambda: run_spark(file, work / "spark", model))
    )
    spark.stop()


def count_row_groups(paths: list[Path]) -> int:
    return sum(pq.ParquetFile(path).num_row_groups for path in paths)


def summarize(
    name: str, runs: list[float], rows: int, files: int, row_groups: dict[int, int]
) -> dict:
    row: dict = {
        "configuration": name,
        "rows": rows,
        "median_s": round(statistics.median(runs), 2),
        "min_s": round(min(runs), 2),
        "max_s": round(max(runs), 2),
        "repeats": len(runs),
    }
    if name != "Spark start-up":
        row["rows_per_s"] = round(rows / statistics.median(runs))
        input_files = 1 if name in ("local engine", "Spark, single file") else files
        row["input_files"] = input_files
        row["input_row_groups"] = row_groups[input_files]
        row["onnxruntime_threads"] = default_threads() if name == "local engine" else 1
    return row


CONFIGURATIONS = (
    "local engine",
    "Spark start-up",
    "Spark, dataset, cold workers",
    "Spark, dataset, warm workers",
    "Spark, single file",
)


def run_benchmark(rows: int, files: int, model: str, repeats: int) -> list[dict]:
    """Generate the registry, time every configuration and return one row each."""
    seconds: dict[str, list[float]] = {name: [] for name in CONFIGURATIONS}
    with tempfile.TemporaryDirectory(prefix="nscore-spark-bench-") as tmp:
        work = Path(tmp)
        file = work / "registry.parquet"
        write_registry(file, rows)
        split_registry(file, work / "registry", files)
        row_groups = {
            1: count_row_groups([file]),
            files: count_row_groups(sorted((work / "registry").iterdir())),
        }
        for repeat in range(repeats):
            measure_repeat(file, work / "registry", work, model, seconds)
            latest = {name: round(runs[-1], 2) for name, runs in seconds.items()}
            log.info("repeat %d: %s", repeat + 1, json.dumps(latest))

    results = [
        summarize(name, runs, rows, files, row_groups) for name, runs in seconds.items()
    ]
    local = statistics.median(seconds["local engine"])
    for row in results:
        if "rows_per_s" in row:
            row["ratio_to_local"] = round(row["median_s"] / local, 2)
    return results


def describe_run(load_before: float, load_after: float) -> list[str]:
    return [
        (
            "Each figure is the median of interleaved repeats in one process; "
            "ratio_to_local divides by the local engine's median."
        ),
        (
            "Cold workers: the first job in a fresh SparkContext, so each Python "
            "worker loads onnxruntime, the model and the census table. Warm workers: "
            "a second job in the same context, whose workers keep their scorer and "
            "its cache of first names."
        ),
        (
            "Spark splits Parquet input at row group boundaries, so input_row_groups "
            "caps the tasks that can run at once. The single-file run follows the "
            "dataset runs, so its workers are warm."
        ),
        (
            "Spark start-up: the first repeat launches the JVM, later ones start a "
            "new SparkContext in the same JVM."
        ),
        (
            f"One-minute load average {load_before:.1f} before and {load_after:.1f} "
            "after the run, on a machine shared with other jobs."
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--files", type=int, default=8, help="Files in the dataset directory."
    )
    parser.add_argument("--model", default="best")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/spark.json")
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")

    load_before = os.getloadavg()[0]
    rows = run_benchmark(args.rows, args.files, args.model, args.repeats)
    notes = describe_run(load_before, os.getloadavg()[0])
    write_result(
        {
            "title": "Spark local[2] beside the local engine",
            "command": "python -m benchmarks.spark_bench " + " ".join(sys.argv[1:]),
            "hardware": describe_hardware(),
            "versions": library_versions(LIBRARIES),
            "rows": rows,
            "notes": notes,
        },
        args.out,
    )
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
