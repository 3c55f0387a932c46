"""Stream an input file through a Scorer into an output file.

Three stages overlap: a thread reads batch N+1 while the main thread scores
batch N and another thread writes batch N-1. pyarrow and onnxruntime release
the GIL, so the slowest stage sets the pace and at most four batches are in
memory at once.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from nscore.errors import InputError
from nscore.score.engine import Scorer, passthrough_names
from nscore.score.io import (
    DEFAULT_BATCH_ROWS,
    AtomicWriter,
    CsvOptions,
    default_output,
    find_name_column,
    open_input,
    output_format,
)

log = logging.getLogger("nscore.score")
WRITES_IN_FLIGHT = 2


@dataclass(frozen=True)
class RunSummary:
    output: Path
    rows: int
    distinct_names: int
    abstained: int
    too_long: int
    seconds: float

    def line(self) -> str:
        text = (
            f"scored {self.rows:,} rows ({self.distinct_names:,} distinct first names, "
            f"{self.abstained:,} abstained) in {self.seconds:.1f} s -> {self.output}"
        )
        if self.too_long:
            text += f"; {self.too_long:,} first names longer than the maximum were not scored"
        return text


def plan_output(
    input_path: Path, output: Path | None, overwrite: bool, directory: bool = False
) -> Path:
    """Pick and check the output path before any row is read.

    A `directory` output (a Parquet dataset) needs no file suffix.
    """
    output = output or default_output(input_path)
    if not directory:
        output_format(output)
    same = output.exists() and input_path.exists() and output.samefile(input_path)
    if same or output.resolve() == input_path.resolve():
        raise InputError(f"output {output} is the input file: choose another --output")
    if input_path.is_dir() and output.resolve().is_relative_to(input_path.resolve()):
        raise InputError(
            f"output {output} is inside the input directory {input_path}, so a later "
            "run would read it as input: choose another --output"
        )
    check_output_target(output, overwrite, "--output")
    return output


def check_output_target(output: Path, overwrite: bool, option: str) -> None:
    """Check that `output` can be written: its directory exists and is writable,
    and an existing file is replaced only with --overwrite."""
    if not output.parent.is_dir():
        raise InputError(
            f"output directory {output.parent} does not exist: create it first"
        )
    if not os.access(output.parent, os.W_OK | os.X_OK):
        raise InputError(
            f"output directory {output.parent} is not writable: check its "
            f"permissions or choose another {option}"
        )
    if output.exists() and not overwrite:
        raise InputError(
            f"output {output} already exists: pass --overwrite to replace it"
        )


def check_keep(
    keep: list[str] | None, names: list[str], option: str = "--keep"
) -> list[str] | None:
    """Check the pass-through columns before any row is read; None keeps them all.

    `option` names the setting in the message (`--keep`, or `keep` in Python).
    """
    if keep is not None:
        missing = [k for k in keep if k not in names]
        if missing:
            raise InputError(
                f"{option} names columns that are not in the input: "
                f"{', '.join(missing)}; the input has: {', '.join(names)}"
            )
    passthrough_names(keep if keep is not None else names)
    return keep


def score_file(
    input_path: Path,
    scorer: Scorer,
    output: Path | None = None,
    column: str | None = None,
    keep: list[str] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    csv_options: CsvOptions | None = None,
    overwrite: bool = False,
    quiet: bool = False,
) -> RunSummary:
    """Score every row of `input_path` and write the result atomically to `output`."""
    started = time.perf_counter()
    # A Scorer's counts add up over every file it scored; report only this one.
    before = dataclasses.replace(scorer.stats)
    output = plan_output(input_path, output, overwrite)
    csv_options = csv_options or CsvOptions()

    source = open_input(input_path, batch_rows, csv_options)
    column = find_name_column(source.schema, column)
    keep = check_keep(keep, source.schema.names)

    empty = pa.RecordBatch.from_pylist([], schema=source.schema)
    schema = scorer.score_batch(empty, column, keep).schema
    writer = AtomicWriter(output, schema, csv_options.delimiter)
    progress = tqdm(
        total=source.num_rows,
        unit=" rows",
        unit_scale=True,
        file=sys.stderr,
        disable=quiet or not sys.stderr.isatty(),
        leave=False,
    )

    batches = iter(source.batches)
    try:
        with (
            ThreadPoolExecutor(1, "nscore-read") as reader,
            ThreadPoolExecutor(1, "nscore-write") as pool,
        ):
            next_batch = reader.submit(next, batches, None)
            pending: deque = deque()
            while (batch := next_batch.result()) is not None:
                next_batch = reader.submit(next, batches, None)
                pending.append(
                    pool.submit(writer.write, scorer.score_batch(batch, column, keep))
                )
                while len(pending) > WRITES_IN_FLIGHT:
                    pending.popleft().result()
                progress.update(batch.num_rows)
            for write in pending:
                write.result()
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    finally:
        progress.close()

    stats = scorer.stats
    return RunSummary(
        output,
        stats.rows - before.rows,
        # NOTE: counts the first names of earlier files too when `scorer` is reused.
        scorer.distinct_names,
        stats.abstained - before.abstained,
        stats.too_long - before.too_long,
        time.perf_counter() - started,
    )
