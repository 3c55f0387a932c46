"""Train the four reference architectures with the reference recipe, packed.

Recipe: embedding 25, hidden 50, 2 layers, dropout 0.3, Adam 3e-4, batch 32,
30 epochs, best valid loss, exclusive-rule census split (seed 271828). The
last-letter and n-gram baselines run on the same split. Writes one JSON file
that `benchmarks/render_results.py` turns into docs/results.md.

    python -m benchmarks.reference --out benchmarks/results/reference.json

Expect about 45 minutes on one core of a 2-core CPU machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
from pathlib import Path

import torch

from benchmarks.baselines import last_letter, ngram_logistic
from benchmarks.hardware import describe_hardware
from nscore.model import ARCHITECTURES, ModelConfig
from nscore.train import TrainConfig, train
from nscore.train.loop import load_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/reference.json")
    )
    parser.add_argument("--runs", type=Path, default=Path("runs/reference"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--arch", nargs="*", default=list(ARCHITECTURES))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")

    config = TrainConfig(epochs=args.epochs, threads=args.threads)
    train_data, valid = load_data(config)
    results = {
        "command": " ".join(["python -m benchmarks.reference", *sys.argv[1:]]),
        "hardware": describe_hardware(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "baselines": [
            last_letter(train_data, valid),
            ngram_logistic(train_data, valid),
        ],
        "models": {},
    }
    for arch in args.arch:
        run_config = TrainConfig(
            model=ModelConfig(arch=arch), epochs=args.epochs, threads=args.threads
        )
        results["models"][arch] = train(run_config, args.runs / arch)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
