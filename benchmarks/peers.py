"""The peers measured in the same run: the last-letter rule and char n-gram regression."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.baselines import fit_ngram
from benchmarks.timing import measure
from nscore.data import LabelledNames


def ngram_row(train: LabelledNames, valid: LabelledNames, repeats: int) -> dict:
    """Fit the n-gram logistic regression once, then time predict_proba on `valid`."""
    started = time.perf_counter()
    pipeline = fit_ngram(train)
    fit_seconds = time.perf_counter() - started
    prob_female = pipeline.predict_proba(valid.names)[:, 0]  # also the warm-up
    timing = measure(lambda: pipeline.predict_proba(valid.names), repeats, warmup=0)
    classifier = pipeline[-1]
    return {
        "kind": "peer",
        "model": "char n-gram logistic regression",
        "parameters": int(classifier.coef_.size + classifier.intercept_.size),
        "weights": "trained",
        "accuracy": float(((prob_female < 0.5) == valid.labels).mean()),
        "device": "cpu",
        "train_names": len(train),
        "fit_s": fit_seconds,
        "names": len(valid),
        **timing.rates(len(valid), "names_per_s"),
    }


def last_letter_row(valid: LabelledNames, repeats: int) -> dict:
    """Time the rule "ends in a means F" over `valid`, as a NumPy string operation."""
    names = np.array(valid.names)
    female = np.char.endswith(names, "a")
    timing = measure(lambda: np.char.endswith(names, "a"), repeats)
    return {
        "kind": "peer",
        "model": "last letter",
        "parameters": 0,
        "weights": "rule",
        "accuracy": float((female == (valid.labels == 0)).mean()),
        "device": "cpu",
        "names": len(valid),
        **timing.rates(len(valid), "names_per_s"),
    }
