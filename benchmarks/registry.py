"""Throughput of `nscore run` against pyarrow reading and writing the same file.

Generates synthetic registries (first names drawn by census frequency, common
surnames, mixed case and accents, a student id column) and times, in one run
and each in its own child process:

- pyarrow alone: iterate the Parquet file's record batches and write them back;
- `nscore run` with the census lookup (the default) and with `--no-lookup`.

Peak resident memory comes from `resource.getrusage(RUSAGE_CHILDREN)` in a
wrapper process around each command.

    python -m benchmarks.registry --rows 1000000 10000000 --out benchmarks/results/registry.json
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.hardware import describe_hardware
from benchmarks.schema import library_versions, write_result
from nscore.sample import write_registry
from nscore.score.io import DEFAULT_BATCH_ROWS

PYARROW_COPY = """
import sys, pyarrow.parquet as pq
source, target = sys.argv[1], sys.argv[2]
writer = None
for batch in pq.ParquetFile(source).iter_batches(batch_size=int(sys.argv[3])):
    if writer is None:
        writer = pq.ParquetWriter(target, batch.schema)
    writer.write_batch(batch)
writer.close()
"""
MEASURE = """
import resource, subprocess, sys, time, json
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - started
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": done.returncode, "seconds": seconds, "peak_mib": peak_kib / 1024,
                  "stderr": done.stderr[-2000:]}))
"""
SUMMARY = re.compile(
    r"scored ([\d,]+) rows \(([\d,]+) distinct first names, ([\d,]+) abstained\)"
)

LIBRARIES = ("nscore", "numpy", "pyarrow", "onnxruntime-gpu")


def measure(command: list[str]) -> dict:
    """Run `command` in a child of a fresh wrapper process; return seconds and peak RSS."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        capture_output=True,
        text=True,
        check=True,
    )
    record = json.loads(result.stdout)
    if record["rc"] != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {record['stderr']}")
    return record


def nscore_command(source: Path, target: Path, model: str, *options: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from nscore.cli import main; main()",
        "run",
        str(source),
        "--model",
        model,
        "--output",
        str(target),
        "--overwrite",
        *options,
    ]


def bench_file(
    source: Path, rows: int, model: str, repeats: int, work: Path
) -> list[dict]:
    results = []
    configurations = {
        "pyarrow read+write": [
            sys.executable,
            "-c",
            PYARROW_COPY,
            str(source),
            str(work / "copy.parquet"),
            str(DEFAULT_BATCH_ROWS),  # the batch size nscore run reads with
        ],
        "nscore run": nscore_command(source, work / "out.parquet", model),
        "nscore run --no-lookup": nscore_command(
            source, work / "out.parquet", model, "--no-lookup"
        ),
    }
    runs: dict[str, list[dict]] = {name: [] for name in configurations}
    for _ in range(
        repeats
    ):  # interleaved, so machine noise hits every configuration alike
        for name, command in configurations.items():
            runs[name].append(measure(command))
    baseline = sorted(r["seconds"] for r in runs["pyarrow read+write"])[repeats // 2]
    for name, records in runs.items():
        seconds = sorted(r["seconds"] for r in records)
        median = seconds[repeats // 2]
        row = {
            "rows": rows,
            "configuration": name,
            "median_s": round(median, 3),
            "min_s": round(seconds[0], 3),
            "max_s": round(seconds[-1], 3),
            "rows_per_s": round(rows / median),
            "ratio_to_pyarrow": round(median / baseline, 2),
            "peak_rss_mib": round(max(r["peak_mib"] for r in records), 1),
        }
        match = SUMMARY.search(records[-1]["stderr"])
        if match:
            distinct = int(match.group(2).replace(",", ""))
            row["distinct_first_names"] = distinct
            row["distinct_per_s"] = round(distinct / median)
        results.append(row)
        print(json.dumps(row), file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--model", default="best")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/registry.json")
    )
    args = parser.parse_args()
    rows_out: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="nscore-registry-") as tmp:
        work = Path(tmp)
        for rows in args.rows:
            source = work / f"registry-{rows}.parquet"
            started = time.perf_counter()
            write_registry(source, rows)
            print(
                f"generated {rows:,} rows in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
            rows_out += bench_file(source, rows, args.model, args.repeats, work)
            source.unlink()
    peaks = {
        r["rows"]: r["peak_rss_mib"]
        for r in rows_out
        if r["configuration"] == "nscore run"
    }
    notes = [
        (
            "Each figure is the median of interleaved repeats; ratio_to_pyarrow divides by the "
            "pyarrow read+write median of the same file in the same run."
        ),
        (
            "Targets: nscore run within 2.0x of pyarrow on the 10M-row file; peak memory under "
            "1.5 GB and within 25% between the 1M and 10M files."
        ),
    ]
    if len(peaks) >= 2:
        low, high = min(peaks), max(peaks)
        notes.append(
            f"Peak RSS of nscore run grows {peaks[high] / peaks[low] - 1:+.0%} from "
            f"{low:,} to {high:,} rows."
        )
    record = {
        "title": "Registry scoring against pyarrow read+write",
        "command": "python -m benchmarks.registry " + " ".join(sys.argv[1:]),
        "hardware": describe_hardware(),
        "versions": library_versions(LIBRARIES),
        "rows": rows_out,
        "notes": notes,
    }
    write_result(record, args.out)


if __name__ == "__main__":
    main()
