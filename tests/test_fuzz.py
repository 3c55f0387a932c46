"""Random bytes as CSV and Parquet input: a run succeeds or stops with a clean error.

`score_file` is what `nscore run` calls, and the CLI maps `NscoreError` to
exit code 2 and anything else to exit code 1. So an example passes when
scoring succeeds or raises `NscoreError`, and any other exception fails it.
Two subprocess runs check the same through the console script.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nscore.errors import NscoreError
from nscore.score.engine import Scorer
from nscore.score.io import CsvOptions
from nscore.score.model import OnnxModel
from nscore.score.pipeline import score_file
from tests.test_run import run_cli

# max_examples bounds the run time: most examples stop within milliseconds at
# the format or footer check, and derandomize keeps the suite reproducible.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
CSV_HEADERS = (b"", b"nome\n", b"id,nome\n", b'"nome";"x"\n')


@pytest.fixture(scope="module")
def scorer(tiny_model: Path) -> Scorer:
    return Scorer(OnnxModel(tiny_model, provider="cpu", threads=1))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def parquet_bytes() -> bytes:
    """A valid Parquet file with several row groups, to be corrupted."""
    table = pa.table({"id": range(300), "nome": ["Ana Souza", None, "José"] * 100})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=64)
    return sink.getvalue().to_pybytes()


def score_or_clean_error(
    scorer: Scorer, source: Path, csv_options: CsvOptions | None = None
) -> None:
    output = source.with_name("out.parquet")
    output.unlink(missing_ok=True)
    try:
        summary = score_file(
            source,
            scorer,
            output=output,
            batch_rows=50,
            csv_options=csv_options,
            overwrite=True,
            quiet=True,
        )
    except NscoreError as error:
        assert str(error.message)
        assert not output.exists()
        return
    assert pq.read_metadata(output).num_rows == summary.rows
    output.unlink()


@given(
    header=st.sampled_from(CSV_HEADERS),
    body=st.binary(max_size=400),
    encoding=st.sampled_from(["utf-8", "latin-1"]),
    suffix=st.sampled_from([".csv", ".csv.gz", ".parquet"]),
)
@FUZZ
def test_fuzz_csv_bytes(
    scorer: Scorer,
    workdir: Path,
    header: bytes,
    body: bytes,
    encoding: str,
    suffix: str,
) -> None:
    source = workdir / f"input{suffix}"
    source.write_bytes(header + body)
    score_or_clean_error(scorer, source, CsvOptions(encoding=encoding))


@given(
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=8)),
        min_size=1,
        max_size=4,
    ),
    keep=st.floats(0.05, 1.0),
)
@FUZZ
def test_fuzz_parquet_bytes(
    scorer: Scorer,
    workdir: Path,
    parquet_bytes: bytes,
    edits: list[tuple[float, bytes]],
    keep: float,
) -> None:
    """Overwrite a few byte ranges of a valid file and maybe truncate it."""
    data = bytearray(parquet_bytes)
    for position, replacement in edits:
        start = int(position * len(data))
        data[start : start + len(replacement)] = replacement
    data = data[: max(4, int(keep * len(data)))]
    source = workdir / "input.parquet"
    source.write_bytes(bytes(data))
    score_or_clean_error(scorer, source)


@given(body=st.binary(max_size=2000))
@FUZZ
def test_fuzz_parquet_framed(scorer: Scorer, workdir: Path, body: bytes) -> None:
    """Random bytes between Parquet magic numbers reach the footer parser."""
    footer_length = len(body).to_bytes(4, "little")
    source = workdir / "input.parquet"
    source.write_bytes(b"PAR1" + body + footer_length + b"PAR1")
    score_or_clean_error(scorer, source)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_fuzz_cli_exit_2(tmp_path: Path, tiny_model: Path, suffix: str) -> None:
    noise = random.Random(suffix).randbytes(5000)
    source = tmp_path / f"noise{suffix}"
    source.write_bytes((b"PAR1" if suffix == ".parquet" else b"") + noise)
    result = run_cli("run", str(source), "--model", str(tiny_model))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("Error: ") == 1
    assert "Traceback" not in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [source.name]
