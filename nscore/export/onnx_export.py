"""Write ARCH.onnx and ARCH.pt from a checkpoint and verify them."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

import nscore
from nscore.data import census_names
from nscore.model import NameClassifier
from nscore.text import encode
from nscore.train.loop import load_checkpoint

log = logging.getLogger("nscore.export")
ONNX_FORMAT = "nscore-onnx/1"
OPSET = 17
TOLERANCE = 1e-4
VERIFY_NAMES = 600
VERIFY_BATCH_SIZES = (1, 7, 256, VERIFY_NAMES)
SINGLE_NAME_CALLS = 100


class ExportVerificationError(RuntimeError):
    """An exported model's logits differ from PyTorch's by more than the tolerance."""


@dataclass(frozen=True)
class ExportResult:
    onnx_path: Path
    torchscript_path: Path
    max_abs_diff: dict[str, float]
    seconds: dict[str, float]


def weights_sha256(model: torch.nn.Module) -> str:
    """Hash the state_dict tensors in key order, so equal weights give equal hashes."""
    digest = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def build_metadata(model: NameClassifier, stored: dict) -> dict[str, str]:
    """Collect the strings stored in the ONNX metadata_props and the TorchScript extra file."""
    sha = weights_sha256(model)
    arch = stored["model_config"]["arch"]
    metrics = stored.get("metrics", {})
    summary = {
        k: metrics[k] for k in ("accuracy", "weighted_accuracy", "ece") if k in metrics
    }
    return {
        "nscore_format": ONNX_FORMAT,
        "nscore_version": nscore.__version__,
        "model_id": f"{arch}-{sha[:12]}",
        "arch": arch,
        "model_config": json.dumps(stored["model_config"]),
        "vocab": json.dumps(stored["vocab"]),
        "labels": json.dumps(stored["labels"]),
        "normalization": stored["normalization"],
        "data_rule": stored["data_rule"],
        "split_seed": str(stored["split_seed"]),
        "temperature": repr(float(stored["temperature"])),
        "target": stored["train_config"].get("target", "label"),
        "weights_sha256": sha,
        "metrics": json.dumps(summary),
    }


def verification_names(count: int = VERIFY_NAMES) -> list[str]:
    """Return real census names of every length in the census, in a fixed shuffled order."""
    names = census_names("all").names
    order = np.random.default_rng(0).permutation(len(names))
    by_length: dict[int, list[str]] = {}
    for i in order:
        by_length.setdefault(len(names[i]), []).append(names[i])
    per_length = max(count // len(by_length), 1)
    picked = [n for group in by_length.values() for n in group[:per_length]]
    return [picked[i] for i in np.random.default_rng(1).permutation(len(picked))]


def max_abs_diff(run, reference: np.ndarray, names: list[str]) -> float:
    """Run `run(tokens, lengths)` over mixed-length padded batches and compare with `reference`."""
    worst = 0.0
    for batch_size in VERIFY_BATCH_SIZES:
        # One call per name is slow under TorchScript; a shuffled hundred covers every length.
        count = min(len(names), SINGLE_NAME_CALLS) if batch_size == 1 else len(names)
        for start in range(0, count, batch_size):
            tokens, lengths = encode(names[start : start + batch_size])
            logits = run(tokens, lengths)
            worst = max(
                worst,
                float(np.abs(logits - reference[start : start + batch_size]).max()),
            )
    return worst


def export_model(
    model: NameClassifier, metadata: dict[str, str], out_dir: Path
) -> ExportResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    arch = metadata["arch"]
    onnx_path, ts_path = out_dir / f"{arch}.onnx", out_dir / f"{arch}.pt"
    example = tuple(torch.from_numpy(a) for a in encode(["maria", "jose", "ana"]))
    seconds = {}

    started = time.perf_counter()
    with warnings.catch_warnings():
        # The legacy exporter warns that it is deprecated and that tracing a
        # packed sequence converts lengths to a tensor; both are expected here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example,
            str(onnx_path),
            dynamo=False,
            opset_version=OPSET,
            input_names=["tokens", "lengths"],
            output_names=["logits"],
            dynamic_axes={
                "tokens": {0: "batch", 1: "sequence"},
                "lengths": {0: "batch"},
                "logits": {0: "batch"},
            },
        )
    proto = onnx.load(str(onnx_path))
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(onnx_path))
    seconds["onnx"] = time.perf_counter() - started

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, example)
    torch.jit.save(
        traced, str(ts_path), _extra_files={"nscore.json": json.dumps(metadata)}
    )
    seconds["torchscript"] = time.perf_counter() - started

    started = time.perf_counter()
    diffs = verify(model, onnx_path, ts_path)
    seconds["verify"] = time.perf_counter() - started
    return ExportResult(onnx_path, ts_path, diffs, seconds)


def torch_runner(module: torch.nn.Module):
    """Wrap an eager or TorchScript module to take and return NumPy arrays."""

    def run(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return module(torch.from_numpy(tokens), torch.from_numpy(lengths)).numpy()

    return run


def verify(model: NameClassifier, onnx_path: Path, ts_path: Path) -> dict[str, float]:
    """Compare ONNX and TorchScript logits with eager PyTorch on real names.

    Each name is also scored alone, so a padded row that differs from the same
    name on its own fails the check as well.
    """
    names = verification_names()
    with torch.no_grad():
        alone = np.concatenate(
            [model(*map(torch.from_numpy, encode([n]))).numpy() for n in names]
        )
        traced = torch.jit.load(str(ts_path))
        session = ort.InferenceSession(
            str(onnx_path), providers=["CPUExecutionProvider"]
        )
        diffs = {
            "pytorch_padded": max_abs_diff(torch_runner(model), alone, names),
            "torchscript": max_abs_diff(torch_runner(traced), alone, names),
            "onnxruntime": max_abs_diff(
                lambda t, l: session.run(None, {"tokens": t, "lengths": l})[0],
                alone,
                names,
            ),
        }
    for backend, diff in diffs.items():
        status = "ok" if diff <= TOLERANCE else "FAILED"
        log.info(
            "verify %-15s max |diff| %.2e (tolerance %.0e) %s",
            backend,
            diff,
            TOLERANCE,
            status,
        )
    failed = {k: v for k, v in diffs.items() if v > TOLERANCE}
    if failed:
        raise ExportVerificationError(
            f"exported logits differ from PyTorch by more than {TOLERANCE:g}: "
            + ", ".join(f"{k} {v:.2e}" for k, v in failed.items())
        )
    return diffs


def export_checkpoint(checkpoint: Path, out_dir: Path) -> ExportResult:
    """Export a training checkpoint to `out_dir`/ARCH.onnx and ARCH.pt and verify both."""
    model, stored = load_checkpoint(checkpoint)
    return export_model(model, build_metadata(model, stored), out_dir)
