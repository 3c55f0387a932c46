"""Shared fixtures: one tiny model trained and exported once per test session."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

TINY_TRAIN_NAMES = 3000


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """Train a small BiGRU for two epochs on a few thousand census names."""
    from nscore.model import ModelConfig
    from nscore.train import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny-run")
    config = TrainConfig(
        model=ModelConfig(arch="bigru", embedding_dim=16, hidden_size=24),
        epochs=2,
        batch_size=64,
        lr=3e-3,
        max_train_names=TINY_TRAIN_NAMES,
        calibration_fraction=0.05,
        threads=1,
        device="cpu",
    )
    logging.getLogger("nscore").setLevel(logging.WARNING)
    train(config, out)
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_run: Path) -> Path:
    """Return the path of the tiny model exported to ONNX (and TorchScript beside it)."""
    from nscore.export import export_checkpoint

    return export_checkpoint(tiny_run / "checkpoint.pt", tiny_run / "export").onnx_path
