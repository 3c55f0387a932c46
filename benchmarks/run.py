"""Benchmark every architecture and backend side by side, in one run.

    python -m benchmarks.run [--quick] [--device cpu|cuda] [--out PATH]

For each model (rnn, lstm, bilstm, bigru and the shipped `best`) it measures
training names/s, export seconds and scoring names/s per backend, layout and
batch size. The peers score the same validation names. The run prints the
speed ratios against their targets and writes one JSON file in the format of
benchmarks/schema.py, which `python -m benchmarks.render` turns into
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks.estimate import estimate_seconds
from benchmarks.hardware import describe_hardware
from benchmarks.peers import last_letter_row, ngram_row
from benchmarks.ratios import format_ratios, ratio_rows, target_batch_size
from benchmarks.schema import library_versions, write_result
from benchmarks.scoring import ScoringPlan, available_devices, scoring_rows
from benchmarks.subjects import (
    MODELS_DIR,
    Subject,
    export_row,
    load_subject,
    measure_accuracy,
    measure_reference,
)
from benchmarks.training import training_rows
from nscore.data import LabelledNames, census_names, split
from nscore.score.model import default_threads

log = logging.getLogger("benchmarks")
DEFAULT_OUT = Path("benchmarks/results/backends.json")
LIBRARIES = ("nscore", "torch", "onnxruntime-gpu", "onnx", "numpy", "pyarrow")
LIBRARIES += ("scikit-learn",)


@dataclass(frozen=True)
class BenchConfig:
    """Sizes of one run; FULL and QUICK are the two presets."""

    models: tuple[str, ...] = ("rnn", "lstm", "bilstm", "bigru", "best")
    batch_sizes: tuple[int, ...] = (1, 64, 1024, 8192, 65536)
    repeats: int = 3
    valid_names: int = 0  # 0 scores every validation name
    single_names: int = 500  # names scored one per call
    train_names: int = 4096  # training names per timed repeat, per batch size
    train_repeats: int = 3
    ngram_train_names: int = 0  # 0 fits on the whole training split
    device: str = "cpu"
    threads: int = 0  # 0 uses every core this process may run on


FULL = BenchConfig()
QUICK = BenchConfig(
    batch_sizes=(1, 64, 8192),
    repeats=2,
    valid_names=2048,
    single_names=100,
    train_names=1024,
    train_repeats=2,
)


def prefix(data: LabelledNames, count: int) -> LabelledNames:
    """Return the first `count` names (the split is already shuffled); 0 keeps all."""
    if not count or count >= len(data):
        return data
    return data.take(np.arange(count))


def model_rows(
    subject: Subject,
    train: LabelledNames,
    valid: LabelledNames,
    config: BenchConfig,
    export_dir: Path,
) -> list[dict]:
    """Measure one model: accuracy first, then training, export and scoring rows."""
    devices = available_devices(config.device)
    measure_accuracy(subject, config.valid_names)
    measure_reference(subject, valid.names)
    rows = training_rows(
        subject, train, config.train_names, config.train_repeats, devices
    )
    rows.append(export_row(subject, export_dir))
    plan = ScoringPlan(
        batch_sizes=config.batch_sizes,
        single_names=config.single_names,
        prob_female_batch_size=target_batch_size(config.batch_sizes),
        repeats=config.repeats,
        threads=config.threads,
    )
    rows += scoring_rows(subject, valid.names, devices, plan)
    return rows


def describe_run(config: BenchConfig, valid: LabelledNames) -> list[str]:
    """Return the notes that tell a reader how the figures were measured."""
    return [
        (
            f"torch and onnxruntime run with threads={config.threads}. The machine "
            "may be shared, so the load average is recorded at the start and end."
        ),
        (
            f"Scoring rows cover {len(valid):,} validation names, except batch size 1, "
            f"which scores the first {config.single_names:,} of them one per call."
        ),
        (
            "Scoring rows time forward passes on batches encoded beforehand; the "
            "prob_female layout times OnnxModel.prob_female, encoding included."
        ),
        (
            "A bucket never holds more names than share one length, so the largest "
            "batch sizes are capped by the bucket sizes in the bucketed layout."
        ),
        (
            f"Training rows time {config.train_names:,} names per repeat with packing "
            "and extrapolate seconds per epoch to the full training split."
        ),
        (
            "Export times are single runs; they include onnxruntime and TorchScript "
            "verification against eager PyTorch on 600 census names."
        ),
        "max_abs_diff is the largest logit difference from eager PyTorch on CPU.",
        (
            "accuracy is the argmax accuracy on each model's own validation split "
            "(its data_rule, split seed from its checkpoint) over accuracy_names "
            "names. Rows with weights untrained are stand-ins for missing "
            "checkpoints, measured for speed only."
        ),
        (
            "The pytorch one-by-one rows score one name per forward pass in eager "
            "PyTorch, the way the reference study scored."
        ),
        f"Ratios are checked at batch size {target_batch_size(config.batch_sizes)}.",
    ]


def run_benchmarks(
    config: BenchConfig, command: str, models_dir: Path = MODELS_DIR
) -> dict:
    """Run every measurement in `config` and return the result in the shared format."""
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    if not config.threads:
        config = dataclasses.replace(config, threads=default_threads())
    torch.set_num_threads(config.threads)
    train, valid = split(census_names())
    valid = prefix(valid, config.valid_names)

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="nscore-bench-") as export_dir:
        for name in config.models:
            subject = load_subject(name, models_dir)
            if subject is not None:
                rows += model_rows(subject, train, valid, config, Path(export_dir))
    rows.append(
        ngram_row(prefix(train, config.ngram_train_names), valid, config.repeats)
    )
    rows.append(last_letter_row(valid, config.repeats))
    rows = ratio_rows(rows, config.batch_sizes) + rows  # the headline first

    hardware = describe_hardware()
    if "cuda" in available_devices(config.device):
        hardware += f", {torch.cuda.get_device_name()}"
    return {
        "title": "Architectures and backends",
        "command": command,
        "hardware": hardware,
        "versions": library_versions(LIBRARIES),
        "threads": config.threads,
        "config": dataclasses.asdict(config),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg()[0],
        "wall_seconds": time.perf_counter() - started,
        "rows": rows,
        "notes": describe_run(config, valid),
    }


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer names, repeats and batch sizes: a few minutes on 2 cores",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cuda adds GPU rows beside the CPU rows",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"results JSON file (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        help=(
            "torch and onnxruntime threads (default: every core this process may "
            "use); on cores busy with other jobs, 1 avoids thread contention"
        ),
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    logging.getLogger("nscore").setLevel(logging.WARNING)
    preset = QUICK if args.quick else FULL
    config = dataclasses.replace(
        preset, device=args.device, threads=args.threads or default_threads()
    )
    try:
        available_devices(config.device)  # fail before any measurement
    except ValueError as error:
        parser.error(str(error))
    torch.set_num_threads(config.threads)  # the calibration runs with them too
    log.info(
        "expected time: about %.0f minutes (an estimate that costs every model "
        "and backend as eager PyTorch on a reference-size BiGRU)",
        estimate_seconds(config) / 60,
    )

    command = " ".join(["python -m benchmarks.run", *(argv or sys.argv[1:])])
    result = run_benchmarks(config, command)
    write_result(result, args.out)
    ratios = [row for row in result["rows"] if row["kind"] == "ratio"]
    print(format_ratios(ratios))
    log.info("wrote %s in %.0f s", args.out, result["wall_seconds"])


if __name__ == "__main__":
    main()
