from __future__ import annotations

import numpy as np
import pytest
import torch

from nscore.data import census_names, split
from nscore.model import ARCHITECTURES, ModelConfig, NameClassifier, count_parameters
from nscore.text import encode

REFERENCE_PARAMETERS = {
    "rnn": 10_977,
    "lstm": 37_827,
    "bilstm": 94_877,
    "bigru": 71_977,
}


@pytest.mark.parametrize("arch", list(REFERENCE_PARAMETERS))
def test_parameter_count_matches_reference(arch: str) -> None:
    model = NameClassifier(ModelConfig(arch=arch))
    assert count_parameters(model) == REFERENCE_PARAMETERS[arch]


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_padded_batch_equals_names_alone(arch: str) -> None:
    torch.manual_seed(0)
    model = NameClassifier(ModelConfig(arch=arch)).eval()
    names = ["ana", "maria", "jose", "bartolomeu", "li", "conceicao"]
    with torch.no_grad():
        batch = model(*map(torch.from_numpy, encode(names))).numpy()
        alone = np.concatenate(
            [model(*map(torch.from_numpy, encode([n]))).numpy() for n in names]
        )
    assert np.abs(batch - alone).max() < 1e-6


def test_padding_does_not_reach_state() -> None:
    torch.manual_seed(0)
    model = NameClassifier(ModelConfig(arch="bigru")).eval()
    tokens, lengths = encode(["ana", "bartolomeu"])
    garbage = tokens.copy()
    garbage[0, 3:] = 5  # letters where the padding of "ana" was
    with torch.no_grad():
        clean = model(torch.from_numpy(tokens), torch.from_numpy(lengths))
        dirty = model(torch.from_numpy(garbage), torch.from_numpy(lengths))
    assert torch.equal(clean, dirty)


def test_training_steps_lower_loss() -> None:
    torch.manual_seed(0)
    train, _ = split(census_names())
    names, labels = train.names[:4096], torch.from_numpy(train.labels[:4096])
    tokens, lengths = map(torch.from_numpy, encode(names))
    model = NameClassifier(ModelConfig(arch="lstm"))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in range(300):
        rows = torch.randint(0, len(names), (64,))
        loss = torch.nn.functional.cross_entropy(
            model(tokens[rows], lengths[rows]), labels[rows]
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-50:]) < np.mean(losses[:50]) - 0.1


def test_census_split_sizes() -> None:
    train, valid = split(census_names())
    assert (len(train), len(valid)) == (72_128, 18_032)
    assert not set(train.names) & set(valid.names)


@pytest.mark.parametrize(
    ("rule", "min_share", "female", "male"),
    [("exclusive", 0.95, 49_857, 40_303), ("min-share", 0.95, 51_987, 42_177)],
)
def test_census_rules(rule: str, min_share: float, female: int, male: int) -> None:
    data = census_names(rule, min_share)
    assert int((data.labels == 0).sum()) == female
    assert int((data.labels == 1).sum()) == male
