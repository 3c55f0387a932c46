"""CUDA paths; skipped on machines without a CUDA GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from nscore.data import census_names
from nscore.model import ModelConfig, NameClassifier
from nscore.score.model import OnnxModel, cuda_driver_present
from nscore.text import encode
from nscore.train.loop import resolve_device

needs_torch_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="torch sees no CUDA GPU"
)
needs_ort_cuda = pytest.mark.skipif(
    not cuda_driver_present(), reason="no NVIDIA driver library"
)


@pytest.mark.gpu
@needs_torch_cuda
def test_auto_device_picks_cuda() -> None:
    assert resolve_device("auto").type == "cuda"


@pytest.mark.gpu
@needs_torch_cuda
def test_cuda_logits_match_cpu() -> None:
    torch.manual_seed(0)
    model = NameClassifier(ModelConfig(arch="bigru")).eval()
    tokens, lengths = map(torch.from_numpy, encode(census_names().names[:4096]))
    with torch.no_grad():
        cpu = model(tokens, lengths)
        cuda = model.cuda()(tokens.cuda(), lengths.cuda()).cpu()
    assert (cpu - cuda).abs().max().item() < 1e-4


@pytest.mark.gpu
@needs_ort_cuda
def test_onnxruntime_cuda_matches_cpu(tiny_model: Path) -> None:
    names = pa.array(census_names().names[:20_000])
    on_cuda = OnnxModel(tiny_model, provider="cuda")
    assert on_cuda.provider == "CUDAExecutionProvider"
    cpu = OnnxModel(tiny_model, provider="cpu").prob_female(names)
    assert np.abs(on_cuda.prob_female(names) - cpu).max() < 1e-4


def test_auto_provider_without_gpu_runs_on_cpu(tiny_model: Path) -> None:
    if cuda_driver_present():
        pytest.skip("this machine has an NVIDIA driver")
    assert OnnxModel(tiny_model, provider="auto").provider == "CPUExecutionProvider"
