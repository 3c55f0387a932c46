"""Python API with the same result contract as `nscore run`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pyarrow as pa

from nscore.score.engine import Scorer
from nscore.score.io import DEFAULT_BATCH_ROWS, find_name_column
from nscore.score.model import DEFAULT_MODEL, OnnxModel

if TYPE_CHECKING:
    import pandas as pd


def score_table(
    table: pa.Table,
    column: str | None = None,
    model: str | os.PathLike | OnnxModel = DEFAULT_MODEL,
    *,
    lookup: bool = True,
    threshold: float = 0.9,
    keep: list[str] | None = None,
    provider: str = "auto",
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> pa.Table:
    """Return `table`'s columns (or `keep`) followed by the result contract columns.

    `column` defaults to the one column with a usual name header such as
    `nome` or `first_name`. `model` is a bundled model name, a path to an
    `.onnx` file or an `OnnxModel`.
    """
    column = find_name_column(table.schema, column)
    scorer = Scorer(model, lookup=lookup, threshold=threshold, provider=provider)
    batches = [
        scorer.score_batch(b, column, keep) for b in table.to_batches(batch_rows)
    ]
    if not batches:
        empty = pa.RecordBatch.from_pylist([], schema=table.schema)
        return pa.Table.from_batches([scorer.score_batch(empty, column, keep)])
    return pa.Table.from_batches(batches)


def score_frame(df: pd.DataFrame, column: str | None = None, **options) -> pd.DataFrame:
    """Score a pandas DataFrame; takes the options of `score_table` and keeps the index."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    scored = score_table(table, column, **options).to_pandas()
    scored.index = df.index
    return scored
