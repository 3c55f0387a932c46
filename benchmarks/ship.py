"""Export trained checkpoints into nscore/models, with a model card each.

    python -m benchmarks.ship --model rnn=runs/recipes/rnn-fast --model best=runs/recipes/bigru-h128

Each NAME=RUN_DIR exports RUN_DIR/checkpoint.pt to nscore/models/NAME.onnx and
NAME.pt (TorchScript), copies the checkpoint to NAME.checkpoint.pt and writes
NAME.card.json and NAME.card.md with the validation metrics, the training
command, the data rule, the git revision and the SHA-256 of each file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.hardware import describe_hardware
from nscore.export.onnx_export import build_metadata, export_model
from nscore.train import load_checkpoint

MODELS_DIR = Path(__file__).resolve().parents[1] / "nscore" / "models"


def git_revision() -> str:
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "nscore"], capture_output=True, text=True
    )
    return revision + ("-dirty" if dirty.stdout.strip() else "")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def training_command(run_dir: Path) -> str:
    record = Path("benchmarks/results/recipes") / f"{run_dir.name}.json"
    if record.is_file():
        return json.loads(record.read_text())["command"]
    return f"(checkpoint from {run_dir})"


def card_markdown(card: dict) -> str:
    metrics = card["metrics"]
    lines = [
        f"# nscore model `{card['name']}` ({card['model_id']})",
        "",
        (
            f"- architecture: {card['arch']}, {metrics['parameters']:,} parameters, config "
            f"`{json.dumps(card['model_config'])}`"
        ),
        (
            f"- data: {card['data_rule']}, split seed {card['split_seed']}, "
            f"{metrics['train_names']:,} training names"
        ),
        (
            f"- validation: accuracy {metrics['accuracy']:.2%}, population-weighted "
            f"{metrics['weighted_accuracy']:.2%}, log loss {metrics['log_loss']:.4f}, "
            f"ECE {metrics['ece']:.4f} (before temperature scaling {metrics['uncalibrated_ece']:.4f})"
        ),
        f"- temperature: {card['temperature']:.4f}",
        f"- trained with: `{card['training_command']}` on {card['hardware']}",
        f"- git revision: {card['git_revision']}",
        "",
        "| file | SHA-256 |",
        "|---|---|",
        *(f"| {name} | `{digest}` |" for name, digest in card["sha256"].items()),
        "",
    ]
    return "\n".join(lines)


def ship(name: str, run_dir: Path, revision: str) -> dict:
    checkpoint = run_dir / "checkpoint.pt"
    model, stored = load_checkpoint(checkpoint)
    metadata = build_metadata(model, stored)
    with tempfile.TemporaryDirectory() as tmp:
        result = export_model(model, metadata, Path(tmp))
        shutil.copy(result.onnx_path, MODELS_DIR / f"{name}.onnx")
        shutil.copy(result.torchscript_path, MODELS_DIR / f"{name}.pt")
    shutil.copy(checkpoint, MODELS_DIR / f"{name}.checkpoint.pt")
    files = [f"{name}.onnx", f"{name}.pt", f"{name}.checkpoint.pt"]
    card = {
        "name": name,
        "model_id": metadata["model_id"],
        "arch": metadata["arch"],
        "model_config": stored["model_config"],
        "train_config": stored["train_config"],
        "data_rule": stored["data_rule"],
        "split_seed": stored["split_seed"],
        "temperature": stored["temperature"],
        "metrics": stored["metrics"],
        "export_max_abs_diff": result.max_abs_diff,
        "training_command": training_command(run_dir),
        "hardware": describe_hardware(),
        "git_revision": revision,
        "sha256": {f: sha256(MODELS_DIR / f) for f in files},
    }
    (MODELS_DIR / f"{name}.card.json").write_text(json.dumps(card, indent=2) + "\n")
    (MODELS_DIR / f"{name}.card.md").write_text(card_markdown(card))
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", action="append", required=True, metavar="NAME=RUN_DIR"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    MODELS_DIR.mkdir(exist_ok=True)
    revision = git_revision()
    for spec in args.model:
        name, _, run_dir = spec.partition("=")
        card = ship(name, Path(run_dir), revision)
        print(
            f"{name}: {card['model_id']} accuracy {card['metrics']['accuracy']:.2%}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
