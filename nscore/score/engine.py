"""Score record batches: the result contract shared by the CLI, the Python API and Spark.

Each batch's name column is dictionary-encoded once, so normalization and
first-name extraction run on distinct values only. Each first name is scored
once per run (a cache across batches). Results return to rows through
vectorized takes, and no Python code runs per row.

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
from nscore.text import (
    MAX_FIRST_NAME_LEN,
    PARTICLES,
    TITLES,
    extract_first_names,
    normalize,
)

SOURCES = ("census", "model")
REASONS = ("missing", "no_letters", "too_long", "ambiguous")
GENDERS = ("F", "M")
CONTRACT_COLUMNS = (
    "first_name",
    "gender",
    "prob_female",
    "source",
    "abstained",
    "abstention_reason",
    "model_id",
    "model_sha256",
)
PASSTHROUGH_PREFIX = "input_"
_LABEL = pa.dictionary(pa.int8(), pa.string())
CONTRACT_SCHEMA = pa.schema(
    [
        ("first_name", pa.dictionary(pa.int32(), pa.string())),
        ("gender", _LABEL),
        ("prob_female", pa.float64()),
        ("source", _LABEL),
        ("abstained", pa.bool_()),
        ("abstention_reason", _LABEL),
        ("model_id", _LABEL),
        ("model_sha256", _LABEL),
    ]
)
_SOURCE_CENSUS, _SOURCE_MODEL = 0, 1
_NO_CODE = -1
_REASON_CODE = {reason: code for code, reason in enumerate(REASONS)}
_AMBIGUOUS, _TOO_LONG = _REASON_CODE["ambiguous"], _REASON_CODE["too_long"]
_SKIPPED_WORDS = pa.array(TITLES + PARTICLES, pa.string())


@dataclass(frozen=True)
class _Resolved:
    """Results for distinct raw values: one entry per value."""

    first: pa.Array
    prob: np.ndarray
    source: np.ndarray
    gender: np.ndarray
    reason: np.ndarray
    settled: np.ndarray

    def concat(self, other: _Resolved) -> _Resolved:
        return _Resolved(
            pa.concat_arrays([self.first, other.first]),
            *(
                np.concatenate([a, b])
                for a, b in zip(
                    (self.prob, self.source, self.gender, self.reason, self.settled),
                    (
                        other.prob,
                        other.source,
                        other.gender,
                        other.reason,
                        other.settled,
                    ),
                )
            ),
        )


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
        raise InputError(
            f"threshold {threshold} is outside [0.5, 1]: 0.9 abstains below 90% confidence"
        )
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
        self.model = (
            model if isinstance(model, OnnxModel) else OnnxModel(model, **model_options)
        )
        self.lookup = lookup
        self.threshold = check_threshold(threshold)
        self.stats = ScoreStats()
        # Every first name this run can score (the census ones first when the
        # lookup is on), with P(F), source code and whether the input had it.
        self._seen = pa.array([], pa.string())
        self._seen_prob = np.empty(0)
        self._seen_source = np.empty(0, np.int8)
        self._used = np.empty(0, bool)
        self._census_loaded = False

    @property
    def distinct_names(self) -> int:
        """Number of distinct first names met in the input so far."""
        return int(self._used.sum())

    def _load_census(self) -> None:
        """Seed the cache with every census name and its female share, once."""
        from nscore.data import load_census

        census = load_census()
        self._append(census.names, census.share_female, _SOURCE_CENSUS)
        self._census_loaded = True

    def _append(self, names: pa.Array, prob: np.ndarray, source: int) -> None:
        self._seen = pa.concat_arrays([self._seen, names])
        self._seen_prob = np.concatenate([self._seen_prob, prob])
        self._seen_source = np.concatenate(
            [self._seen_source, np.full(len(names), source, np.int8)]
        )
        self._used = np.concatenate([self._used, np.zeros(len(names), bool)])

    def _lookup(self, names: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Return P(F) and source codes for distinct first names (null gives NaN and -1).

        Names neither in the census nor seen before go to the model once.
        """
        if self.lookup and not self._census_loaded:
            self._load_census()
        position = pc.index_in(names, value_set=self._seen)
        unseen = pc.and_(pc.is_null(position), pc.is_valid(names))
        if pc.any(unseen).as_py():
            new = pc.filter(names, unseen)
            self._append(new, self.model.prob_female(new), _SOURCE_MODEL)
            position = pc.index_in(names, value_set=self._seen)
        position = pc.fill_null(position, len(self._seen)).to_numpy(
            zero_copy_only=False
        )
        self._used[position[position < len(self._seen)]] = True
        prob = np.append(self._seen_prob, np.nan)[position]
        source = np.append(self._seen_source, np.int8(_NO_CODE))[position]
        return prob, source

    def _resolve(self, values: pa.Array) -> _Resolved:
        """Extract, score and label each distinct raw value."""
        first = extract_first_names(normalize(values))
        too_long = pc.fill_null(
            pc.greater(pc.utf8_length(first), MAX_FIRST_NAME_LEN), False
        )
        first = pc.if_else(
            too_long, pc.utf8_slice_codeunits(first, 0, MAX_FIRST_NAME_LEN), first
        )
        too_long = too_long.to_numpy(zero_copy_only=False)

        # Distinct first names; the ones this run has not seen yet get scored.
        firsts = pc.dictionary_encode(first, null_encoding="encode")
        prob, source = self._lookup(firsts.dictionary)
        first_of_value = firsts.indices.to_numpy(zero_copy_only=False)
        prob, source = prob[first_of_value], source[first_of_value]
        prob[too_long] = np.nan
        source[too_long] = _NO_CODE

        female, male = prob >= self.threshold, prob <= 1 - self.threshold
        gender = np.where(female, 0, np.where(male, 1, _NO_CODE)).astype(np.int8)
        reason = np.where(~np.isnan(prob) & (gender == _NO_CODE), _AMBIGUOUS, _NO_CODE)
        reason = reason.astype(np.int8)
        reason[too_long] = _TOO_LONG
        no_first = np.asarray(first.is_null())
        reason[no_first] = _REASON_CODE["no_letters"]
        missing = pc.fill_null(pc.equal(pc.utf8_length(values), 0), True)
        reason[missing.to_numpy(zero_copy_only=False)] = _REASON_CODE["missing"]
        # A first word settles the whole name when it yields a first name that is
        # not a title, particle or initial: later words cannot change the result.
        settled = (
            ~no_first
            & ~np.asarray(pc.fill_null(pc.is_in(first, value_set=_SKIPPED_WORDS), True))
            & (np.asarray(pc.fill_null(pc.utf8_length(first), 0)) >= 2)
        )
        return _Resolved(first, prob, source, gender, reason, settled)

    def score_names(self, names: pa.Array | pa.ChunkedArray) -> pa.Table:
        """Return the contract columns for a column of raw names, row for row.

        Most rows are settled by their first space-separated word, so only the
        distinct first words are normalized. Rows whose first word is a title,
        particle or initial, or has no letters, go through the whole name.
        """
        if isinstance(names, pa.ChunkedArray):
            names = names.combine_chunks()
        names = _as_string(names)
        words = pc.list_element(pc.split_pattern(names, " ", max_splits=1), 0)
        heads = pc.dictionary_encode(words, null_encoding="encode")
        resolved = self._resolve(heads.dictionary)
        index = heads.indices.to_numpy(zero_copy_only=False).astype(np.int32)
        unsettled = np.flatnonzero(~resolved.settled[index])
        if len(unsettled):
            whole = pc.dictionary_encode(
                names.take(pa.array(unsettled)), null_encoding="encode"
            )
            index[unsettled] = len(resolved.prob) + whole.indices.to_numpy(
                zero_copy_only=False
            )
            resolved = resolved.concat(self._resolve(whole.dictionary))

        row_prob = resolved.prob[index]
        row_reason = resolved.reason[index]
        abstained = row_reason != _NO_CODE
        self.stats.update(
            len(index), int(abstained.sum()), int((row_reason == _TOO_LONG).sum())
        )
        constant = np.zeros(len(index), np.int8)
        # Unique, non-null dictionary values, as pandas categoricals require.
        first = pc.dictionary_encode(resolved.first)
        first_index = first.indices.to_numpy(zero_copy_only=False)
        first_index = np.nan_to_num(first_index, nan=-1).astype(np.int32)[index]
        return pa.Table.from_arrays(
            [
                pa.DictionaryArray.from_arrays(
                    pa.array(first_index, mask=first_index < 0), first.dictionary
                ),
                _label_array(resolved.gender[index], GENDERS),
                pa.array(row_prob, mask=np.isnan(row_prob)),
                _label_array(resolved.source[index], SOURCES),
                pa.array(abstained),
                _label_array(row_reason, REASONS),
                _label_array(constant, (self.model.info.model_id,)),
                _label_array(constant, (self.model.info.sha256,)),
            ],
            schema=CONTRACT_SCHEMA,
        )

    def score_batch(
        self, batch: pa.RecordBatch, column: str, keep: list[str] | None = None
    ) -> pa.RecordBatch:
        """Return the batch's kept columns followed by the contract columns."""
        result = self.score_names(batch.column(column))
        kept = keep if keep is not None else batch.schema.names
        arrays = [batch.column(name) for name in kept] + list(result.columns)
        fields = [
            batch.schema.field(name).with_name(renamed)
            for name, renamed in zip(kept, passthrough_names(kept))
        ] + list(CONTRACT_SCHEMA)
        return pa.RecordBatch.from_arrays(
            [
                a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
                for a in arrays
            ],
            schema=pa.schema(fields, metadata=batch.schema.metadata),
        )


def passthrough_names(names: list[str]) -> list[str]:
    """Name the pass-through columns, prefixing `input_` to those that share a result name.

    An input `gender` column thus comes out as `input_gender` beside the scored
    `gender`, so no input value is lost and no name appears twice.
    """
    renamed = [
        f"{PASSTHROUGH_PREFIX}{n}" if n in CONTRACT_COLUMNS else n for n in names
    ]
    if len(set(renamed)) < len(renamed) or set(renamed) & set(CONTRACT_COLUMNS):
        clash = sorted({n for n in renamed if renamed.count(n) > 1})
        raise InputError(
            f"input columns {', '.join(clash)} would appear twice in the output once result "
            f"columns are renamed with {PASSTHROUGH_PREFIX!r}: rename them or leave them out "
            "with --keep"
        )
    return renamed


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
