"""The `nscore` command line: train, export, evaluate, run, sample, models.

Data goes to stdout; logs and progress go to stderr. Exit codes: 0 success,
2 usage or input error, 1 unexpected failure (traceback only with --debug).
"""

from __future__ import annotations

import json
import logging
import math
import signal
import sys
import traceback
from pathlib import Path

import click

from nscore.errors import NscoreError

log = logging.getLogger("nscore")
ARCHS = ("rnn", "lstm", "bilstm", "bigru")
RECIPES = {
    # The reference study's recipe and the faster one the shipped models use.
    "reference": dict(epochs=30, batch_size=32, lr=3e-4, schedule="constant"),
    "fast": dict(
        epochs=15,
        batch_size=256,
        lr=3e-3,
        schedule="onecycle",
        calibration_fraction=0.05,
    ),
}


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stderr,
        format="%(message)s",
    )


def _silence_info_logs() -> None:
    """Raise the nscore logger to WARNING until the current command ends."""
    logger = logging.getLogger("nscore")
    previous = logger.level
    logger.setLevel(logging.WARNING)
    click.get_current_context().call_on_close(lambda: logger.setLevel(previous))


TRAIN_EXTRA = ("torch", "onnx", "sklearn")


def require_train_extra() -> None:
    """Fail with the install command when the `train` extra is missing."""
    import importlib.util

    missing = [name for name in TRAIN_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise NscoreError(
            f"this command needs {', '.join(missing)}, which a scoring-only install "
            'lacks: pip install "nscore[train]"'
        )


@click.group()
@click.version_option(package_name="nscore")
@click.option(
    "--debug", is_flag=True, help="Show the traceback of unexpected failures."
)
def cli(debug: bool) -> None:
    """Predict the gender associated with Brazilian first names."""
    setup_logging(debug)


@cli.command()
@click.option("--arch", type=click.Choice(ARCHS), default="bigru", show_default=True)
@click.option(
    "--recipe",
    type=click.Choice(list(RECIPES)),
    default="reference",
    show_default=True,
    help="Defaults for epochs, batch size, learning rate and schedule; options below override them.",
)
@click.option("--embedding-dim", type=click.IntRange(1), default=25, show_default=True)
@click.option("--hidden-size", type=click.IntRange(2), default=50, show_default=True)
@click.option("--num-layers", type=click.IntRange(1), default=2, show_default=True)
@click.option(
    "--dropout",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.3,
    show_default=True,
)
@click.option(
    "--epochs", type=click.IntRange(1), help="Passes over the training names."
)
@click.option("--batch-size", type=click.IntRange(1), help="Names per optimizer step.")
@click.option(
    "--lr",
    type=click.FloatRange(0, min_open=True),
    help="Adam learning rate (peak rate with onecycle).",
)
@click.option(
    "--weight-decay",
    type=click.FloatRange(0),
    help="Decoupled weight decay (AdamW when above 0).",
)
@click.option("--schedule", type=click.Choice(["constant", "onecycle"]))
@click.option(
    "--patience",
    type=click.IntRange(0),
    help="Stop after this many epochs without a better valid loss; 0 never stops early.",
)
@click.option(
    "--target",
    type=click.Choice(["label", "share"]),
    default="label",
    show_default=True,
    help="share trains on the census female share as a soft target (use with --rule all).",
)
@click.option(
    "--label-smoothing",
    type=click.FloatRange(0, 0.5),
    help="Cross-entropy label smoothing, for example 0.1.",
)
@click.option(
    "--rule",
    type=click.Choice(["exclusive", "min-share", "all"]),
    default="exclusive",
    show_default=True,
    help="Census labelling rule: names of one gender only, a majority share, or every name.",
)
@click.option(
    "--min-share",
    type=click.FloatRange(0.5, 1, min_open=True),
    help="Majority share for --rule min-share, for example 0.95; implies that rule.",
)
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labelled CSV or Parquet file to train on instead of the census.",
)
@click.option("--name-column", default="name", show_default=True)
@click.option(
    "--label-column",
    default="gender",
    show_default=True,
    help="F/M, or 1/0 where 1 is M.",
)
@click.option(
    "--calibration-fraction",
    type=click.FloatRange(0, 0.5),
    help="Share of training names held apart to fit the temperature; 0 skips calibration.",
)
@click.option(
    "--max-train-names",
    type=click.IntRange(0),
    default=0,
    help="Use only this many training names (0: all).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
)
@click.option(
    "--threads",
    type=click.IntRange(0),
    default=0,
    help="torch CPU threads (0: torch's default).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for checkpoint.pt and metrics.json.",
)
def train(
    arch: str,
    recipe: str,
    out: Path,
    min_share: float | None,
    rule: str,
    data: Path | None,
    embedding_dim: int,
    hidden_size: int,
    num_layers: int,
    dropout: float,
    **options,
) -> None:
    """Train a recurrent classifier and save its best checkpoint."""
    require_train_extra()
    from nscore.model import ModelConfig
    from nscore.train import TrainConfig
    from nscore.train import train as run_training

    settings = dict(RECIPES[recipe])
    settings.update({k: v for k, v in options.items() if v is not None})
    if min_share is not None:
        rule = "min-share"
        settings["min_share"] = min_share
    model = ModelConfig(
        arch=arch,
        embedding_dim=embedding_dim,
        hidden_size=hidden_size,
        num_layers=num_layers,
        dropout=dropout,
    )
    try:
        config = TrainConfig(
            model=model, rule=rule, data=str(data) if data else None, **settings
        )
        run_training(config, out)
    except ValueError as error:
        raise NscoreError(str(error)) from error


@cli.command()
@click.argument(
    "checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for ARCH.onnx and ARCH.pt.",
)
def export(checkpoint: Path, out: Path) -> None:
    """Export a checkpoint to ONNX and TorchScript and verify both against PyTorch."""
    require_train_extra()
    from nscore.export import ExportVerificationError, export_checkpoint

    try:
        result = export_checkpoint(checkpoint, out)
    except ValueError as error:
        raise NscoreError(str(error)) from error
    except ExportVerificationError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        json.dumps(
            {
                "onnx": str(result.onnx_path),
                "torchscript": str(result.torchscript_path),
                "max_abs_diff": result.max_abs_diff,
                "seconds": result.seconds,
            },
            indent=2,
        )
    )


@cli.command()
@click.argument("model")
@click.argument("data", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--name-column", default="name", show_default=True)
@click.option(
    "--label-column",
    default="gender",
    show_default=True,
    help="F/M, or 1/0 where 1 is M.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate(
    model: str, data: Path | None, name_column: str, label_column: str, as_json: bool
) -> None:
    """Report accuracy of a checkpoint (.pt) or model (.onnx or bundled name).

    Without DATA it uses the validation split of the model's own labelling rule.
    """
    require_train_extra()
    from nscore.evaluate import evaluate_model

    metrics = evaluate_model(model, data, name_column, label_column)
    if as_json:
        click.echo(json.dumps(metrics, indent=2))
    else:
        from nscore.train.metrics import format_report

        click.echo(format_report(metrics))


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "--model",
    default="best",
    show_default=True,
    help="Bundled model (best, bigru, bilstm, lstm, rnn) or path to an .onnx file.",
)
@click.option(
    "--column",
    help="Name column to score; by default the one usual name header (nome, name, ...).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Output .parquet, .csv or .csv.gz; with --engine spark a Parquet dataset directory "
    "[default: INPUT_STEM.scored.parquet].",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=262144,
    show_default=True,
    help="Rows read per record batch.",
)
@click.option(
    "--bucket-size",
    type=click.IntRange(1),
    help="Most first names of one length per onnxruntime call [default: 4096 on CPU, 65536 on CUDA].",
)
@click.option(
    "--provider",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="onnxruntime execution provider; auto uses CUDA only when a session gets it.",
)
@click.option(
    "--threads",
    type=click.IntRange(0),
    default=0,
    help="onnxruntime intra-op threads (0: all cores; with --engine spark, spark.task.cpus).",
)
@click.option(
    "--lookup",
    type=click.Choice(["census", "none"]),
    default="census",
    show_default=True,
    help="census returns the census share for names found in the census table.",
)
@click.option(
    "--no-lookup",
    is_flag=True,
    help="Score every name with the model (same as --lookup none).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0.5, 1),
    default=0.9,
    show_default=True,
    help="Abstain when P(F) is between 1 - threshold and threshold; 0.5 never abstains.",
)
@click.option(
    "--keep", help="Comma-separated input columns to pass through (default: all)."
)
@click.option(
    "--delimiter",
    default=",",
    show_default=True,
    help="CSV field delimiter, for example ';' or 'tab'.",
)
@click.option(
    "--encoding",
    default="utf-8",
    show_default=True,
    help="CSV text encoding, for example latin-1 or cp1252.",
)
@click.option(
    "--header/--no-header",
    default=True,
    show_default=True,
    help="Whether the CSV's first row names the columns (without it: f0, f1, ...).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an existing output file (or dataset directory with --engine spark).",
)
@click.option("--quiet", is_flag=True, help="No progress bar and no summary line.")
@click.option(
    "--engine",
    type=click.Choice(["local", "spark"]),
    default="local",
    show_default=True,
    help="local streams the file through this process; spark scores a Parquet file or "
    "dataset directory with pyspark into a Parquet dataset directory.",
)
@click.option(
    "--master",
    help="Spark master URL for --engine spark, for example local[2] or yarn "
    "[default: Spark's configuration, else local[*]].",
)
def run(
    input_path: Path,
    model: str,
    column: str | None,
    output: Path | None,
    batch_size: int,
    bucket_size: int | None,
    provider: str,
    threads: int,
    lookup: str,
    no_lookup: bool,
    threshold: float,
    keep: str | None,
    delimiter: str,
    encoding: str,
    header: bool,
    overwrite: bool,
    quiet: bool,
    engine: str,
    master: str | None,
) -> None:
    """Score the name column of a Parquet or CSV file (or a directory of Parquet files)."""
    import codecs

    from nscore.score.engine import Scorer
    from nscore.score.io import CsvOptions, check_input
    from nscore.score.pipeline import score_file

    if quiet:
        _silence_info_logs()
    delimiter = "\t" if delimiter in ("tab", "\\t") else delimiter
    if len(delimiter) != 1:
        raise click.BadParameter(
            f"{delimiter!r} is not one character: use ',', ';' or tab",
            param_hint="--delimiter",
        )
    if delimiter == '"':
        raise click.BadParameter(
            "'\"' is the CSV quote character, so it cannot be the "
            "delimiter: use ',', ';' or tab",
            param_hint="--delimiter",
        )
    # FloatRange accepts nan, because every comparison with nan is false.
    if math.isnan(threshold):
        raise click.BadParameter(
            "nan is not a number: pass a threshold from 0.5 to 1, for example 0.9",
            param_hint="--threshold",
        )
    try:
        codec = codecs.lookup(encoding)
    except LookupError as error:
        raise click.BadParameter(
            f"unknown encoding {encoding!r}: try utf-8, latin-1 or cp1252",
            param_hint="--encoding",
        ) from error
    # Codecs such as base64 and rot13 map bytes to bytes or str to str, not text.
    if not codec._is_text_encoding:
        raise click.BadParameter(
            f"{encoding!r} is not a text encoding: try utf-8, latin-1 or cp1252",
            param_hint="--encoding",
        )
    keep_columns = [c.strip() for c in keep.split(",") if c.strip()] if keep else None
    if master is not None and engine != "spark":
        raise click.UsageError(
            "--master applies only to --engine spark: add --engine spark"
        )
    if engine == "spark":
        summary = _spark_module().score_dataset(
            input_path,
            output,
            column,
            model,
            master=master,
            overwrite=overwrite,
            batch_rows=batch_size,
            quiet=quiet,
            keep=keep_columns,
            lookup=lookup == "census" and not no_lookup,
            threshold=threshold,
            threads=threads or None,
            bucket_size=bucket_size,
            provider=provider,
        )
        if not quiet:
            click.echo(summary.line(), err=True)
        return
    if output is not None and output.is_dir():
        raise click.BadParameter(
            f"{output} is a directory: pass a .parquet or .csv file, or use "
            "--engine spark to write a Parquet dataset directory",
            param_hint="--output",
        )
    check_input(input_path)  # a missing input fails before the model loads
    scorer = Scorer(
        model,
        lookup=lookup == "census" and not no_lookup,
        threshold=threshold,
        provider=provider,
        threads=threads or None,
        bucket_size=bucket_size,
    )
    summary = score_file(
        input_path,
        scorer,
        output=output,
        column=column,
        keep=keep_columns,
        batch_rows=batch_size,
        csv_options=CsvOptions(delimiter=delimiter, encoding=encoding, header=header),
        overwrite=overwrite,
        quiet=quiet,
    )
    if not quiet:
        click.echo(summary.line(), err=True)


def _spark_module():
    """Import nscore.spark, or explain how to install pyspark when it is missing."""
    try:
        import nscore.spark
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != "pyspark":
            raise
        raise NscoreError(
            "--engine spark needs pyspark: pip install 'nscore[spark]'"
        ) from error
    return nscore.spark


@cli.command()
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rows", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
def sample(output: Path, rows: int, seed: int, overwrite: bool) -> None:
    """Write a synthetic student registry (.parquet or .csv) drawn from the census."""
    from nscore.sample import write_registry
    from nscore.score.pipeline import check_output_target

    if output.suffix.lower() not in (".parquet", ".csv"):
        raise click.BadParameter(
            f"{output} must end in .parquet or .csv", param_hint="OUTPUT"
        )
    check_output_target(output, overwrite, "OUTPUT")
    write_registry(output, rows, seed)
    click.echo(f"wrote {rows:,} rows to {output}", err=True)


@cli.command()
def models() -> None:
    """List the bundled models with their validation metrics."""
    from nscore.score.model import BUNDLED, OnnxModel

    _silence_info_logs()  # the provider line would repeat once per model
    for name in BUNDLED:
        info = OnnxModel(name, provider="cpu", threads=1).info
        metrics = json.loads(info.metadata.get("metrics", "{}"))
        accuracy = metrics.get("accuracy")
        shown = f"{accuracy:.2%}" if accuracy is not None else "n/a"
        click.echo(f"{name:<7} {info.model_id:<20} accuracy {shown}  {info.path}")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that commands remove their temporary output."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def main() -> None:
    """Console entry point: maps failures to exit codes 2 (input) and 1 (unexpected)."""
    debug = "--debug" in sys.argv[1:]
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt) as stop:
        click.echo("interrupted; no output was written", err=True)
        # click turns KeyboardInterrupt into Abort. Exit with 128 plus the signal
        # number, as shells report a process killed by a signal.
        terminated = isinstance(stop, Terminated) or isinstance(
            stop.__cause__, Terminated
        )
        sys.exit(128 + signal.SIGTERM if terminated else 128 + signal.SIGINT)
    except (
        Exception
    ) as error:  # report the cause in one line; the traceback with --debug
        if debug:
            traceback.print_exc()
        else:
            click.echo(
                f"Error: unexpected failure: {type(error).__name__}: {error} "
                "(rerun with --debug for the traceback)",
                err=True,
            )
        sys.exit(1)
