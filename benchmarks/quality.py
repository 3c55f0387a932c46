"""Calibration, robustness and scoring speed of the shipped models.

For each model in nscore/models it measures, on the exclusive-rule validation
split: expected calibration error (15 bins) before and after temperature
scaling, a reliability diagram (docs/reliability-NAME.png), accuracy on
spelling variants of the validation names beside clean accuracy, and
onnxruntime names/s. For a model trained on the census share it also reports
log loss and mean absolute error of prob_female against the census share on
held-out names of every rule, ambiguous ones included.

    python -m benchmarks.quality --out benchmarks/results/quality.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from benchmarks.hardware import describe_hardware
from benchmarks.schema import library_versions, write_result
from nscore.data import census_names, split
from nscore.score.model import BUNDLED, OnnxModel
from nscore.text import extract_first_names, normalize
from nscore.train.metrics import ECE_BINS, classification_metrics

VOWELS = "aeiou"
ACCENTS = {"a": "á", "e": "é", "i": "í", "o": "ô", "u": "ú", "c": "ç"}

LIBRARIES = ("nscore", "numpy", "pyarrow", "onnxruntime-gpu")


def double_letter(name: str, rng: random.Random) -> str:
    i = rng.randrange(len(name))
    return name[: i + 1] + name[i:]


def drop_vowel(name: str, rng: random.Random) -> str:
    inner = [i for i in range(1, len(name) - 1) if name[i] in VOWELS]
    if not inner:
        return name
    i = rng.choice(inner)
    return name[:i] + name[i + 1 :]


def add_trailing_h(name: str, rng: random.Random) -> str:
    return name + "h"


def accent_raw(name: str, rng: random.Random) -> str:
    """Write the raw form with accents, as a user might; normalization must undo it."""
    return "".join(ACCENTS.get(c, c) if rng.random() < 0.5 else c for c in name).upper()


VARIANTS = {
    "doubled letter": double_letter,
    "dropped vowel": drop_vowel,
    "trailing h": add_trailing_h,
    "accented raw form": accent_raw,
}


def reliability(
    labels: np.ndarray, prob_female: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per-bin mean confidence, accuracy and count of the predicted class."""
    confidence = np.maximum(prob_female, 1 - prob_female)
    correct = (prob_female >= 0.5) == (labels == 0)
    bins = np.minimum((confidence * ECE_BINS).astype(int), ECE_BINS - 1)
    count = np.bincount(bins, minlength=ECE_BINS)
    with np.errstate(invalid="ignore"):
        mean_conf = np.bincount(bins, confidence, ECE_BINS) / count
        accuracy = np.bincount(bins, correct, ECE_BINS) / count
    return mean_conf, accuracy, count


def plot_reliability(
    name: str, labels: np.ndarray, before: np.ndarray, after: np.ndarray, path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.5, 4.5))
    axis.plot(
        [0.5, 1], [0.5, 1], color="grey", linestyle=":", label="perfect calibration"
    )
    for label, probs in (("before temperature", before), ("after temperature", after)):
        confidence, accuracy, count = reliability(labels, probs)
        shown = count > 0
        axis.plot(confidence[shown], accuracy[shown], marker="o", label=label)
    axis.set(
        xlabel="confidence of the predicted gender",
        ylabel="accuracy",
        xlim=(0.5, 1.0),
        ylim=(0.5, 1.0),
        title=f"{name}: reliability on validation names",
    )
    axis.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def names_per_second(model: OnnxModel, names: pa.Array, repeats: int = 3) -> float:
    model.prob_female(names[:2000])
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.prob_female(names)
        timings.append(time.perf_counter() - started)
    return len(names) / float(np.median(timings))


def robustness(model: OnnxModel, names: list[str], labels: np.ndarray) -> dict:
    rng = random.Random(7)
    result = {}
    for variant, change in VARIANTS.items():
        raw = pa.array([change(n, rng) for n in names], pa.string())
        first = extract_first_names(normalize(raw))
        probs = model.prob_female(first)
        result[variant] = float(((probs < 0.5).astype(int) == labels).mean())
    return result


def evaluate_model(name: str, docs: Path) -> dict:
    model = OnnxModel(name, provider="cpu", threads=1)
    meta = model.info.metadata
    _, valid = split(census_names("exclusive"))
    names = pa.array(valid.names, pa.string())
    before = model.prob_female(names, temperature=1.0)
    after = model.prob_female(names)
    clean = classification_metrics(valid.labels, after, valid.weights)
    uncalibrated = classification_metrics(valid.labels, before, valid.weights)
    plot = docs / f"reliability-{name}.png"
    plot_reliability(name, valid.labels, before, after, plot)
    row = {
        "model": name,
        "model_id": model.info.model_id,
        "target": meta.get("target", "label"),
        "accuracy": round(clean["accuracy"], 5),
        "weighted_accuracy": round(clean["weighted_accuracy"], 5),
        "ece_before": round(uncalibrated["ece"], 5),
        "ece_after": round(clean["ece"], 5),
        "temperature": round(model.info.temperature, 4),
        "names_per_s_1_thread": round(names_per_second(model, names)),
        "reliability_plot": str(plot),
    }
    for variant, accuracy in robustness(model, valid.names, valid.labels).items():
        row[f"accuracy {variant}"] = round(accuracy, 5)
    return row


def share_fit(name: str) -> dict:
    """Log loss and MAE of prob_female against the census share on held-out names."""
    model = OnnxModel(name, provider="cpu", threads=1)
    _, valid = split(census_names("all"))
    probs = model.prob_female(pa.array(valid.names, pa.string()))
    share = valid.share_female
    clipped = np.clip(probs, 1e-7, 1 - 1e-7)
    log_loss = -(share * np.log(clipped) + (1 - share) * np.log(1 - clipped))
    ambiguous = (share > 0.05) & (share < 0.95)
    return {
        "model": name,
        "held_out_names": len(valid),
        "log_loss_all": round(float(log_loss.mean()), 5),
        "mae_all": round(float(np.abs(probs - share).mean()), 5),
        "ambiguous_names": int(ambiguous.sum()),
        "log_loss_ambiguous": round(float(log_loss[ambiguous].mean()), 5),
        "mae_ambiguous": round(float(np.abs(probs - share)[ambiguous].mean()), 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/quality.json")
    )
    parser.add_argument("--docs", type=Path, default=Path("docs"))
    parser.add_argument(
        "--share-models",
        nargs="*",
        default=[],
        help="ONNX models trained with --target share",
    )
    args = parser.parse_args()
    args.docs.mkdir(exist_ok=True)
    rows = []
    for name in BUNDLED:
        rows.append(evaluate_model(name, args.docs))
        print(json.dumps(rows[-1]), file=sys.stderr)
    share_rows = [share_fit(m) for m in [*args.share_models, *BUNDLED]]
    record = {
        "title": "Calibration, robustness and speed of the shipped models",
        "command": "python -m benchmarks.quality " + " ".join(sys.argv[1:]),
        "hardware": describe_hardware(),
        "versions": library_versions(LIBRARIES),
        "rows": rows,
        "share_fit": share_rows,
        "notes": [
            (
                "Exclusive-rule validation split (18,032 names); robustness variants keep the "
                "original name's label."
            ),
            "names_per_s_1_thread: onnxruntime CPU, one intra-op thread, exact-length buckets.",
        ],
    }
    write_result(record, args.out)


if __name__ == "__main__":
    main()
