"""The models shipped inside the package."""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files
from pathlib import Path

import pyarrow as pa
import pytest

from nscore.data import census_names, split
from nscore.score.model import BUNDLED, OnnxModel
from nscore.train.metrics import classification_metrics

MODELS = Path(str(files("nscore") / "models"))
BEST_MIN_ACCURACY = 0.975


@pytest.fixture(scope="module")
def validation():
    return split(census_names("exclusive"))[1]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model_carries_metadata(name: str) -> None:
    model = OnnxModel(name, provider="cpu", threads=1)
    meta = model.info.metadata
    card = json.loads((MODELS / f"{name}.card.json").read_text())
    assert meta["model_id"] == card["model_id"]
    assert meta["data_rule"] == "census:exclusive"
    assert meta["split_seed"] == "271828"
    assert json.loads(meta["labels"]) == ["F", "M"]
    assert model.info.temperature > 0
    for file_name, digest in card["sha256"].items():
        assert hashlib.sha256((MODELS / file_name).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model_matches_its_card(name: str, validation) -> None:
    model = OnnxModel(name, provider="cpu")
    probs = model.prob_female(pa.array(validation.names, pa.string()))
    metrics = classification_metrics(validation.labels, probs, validation.weights)
    card = json.loads((MODELS / f"{name}.card.json").read_text())
    assert metrics["accuracy"] == pytest.approx(card["metrics"]["accuracy"], abs=2e-4)


def test_best_model_accuracy(validation) -> None:
    probs = OnnxModel("best", provider="cpu").prob_female(
        pa.array(validation.names, pa.string())
    )
    metrics = classification_metrics(validation.labels, probs, validation.weights)
    assert metrics["accuracy"] >= BEST_MIN_ACCURACY


def test_bundled_artifacts_are_small() -> None:
    total = sum(p.stat().st_size for p in MODELS.iterdir() if p.is_file())
    assert total < 20 * 2**20
