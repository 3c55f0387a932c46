"""Speed ratios between rows of the same run, checked against the targets.

Each ratio divides two median names/s figures. Its range divides the slower
end of one spread by the faster end of the other, which shows how far the
repeats let the ratio move.
"""

from __future__ import annotations

from dataclasses import dataclass

# Scoring batch size at which the targets are checked: the batch size that
# nscore's evaluation uses, and the nearest listed size to the CLI's buckets.
TARGET_BATCH_SIZE = 8192


@dataclass(frozen=True)
class RatioSpec:
    name: str
    numerator: dict  # row fields that pick the faster configuration
    denominator: dict  # row fields that pick the slower configuration
    target: float


def ratio_specs(batch_size: int) -> list[RatioSpec]:
    bucketed = {"device": "cpu", "layout": "bucketed", "batch_size": batch_size}
    padded = {**bucketed, "layout": "padded"}
    one_by_one = {"device": "cpu", "layout": "one-by-one", "batch_size": 1}
    return [
        RatioSpec(
            "onnxruntime / pytorch, bucketed",
            {**bucketed, "backend": "onnxruntime"},
            {**bucketed, "backend": "pytorch"},
            1.5,
        ),
        *(
            RatioSpec(
                f"bucketed / padded, {backend}",
                {**bucketed, "backend": backend},
                {**padded, "backend": backend},
                1.3,
            )
            for backend in ("onnxruntime", "pytorch")
        ),
        RatioSpec(
            "batched / one-by-one, pytorch",
            {**bucketed, "backend": "pytorch"},
            {**one_by_one, "backend": "pytorch"},
            50.0,
        ),
        # nscore's own scoring path against the reference study's loop.
        RatioSpec(
            "onnxruntime bucketed / pytorch one-by-one",
            {**bucketed, "backend": "onnxruntime"},
            {**one_by_one, "backend": "pytorch"},
            50.0,
        ),
    ]


def find_row(rows: list[dict], model: str, fields: dict) -> dict | None:
    for row in rows:
        same = all(row.get(key) == value for key, value in fields.items())
        if row.get("kind") == "scoring" and row["model"] == model and same:
            return row
    return None


def target_batch_size(batch_sizes: tuple[int, ...]) -> int:
    """Return TARGET_BATCH_SIZE when measured, else the largest measured batch size."""
    return TARGET_BATCH_SIZE if TARGET_BATCH_SIZE in batch_sizes else max(batch_sizes)


def ratio_rows(rows: list[dict], batch_sizes: tuple[int, ...]) -> list[dict]:
    """Compute every ratio for every model that has both rows."""
    batch_size = target_batch_size(batch_sizes)
    models = dict.fromkeys(r["model"] for r in rows if r.get("kind") == "scoring")
    results = []
    for spec in ratio_specs(batch_size):
        for model in models:
            fast = find_row(rows, model, spec.numerator)
            slow = find_row(rows, model, spec.denominator)
            if fast is None or slow is None:
                continue
            value = fast["names_per_s"] / slow["names_per_s"]
            results.append(
                {
                    "kind": "ratio",
                    "ratio": spec.name,
                    "model": model,
                    "batch_size": batch_size,
                    "value": value,
                    "value_min": fast["names_per_s_min"] / slow["names_per_s_max"],
                    "value_max": fast["names_per_s_max"] / slow["names_per_s_min"],
                    "target": spec.target,
                    "met": value >= spec.target,
                }
            )
    return results


def format_ratios(rows: list[dict]) -> str:
    """Render ratio rows as aligned text lines, one per ratio and model."""
    lines = []
    for row in rows:
        verdict = "met" if row["met"] else "NOT met"
        lines.append(
            f"{row['ratio']:<34} {row['model']:<8} {row['value']:7.2f}x "
            f"(range {row['value_min']:.2f} to {row['value_max']:.2f}) "
            f"target {row['target']:g}x {verdict}"
        )
    return "\n".join(lines)
