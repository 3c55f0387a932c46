"""Write BENCHMARKS.md from every results file in benchmarks/results, with plots.

    python -m benchmarks.render [FILE ...] [--results DIR] [--out BENCHMARKS.md]

Each JSON file in the shared format (benchmarks/schema.py) becomes a section
with its command, hardware, versions and notes, and one table per row kind.
Columns are the union of the rows' keys; a column with one value in every row
of a table is stated once above it. Files in another format are skipped. A
file whose rows carry accuracy and names/s also gets a PNG scatter plot.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from benchmarks.schema import SchemaError, read_result

log = logging.getLogger("benchmarks")
RESULTS_DIR = Path("benchmarks/results")
PAGE = Path("BENCHMARKS.md")


def format_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0 or abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        if abs(value) >= 0.001:
            return f"{value:.4g}"
        return f"{value:.1e}"
    return str(value).replace("|", "\\|")


def markdown_table(rows: list[dict]) -> list[str]:
    """Lay rows out as a table; columns with one shared value become a lead line."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    shared = {}
    if len(rows) > 1:
        for column in columns:
            values = {format_value(row.get(column)) for row in rows}
            if len(values) == 1 and all(column in row for row in rows):
                shared[column] = rows[0][column]
    varying = [c for c in columns if c not in shared]
    lines = []
    if shared:
        pairs = ", ".join(f"{k} {format_value(v)}" for k, v in shared.items())
        lines += [f"All rows: {pairs}.", ""]
    lines.append("| " + " | ".join(varying) + " |")
    lines.append("|" + "---|" * len(varying))
    for row in rows:
        cells = [format_value(row.get(column)) for column in varying]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def group_rows(rows: list[dict]) -> dict[str, list[dict]]:
    """Group rows by their `kind` key in first-seen order; rows without one share ""."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(str(row.get("kind", "")), []).append(row)
    return groups


def render_section(result: dict, plots: dict[str, Path], page_dir: Path) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in result["versions"].items())
    lines = [
        f"## {result['title']}",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Hardware: {result['hardware']}",
        "",
        f"Versions: {versions}",
        "",
    ]
    lines += [f"- {note}" for note in result["notes"]]
    if result["notes"]:
        lines.append("")
    for caption, plot in plots.items():
        link = Path(os.path.relpath(plot, page_dir)).as_posix()
        lines += [f"![{caption}]({link})", ""]
    for kind, rows in group_rows(result["rows"]).items():
        if kind:
            lines += [f"### {kind}", ""]
            rows = [{k: v for k, v in row.items() if k != "kind"} for row in rows]
        lines += markdown_table(rows)
        lines.append("")
    return lines


def render_page(
    results_dir: Path, page: Path, paths: list[Path] | None = None
) -> list[Path]:
    """Write `page` from `paths` (default: every JSON file in `results_dir`).

    Returns the files rendered; files in another format are skipped.
    """
    from benchmarks.plot import plot_batch_sizes, plot_speed_accuracy

    lines = [
        "# Benchmarks",
        "",
        (
            "Every figure below comes from a JSON file in "
            f"`{results_dir.as_posix()}`, written by the command shown with it. "
            "`python -m benchmarks.render` rebuilds this page from those files."
        ),
        "",
    ]
    rendered = []
    for path in sorted(paths or results_dir.glob("*.json")):
        try:
            result = read_result(path)
        except (SchemaError, ValueError) as error:
            log.info("skipping %s: %s", path, error)
            continue
        plots = {
            "Names/s against accuracy": plot_speed_accuracy(
                result, path.with_name(f"{path.stem}-accuracy.png")
            ),
            "Names/s against batch size": plot_batch_sizes(
                result, path.with_name(f"{path.stem}-batch-sizes.png")
            ),
        }
        plots = {caption: plot for caption, plot in plots.items() if plot}
        lines += render_section(result, plots, page.parent)
        rendered.append(path)
    page.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return rendered


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.render", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "files", nargs="*", type=Path, help="results files (default: all in --results)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--out", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    rendered = render_page(args.results, args.out, args.files)
    log.info("wrote %s from %d results files", args.out, len(rendered))


if __name__ == "__main__":
    main()
