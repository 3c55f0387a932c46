"""Character-level recurrent classifiers over packed sequences.

The model reads right-padded token ids and their lengths and returns logits
for (F, M). Softmax, temperature and thresholds live outside it, so every
export has a single `logits` output.

    tokens (batch=3, seq=5), right padded      lengths
    m a r i a                                  5
    j o s e <pad>                              4
    a n a <pad> <pad>                          3

`pack_padded_sequence` hands the recurrent layers only the real steps, so
the forward state is read after each name's last letter and the backward
direction starts on that letter, never on padding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from nscore.text import PAD_ID, VOCAB

ARCHITECTURES = {
    # name: (cell, bidirectional)
    "rnn": (nn.RNN, False),
    "lstm": (nn.LSTM, False),
    "bilstm": (nn.LSTM, True),
    "bigru": (nn.GRU, True),
}


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of one architecture; the defaults are the reference values."""

    arch: str = "bigru"
    embedding_dim: int = 25
    hidden_size: int = 50
    num_layers: int = 2
    dropout: float = 0.3
    vocab_size: int = len(VOCAB)

    def to_dict(self) -> dict:
        return asdict(self)


class NameClassifier(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.arch not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {config.arch!r}: use one of {', '.join(ARCHITECTURES)}"
            )
        cell, bidirectional = ARCHITECTURES[config.arch]
        self.config = config
        self.directions = 2 if bidirectional else 1
        self.embedding = nn.Embedding(
            config.vocab_size, config.embedding_dim, padding_idx=PAD_ID
        )
        self.embedding_dropout = nn.Dropout(config.dropout)
        self.rnn = cell(
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            batch_first=True,
        )
        features = config.hidden_size * self.directions
        self.head = nn.Sequential(
            nn.Linear(features, config.hidden_size // 2),
            nn.Dropout(config.dropout),
            nn.ReLU(),
            nn.Linear(config.hidden_size // 2, len(("F", "M"))),
        )

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Map tokens (batch, seq) int64 and lengths (batch,) int64 to logits (batch, 2)."""
        # Sorting here, with tensor ops, keeps the batch axis dynamic in both
        # exports: enforce_sorted=False would freeze its permutation at trace time.
        sorted_lengths, order = torch.sort(lengths, descending=True)
        embedded = self.embedding_dropout(self.embedding(tokens.index_select(0, order)))
        # pack_padded_sequence takes lengths on the CPU only, even for CUDA inputs.
        packed = pack_padded_sequence(embedded, sorted_lengths.cpu(), batch_first=True)
        _, state = self.rnn(packed)
        hidden = (
            state[0] if isinstance(state, tuple) else state
        )  # (layers * dirs, batch, hidden)
        last_layer = hidden[-self.directions :]  # (dirs, batch, hidden)
        features = torch.cat(
            list(last_layer.unbind(0)), dim=1
        )  # (batch, dirs * hidden)
        logits = self.head(features)
        return logits.index_select(0, torch.argsort(order))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
