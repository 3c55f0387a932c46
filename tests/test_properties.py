"""Property tests: normalization on any Unicode, and scores that ignore batching."""

from __future__ import annotations

import re
import string
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nscore
from nscore.score.engine import Scorer
from nscore.score.model import OnnxModel
from nscore.text import MAX_RAW_CHARS, first_name_one, normalize, normalize_one

# hypothesis's text() draws from every code point except surrogates, which a
# Python str can hold but UTF-8 and Arrow cannot encode.
names = st.text(max_size=40)
long_names = st.text(min_size=MAX_RAW_CHARS - 8, max_size=MAX_RAW_CHARS + 40)
# NFKD turns each of these into one to three ASCII characters ("㎒" to "MHz").
expanding = st.text(
    alphabet="㎒ﬃ½ǅ№Åé ", min_size=MAX_RAW_CHARS // 2, max_size=MAX_RAW_CHARS
)
first_names = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12)
# onnxruntime's matrix kernels may round differently for another batch size.
PROB_TOLERANCE = 1e-6
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@given(st.one_of(names, long_names, expanding))
@settings(max_examples=300, deadline=None)
def test_normalize_idempotent(raw: str) -> None:
    once = normalize_one(raw)
    assert normalize_one(once) == once


@given(st.one_of(names, long_names, expanding))
@settings(max_examples=300, deadline=None)
def test_normalize_ascii_lower_bounded(raw: str) -> None:
    normalized = normalize_one(raw)
    assert normalized.isascii()
    assert normalized == normalized.lower()
    assert len(normalized) <= MAX_RAW_CHARS


@given(st.lists(st.one_of(st.none(), names, long_names), max_size=30))
@settings(max_examples=100, deadline=None)
def test_normalize_array_keeps_rows(raws: list[str | None]) -> None:
    normalized = normalize(pa.array(raws, pa.string()))
    assert len(normalized) == len(raws)
    assert normalized.to_pylist() == [
        None if raw is None else normalize_one(raw) for raw in raws
    ]


@given(st.one_of(names, long_names, expanding))
@settings(max_examples=300, deadline=None)
def test_first_name_total(raw: str) -> None:
    first = first_name_one(raw)
    assert first is None or re.fullmatch("[a-z]+", first)
    assert first_name_one(normalize_one(raw)) == first


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> OnnxModel:
    return OnnxModel(tiny_model, provider="cpu", threads=1)


@given(
    name=first_names,
    others=st.lists(first_names, max_size=40),
    position=st.integers(min_value=0),
    bucket_size=st.integers(min_value=1, max_value=8),
)
@SETTINGS
def test_prob_female_ignores_batch(
    model: OnnxModel, name: str, others: list[str], position: int, bucket_size: int
) -> None:
    """A name gets the same P(F) alone and anywhere in a batch or its bucket."""
    # Same-length neighbours share the name's bucket, so its position varies.
    neighbours = [other.ljust(len(name), "a")[: len(name)] for other in others]
    batch = neighbours + others
    index = position % (len(batch) + 1)
    batch.insert(index, name)
    model.bucket_size = bucket_size
    try:
        in_batch = model.prob_female(pa.array(batch))[index]
        alone = model.prob_female(pa.array([name]))[0]
    finally:
        model.bucket_size = 16384
    assert abs(in_batch - alone) < PROB_TOLERANCE


@given(
    raw=names,
    others=st.lists(st.one_of(st.none(), names), max_size=30),
    position=st.integers(min_value=0),
)
@SETTINGS
def test_scorer_ignores_batch(
    model: OnnxModel, raw: str, others: list[str | None], position: int
) -> None:
    """A raw value gets the same result alone and anywhere in a batch."""
    index = position % (len(others) + 1)
    batch = [*others[:index], raw, *others[index:]]
    # Fresh scorers, so the in-batch result is not read from the alone run's cache.
    alone = Scorer(model, lookup=False).score_names(pa.array([raw])).to_pylist()[0]
    in_batch = Scorer(model, lookup=False).score_names(pa.array(batch))
    row = in_batch.to_pylist()[index]
    alone_prob, batch_prob = alone.pop("prob_female"), row.pop("prob_female")
    assert row == alone
    assert (alone_prob is None) == (batch_prob is None)
    if alone_prob is not None:
        assert abs(alone_prob - batch_prob) < PROB_TOLERANCE


@given(
    raws=st.lists(st.one_of(st.none(), names, long_names), max_size=50),
    batch_rows=st.integers(min_value=1, max_value=16),
)
@SETTINGS
def test_score_table_row_count(
    model: OnnxModel, raws: list[str | None], batch_rows: int
) -> None:
    table = pa.table({"row": np.arange(len(raws)), "nome": pa.array(raws, pa.string())})
    scored = nscore.score_table(table, model=model, batch_rows=batch_rows)
    assert scored.num_rows == len(raws)
    assert scored["row"].to_pylist() == list(range(len(raws)))
    assert scored["nome"].to_pylist() == raws


@given(raws=st.lists(st.one_of(st.none(), names), min_size=1, max_size=30))
@SETTINGS
def test_missing_only_null_or_empty(model: OnnxModel, raws: list[str | None]) -> None:
    scored = nscore.score_table(
        pa.table({"nome": pa.array(raws, pa.string())}), model=model
    )
    for raw, row in zip(raws, scored.to_pylist()):
        assert (row["abstention_reason"] == "missing") == (raw in (None, ""))
        assert row["abstained"] == (row["gender"] is None)
        assert row["abstained"] == (row["abstention_reason"] is not None)
