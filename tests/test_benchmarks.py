"""Smoke test of the benchmark runner and renderer on a tiny configuration."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from benchmarks.ratios import ratio_rows, ratio_specs
from benchmarks.render import render_page
from benchmarks.run import QUICK, run_benchmarks
from benchmarks.schema import SchemaError, read_result, validate_result, write_result

TINY = dataclasses.replace(
    QUICK,
    models=("rnn",),
    batch_sizes=(1, 64),
    repeats=1,
    valid_names=256,
    single_names=16,
    train_names=64,
    train_repeats=1,
    ngram_train_names=2000,
    threads=1,
)
BACKENDS = {"pytorch", "torchscript", "onnxruntime"}


@pytest.fixture(scope="module")
def tiny_result(tmp_path_factory) -> dict:
    """Run the tiny configuration with untrained models (an empty models folder)."""
    models_dir = tmp_path_factory.mktemp("no-models")
    return run_benchmarks(TINY, "python -m benchmarks.run (tiny test)", models_dir)


def rows_of(result: dict, kind: str) -> list[dict]:
    return [row for row in result["rows"] if row["kind"] == kind]


def test_result_follows_schema(tiny_result: dict, tmp_path: Path) -> None:
    validate_result(tiny_result)
    path = tmp_path / "backends.json"
    write_result(tiny_result, path)
    assert read_result(path)["rows"] == json.loads(json.dumps(tiny_result["rows"]))
    assert {"torch", "onnxruntime-gpu", "numpy"} <= set(tiny_result["versions"])
    assert tiny_result["hardware"]


def test_training_rows_cover_both_batch_sizes(tiny_result: dict) -> None:
    rows = rows_of(tiny_result, "training")
    assert sorted(row["batch_size"] for row in rows) == [32, 256]
    for row in rows:
        assert row["names_per_s_min"] <= row["names_per_s"] <= row["names_per_s_max"]
        expected = row["epoch_names"] / row["names_per_s"]
        assert row["seconds_per_epoch"] == pytest.approx(expected)
        assert row["threads"] == 1


def test_export_row_is_verified(tiny_result: dict) -> None:
    (row,) = rows_of(tiny_result, "export")
    assert row["max_abs_diff"] < 1e-4
    assert row["total_s"] >= row["onnx_write_s"] + row["verify_s"]


def test_scoring_rows_cover_every_case(tiny_result: dict) -> None:
    rows = [r for r in rows_of(tiny_result, "scoring") if r["layout"] != "prob_female"]
    cases = {(r["backend"], r["layout"], r["batch_size"]) for r in rows}
    expected = {(b, "one-by-one", 1) for b in BACKENDS}
    expected |= {(b, layout, 64) for b in BACKENDS for layout in ("bucketed", "padded")}
    assert cases == expected
    for row in rows:
        assert row["names"] == (16 if row["batch_size"] == 1 else 256)
        assert row["max_abs_diff"] < 1e-4, row
        assert row["names_per_s"] > 0


def test_peers_score_the_same_names(tiny_result: dict) -> None:
    peers = {row["model"]: row for row in rows_of(tiny_result, "peer")}
    assert set(peers) == {"char n-gram logistic regression", "last letter"}
    assert all(row["names"] == 256 for row in peers.values())
    assert peers["char n-gram logistic regression"]["accuracy"] > 0.8
    assert peers["char n-gram logistic regression"]["fit_s"] > 0


def test_ratio_rows_use_largest_batch(tiny_result: dict) -> None:
    rows = rows_of(tiny_result, "ratio")
    assert len(rows) == len(ratio_specs(64))  # one model, every ratio
    assert {row["batch_size"] for row in rows} == {64}


def test_ratio_divides_medians() -> None:
    def scoring(backend: str, layout: str, batch_size: int, rate: float) -> dict:
        return {
            "kind": "scoring", "model": "rnn", "device": "cpu", "backend": backend,
            "layout": layout, "batch_size": batch_size, "names_per_s": rate,
            "names_per_s_min": rate / 2, "names_per_s_max": rate * 2,
        }  # fmt: skip

    rows = [
        scoring("onnxruntime", "bucketed", 8192, 300.0),
        scoring("pytorch", "bucketed", 8192, 100.0),
    ]
    (ratio,) = ratio_rows(rows, (64, 8192))
    assert ratio["ratio"] == "onnxruntime / pytorch, bucketed"
    assert ratio["value"] == pytest.approx(3.0)
    assert ratio["value_min"] == pytest.approx(0.75)
    assert ratio["value_max"] == pytest.approx(12.0)
    assert ratio["met"] is True


def test_schema_rejects_bad_results() -> None:
    good = {"title": "t", "command": "c", "hardware": "h", "versions": {}, "rows": []}
    with pytest.raises(SchemaError, match="notes"):
        validate_result(good)
    with pytest.raises(SchemaError, match="non-scalar"):
        validate_result({**good, "notes": [], "rows": [{"a": [1]}]})


def test_render_writes_page_and_plot(tiny_result: dict, tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_result(tiny_result, results / "backends.json")
    other = {
        "title": "Other benchmark", "command": "python -m other", "hardware": "h",
        "versions": {"numpy": "1"}, "rows": [{"rows_in": 1}, {"seconds": 2.5}],
        "notes": [],
    }  # fmt: skip
    write_result(other, results / "other.json")
    (results / "legacy.json").write_text('{"models": {}}')
    page = tmp_path / "BENCHMARKS.md"
    rendered = render_page(results, page)
    text = page.read_text()
    assert [path.name for path in rendered] == ["backends.json", "other.json"]
    assert "## Architectures and backends" in text
    assert "python -m benchmarks.run (tiny test)" in text
    assert "| rows_in | seconds |" in text
    assert "| backend | layout | batch_size |" in text
    for name in ("backends-accuracy.png", "backends-batch-sizes.png"):
        assert (results / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](results/{name})" in text
    assert not (results / "other-accuracy.png").exists()


def test_render_takes_chosen_files(tmp_path: Path) -> None:
    result = {
        "title": "Chosen", "command": "c", "hardware": "h", "versions": {},
        "rows": [{"seconds": 1.0}], "notes": [],
    }  # fmt: skip
    write_result(result, tmp_path / "chosen.json")
    write_result({**result, "title": "Left out"}, tmp_path / "left.json")
    page = tmp_path / "BENCHMARKS.md"
    rendered = render_page(tmp_path, page, [tmp_path / "chosen.json"])
    assert rendered == [tmp_path / "chosen.json"]
    assert "## Chosen" in page.read_text()
    assert "Left out" not in page.read_text()


def test_ratio_scoring_path_against_loop() -> None:
    rows = [
        {
            "kind": "scoring",
            "model": "rnn",
            "device": "cpu",
            "backend": backend,
            "layout": layout,
            "batch_size": batch_size,
            "names_per_s": rate,
            "names_per_s_min": rate,
            "names_per_s_max": rate,
        }
        for backend, layout, batch_size, rate in (
            ("onnxruntime", "bucketed", 8192, 6000.0),
            ("pytorch", "one-by-one", 1, 100.0),
        )
    ]
    (ratio,) = ratio_rows(rows, (1, 8192))
    assert ratio["ratio"] == "onnxruntime bucketed / pytorch one-by-one"
    assert ratio["value"] == pytest.approx(60.0)
    assert ratio["met"] is True
