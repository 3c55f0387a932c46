"""Scoring with onnxruntime: needs only onnxruntime, pyarrow, numpy, click and tqdm."""

from nscore.score.api import score_frame, score_table
from nscore.score.engine import CONTRACT_COLUMNS, Scorer
from nscore.score.model import BUNDLED, OnnxModel

__all__ = [
    "BUNDLED",
    "CONTRACT_COLUMNS",
    "OnnxModel",
    "Scorer",
    "score_frame",
    "score_table",
]
