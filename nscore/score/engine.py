"""Score record batches: the result contract shared by the CLI, the Python API and Spark.

Each batch's name column is dictionary-encoded once; normalization and
first-name extraction run on the distinct raw values only, each first name is
scored once per run (a cache across batches), and results return to rows
through vectorized takes. No Python code runs per row.

Columns added to every input row:

    first_name         normalized token scored (null when missing or no letters)
    gender             F, M, or null when abstained
    prob_female        P(F) from the census share or the calibrated model
    source             census or model (null when nothing was scored)
    abstained          true when gender is null
    abstention_reason  missing, no_letters, too_long, ambiguous, or null
    model_id           id of the model file
    model_sha256       SHA-256 of the model file
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nscore.errors import InputError
from nscore.score.model import DEFAULT_MODEL, OnnxModel
from nscore.text import MAX_FIRST_NAME_LEN, extract_first_names, normalize

SOURCES = ("census", "model")
REASONS = ("missing", "no_letters", "too_long", "ambiguous")
GENDERS = ("F", "M")
CONTRACT_COLUMNS = (
    "first_name", "gender", "prob_female", "source", "abstained",
    "abstention_reason", "model_id", "model_sha256",
)
_LABEL = pa.dictionary(pa.int8(), pa.string())
CONTRACT_SCHEMA = pa.schema([
    ("first_name", pa.string()),
    ("gender", _LABEL),
    ("prob_female", pa.float64()),
    ("source", _LABEL),
    ("abstained", pa.bool_()),
    ("abstention_reason", _LABEL),
    ("model_id", _LABEL),
    ("model_sha256", _LABEL),
])
_SOURCE_CENSUS, _SOURCE_MODEL = 0, 1
_NO_CODE = -1
_UNSCORED = (np.nan, _NO_CODE)
_REASON_CODE = {reason: code for code, reason in enumerate(REASONS)}
_AMBIGUOUS, _TOO_LONG = _REASON_CODE["ambiguous"], _REASON_CODE["too_long"]


@dataclass
class ScoreStats:
    rows: int = 0
    abstained: int = 0
    too_long: int = 0

    def update(self, rows: int, abstained: int, too_long: int) -> None:
        self.rows += rows
        self.abstained += abstained
        self.too_long += too_long


def _label_array(codes: np.ndarray, labels: tuple[str, ...]) -> pa.DictionaryArray:
    """Build a dictionary column from int8 codes, where -1 means null."""
    indices = pa.array(codes.astype(np.int8), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(labels, pa.string()))


def check_threshold(threshold: float) -> float:
    if not 0.5 <= threshold <= 1.0:
        raise InputError(f"threshold {threshold} is outside [0.5, 1]: 0.9 abstains below 90% confidence")
    return threshold


class Scorer:
    """Apply one model and census lookup to record batches, caching each first name."""

    def __init__(
        self,
        model: str | os.PathLike | OnnxModel = DEFAULT_MODEL,
        lookup: bool = True,
        threshold: float = 0.9,
        **model_options,
    ) -> None:
        self.model = model if isinstance(model, OnnxModel) else OnnxModel(model, **model_options)
        self.lookup = lookup
        self.threshold = check_threshold(threshold)
        self.stats = ScoreStats()
        self._cache: dict[str, tuple[float, int]] = {}
        self._census: dict[str, float] | None = None

    @property
    def distinct_names(self) -> int:
        return len(self._cache)

    def _census_shares(self) -> dict[str, float]:
        if self._census is None:
            from nscore.data import load_census

            census = load_census()
            self._census = dict(zip(census.names.to_pylist(), census.share_female.tolist()))
        return self._census

    def _score_new(self, names: list[str]) -> None:
        """Add P(F) and its source for first names not yet in the cache."""
        names = [n for n in names if len(n) <= MAX_FIRST_NAME_LEN]
        to_model = names
        if self.lookup:
            shares = self._census_shares()
            to_model = []
            for name in names:
                share = shares.get(name)
                if share is None:
                    to_model.append(name)
                else:
                    self._cache[name] = (share, _SOURCE_CENSUS)
        if to_model:
            probs = self.model.prob_female(pa.array(to_model, pa.string()))
            self._cache.update(zip(to_model, zip(probs.tolist(), [_SOURCE_MODEL] * len(to_model))))

    def score_names(self, names: pa.Array | pa.ChunkedArray) -> pa.Table:
        """Return the contract columns for a column of raw names, row for row."""
        if isinstance(names, pa.ChunkedArray):
            names = names.combine_chunks()
        # Distinct raw values, a null among them; indices map each row to one.
        raw = pc.dictionary_encode(_as_string(names), null_encoding="encode")
        values = raw.dictionary
        first = extract_first_names(normalize(values))
        too_long = pc.fill_null(pc.greater(pc.utf8_length(first), MAX_FIRST_NAME_LEN), False)
        first = pc.if_else(too_long, pc.utf8_slice_codeunits(first, 0, MAX_FIRST_NAME_LEN), first)
        too_long = too_long.to_numpy(zero_copy_only=False)

        # Distinct first names; score the ones this run has not seen yet.
        firsts = pc.dictionary_encode(first, null_encoding="encode")
        distinct = firsts.dictionary.to_pylist()
        self._score_new([n for n in distinct if n is not None and n not in self._cache])
        scored = [self._cache.get(n, _UNSCORED) for n in distinct]
        first_of_value = firsts.indices.to_numpy(zero_copy_only=False)
        prob = np.array([p for p, _ in scored], np.float64)[first_of_value]
        source = np.array([s for _, s in scored], np.int8)[first_of_value]
        prob[too_long] = np.nan
        source[too_long] = _NO_CODE

        # One gender and abstention reason per distinct raw value.
        gender = np.where(prob >= self.threshold, 0, np.where(prob <= 1 - self.threshold, 1, _NO_CODE))
        reason = np.where(np.isnan(prob), _NO_CODE, np.where(gender == _NO_CODE, _AMBIGUOUS, _NO_CODE))
        reason[too_long] = _REASON_CODE["too_long"]
        reason[np.asarray(first.is_null())] = _REASON_CODE["no_letters"]
        missing = pc.fill_null(pc.equal(pc.utf8_length(values), 0), True)
        reason[missing.to_numpy(zero_copy_only=False)] = _REASON_CODE["missing"]

        rows = raw.indices.to_numpy(zero_copy_only=False)
        row_prob = prob[rows]
        row_reason = reason[rows]
        abstained = row_reason != _NO_CODE
        self.stats.update(len(rows), int(abstained.sum()), int((row_reason == _TOO_LONG).sum()))
        constant = np.zeros(len(rows), np.int8)
        return pa.Table.from_arrays(
            [
                pc.take(first, raw.indices),
                _label_array(gender[rows], GENDERS),
                pa.array(row_prob, mask=np.isnan(row_prob)),
                _label_array(source[rows], SOURCES),
                pa.array(abstained),
                _label_array(row_reason, REASONS),
                _label_array(constant, (self.model.info.model_id,)),
                _label_array(constant, (self.model.info.sha256,)),
            ],
            schema=CONTRACT_SCHEMA,
        )

    def score_batch(self, batch: pa.RecordBatch, column: str, keep: list[str] | None = None) -> pa.RecordBatch:
        """Return the batch's kept columns followed by the contract columns."""
        result = self.score_names(batch.column(column))
        kept = keep if keep is not None else batch.schema.names
        arrays = [batch.column(name) for name in kept] + list(result.columns)
        fields = [batch.schema.field(name) for name in kept] + list(CONTRACT_SCHEMA)
        return pa.RecordBatch.from_arrays(
            [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays],
            schema=pa.schema(fields, metadata=batch.schema.metadata),
        )


def _as_string(names: pa.Array) -> pa.Array:
    """Cast a name column to `string`, rejecting types that do not hold text."""
    kind = names.type
    if pa.types.is_dictionary(kind):
        names = names.dictionary_decode()
        kind = names.type
    if pa.types.is_string(kind):
        return names
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return names.cast(pa.string())
    if pa.types.is_null(kind):
        return pa.nulls(len(names), pa.string())
    raise InputError(
        f"name column has type {kind}, not text: choose a text column with --column"
    )
