"""Read Parquet and CSV inputs as record batches and write outputs atomically.

The input format is read from the file's first bytes, not its name, so a
CSV named `.parquet` gets a clear error instead of a crash. A Parquet file
named `.csv` and a gzip file without `.gz` are read for what they are. CSV
columns are read as text, which passes every value through unchanged. Every
read failure becomes an `InputError` that names the file.

Outputs go to a hidden temporary file beside the target, which is flushed to
disk and renamed into place after the last row. An interrupted run therefore
leaves no output or the previous one, except for a leftover `.NAME.*.tmp`
file when the process is killed with SIGKILL.
"""

from __future__ import annotations

import codecs
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
DEFAULT_BATCH_ROWS = 262144
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


def _read_head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(4)
    except OSError as error:
        raise InputError(f"cannot read input {path}: {error.strerror}") from error


def sniff_format(path: Path) -> str:
    """Return "parquet" or "csv" from the file's content."""
    head = _read_head(path)
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
    if not path.is_file():
        raise InputError(
            f"input {path} is not a regular file (a pipe, socket or device): "
            "write the data to a file and score that"
        )
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


def _parquet_error(path: Path, error: Exception) -> InputError:
    detail = " ".join(str(error).split())
    return InputError(
        f"cannot read Parquet input {path}: {detail}; the file is truncated or "
        "corrupt, so write it again"
    )


def open_parquet(
    paths: list[Path], batch_rows: int, columns: list[str] | None
) -> Source:
    files = []
    for path in paths:
        try:
            # Pages written with CRC checksums are verified, and others read unchecked.
            files.append(pq.ParquetFile(path, page_checksum_verification=True))
        except (pa.ArrowException, OSError) as error:
            raise _parquet_error(path, error) from error
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
            except (pa.ArrowException, OSError) as error:
                raise _parquet_error(path, error) from error

    rows = sum(f.metadata.num_rows for f in files)
    return Source(paths[0], "parquet", schema, rows, batches())


class Utf8Transcoder:
    """Decode CSV text in `encoding` to UTF-8 for pyarrow, storing the first error.

    pyarrow runs the transform on its I/O threads. An exception raised there
    becomes an Arrow status that contains the Python exception, and an Arrow thread
    that frees that status while the interpreter exits aborts the process with
    "terminate called without an active exception". So a decode error is stored
    in `error` and closes the raw stream, the read fails with a plain Arrow error,
    and the reading thread raises `error` instead.
    """

    def __init__(self, raw: pa.NativeFile, encoding: str) -> None:
        self.raw = raw
        self.decoder = codecs.getincrementaldecoder(encoding)()
        self.error: UnicodeError | None = None

    def __call__(self, chunk: pa.Buffer) -> bytes:
        if self.error is None:
            try:
                # pyarrow passes an empty chunk at the end of the stream.
                text = self.decoder.decode(chunk, final=chunk.size == 0)
                return text.encode("utf-8")
            except UnicodeError as error:
                self.error = error
        self.raw.close()
        return b""


def _csv_stream(
    path: Path, options: CsvOptions
) -> tuple[pa.NativeFile, Utf8Transcoder | None]:
    # Decompress by content, not by name: a gzip file named .csv is still read,
    # and a plain file named .csv.gz is not fed to the gzip decoder.
    compression = "gzip" if _read_head(path)[:2] == GZIP_MAGIC else None
    stream = pa.input_stream(str(path), compression=compression)
    if codecs.lookup(options.encoding).name == "utf-8":
        return stream, None  # pyarrow validates UTF-8 itself, in C++
    transcoder = Utf8Transcoder(stream, options.encoding)
    return pa.lib.TransformInputStream(stream, transcoder), transcoder


def _csv_reader(
    stream: pa.NativeFile, options: CsvOptions, column_types: dict | None
) -> pacsv.CSVStreamingReader:
    read_options = pacsv.ReadOptions(
        block_size=CSV_BLOCK_BYTES, autogenerate_column_names=not options.header
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
    return pacsv.open_csv(stream, read_options, parse_options, convert_options)


ENCODING_EXAMPLES = ("latin-1", "cp1252", "utf-8")


def csv_error(path: Path, error: Exception, options: CsvOptions) -> InputError:
    message = str(error)
    if "UTF8" in message or "UTF-8" in message or isinstance(error, UnicodeError):
        given = codecs.lookup(options.encoding).name
        others = [e for e in ENCODING_EXAMPLES if codecs.lookup(e).name != given]
        return InputError(
            f"input {path} is not valid {options.encoding} text: pass its encoding, "
            f"for example --encoding {others[0]} or --encoding {others[1]}"
        )
    if "Expected" in message and "columns" in message:
        return InputError(
            f"input {path} has rows with a different number of fields ({message}): "
            "check --delimiter, and quote fields that contain the delimiter"
        )
    if isinstance(error, OSError) and _read_head(path)[:2] == GZIP_MAGIC:
        return InputError(
            f"cannot read CSV input {path}: {message}; the gzip data is "
            "truncated or corrupt"
        )
    return InputError(f"cannot read CSV input {path}: {message}")


def _first_error(transcoder: Utf8Transcoder | None, error: Exception) -> Exception:
    """Return the stored decode error that made a read fail, else `error`."""
    if transcoder is not None and transcoder.error is not None:
        return transcoder.error
    return error


def open_csv(path: Path, options: CsvOptions, columns: list[str] | None) -> Source:
    transcoder = None
    try:
        stream, transcoder = _csv_stream(path, options)
        probe = _csv_reader(stream, options, None)
        names = probe.schema.names
        probe.close()
        # Every column as text: values pass through exactly as written.
        stream, transcoder = _csv_stream(path, options)
        reader = _csv_reader(stream, options, {n: pa.string() for n in names})
    except (pa.ArrowException, OSError) as error:
        cause = _first_error(transcoder, error)
        raise csv_error(path, cause, options) from cause
    schema = (
        reader.schema
        if columns is None
        else pa.schema([reader.schema.field(c) for c in columns])
    )

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                # A decode error ends the stream early, so this batch may lack
                # the rows after it.
                if transcoder is not None and transcoder.error is not None:
                    raise transcoder.error
                yield batch if columns is None else batch.select(columns)
            if transcoder is not None and transcoder.error is not None:
                raise transcoder.error
        except (pa.ArrowException, OSError, UnicodeError) as error:
            cause = _first_error(transcoder, error)
            raise csv_error(path, cause, options) from cause

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
    """Return the column to score: `column` when given, else the one usual name header.

    Raises `InputError` when the column is missing, ambiguous or not text, so a
    bad column stops the run before any row is read.
    """
    names = schema.names
    if column is None:
        column = _guess_name_column(names)
    elif column not in names:
        raise InputError(
            f"column {column!r} not found; the input has columns: {', '.join(names)}"
        )
    if names.count(column) > 1:
        raise InputError(
            f"the input has {names.count(column)} columns named {column!r}: "
            "rename all but one of them"
        )
    check_name_type(column, schema.field(column).type)
    return column


def _guess_name_column(names: list[str]) -> str:
    matches = [n for n in names if n.strip().lower() in NAME_HEADERS]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InputError(
            f"several columns look like names ({', '.join(matches)}); "
            "choose one with --column"
        )
    hint = "pass the one to score with --column"
    # One column whose header contains a common delimiter: the CSV was split wrongly.
    others = [d for d in (";", "\t", "|") if len(names) == 1 and d in names[0]]
    if others:
        hint = f"the header looks {others[0]!r}-separated, so pass --delimiter"
        hint += " tab" if others[0] == "\t" else f" {others[0]!r}"
    raise InputError(f"no name column found among: {', '.join(names)}; {hint}")


def check_name_type(column: str, kind: pa.DataType) -> None:
    """Raise `InputError` unless a column of type `kind` contains text or only nulls."""
    value_type = kind.value_type if pa.types.is_dictionary(kind) else kind
    text = (
        pa.types.is_string(value_type)
        or pa.types.is_large_string(value_type)
        or pa.types.is_string_view(value_type)
        or pa.types.is_null(value_type)
    )
    if not text:
        raise InputError(
            f"column {column!r} has type {kind}, not text: choose a text column "
            "with --column"
        )


def output_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".parquet"]:
        return "parquet"
    if suffixes[-1:] == [".csv"] or suffixes[-2:] == [".csv", ".gz"]:
        return "csv"
    raise InputError(f"output {path} must end in .parquet, .csv or .csv.gz")


def default_output(path: Path) -> Path:
    # "." and ".." have no name, so name the output after the directory they are.
    path = path if path.name else path.resolve()
    stem = path.name
    for suffix in (".gz", ".csv", ".tsv", ".parquet"):
        stem = stem.removesuffix(suffix)
    return path.with_name(f"{stem}.scored.parquet")


class AtomicWriter:
    """Write record batches to a temporary file, renamed to `path` on `commit`."""

    # TODO: a run killed with SIGKILL leaves its `.NAME.*.tmp` file behind, and
    # nothing removes such stale files later.

    def __init__(self, path: Path, schema: pa.Schema, delimiter: str = ",") -> None:
        self.path = path
        self.format = output_format(path)
        if self.format == "csv":
            self.schema = _text_schema(schema)
        try:
            handle, name = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
            )
        except OSError as error:
            raise InputError(
                f"cannot create the output in {path.parent}: {error.strerror}; "
                "choose a writable directory with --output"
            ) from error
        # mkstemp creates the file as 0600, so set the mode that the umask gives.
        os.fchmod(handle, 0o666 & ~_umask())
        os.close(handle)
        self.temp_path = Path(name)
        try:
            self._open(path, schema, delimiter)
        except BaseException:
            self.temp_path.unlink()
            raise

    def _open(self, path: Path, schema: pa.Schema, delimiter: str) -> None:
        if self.format == "parquet":
            self._writer = pq.ParquetWriter(
                self.temp_path, schema, write_page_checksum=True
            )
        else:
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
        try:
            self._writer.write_batch(batch)
        except OSError as error:
            raise self._write_error(error) from error

    def commit(self) -> None:
        """Close the temporary file, flush it to disk and rename it to `path`."""
        try:
            self._writer.close()
            if self.format == "csv":
                self._stream.close()
            # Without the fsync, a power loss after the rename can leave an empty
            # file.
            descriptor = os.open(self.temp_path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(self.temp_path, self.path)
        except OSError as error:
            raise self._write_error(error) from error

    def _write_error(self, error: OSError) -> OSError:
        """Return `error` with the output path, which pyarrow's messages lack."""
        # A full disk or a file size limit is not an input error, so it stays an
        # OSError and the CLI reports it as an unexpected failure (exit code 1).
        detail = error.strerror or str(error)
        return OSError(error.errno, f"cannot write output {self.path}: {detail}")

    def abort(self) -> None:
        # The run already failed; a second error while closing would hide the first.
        with contextlib.suppress(OSError, pa.ArrowException):
            self._writer.close()
        if self.format == "csv":
            with contextlib.suppress(OSError, pa.ArrowException):
                self._stream.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp_path.unlink()


def _umask() -> int:
    # os.umask can only be read by setting it, so set it back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _csv_type(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(kind):
        return _csv_type(kind.value_type)
    if pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_binary_view(kind):
        return pa.binary()
    return kind


def _text_schema(schema: pa.Schema) -> pa.Schema:
    """Return `schema` with the types that the CSV writer accepts.

    Dictionary and view columns become plain ones. Raises `InputError` for
    nested columns (lists, structs, maps), which CSV cannot hold.
    """
    fields = []
    for item in schema:
        if pa.types.is_nested(item.type):
            raise InputError(
                f"column {item.name!r} has type {item.type}, which CSV cannot hold: "
                "write a .parquet output, or leave the column out with --keep"
            )
        fields.append(pa.field(item.name, _csv_type(item.type), item.nullable))
    return pa.schema(fields, metadata=schema.metadata)
