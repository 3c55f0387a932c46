"""Training of the recurrent name classifiers (needs the `train` extra: torch, scikit-learn)."""

from nscore.train.loop import (
    TrainConfig,
    load_checkpoint,
    predict_logits,
    softmax_female,
    train,
)

__all__ = [
    "TrainConfig",
    "load_checkpoint",
    "predict_logits",
    "softmax_female",
    "train",
]
