"""Training throughput: a bounded number of real optimizer steps per batch size.

Each step is the one `nscore.train.loop.train` runs: a random batch of
training names cut to its longest name, a packed forward pass, cross-entropy,
backward and an Adam step. Seconds per epoch are extrapolated from the
measured names/s to the full training split, because whole epochs would take
minutes per configuration.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math

import torch
from torch import nn

from benchmarks.subjects import Subject
from benchmarks.timing import measure
from nscore.data import LabelledNames
from nscore.text import encode


class StepRunner:
    """Run optimizer steps on one model copy, drawing batches from one shuffled pass."""

    def __init__(
        self, subject: Subject, train: LabelledNames, batch_size: int, device: str
    ) -> None:
        self.device = torch.device(device)
        self.model = copy.deepcopy(subject.model).to(self.device).train()
        lr = subject.stored["train_config"].get("lr", 3e-4)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        tokens, lengths = encode(train.names)
        self.tokens, self.lengths = torch.from_numpy(tokens), torch.from_numpy(lengths)
        self.targets = torch.from_numpy(train.labels)
        generator = torch.Generator().manual_seed(0)
        order = torch.randperm(len(train), generator=generator)
        self.batches = itertools.cycle(order.split(batch_size))

    def step(self) -> None:
        rows = next(self.batches)
        batch_lengths = self.lengths[rows]
        batch_tokens = self.tokens[rows, : int(batch_lengths.max())].to(self.device)
        logits = self.model(batch_tokens, batch_lengths.to(self.device))
        loss = nn.functional.cross_entropy(logits, self.targets[rows].to(self.device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        loss.item()  # the training loop reads the loss every step, which syncs a GPU

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize()


def training_rows(
    subject: Subject,
    train: LabelledNames,
    names_per_repeat: int,
    repeats: int,
    devices: tuple[str, ...],
) -> list[dict]:
    """Measure training names/s for each device and each of the model's batch sizes."""
    rows = []
    for device, batch_size in itertools.product(devices, subject.train_batch_sizes):
        steps = max(math.ceil(names_per_repeat / batch_size), 1)
        runner = StepRunner(subject, train, batch_size, device)
        runner.run(min(steps, 5))  # warm-up: allocator, Adam state, thread pool
        timing = measure(functools.partial(runner.run, steps), repeats, warmup=0)
        rates = timing.rates(steps * batch_size, "names_per_s")
        rows.append(
            {
                "kind": "training",
                **subject.describe(),
                "device": device,
                "threads": torch.get_num_threads(),
                "batch_size": batch_size,
                "steps": steps,
                **rates,
                "epoch_names": len(train),
                "seconds_per_epoch": len(train) / rates["names_per_s"],
            }
        )
    return rows
