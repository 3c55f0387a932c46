"""nscore: predict the gender associated with a Brazilian first name, at scale.

`score_table` and `score_frame` load onnxruntime on first use, so importing
nscore stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["score_frame", "score_table"]


def __getattr__(name: str):
    if name in __all__:
        from nscore.score import api

        return getattr(api, name)
    raise AttributeError(f"module 'nscore' has no attribute {name!r}")
