"""The result contract of `nscore run`, `score_table` and `score_frame`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import nscore
from nscore.data import load_census
from nscore.errors import InputError
from nscore.score.engine import CONTRACT_SCHEMA, Scorer
from nscore.score.model import OnnxModel
from tests.test_run import run_cli


def assert_same_scores(left: pa.Table, right: pa.Table) -> None:
    """Labels must match exactly; probabilities to 1e-6, since onnxruntime's
    matrix kernels may round differently for another batch composition."""
    for column in ("first_name", "gender", "source", "abstained", "abstention_reason"):
        assert left[column].to_pylist() == right[column].to_pylist(), column
    left_prob = left["prob_female"].to_numpy(zero_copy_only=False)
    right_prob = right["prob_female"].to_numpy(zero_copy_only=False)
    assert np.array_equal(np.isnan(left_prob), np.isnan(right_prob))
    assert np.nanmax(np.abs(left_prob - right_prob)) < 1e-6


def census_name_with_share(low: float, high: float) -> str:
    census = load_census()
    share = census.share_female
    index = int(np.flatnonzero((share > low) & (share < high))[0])
    return census.names[index].as_py()


def test_contract_columns_and_types(tiny_model: Path) -> None:
    table = pa.table({"id": [1, 2], "nome": ["Maria Silva", None]})
    scored = nscore.score_table(table, model=tiny_model)
    assert scored.schema.names == ["id", "nome", *CONTRACT_SCHEMA.names]
    for field in CONTRACT_SCHEMA:
        assert scored.schema.field(field.name).type == field.type
    assert scored["model_id"][0].as_py().startswith("bigru-")
    assert len(scored["model_sha256"][0].as_py()) == 64


def test_row_order_with_duplicates_and_nulls(tiny_model: Path) -> None:
    names = ["Ana", None, "ANA", "José", "", "Ana", None, "josé da silva"]
    scored = nscore.score_table(
        pa.table({"nome": names, "row": range(8)}), model=tiny_model
    )
    assert scored["row"].to_pylist() == list(range(8))
    assert scored["first_name"].to_pylist() == [
        "ana",
        None,
        "ana",
        "jose",
        None,
        "ana",
        None,
        "jose",
    ]
    assert scored["abstention_reason"].to_pylist()[1] == "missing"
    assert scored["abstention_reason"].to_pylist()[4] == "missing"


def test_lookup_and_model_sources(tiny_model: Path) -> None:
    table = pa.table({"nome": ["Maria", "Xyqzulinda"]})
    with_lookup = nscore.score_table(table, model=tiny_model)
    assert with_lookup["source"].to_pylist() == ["census", "model"]
    census = load_census()
    maria = census.share_female[census.names.to_pylist().index("maria")]
    assert with_lookup["prob_female"][0].as_py() == pytest.approx(maria)
    without = nscore.score_table(table, model=tiny_model, lookup=False)
    assert without["source"].to_pylist() == ["model", "model"]


def test_each_abstention_reason(tiny_model: Path) -> None:
    ambiguous = census_name_with_share(0.4, 0.6)
    names = [None, "", "   ", "12345", "Иван", "a" * 40, ambiguous, "Maria"]
    scored = nscore.score_table(pa.table({"nome": names}), model=tiny_model)
    assert scored["abstention_reason"].to_pylist() == [
        "missing",
        "missing",
        "no_letters",
        "no_letters",
        "no_letters",
        "too_long",
        "ambiguous",
        None,
    ]
    assert scored["abstained"].to_pylist() == [True] * 7 + [False]
    assert scored["gender"].to_pylist()[:7] == [None] * 7
    assert scored["prob_female"][6].as_py() is not None


def test_threshold_half_never_ambiguous(tiny_model: Path) -> None:
    ambiguous = census_name_with_share(0.4, 0.6)
    scored = nscore.score_table(
        pa.table({"nome": [ambiguous]}), model=tiny_model, threshold=0.5
    )
    assert scored["abstained"].to_pylist() == [False]
    assert scored["gender"][0].as_py() in ("F", "M")


def test_same_result_in_any_batch(tiny_model: Path) -> None:
    census = load_census()
    names = census.names.to_pylist()[::97][:1000] + ["Zyqlomara", "Bartolomeuzinho"]
    rng = np.random.default_rng(5)
    rows = [names[i] for i in rng.integers(0, len(names), 5000)]
    table = pa.table({"nome": rows})
    model = OnnxModel(tiny_model)
    one_batch = nscore.score_table(table, model=model, lookup=False, batch_rows=5000)
    many_batches = nscore.score_table(table, model=model, lookup=False, batch_rows=7)
    assert_same_scores(one_batch, many_batches)


def test_same_result_in_any_bucket_size(tiny_model: Path) -> None:
    names = pa.array(load_census().names.to_pylist()[::7][:10_000])
    alone = OnnxModel(tiny_model, bucket_size=1).prob_female(names[:300])
    bucketed = OnnxModel(tiny_model, bucket_size=10_000).prob_female(names)
    assert np.abs(alone - bucketed[:300]).max() < 1e-6


def test_name_in_first_or_late_batch(tiny_model: Path) -> None:
    filler = ["Maria"] * 499
    early = pa.table({"nome": ["Zyqlomara"] + filler})
    late = pa.table({"nome": filler + ["Zyqlomara"]})
    first = nscore.score_table(early, model=tiny_model, batch_rows=1).slice(0, 1)
    last = nscore.score_table(late, model=tiny_model, batch_rows=1).slice(499, 1)
    assert_same_scores(first, last)


def test_keep_limits_columns(tmp_path: Path, tiny_model: Path) -> None:
    source = tmp_path / "r.parquet"
    pq.write_table(pa.table({"id": [1], "nome": ["Ana"], "secret": ["x"]}), source)
    result = run_cli(
        "run", str(source), "--model", str(tiny_model), "--keep", "id,nome", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    scored = pq.read_table(tmp_path / "r.scored.parquet")
    assert scored.schema.names[:2] == ["id", "nome"]
    assert "secret" not in scored.schema.names


def test_csv_semicolon_latin1_round_trip(tmp_path: Path, tiny_model: Path) -> None:
    source = tmp_path / "alunos.csv"
    rows = [
        "matricula;nome;curso",
        "1;JOSÉ DA CONCEIÇÃO;Física",
        "2;Márcia Gonçalves;Letras",
    ]
    source.write_bytes("\n".join(rows).encode("latin-1"))
    output = tmp_path / "alunos.scored.csv"
    result = run_cli(
        "run",
        str(source),
        "--model",
        str(tiny_model),
        "--delimiter",
        ";",
        "--encoding",
        "latin-1",
        "--output",
        str(output),
    )
    assert result.returncode == 0, result.stderr
    scored = pacsv.read_csv(output, parse_options=pacsv.ParseOptions(delimiter=";"))
    assert scored["nome"].to_pylist() == ["JOSÉ DA CONCEIÇÃO", "Márcia Gonçalves"]
    assert scored["curso"].to_pylist() == ["Física", "Letras"]
    assert scored["first_name"].to_pylist() == ["jose", "marcia"]


def test_score_frame_keeps_index(tiny_model: Path) -> None:
    frame = pd.DataFrame({"nome": ["Ana", "João"]}, index=[10, 20])
    scored = nscore.score_frame(frame, model=tiny_model)
    assert list(scored.index) == [10, 20]
    assert list(scored["gender"].astype(object)) == ["F", "M"]


def test_scorer_counts_distinct_names_once(tiny_model: Path) -> None:
    scorer = Scorer(tiny_model, lookup=False)
    scorer.score_names(pa.array(["Ana", "ana", "ANA Silva", "Bia"]))
    scorer.score_names(pa.array(["Ana", "Bia", "Caio"]))
    assert scorer.distinct_names == 3


def test_result_named_input_columns_renamed(tiny_model: Path) -> None:
    table = pa.table({"first_name": ["Maria", "João"], "gender": ["X", "Y"]})
    scored = nscore.score_table(table, "first_name", model=tiny_model)
    assert scored.schema.names[:2] == ["input_first_name", "input_gender"]
    assert scored["input_gender"].to_pylist() == ["X", "Y"]
    assert scored["first_name"].to_pylist() == ["maria", "joao"]
    assert len(set(scored.schema.names)) == len(scored.schema.names)


def test_run_scores_first_name_column(tmp_path: Path, tiny_model: Path) -> None:
    source = tmp_path / "fn.csv"
    source.write_text("first_name\nMaria\nJoão\n", encoding="utf-8")
    result = run_cli("run", str(source), "--model", str(tiny_model), "--quiet")
    assert result.returncode == 0, result.stderr
    scored = pq.read_table(tmp_path / "fn.scored.parquet")
    assert scored["input_first_name"].to_pylist() == ["Maria", "João"]


def test_renamed_column_clash_is_rejected(tiny_model: Path) -> None:
    table = pa.table({"nome": ["Ana"], "gender": ["F"], "input_gender": ["F"]})
    with pytest.raises(InputError, match="would appear twice"):
        nscore.score_table(table, "nome", model=tiny_model)
