"""The models a benchmark run measures: bundled checkpoints, or untrained stand-ins.

A bundled model is read from `nscore/models/NAME.checkpoint.pt`. When that
file is missing, an architecture gets a freshly initialized `NameClassifier`
of the reference sizes, so that speed can still be measured. Its rows carry `weights: untrained`,
and their accuracy means nothing. The `best` model has no
stand-in because its sizes come from its checkpoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from benchmarks.recipes import FAST
from nscore.data import LABELS, SPLIT_SEED
from nscore.export.onnx_export import ExportResult, build_metadata, export_model
from nscore.model import ARCHITECTURES, ModelConfig, NameClassifier, count_parameters
from nscore.text import NORMALIZATION, VOCAB
from nscore.train import TrainConfig

log = logging.getLogger("benchmarks")
MODELS_DIR = Path(__file__).resolve().parent.parent / "nscore" / "models"
REFERENCE_BATCH_SIZE = TrainConfig().batch_size
SHIPPED_BATCH_SIZE = FAST["batch_size"]


@dataclass
class Subject:
    """One model under test and the checkpoint fields that describe it."""

    name: str
    model: NameClassifier
    stored: dict
    trained: bool
    accuracy: float | None = None
    accuracy_names: int = 0
    reference_logits: np.ndarray | None = field(default=None, repr=False)
    export: ExportResult | None = field(default=None, repr=False)

    @property
    def arch(self) -> str:
        return self.model.config.arch

    @property
    def parameters(self) -> int:
        return count_parameters(self.model)

    @property
    def train_batch_sizes(self) -> tuple[int, ...]:
        """Return the reference batch size and the batch size of the model's recipe."""
        recipe = self.stored["train_config"].get("batch_size", SHIPPED_BATCH_SIZE)
        return tuple(dict.fromkeys((REFERENCE_BATCH_SIZE, recipe)))

    def describe(self) -> dict:
        """Return the columns that every row about this model carries."""
        return {
            "model": self.name,
            "arch": self.arch,
            "hidden_size": self.model.config.hidden_size,
            "parameters": self.parameters,
            "weights": "trained" if self.trained else "untrained",
            "data_rule": self.stored["data_rule"],
            "accuracy": self.accuracy,
            "accuracy_names": self.accuracy_names,
        }


def untrained_fields(config: ModelConfig) -> dict:
    """Build the checkpoint fields that export metadata needs, for an untrained model."""
    train_config = TrainConfig(model=config, **FAST)
    return {
        "model_config": config.to_dict(),
        "train_config": train_config.to_dict(),
        "vocab": list(VOCAB),
        "labels": list(LABELS),
        "normalization": NORMALIZATION,
        "data_rule": "census:exclusive",
        "split_seed": SPLIT_SEED,
        "temperature": 1.0,
        "metrics": {},
    }


def load_subject(name: str, models_dir: Path = MODELS_DIR) -> Subject | None:
    """Load a bundled checkpoint, or build an untrained stand-in; None for a missing `best`."""
    from nscore.train import load_checkpoint

    checkpoint = models_dir / f"{name}.checkpoint.pt"
    if checkpoint.is_file():
        model, stored = load_checkpoint(checkpoint)
        return Subject(name, model, stored, trained=True)
    if name not in ARCHITECTURES:
        log.warning("checkpoint %s not found: skipping model %r", checkpoint, name)
        return None
    log.warning("checkpoint %s not found: measuring an untrained %s", checkpoint, name)
    torch.manual_seed(0)
    config = ModelConfig(arch=name)
    return Subject(name, NameClassifier(config).eval(), untrained_fields(config), False)


def measure_reference(subject: Subject, names: list[str]) -> None:
    """Store eager CPU logits for the scored names, the parity reference of each row."""
    from nscore.train import predict_logits

    device = torch.device("cpu")
    subject.reference_logits = predict_logits(subject.model, names, device)


def measure_accuracy(subject: Subject, count: int) -> None:
    """Store the accuracy on the model's own validation split (its first `count`).

    Each model is scored on the split of the data rule it was trained with,
    because another rule's validation names may be among its training names.
    """
    from nscore.evaluate import validation_split
    from nscore.train import predict_logits

    valid = validation_split(subject.stored["data_rule"], subject.stored["split_seed"])
    names, labels = valid.names[: count or None], valid.labels[: count or None]
    logits = predict_logits(subject.model, names, torch.device("cpu"))
    subject.accuracy = float((logits.argmax(1) == labels).mean())
    subject.accuracy_names = len(names)


def export_row(subject: Subject, out_dir: Path) -> dict:
    """Export the model to ONNX and TorchScript in `out_dir`, verify both, time each step."""
    metadata = build_metadata(subject.model, subject.stored)
    subject.export = export_model(subject.model, metadata, out_dir / subject.name)
    seconds = subject.export.seconds
    return {
        "kind": "export",
        **subject.describe(),
        "onnx_write_s": seconds["onnx"],
        "torchscript_write_s": seconds["torchscript"],
        "verify_s": seconds["verify"],
        "total_s": sum(seconds.values()),
        "max_abs_diff": max(subject.export.max_abs_diff.values()),
    }
