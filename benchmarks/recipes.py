"""Train the recipe variants compared in docs/results.md, one JSON file each.

    python -m benchmarks.recipes --variant bigru-h128 [--variant ...]

Each variant writes benchmarks/results/recipes/VARIANT.json (its config and
valid metrics) and keeps its checkpoint under runs/recipes/VARIANT. The
variants named in SHIPPED are the ones `benchmarks/ship.py` packages.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from benchmarks.hardware import describe_hardware
from nscore.model import ModelConfig
from nscore.train import TrainConfig, train

FAST = {
    "batch_size": 256,
    "lr": 3e-3,
    "schedule": "onecycle",
    "calibration_fraction": 0.05,
}
VARIANTS: dict[str, TrainConfig] = {
    # the reference sizes with the fast recipe, one per architecture
    **{
        f"{arch}-fast": TrainConfig(model=ModelConfig(arch=arch), epochs=15, **FAST)
        for arch in ("rnn", "lstm", "bilstm", "bigru")
    },
    "bigru-h128": TrainConfig(
        model=ModelConfig(arch="bigru", embedding_dim=64, hidden_size=128),
        epochs=20,
        weight_decay=1e-4,
        **FAST,
    ),
    "bigru-h128-regularized": TrainConfig(
        model=ModelConfig(arch="bigru", embedding_dim=64, hidden_size=128, dropout=0.5),
        epochs=20,
        weight_decay=0.05,
        label_smoothing=0.05,
        **FAST,
    ),
    "bigru-h128-regularized-30": TrainConfig(
        model=ModelConfig(arch="bigru", embedding_dim=64, hidden_size=128, dropout=0.5),
        epochs=30,
        weight_decay=0.05,
        label_smoothing=0.05,
        **FAST,
    ),
    "bigru-h192-regularized": TrainConfig(
        model=ModelConfig(arch="bigru", embedding_dim=64, hidden_size=192, dropout=0.5),
        epochs=20,
        weight_decay=0.05,
        label_smoothing=0.05,
        **FAST,
    ),
    "bigru-share": TrainConfig(
        model=ModelConfig(arch="bigru"), epochs=15, target="share", rule="all", **FAST
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variant", action="append", choices=list(VARIANTS), required=True
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/recipes"))
    parser.add_argument("--runs", type=Path, default=Path("runs/recipes"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.variant:
        config = VARIANTS[name]
        config.threads = args.threads
        metrics = train(config, args.runs / name)
        record = {
            "variant": name,
            "command": f"python -m benchmarks.recipes --variant {name} --threads {args.threads}",
            "hardware": describe_hardware(),
            "config": config.to_dict(),
            "metrics": metrics,
        }
        (args.out / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
