"""GPU checks: CUDA training steps, onnxruntime CUDA scoring and CUDA/CPU parity.

    python -m benchmarks.gpu [--device cuda|cpu] [--out benchmarks/results/gpu.json]

`benchmarks/gpu_check.sh` runs this on a CUDA machine. With `--device cpu`
every GPU side runs on the CPU instead, which exercises the code where no GPU
is at hand: its figures are CPU figures and its parity is trivially exact.
A check that raises is recorded as a failed row, so the other checks still run.
"""

from __future__ import annotations

import argparse
import copy
import functools
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from benchmarks.hardware import describe_hardware
from benchmarks.schema import library_versions, write_result
from benchmarks.scoring import make_batches, score_all
from benchmarks.subjects import Subject, export_row, load_subject
from benchmarks.timing import measure
from benchmarks.training import training_rows
from nscore.data import census_names, split
from nscore.errors import ModelError
from nscore.score.model import OnnxModel

log = logging.getLogger("benchmarks")
DEFAULT_OUT = Path("benchmarks/results/gpu.json")
LIBRARIES = ("nscore", "torch", "onnxruntime-gpu", "onnxruntime", "numpy", "pyarrow")
BUCKET_SIZES = (8192, 65536)
REPEATS = 5
TRAIN_NAMES = 256 * 40  # training names per timed repeat, per batch size
# CUDA kernels sum in another order than the CPU, and cuDNN may use TF32
# tensor cores for float32, so logits can differ by more than the exporter's
# 1e-4. NOTE: 1e-3 is a guess that no GPU run has checked yet.
PARITY_TOLERANCE = 1e-3
TARGET_NAMES_PER_S = 5_000_000  # the BiGRU through onnxruntime CUDA
FAILURES = (RuntimeError, ModelError, ValueError)


def run_check(name: str, check: Callable[[], list[dict]]) -> list[dict]:
    """Run one check; on a torch, onnxruntime or nscore error record a failed row."""
    started = time.perf_counter()
    try:
        rows = check()
    except FAILURES as error:
        log.error("check %s failed: %s", name, error)
        return [{"kind": name, "status": "failed", "error": str(error)[:500]}]
    log.info("check %s passed in %.1f s", name, time.perf_counter() - started)
    return rows


def provider_of(device: str) -> str:
    return "cuda" if device == "cuda" else "cpu"


def scoring_rows(subject: Subject, names: list[str], device: str) -> list[dict]:
    """Time OnnxModel.prob_female on CPU and on `device` at each bucket size."""
    first_names = pa.array(names, pa.string())
    rows = []
    for provider in dict.fromkeys(("cpu", provider_of(device))):
        for bucket_size in BUCKET_SIZES:
            model = OnnxModel(
                subject.export.onnx_path, provider=provider, bucket_size=bucket_size
            )
            timing = measure(functools.partial(model.prob_female, first_names), REPEATS)
            rows.append(
                {
                    "kind": "scoring",
                    **subject.describe(),
                    "backend": "onnxruntime",
                    "provider": model.provider,
                    "io_binding": model.provider == "CUDAExecutionProvider",
                    "batch_size": bucket_size,
                    "names": len(names),
                    **timing.rates(len(names), "names_per_s"),
                }
            )
    return rows


def target_rows(rows: list[dict]) -> list[dict]:
    """Check the onnxruntime CUDA BiGRU rows against the names/s target."""
    return [
        {
            "kind": "target",
            "model": row["model"],
            "batch_size": row["batch_size"],
            "names_per_s": row["names_per_s"],
            "target_names_per_s": TARGET_NAMES_PER_S,
            "met": row["names_per_s"] >= TARGET_NAMES_PER_S,
        }
        for row in rows
        if row.get("provider") == "CUDAExecutionProvider" and row["arch"] == "bigru"
    ]


def parity_row(backend: str, reference: np.ndarray, logits: np.ndarray) -> dict:
    diff = float(np.abs(logits - reference).max())
    return {
        "kind": "parity",
        "backend": backend,
        "names": len(reference),
        "max_abs_diff": diff,
        "argmax_agreement": float((logits.argmax(1) == reference.argmax(1)).mean()),
        "tolerance": PARITY_TOLERANCE,
        "met": diff <= PARITY_TOLERANCE,
    }


def torch_parity(subject: Subject, names: list[str], device: str) -> list[dict]:
    """Compare eager PyTorch logits on `device` with CPU logits on the same names."""
    from nscore.train import predict_logits

    reference = predict_logits(subject.model, names, torch.device("cpu"))
    moved = copy.deepcopy(subject.model).to(device)
    logits = predict_logits(moved, names, torch.device(device))
    return [{**parity_row("pytorch", reference, logits), "model": subject.name}]


def onnx_parity(subject: Subject, names: list[str], device: str) -> list[dict]:
    """Compare onnxruntime logits on `device` with CPU ones on the same buckets."""
    batches = make_batches(names, "bucketed", BUCKET_SIZES[0])
    logits = {}
    for provider in ("cpu", provider_of(device)):
        model = OnnxModel(subject.export.onnx_path, provider=provider)
        logits[provider] = score_all(model.logits, batches, len(names))
    reference, moved = logits["cpu"], logits[provider_of(device)]
    return [{**parity_row("onnxruntime", reference, moved), "model": subject.name}]


def model_checks(subject: Subject, device: str, export_dir: Path) -> list[dict]:
    """Run every check on one model; scoring and parity need its export."""
    train, valid = split(census_names())
    all_names = census_names("all").names  # every distinct census name
    rows = run_check(
        "training",
        functools.partial(training_rows, subject, train, TRAIN_NAMES, 3, (device,)),
    )
    rows += run_check("export", lambda: [export_row(subject, export_dir)])
    if subject.export is None:
        return rows
    scored = run_check(
        "scoring", functools.partial(scoring_rows, subject, all_names, device)
    )
    rows += scored + target_rows(scored)
    for parity in (torch_parity, onnx_parity):
        rows += run_check(
            "parity", functools.partial(parity, subject, valid.names, device)
        )
    return rows


def gpu_rows(device: str, export_dir: Path) -> list[dict]:
    """Run the checks on the bundled bigru (or an untrained one) and on `best`."""
    rows = []
    for name in ("bigru", "best"):
        subject = load_subject(name)
        if subject is not None:
            subject.accuracy = subject.stored["metrics"].get("accuracy")
            rows += model_checks(subject, device, export_dir)
    return rows


def hardware_name(device: str) -> str:
    hardware = describe_hardware()
    if device == "cuda" and torch.cuda.is_available():
        hardware += f", {torch.cuda.get_device_name()}"
    return hardware


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    logging.getLogger("nscore").setLevel(logging.WARNING)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error(
            "torch sees no CUDA GPU: run on a CUDA machine or pass --device cpu"
        )

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nscore-gpu-") as export_dir:
        rows = gpu_rows(args.device, Path(export_dir))

    names = len(census_names("all"))
    result = {
        "title": f"GPU checks ({args.device})",
        "command": " ".join(["python -m benchmarks.gpu", *(argv or sys.argv[1:])]),
        "hardware": hardware_name(args.device),
        "versions": library_versions(LIBRARIES),
        "wall_seconds": time.perf_counter() - started,
        "rows": rows,
        "notes": [
            (
                f"Scoring rows time OnnxModel.prob_female over all {names:,} "
                "distinct census names, encoding included. On CUDA it passes "
                "inputs and outputs through IO binding."
            ),
            f"Parity compares logits with the CPU's at tolerance {PARITY_TOLERANCE:g}.",
            (
                f"Training rows time {TRAIN_NAMES:,} names per repeat and extrapolate "
                "seconds per epoch to the full training split."
            ),
        ],
    }
    write_result(result, args.out)

    failed = [row for row in rows if row.get("status") == "failed"]
    log.info("wrote %s: %d rows, %d failed checks", args.out, len(rows), len(failed))


if __name__ == "__main__":
    main()
