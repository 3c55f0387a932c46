"""Scoring throughput of every backend on the same pre-encoded batches.

Two layouts cut the same names into batches of at most `batch_size` rows:

    bucketed: names sorted into exact-length groups, no padding
        [a n a] [l i a] [e v a] | [j o s e] [l u i s] | [m a r i a] ...
    padded: names in validation order, each batch right-padded to its longest
        [m a r i a] [a n a <pad> <pad>] [j o s e <pad>] ...

A third layout, one-by-one, scores a single name per call, which is how the
reference study scored. Encoding happens before timing, so every row times
the forward passes alone. The `prob_female` layout is the exception: it times
the shipped `OnnxModel.prob_female` path, which encodes the names itself.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch

from benchmarks.subjects import Subject
from benchmarks.timing import measure_interleaved
from nscore.score.model import OnnxModel, cuda_driver_present
from nscore.text import encode

log = logging.getLogger("benchmarks")
LAYOUTS = ("bucketed", "padded")
Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Batch:
    rows: np.ndarray  # positions of the batch's names in the scored list
    tokens: np.ndarray  # (batch, width) int64
    lengths: np.ndarray  # (batch,) int64


def bucketed_batches(tokens: np.ndarray, lengths: np.ndarray, size: int) -> list[Batch]:
    order = np.argsort(lengths, kind="stable")
    bounds = np.flatnonzero(np.diff(lengths[order])) + 1
    batches = []
    for bucket in np.split(order, bounds):
        width = int(lengths[bucket[0]])
        for start in range(0, len(bucket), size):
            rows = bucket[start : start + size]
            batches.append(Batch(rows, tokens[rows, :width], lengths[rows]))
    return batches


def padded_batches(tokens: np.ndarray, lengths: np.ndarray, size: int) -> list[Batch]:
    batches = []
    for start in range(0, len(lengths), size):
        rows = np.arange(start, min(start + size, len(lengths)))
        width = int(lengths[rows].max())
        batches.append(Batch(rows, tokens[rows, :width], lengths[rows]))
    return batches


def make_batches(names: list[str], layout: str, size: int) -> list[Batch]:
    tokens, lengths = encode(names)
    if layout == "bucketed":
        return bucketed_batches(tokens, lengths, size)
    if layout in ("padded", "one-by-one"):
        return padded_batches(tokens, lengths, size)
    raise ValueError(f"unknown layout {layout!r}: use bucketed, padded or one-by-one")


def score_all(runner: Runner, batches: list[Batch], count: int) -> np.ndarray:
    logits = np.empty((count, 2), np.float32)
    for batch in batches:
        logits[batch.rows] = runner(batch.tokens, batch.lengths)
    return logits


def torch_runner(module: torch.nn.Module, device: str) -> Runner:
    """Wrap an eager or TorchScript module; inputs move to `device` and logits back."""

    def run(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = module(
                torch.from_numpy(tokens).to(device),
                torch.from_numpy(lengths).to(device),
            )
            return logits.cpu().numpy()

    return run


def backend_runners(subject: Subject, device: str, threads: int) -> dict[str, Runner]:
    """Return the runners for one device: eager PyTorch, TorchScript, onnxruntime."""
    export = subject.export
    # Module.to moves parameters in place, so a GPU run gets its own copy.
    eager = subject.model if device == "cpu" else copy.deepcopy(subject.model)
    eager = eager.to(device).eval()
    traced = torch.jit.load(str(export.torchscript_path), map_location=device)
    provider = "cuda" if device == "cuda" else "cpu"
    session = OnnxModel(export.onnx_path, provider=provider, threads=threads)
    # NOTE: onnxruntime's TensorRT provider is left out. Without explicit profile
    # shapes it rebuilds its engine whenever an input shape leaves the range it
    # has seen, and the buckets and batch sizes here keep changing shape.
    return {
        "pytorch": torch_runner(eager, device),
        "torchscript": torch_runner(traced, device),
        "onnxruntime": session.logits,
    }


def available_devices(requested: str) -> tuple[str, ...]:
    """Return the devices to measure: always the CPU, and CUDA when requested."""
    if requested == "cpu":
        return ("cpu",)
    if not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' requested but torch sees no CUDA GPU: use --device cpu"
        )
    if not cuda_driver_present():
        raise ValueError(
            "device 'cuda' requested but the NVIDIA driver library does not load: "
            "use --device cpu"
        )
    return ("cpu", "cuda")


@dataclass(frozen=True)
class ScoringPlan:
    """Batch sizes, name counts and repeats of one model's scoring rows."""

    batch_sizes: tuple[int, ...]
    single_names: int  # names scored at batch size 1, a prefix of the validation names
    prob_female_batch_size: int
    repeats: int
    threads: int


def layouts_for(batch_size: int) -> tuple[str, ...]:
    """Return the layouts measured at a batch size; at batch size 1 they are one."""
    return ("one-by-one",) if batch_size == 1 else LAYOUTS


def case_functions(
    subject: Subject,
    names: list[str],
    batch_size: int,
    runners: dict[str, Runner],
    device: str,
    plan: ScoringPlan,
) -> dict[tuple[str, str], Callable[[], np.ndarray]]:
    """Build one scoring pass per (layout, backend) at one batch size."""
    functions = {}
    for layout in layouts_for(batch_size):
        batches = make_batches(names, layout, batch_size)
        for backend, runner in runners.items():
            functions[layout, backend] = functools.partial(
                score_all, runner, batches, len(names)
            )
    if batch_size == plan.prob_female_batch_size:
        model = OnnxModel(
            subject.export.onnx_path,
            provider="cuda" if device == "cuda" else "cpu",
            threads=plan.threads,
            bucket_size=batch_size,
        )
        first_names = pa.array(names, pa.string())
        functions["prob_female", "onnxruntime"] = functools.partial(
            model.prob_female, first_names
        )
    return functions


def scoring_rows(
    subject: Subject, names: list[str], devices: tuple[str, ...], plan: ScoringPlan
) -> list[dict]:
    """Time every backend, layout and batch size on each device for one model.

    The passes at one batch size run interleaved, so the ratios between
    backends and between layouts compare the same stretch of machine load.
    """
    rows = []
    for device in devices:
        runners = backend_runners(subject, device, plan.threads)
        for batch_size in plan.batch_sizes:
            rows += batch_size_rows(subject, names, device, batch_size, runners, plan)
    return rows


def batch_size_rows(
    subject: Subject,
    names: list[str],
    device: str,
    batch_size: int,
    runners: dict[str, Runner],
    plan: ScoringPlan,
) -> list[dict]:
    """Time every (layout, backend) pass at one batch size, interleaved."""
    scored = names[: plan.single_names] if batch_size == 1 else names
    functions = case_functions(subject, scored, batch_size, runners, device, plan)
    outputs, timings = measure_interleaved(functions, plan.repeats)
    reference = subject.reference_logits[: len(scored)]
    rows = []
    for (layout, backend), timing in timings.items():
        diff = None  # prob_female returns P(F), not logits, so it has no logit parity
        if layout != "prob_female":
            diff = float(np.abs(outputs[layout, backend] - reference).max())
        rows.append(
            {
                "kind": "scoring",
                **subject.describe(),
                "device": device,
                "backend": backend,
                "layout": layout,
                "batch_size": batch_size,
                "threads": plan.threads,
                "names": len(scored),
                **timing.rates(len(scored), "names_per_s"),
                "max_abs_diff": diff,
            }
        )
    log.info("scored %s on %s at batch size %d", subject.name, device, batch_size)
    return rows
