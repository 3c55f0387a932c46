"""Training loop: Adam, cross-entropy over packed batches, best checkpoint by valid loss.

One pipe-separated line per epoch goes to stderr. The checkpoint stores a
`state_dict` and a plain config, never a pickled module, and loads with
`torch.load(weights_only=True)`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nscore.data import (
    LABELS,
    SPLIT_SEED,
    LabelledNames,
    census_names,
    read_labelled_file,
    split,
)
from nscore.model import ModelConfig, NameClassifier, count_parameters
from nscore.text import NORMALIZATION, VOCAB, encode
from nscore.train.metrics import classification_metrics, format_report

log = logging.getLogger("nscore.train")
CHECKPOINT_FORMAT = "nscore-checkpoint/1"
EVAL_BATCH_SIZE = 8192


@dataclass
class TrainConfig:
    """Everything that decides a training run; stored in the checkpoint."""

    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 30
    batch_size: int = 32
    lr: float = 3e-4
    weight_decay: float = 0.0
    schedule: str = "constant"  # or "onecycle"
    patience: int = (
        0  # epochs without a better valid loss before stopping; 0 keeps going
    )
    target: str = "label"  # or "share": the census female share as a soft target
    label_smoothing: float = 0.0
    rule: str = "exclusive"
    min_share: float = 0.95
    data: str | None = None  # a labelled CSV or Parquet file instead of the census
    name_column: str = "name"
    label_column: str = "gender"
    split_seed: int = SPLIT_SEED
    calibration_fraction: float = 0.0
    seed: int = 0
    device: str = "auto"
    threads: int = 0  # 0 leaves torch's default
    max_train_names: int = 0  # 0 uses every training name; tests use a few thousand

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' requested but torch sees no CUDA GPU: use --device cpu"
        )
    return torch.device(device)


def load_data(config: TrainConfig) -> tuple[LabelledNames, LabelledNames]:
    """Return the (train, valid) split that the config names."""
    if config.data:
        data = read_labelled_file(
            Path(config.data), config.name_column, config.label_column
        )
    else:
        data = census_names(config.rule, config.min_share)
    return split(data, config.split_seed)


def split_calibration(
    train: LabelledNames, fraction: float, seed: int
) -> tuple[LabelledNames, LabelledNames | None]:
    """Hold the last `fraction` of a shuffled training split apart for temperature scaling."""
    if fraction <= 0:
        return train, None
    rest, calibration = split(train, seed + 1, fraction)
    return rest, calibration


def targets_for(data: LabelledNames, target: str) -> torch.Tensor:
    """Return class ids (label) or (F, M) probabilities (share) for cross-entropy."""
    if target == "share":
        share = torch.from_numpy(data.share_female).float()
        return torch.stack([share, 1 - share], dim=1)
    return torch.from_numpy(data.labels)


@torch.no_grad()
def predict_logits(
    model: nn.Module, names: list[str], device: torch.device
) -> np.ndarray:
    """Score names in length-sorted batches and return logits (n, 2) in input order."""
    model.eval()
    tokens, lengths = encode(names)
    order = np.argsort(lengths, kind="stable")
    logits = np.empty((len(names), 2), np.float32)
    for start in range(0, len(names), EVAL_BATCH_SIZE):
        rows = order[start : start + EVAL_BATCH_SIZE]
        width = int(lengths[rows].max())
        batch_tokens = torch.from_numpy(tokens[rows, :width]).to(device)
        batch_lengths = torch.from_numpy(lengths[rows]).to(device)
        logits[rows] = model(batch_tokens, batch_lengths).float().cpu().numpy()
    return logits


def softmax_female(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Return P(F) from (n, 2) logits after dividing by the temperature."""
    scaled = logits / temperature
    return 1.0 / (1.0 + np.exp(scaled[:, 1] - scaled[:, 0]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fit the temperature that minimizes the negative log-likelihood on held-out names."""
    logits_t = torch.from_numpy(logits).double()
    labels_t = torch.from_numpy(labels)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(logits_t / log_t.exp(), labels_t)
        loss.backward()
        return loss

    optimizer.step(closure)
    return log_t.exp().item()


def evaluate_loss(
    model: nn.Module, data: LabelledNames, target: str, device: torch.device
) -> tuple[float, np.ndarray]:
    logits = predict_logits(model, data.names, device)
    loss = nn.functional.cross_entropy(
        torch.from_numpy(logits), targets_for(data, target)
    )
    return float(loss), logits


def train(config: TrainConfig, out_dir: Path) -> dict:
    """Train one model, save `checkpoint.pt` and `metrics.json` in `out_dir`, return the metrics."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device = resolve_device(config.device)

    train_data, valid = load_data(config)
    train_data, calibration = split_calibration(
        train_data, config.calibration_fraction, config.split_seed
    )
    if config.max_train_names:
        train_data = train_data.take(
            np.arange(min(config.max_train_names, len(train_data)))
        )
    model = NameClassifier(config.model).to(device)
    optimizer = (
        torch.optim.AdamW(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        if config.weight_decay
        else torch.optim.Adam(model.parameters(), lr=config.lr)
    )
    steps_per_epoch = math.ceil(len(train_data) / config.batch_size)
    scheduler = None
    if config.schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch
        )
    elif config.schedule != "constant":
        raise ValueError(
            f"unknown schedule {config.schedule!r}: use constant or onecycle"
        )

    tokens, lengths = encode(train_data.names)
    tokens, lengths = torch.from_numpy(tokens), torch.from_numpy(lengths)
    targets = targets_for(train_data, config.target)
    generator = torch.Generator().manual_seed(config.seed)
    log.info(
        "training %s (%s parameters) on %s names, validating on %s, device %s",
        config.model.arch,
        f"{count_parameters(model):,}",
        f"{len(train_data):,}",
        f"{len(valid):,}",
        device,
    )

    best = {"valid_loss": math.inf, "epoch": 0}
    best_state: dict[str, torch.Tensor] = {}
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        epoch_start = time.perf_counter()
        total_loss = 0.0
        for rows in torch.randperm(len(train_data), generator=generator).split(
            config.batch_size
        ):
            batch_lengths = lengths[rows]
            batch_tokens = tokens[rows, : int(batch_lengths.max())].to(device)
            logits = model(batch_tokens, batch_lengths.to(device))
            loss = nn.functional.cross_entropy(
                logits, targets[rows].to(device), label_smoothing=config.label_smoothing
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total_loss += loss.item() * len(rows)
        names_per_s = len(train_data) / (time.perf_counter() - epoch_start)
        valid_loss, valid_logits = evaluate_loss(model, valid, config.target, device)
        valid_acc = float(
            ((valid_logits[:, 1] > valid_logits[:, 0]) == valid.labels).mean()
        )
        log.info(
            "epoch %3d | train loss %.4f | valid loss %.4f | valid acc %.2f%% | %s names/s",
            epoch,
            total_loss / len(train_data),
            valid_loss,
            100 * valid_acc,
            f"{names_per_s:,.0f}",
        )
        if valid_loss < best["valid_loss"]:
            best = {"valid_loss": valid_loss, "epoch": epoch}
            best_state = {
                k: v.detach().cpu().clone() for k, v in model.state_dict().items()
            }
        elif config.patience and epoch - best["epoch"] >= config.patience:
            log.info(
                "stopping early: no better valid loss for %d epochs", config.patience
            )
            break
    train_seconds = time.perf_counter() - started

    model.load_state_dict(best_state)
    temperature = 1.0
    if calibration is not None:
        temperature = fit_temperature(
            predict_logits(model, calibration.names, device), calibration.labels
        )
    valid_logits = predict_logits(model, valid.names, device)
    metrics = classification_metrics(
        valid.labels, softmax_female(valid_logits, temperature), valid.weights
    )
    metrics["uncalibrated_ece"] = classification_metrics(
        valid.labels, softmax_female(valid_logits), valid.weights
    )["ece"]
    metrics.update(
        parameters=count_parameters(model),
        best_epoch=best["epoch"],
        best_valid_loss=best["valid_loss"],
        epochs_run=epoch,
        train_seconds=round(train_seconds, 1),
        train_names=len(train_data),
        temperature=temperature,
        device=str(device),
        torch_threads=torch.get_num_threads(),
    )
    if config.target == "share":
        share_pred = softmax_female(valid_logits, temperature)
        metrics["share_mae"] = float(np.abs(share_pred - valid.share_female).mean())
    save_checkpoint(out_dir / "checkpoint.pt", model, config, metrics, temperature)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(format_report(metrics))
    return metrics


def save_checkpoint(
    path: Path,
    model: NameClassifier,
    config: TrainConfig,
    metrics: dict,
    temperature: float,
) -> None:
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "state_dict": model.state_dict(),
            "model_config": config.model.to_dict(),
            "train_config": config.to_dict(),
            "vocab": list(VOCAB),
            "normalization": NORMALIZATION,
            "labels": list(LABELS),
            "data_rule": data_rule(config),
            "split_seed": config.split_seed,
            "temperature": temperature,
            "metrics": metrics,
        },
        path,
    )


def data_rule(config: TrainConfig) -> str:
    """Describe the training data, for example census:exclusive or census:min-share:0.95."""
    if config.data:
        return f"file:{config.data}"
    if config.rule == "min-share":
        return f"census:min-share:{config.min_share:g}"
    return f"census:{config.rule}"


def load_checkpoint(path: Path) -> tuple[NameClassifier, dict]:
    """Load a checkpoint saved by `train`; return the model in eval mode and the stored fields."""
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError) as error:
        raise ValueError(f"cannot read checkpoint {path}: {error}") from error
    if not isinstance(stored, dict) or stored.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path} is not an nscore checkpoint (expected format {CHECKPOINT_FORMAT})"
        )
    if stored["vocab"] != list(VOCAB) or stored["normalization"] != NORMALIZATION:
        raise ValueError(
            f"checkpoint {path} uses vocabulary/normalization {stored['normalization']!r}, "
            f"this nscore uses {NORMALIZATION!r}: retrain it with this version"
        )
    model = NameClassifier(ModelConfig(**stored["model_config"]))
    model.load_state_dict(stored["state_dict"])
    return model.eval(), stored
