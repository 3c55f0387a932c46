"""The two peers every nscore model is compared with, run on the same split.

- last letter: "ends in a" means F, anything else means M;
- character n-grams (1 to 5, `char_wb`, sublinear TF-IDF) with a logistic
  regression (C=10).
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from nscore.data import LabelledNames
from nscore.train.metrics import classification_metrics


def last_letter(train: LabelledNames, valid: LabelledNames) -> dict:
    prob_female = np.array([1.0 if name.endswith("a") else 0.0 for name in valid.names])
    return {
        "name": "last letter",
        **classification_metrics(valid.labels, prob_female, valid.weights),
    }


def fit_ngram(train: LabelledNames) -> Pipeline:
    pipeline = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), sublinear_tf=True),
        LogisticRegression(C=10, max_iter=2000),
    )
    return pipeline.fit(train.names, train.labels)


def ngram_logistic(train: LabelledNames, valid: LabelledNames) -> dict:
    started = time.perf_counter()
    pipeline = fit_ngram(train)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    prob_female = pipeline.predict_proba(valid.names)[:, 0]
    predict_seconds = time.perf_counter() - started
    return {
        "name": "char n-gram logistic regression",
        "fit_seconds": round(fit_seconds, 2),
        "names_per_s": len(valid) / predict_seconds,
        **classification_metrics(valid.labels, prob_female, valid.weights),
    }
