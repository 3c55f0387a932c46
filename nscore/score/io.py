"""Read Parquet and CSV inputs as record batches and write outputs atomically.

The input format is read from the file's first bytes, not its name, so a
CSV named `.parquet` gets a clear error instead of a crash. CSV columns are
read as text, which passes every value through unchanged. Outputs go to a
hidden temporary file beside the target and are renamed into place after
the last row, so an interrupted run leaves no partial output.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from nscore.errors import InputError

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_BATCH_ROWS = 65536
CSV_BLOCK_BYTES = 4 << 20
NAME_HEADERS = (
    "first_name",
    "firstname",
    "given_name",
    "name",
    "full_name",
    "fullname",
    "nome",
    "primeiro_nome",
    "nome_completo",
    "nome_aluno",
    "nome_pessoa",
    "nome_social",
)


@dataclass(frozen=True)
class CsvOptions:
    delimiter: str = ","
    encoding: str = "utf-8"
    header: bool = True


@dataclass
class Source:
    """An opened input: its schema, row count when known, and a batch iterator."""

    path: Path
    format: str  # "parquet" or "csv"
    schema: pa.Schema
    num_rows: int | None
    batches: Iterator[pa.RecordBatch] = field(repr=False)


def sniff_format(path: Path) -> str:
    """Return "parquet" or "csv" from the file's content."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head == PARQUET_MAGIC:
        return "parquet"
    if path.suffix.lower() == ".parquet":
        if not head:
            raise InputError(f"input {path} is empty (0 bytes): nothing to score")
        raise InputError(
            f"input {path} is named .parquet but is not a Parquet file "
            "(it does not start with PAR1); if it is CSV, rename it to .csv"
        )
    return "csv"


def check_input(path: Path) -> None:
    if not path.exists():
        raise InputError(f"input {path} not found: check the path")
    if path.is_dir():
        return
    if not os.access(path, os.R_OK):
        raise InputError(f"input {path} is not readable: check its permissions")
    if path.stat().st_size == 0:
        raise InputError(f"input {path} is empty (0 bytes): nothing to score")


def parquet_files(path: Path) -> list[Path]:
    """Return the Parquet files of a dataset directory in name order."""
    files = sorted(
        p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
    )
    if not files:
        raise InputError(f"input directory {path} has no Parquet files")
    for file in files:
        if sniff_format(file) != "parquet":
            raise InputError(
                f"{file} in dataset directory {path} is not a Parquet file"
            )
    return files


def open_parquet(
    paths: list[Path], batch_rows: int, columns: list[str] | None
) -> Source:
    try:
        files = [pq.ParquetFile(p) for p in paths]
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(
            f"cannot read Parquet input: {error}; the file may be truncated or corrupt"
        ) from error
    schema = files[0].schema_arrow
    for path, file in zip(paths[1:], files[1:]):
        if not file.schema_arrow.equals(schema):
            raise InputError(
                f"{path} has a different schema than {paths[0]}: score them apart"
            )
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])

    def batches() -> Iterator[pa.RecordBatch]:
        for path, file in zip(paths, files):
            try:
                yield from file.iter_batches(batch_size=batch_rows, columns=columns)
            except (pa.ArrowInvalid, OSError) as error:
                raise InputError(
                    f"cannot read {path}: {error}; the file may be truncated or corrupt"
                ) from error

    rows = sum(f.metadata.num_rows for f in files)
    return Source(paths[0], "parquet", schema, rows, batches())


def _csv_reader(
    path: Path, options: CsvOptions, column_types: dict | None
) -> pacsv.CSVStreamingReader:
    read_options = pacsv.ReadOptions(
        block_size=CSV_BLOCK_BYTES,
        encoding=options.encoding,
        autogenerate_column_names=not options.header,
    )
    parse_options = pacsv.ParseOptions(
        delimiter=options.delimiter, newlines_in_values=True
    )
    convert_options = pacsv.ConvertOptions(
        column_types=column_types or {},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    return pacsv.open_csv(path, read_options, parse_options, convert_options)


def csv_error(path: Path, error: Exception, options: CsvOptions) -> InputError:
    message = str(error)
    if "UTF8" in message or "UTF-8" in message or isinstance(error, UnicodeDecodeError):
        return InputError(
            f"input {path} is not valid {options.encoding} text: pass its encoding, "
            "for example --encoding latin-1 or --encoding cp1252"
        )
    if "Expected" in message and "columns" in message:
        return InputError(
            f"input {path} has rows with a different number of fields: {message}"
        )
    return InputError(f"cannot read CSV input {path}: {message}")


def open_csv(path: Path, options: CsvOptions, columns: list[str] | None) -> Source:
    try:
        probe = _csv_reader(path, options, None)
        names = probe.schema.names
        probe.close()
        # Every column as text: values pass through exactly as written.
        reader = _csv_reader(path, options, {n: pa.string() for n in names})
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        raise csv_error(path, error, options) from error
    schema = (
        reader.schema
        if columns is None
        else pa.schema([reader.schema.field(c) for c in columns])
    )

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                yield batch if columns is None else batch.select(columns)
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            raise csv_error(path, error, options) from error

    return Source(path, "csv", schema, None, batches())


def open_input(
    path: Path,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    csv_options: CsvOptions = CsvOptions(),
    columns: list[str] | None = None,
) -> Source:
    """Open a Parquet file, a directory of Parquet files or a CSV file (plain or gzip)."""
    check_input(path)
    if path.is_dir():
        return open_parquet(parquet_files(path), batch_rows, columns)
    if sniff_format(path) == "parquet":
        return open_parquet([path], batch_rows, columns)
    return open_csv(path, csv_options, columns)


def read_table(
    path: Path, columns: list[str] | None = None, csv_options: CsvOptions = CsvOptions()
) -> pa.Table:
    """Read a whole input into memory (for labelled training and evaluation files)."""
    source = open_input(path, csv_options=csv_options)
    missing = [c for c in columns or [] if c not in source.schema.names]
    if missing:
        raise InputError(
            f"{path} has no column {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(source.schema.names)}"
        )
    table = pa.Table.from_batches(list(source.batches), schema=source.schema)
    return table.select(columns) if columns else table


def find_name_column(schema: pa.Schema, column: str | None) -> str:
    """Return the column to score: `column` when given, else the one usual name header."""
    names = schema.names
    if column is not None:
        if column not in names:
            raise InputError(
                f"column {column!r} not found; the input has columns: {', '.join(names)}"
            )
        return column
    matches = [n for n in names if n.strip().lower() in NAME_HEADERS]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InputError(
            f"no name column found among: {', '.join(names)}; pass the one to score with --column"
        )
    raise InputError(
        f"several columns look like names ({', '.join(matches)}); choose one with --column"
    )


def output_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".parquet"]:
        return "parquet"
    if suffixes[-1:] == [".csv"] or suffixes[-2:] == [".csv", ".gz"]:
        return "csv"
    raise InputError(f"output {path} must end in .parquet, .csv or .csv.gz")


def default_output(path: Path) -> Path:
    stem = path.name
    for suffix in (".gz", ".csv", ".parquet"):
        stem = stem.removesuffix(suffix)
    return path.with_name(f"{stem}.scored.parquet")


class AtomicWriter:
    """Write record batches to a temporary file, renamed to `path` on `commit`."""

    def __init__(self, path: Path, schema: pa.Schema, delimiter: str = ",") -> None:
        self.path = path
        self.format = output_format(path)
        handle, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
        os.close(handle)
        self.temp_path = Path(name)
        if self.format == "parquet":
            self._writer = pq.ParquetWriter(self.temp_path, schema)
        else:
            self.schema = _text_schema(schema)
            stream = (
                pa.CompressedOutputStream(str(self.temp_path), "gzip")
                if path.suffix.lower() == ".gz"
                else pa.OSFile(str(self.temp_path), "wb")
            )
            self._stream = stream
            self._writer = pacsv.CSVWriter(
                stream,
                self.schema,
                write_options=pacsv.WriteOptions(delimiter=delimiter),
            )

    def write(self, batch: pa.RecordBatch) -> None:
        if self.format == "csv":
            batch = batch.cast(self.schema)
        self._writer.write_batch(batch)

    def commit(self) -> None:
        self._writer.close()
        if self.format == "csv":
            self._stream.close()
        os.replace(self.temp_path, self.path)

    def abort(self) -> None:
        # The run already failed; a second error while closing would hide the first.
        with contextlib.suppress(OSError, pa.ArrowException):
            self._writer.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp_path.unlink()


def _text_schema(schema: pa.Schema) -> pa.Schema:
    """Replace dictionary columns by their value type, which the CSV writer needs."""
    return pa.schema(
        [
            pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
            for f in schema
        ],
        metadata=schema.metadata,
    )
