"""Classification metrics shared by training, `nscore evaluate` and the benchmarks."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix, log_loss

from nscore.data import LABELS

ECE_BINS = 15


def expected_calibration_error(labels: np.ndarray, prob_female: np.ndarray) -> float:
    """Return the 15-bin expected calibration error of the predicted class's probability."""
    confidence = np.maximum(prob_female, 1 - prob_female)
    correct = (prob_female >= 0.5) == (labels == 0)
    bins = np.minimum((confidence * ECE_BINS).astype(int), ECE_BINS - 1)
    error = 0.0
    for b in range(ECE_BINS):
        in_bin = bins == b
        if in_bin.any():
            error += in_bin.mean() * abs(
                correct[in_bin].mean() - confidence[in_bin].mean()
            )
    return float(error)


def classification_metrics(
    labels: np.ndarray, prob_female: np.ndarray, weights: np.ndarray | None = None
) -> dict:
    """Summarize predictions against label ids (0 = F, 1 = M).

    `weights` are census counts; the weighted accuracy is the share of people,
    not of names, that get the right label.
    """
    predicted = (prob_female < 0.5).astype(np.int64)
    correct = predicted == labels
    weights = np.ones(len(labels)) if weights is None else weights
    probs = np.clip(np.stack([prob_female, 1 - prob_female], axis=1), 1e-7, 1 - 1e-7)
    return {
        "names": len(labels),
        "accuracy": float(correct.mean()),
        "weighted_accuracy": float((correct * weights).sum() / weights.sum()),
        "log_loss": float(log_loss(labels, probs, labels=[0, 1])),
        "ece": expected_calibration_error(labels, prob_female),
        "report": classification_report(
            labels,
            predicted,
            labels=[0, 1],
            target_names=list(LABELS),
            output_dict=True,
            zero_division=0,
        ),
        "confusion_matrix": confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
    }


def format_report(metrics: dict) -> str:
    """Render metrics as the text a person reads at the end of training or evaluation."""
    report = metrics["report"]
    lines = [
        (
            f"names {metrics['names']:,} | accuracy {metrics['accuracy']:.2%} | "
            f"weighted accuracy {metrics['weighted_accuracy']:.2%} | "
            f"log loss {metrics['log_loss']:.4f} | ECE {metrics['ece']:.4f}"
        ),
        f"{'':>6} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}",
    ]
    for label in LABELS:
        row = report[label]
        lines.append(
            f"{label:>6} {row['precision']:>9.4f} {row['recall']:>7.4f} "
            f"{row['f1-score']:>6.4f} {int(row['support']):>8,}"
        )
    (ff, fm), (mf, mm) = metrics["confusion_matrix"]
    lines.append(
        f"confusion (rows true F/M, columns predicted F/M): [[{ff}, {fm}], [{mf}, {mm}]]"
    )
    if "parameters" in metrics:
        lines.append(f"parameters {metrics['parameters']:,}")
    return "\n".join(lines)
