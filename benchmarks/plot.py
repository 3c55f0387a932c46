"""Plots of scoring speed for one results file: against accuracy and batch size."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # writes files only, never opens a window
import matplotlib.pyplot as plt

MARKERS = "os^Dvp*hX"
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def plotted_rows(result: dict) -> list[dict]:
    """Pick the rows to plot: one point per model and backend.

    Scoring rows count at the batch size the ratios use (else the largest
    one) in the bucketed layout, and so does eager PyTorch one name per call.
    Peer rows count as they are, except a hand-written rule: the last-letter
    rule's accuracy (near 72%) would squeeze the learned models into a corner.
    Training rows are left out, and so are rows without accuracy and names/s.
    """
    rows = [r for r in result["rows"] if r.get("accuracy") and r.get("names_per_s")]
    rows = [
        r for r in rows if r.get("kind") != "training" and r.get("weights") != "rule"
    ]
    ratio_sizes = [r["batch_size"] for r in result["rows"] if r.get("kind") == "ratio"]
    scoring = [r for r in rows if r.get("kind") == "scoring"]
    sizes = ratio_sizes or [r["batch_size"] for r in scoring] or [0]
    batch_size = max(sizes)
    return [row for row in rows if keep_row(row, batch_size)]


def keep_row(row: dict, batch_size: int) -> bool:
    if row.get("kind") != "scoring":
        return True
    if row.get("layout") == "bucketed":
        return row.get("batch_size") == batch_size
    return row.get("layout") == "one-by-one" and row.get("backend") == "pytorch"


def series_name(row: dict) -> str:
    if row.get("kind") != "scoring":
        return str(row.get("model"))
    device = f" {row['device']}" if row.get("device") not in (None, "cpu") else ""
    layout = row.get("layout", "")
    batch = "" if layout == "one-by-one" else f", batch {row.get('batch_size'):,}"
    return f"{row.get('backend')}{device} {layout}{batch}"


def plot_speed_accuracy(result: dict, path: Path) -> Path | None:
    """Draw names/s (log scale) against accuracy to `path`; None when nothing fits."""
    rows = plotted_rows(result)
    if not rows:
        return None
    series: dict[str, list[dict]] = {}
    for row in rows:
        series.setdefault(series_name(row), []).append(row)

    figure, axes = plt.subplots(figsize=(9, 6))
    for index, (name, points) in enumerate(series.items()):
        accuracy = [100 * p["accuracy"] for p in points]
        speed = [p["names_per_s"] for p in points]
        axes.scatter(accuracy, speed, marker=MARKERS[index % len(MARKERS)], label=name)
        for point, x, y in zip(points, accuracy, speed, strict=True):
            if point.get("kind") == "scoring":
                axes.annotate(
                    point["model"],
                    (x, y),
                    fontsize=7,
                    xytext=(3, 3),
                    textcoords="offset points",
                )

    axes.set_yscale("log")
    axes.set_xlabel("validation accuracy (%)")
    axes.set_ylabel("distinct names scored per second (median)")
    axes.set_title(f"{result['title']}: {result['hardware']}", fontsize=8)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="best")
    figure.tight_layout()

    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_batch_sizes(result: dict, path: Path) -> Path | None:
    """Draw names/s against batch size, one line per backend and layout, per model.

    Only scoring rows on the CPU count; None when the file has none.
    """
    rows = [
        r
        for r in result["rows"]
        if r.get("kind") == "scoring" and r.get("device") == "cpu"
        if r.get("layout") in ("bucketed", "padded", "one-by-one")
    ]
    models = list(dict.fromkeys(r["model"] for r in rows))
    if not models:
        return None

    figure, grid = plt.subplots(
        1, len(models), figsize=(3.2 * len(models), 4), sharey=True, squeeze=False
    )
    for axes, model in zip(grid[0], models, strict=True):
        backends = dict.fromkeys(r["backend"] for r in rows)
        for backend, color in zip(backends, COLORS, strict=False):
            for layout, style in (("bucketed", "-"), ("padded", ":")):
                points = sorted(
                    (r["batch_size"], r["names_per_s"])
                    for r in rows
                    if r["model"] == model and r["backend"] == backend
                    if r["layout"] in (layout, "one-by-one")
                )
                if points:
                    sizes, speeds = zip(*points, strict=True)
                    axes.plot(
                        sizes,
                        speeds,
                        style,
                        color=color,
                        marker="o",
                        markersize=3,
                        label=f"{backend} {layout}",
                    )
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_title(model, fontsize=9)
        axes.set_xlabel("batch size")
        axes.grid(True, which="both", alpha=0.3)
    grid[0][0].set_ylabel("distinct names scored per second (median)")
    grid[0][-1].legend(fontsize=6, loc="lower right")
    figure.suptitle(f"{result['title']}: {result['hardware']}", fontsize=8)
    figure.tight_layout()

    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
