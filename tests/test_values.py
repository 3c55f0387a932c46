"""Hard name values through `score_table`: each is scored or abstains with a reason.

Only a null or an empty string is `missing`. Every other string gets a first
name and a probability, or abstains with `no_letters`, `too_long` or
`ambiguous`.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import nscore
from nscore.errors import InputError
from nscore.score.model import OnnxModel
from nscore.text import MAX_FIRST_NAME_LEN, MAX_RAW_CHARS

# (raw value, expected first_name, expected abstention_reason or "scored")
CASES = [
    (None, None, "missing"),
    ("", None, "missing"),
    (" ", None, "no_letters"),
    ("   \t  ", None, "no_letters"),
    ("\t\n\r", None, "no_letters"),
    ("12345", None, "no_letters"),
    ("!?.,-'", None, "no_letters"),
    ("Иван", None, "no_letters"),
    ("Ελένη", None, "no_letters"),
    ("محمد", None, "no_letters"),
    ("王芳", None, "no_letters"),
    ("😀", None, "no_letters"),
    ("😀 Maria", "maria", "scored"),
    ("Maria 😀", "maria", "scored"),
    ("\x00Maria\x07", "maria", "scored"),
    ("Maria\x1b[31m", "maria", "scored"),
    ("Dr. José Silva", "jose", "scored"),
    ("Sra. Maria", "maria", "scored"),
    ("PROF. DRA. ANA", "ana", "scored"),
    ("J. Maria Souza", "maria", "scored"),
    ("M. A. Souza", "souza", "scored"),
    ("Ana-Clara", "ana", "scored"),
    ("D'Ávila", "davila", "scored"),
    ("Maria d'Ajuda", "maria", "scored"),
    ("Maria da Silva", "maria", "scored"),
    ("José dos Santos", "jose", "scored"),
    ("de Souza", "souza", "scored"),
    ("Maria Eduarda", "maria", "scored"),
    ("João Pedro", "joao", "scored"),
    ("MARIA", "maria", "scored"),
    ("JOSÉ DE SOUZA", "jose", "scored"),
    ("José", "jose", "scored"),
    ("Jose\u0301", "jose", "scored"),
]


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> OnnxModel:
    return OnnxModel(tiny_model, provider="cpu", threads=1)


def score(model: OnnxModel, values: list, **options) -> pa.Table:
    return nscore.score_table(pa.table({"nome": values}), model=model, **options)


@pytest.mark.parametrize(("raw", "first_name", "reason"), CASES)
def test_value_outcome(model: OnnxModel, raw, first_name, reason) -> None:
    row = score(model, [raw]).to_pylist()[0]
    assert row["first_name"] == first_name
    if reason == "scored":
        assert row["prob_female"] is not None
        assert row["abstention_reason"] in (None, "ambiguous")
    else:
        assert row["abstention_reason"] == reason
        assert row["prob_female"] is None
        assert row["gender"] is None
    assert row["abstained"] == (row["abstention_reason"] is not None)


def test_value_cases_in_one_batch(model: OnnxModel) -> None:
    alone = [score(model, [raw]).to_pylist()[0] for raw, _, _ in CASES]
    together = score(model, [raw for raw, _, _ in CASES]).to_pylist()
    assert together == alone


def test_value_census_genders(model: OnnxModel) -> None:
    table = score(model, ["MARIA", "maria da silva", "JOSÉ", "Jose\u0301 Souza"])
    assert table["gender"].to_pylist() == ["F", "F", "M", "M"]
    assert table["source"].to_pylist() == ["census"] * 4


def test_value_combining_accent_same(model: OnnxModel) -> None:
    combining, precomposed = "Conceic\u0327a\u0303o", "Concei\u00e7\u00e3o"
    table = score(model, [combining, precomposed], lookup=False)
    rows = table.to_pylist()
    assert rows[0]["first_name"] == "conceicao"
    assert rows[0]["prob_female"] == rows[1]["prob_female"]
    assert table["nome"].to_pylist() == [combining, precomposed]


def test_value_long_name_too_long(model: OnnxModel) -> None:
    table = score(model, ["a" * 100_000, "Maria " + "x" * 100_000])
    rows = table.to_pylist()
    assert rows[0]["abstention_reason"] == "too_long"
    assert rows[0]["gender"] is None
    assert len(rows[0]["first_name"]) <= MAX_FIRST_NAME_LEN
    assert rows[1]["first_name"] == "maria"
    assert rows[1]["gender"] == "F"
    assert table["nome"].to_pylist()[1] == "Maria " + "x" * 100_000


def test_value_letters_past_raw_limit(model: OnnxModel) -> None:
    """Only the first MAX_RAW_CHARS code points of a value are read."""
    rows = score(model, [" " * MAX_RAW_CHARS + "Maria"]).to_pylist()
    assert rows[0]["first_name"] is None
    assert rows[0]["abstention_reason"] == "no_letters"


def test_value_first_name_at_max_length(model: OnnxModel) -> None:
    longest = "b" * MAX_FIRST_NAME_LEN
    rows = score(model, [longest, longest + "b"], lookup=False).to_pylist()
    assert rows[0]["first_name"] == longest
    assert rows[0]["prob_female"] is not None
    assert rows[1]["abstention_reason"] == "too_long"


@pytest.mark.parametrize(
    "values",
    [
        pa.array(["Ana", None, "José"], pa.large_string()),
        pa.array(["Ana", None, "José"], pa.string_view()),
        pa.array(["Ana", None, "José"]).dictionary_encode(),
        pa.array(["Ana", None, "José"], pa.large_string()).dictionary_encode(),
        pa.chunked_array([["Ana"], [None, "José"]]),
    ],
    ids=["large_string", "string_view", "dictionary", "dictionary_large", "chunked"],
)
def test_value_text_column_types(model: OnnxModel, values) -> None:
    table = nscore.score_table(pa.table({"nome": values}), model=model)
    assert table["first_name"].to_pylist() == ["ana", None, "jose"]
    assert table["abstention_reason"].to_pylist()[1] == "missing"
    assert table["nome"].type == values.type


def test_value_integer_column_rejected(model: OnnxModel) -> None:
    with pytest.raises(InputError, match="type int64, not text"):
        nscore.score_table(pa.table({"nome": [1, 2]}), model=model)
