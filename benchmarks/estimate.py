"""Estimate a run's duration before it starts, from a few seconds of calibration.

The calibration times an untrained reference-size BiGRU on this machine: a
few training steps at two batch sizes, one batched scoring pass and a few
single-name calls. The estimate multiplies those costs by the work a config
plans, for every model alike, so it runs long for rnn and short for larger
models. It leaves out the peers and the CUDA rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from benchmarks.scoring import make_batches, score_all, torch_runner
from benchmarks.subjects import (
    REFERENCE_BATCH_SIZE,
    SHIPPED_BATCH_SIZE,
    Subject,
    untrained_fields,
)
from benchmarks.training import StepRunner
from nscore.data import census_names, split
from nscore.model import ModelConfig, NameClassifier

if TYPE_CHECKING:
    from benchmarks.run import BenchConfig

BACKENDS = 3
LAYOUTS = 2
# Single-name forward passes in one export verification: each of the 600
# names alone, then each of three backends at batch sizes 1, 7, 256 and 600.
EXPORT_CALLS = 600 + 3 * (600 + 86 + 3 + 1)
CALIBRATION_NAMES = 2048


def seconds_per_call(function: Callable[[], object], calls: int) -> float:
    function()
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls


def calibrate() -> dict[str, float]:
    """Return seconds per training name at each batch size, per scored name, per call."""
    config = ModelConfig(arch="bigru")
    subject = Subject("bigru", NameClassifier(config), untrained_fields(config), False)
    data = census_names()
    train = data.take(np.arange(CALIBRATION_NAMES))
    costs = {}
    for batch_size in (REFERENCE_BATCH_SIZE, SHIPPED_BATCH_SIZE):
        runner = StepRunner(subject, train, batch_size, "cpu")
        costs[f"train_{batch_size}"] = seconds_per_call(runner.step, 3) / batch_size
    runner = torch_runner(subject.model.eval(), "cpu")
    batches = make_batches(train.names, "bucketed", 1024)
    pass_seconds = seconds_per_call(lambda: score_all(runner, batches, len(train)), 1)
    costs["score_name"] = pass_seconds / len(train)
    single = make_batches(train.names[:1], "one-by-one", 1)[0]
    costs["call"] = seconds_per_call(lambda: runner(single.tokens, single.lengths), 30)
    return costs


def estimate_seconds(
    config: BenchConfig, costs: dict[str, float] | None = None
) -> float:
    """Return the estimated wall time of `config` on this machine, in seconds."""
    costs = costs or calibrate()
    valid = len(split(census_names())[1])
    if config.valid_names:
        valid = min(valid, config.valid_names)
    train_per_model = sum(
        (config.train_repeats * config.train_names + 5 * batch_size)
        * costs[f"train_{batch_size}"]
        for batch_size in (REFERENCE_BATCH_SIZE, SHIPPED_BATCH_SIZE)
    )
    batched = [b for b in config.batch_sizes if b > 1]
    passes = 1 + config.repeats
    score_per_model = (
        costs["score_name"]
        * valid
        * (BACKENDS * LAYOUTS * len(batched) * passes + passes + 1)
    )
    score_per_model += costs["call"] * (
        BACKENDS * passes * config.single_names * (1 in config.batch_sizes)
        + EXPORT_CALLS
    )
    return len(config.models) * (train_per_model + score_per_model)
