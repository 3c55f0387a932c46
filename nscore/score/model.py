"""Load an nscore ONNX model and run it on distinct first names with onnxruntime.

Names are grouped by exact length, so a bucket has no padding and every row
of it reads only real letters:

    length 4: [j o s e] [l u i s] [a n n a] ...   lengths = 4, 4, 4, ...
    length 5: [m a r i a] [j o a n a] ...         lengths = 5, 5, ...
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.resources
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pyarrow as pa

from nscore.errors import ModelError
from nscore.text import NORMALIZATION, VOCAB, encode

log = logging.getLogger("nscore.score")
ONNX_FORMAT = "nscore-onnx/1"
BUNDLED = ("best", "bigru", "bilstm", "lstm", "rnn")
DEFAULT_MODEL = "best"
# Names per onnxruntime call. On 2 CPU cores, buckets of 1,024 to 65,536 names
# scored at about the same rate (BENCHMARKS.md), so the CPU size is kept small
# to bound memory. A GPU needs large batches to fill it.
CPU_BUCKET_SIZE = 4096
CUDA_BUCKET_SIZE = 65536
DEFAULT_BUCKET_SIZE = None  # CPU_BUCKET_SIZE or CUDA_BUCKET_SIZE, by provider
PROVIDERS = ("auto", "cpu", "cuda")
REQUIRED_METADATA = (
    "model_id",
    "arch",
    "vocab",
    "labels",
    "normalization",
    "temperature",
)
_ORT_STATE = ort.capi.onnxruntime_pybind11_state
_LOAD_ERRORS = (
    _ORT_STATE.Fail,
    _ORT_STATE.InvalidArgument,  # raised for a 0-byte file
    _ORT_STATE.InvalidGraph,
    _ORT_STATE.InvalidProtobuf,
    _ORT_STATE.NoSuchFile,
    _ORT_STATE.NotImplemented,  # for example an operator without a CPU kernel
)


def resolve_model_path(model: str | os.PathLike) -> Path:
    """Return the file for a bundled model name or a path to an `.onnx` file."""
    if str(model) in BUNDLED:
        path = Path(
            str(importlib.resources.files("nscore") / "models" / f"{model}.onnx")
        )
        if not path.is_file():
            raise ModelError(
                f"bundled model {model!r} is missing from this installation ({path})"
            )
        return path
    path = Path(model)
    if not path.exists():
        raise ModelError(
            f"model {str(model)!r} not found: pass a path to an .onnx file or one of the "
            f"bundled models {', '.join(BUNDLED)}"
        )
    if path.is_dir():
        raise ModelError(
            f"model {str(path)!r} is a directory: pass the .onnx file inside it"
        )
    return path


def cuda_driver_present() -> bool:
    """Tell whether the NVIDIA driver library loads, without asking onnxruntime.

    Asking onnxruntime for CUDA on a machine without a GPU prints a screen of
    errors; loading the driver library first avoids that.
    """
    name = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def session_options(threads: int, spinning: bool) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Spinning threads burn the cores that the reader and writer threads need.
    options.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if spinning else "0"
    )
    options.log_severity_level = 3
    return options


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    model_id: str
    sha256: str
    arch: str
    temperature: float
    metadata: dict[str, str]


def read_model_info(
    path: Path, proto_metadata: dict[str, str], inputs: list, outputs: list
) -> ModelInfo:
    """Check that a session's model is an nscore model this version can score with."""
    missing = [k for k in REQUIRED_METADATA if k not in proto_metadata]
    if proto_metadata.get("nscore_format") != ONNX_FORMAT or missing:
        raise ModelError(
            f"{path} is not an nscore model: its metadata lacks "
            f"{', '.join(missing) or 'nscore_format ' + ONNX_FORMAT}; export one with "
            "`nscore export CHECKPOINT --out DIR`"
        )

    input_names = [i.name for i in inputs]
    if input_names != ["tokens", "lengths"] or [o.name for o in outputs] != ["logits"]:
        raise ModelError(
            f"{path} has inputs {input_names} and outputs {[o.name for o in outputs]}; "
            "an nscore model takes tokens and lengths and returns logits"
        )
    input_types = [i.type for i in inputs]
    if input_types != ["tensor(int64)", "tensor(int64)"]:
        raise ModelError(
            f"{path} takes inputs of types {input_types}; an nscore model takes "
            "int64 tokens and lengths, so export it again with `nscore export`"
        )

    output = outputs[0]
    if output.type != "tensor(float)" or len(output.shape) != 2 or output.shape[1] != 2:
        raise ModelError(
            f"{path} returns {output.type} of shape {output.shape}; an nscore model "
            "returns float logits of shape [batch, 2], so export it again with "
            "`nscore export`"
        )
    try:
        vocab = json.loads(proto_metadata["vocab"])
        labels = json.loads(proto_metadata["labels"])
        temperature = float(proto_metadata["temperature"])
    except ValueError as error:
        raise ModelError(
            f"{path} has invalid nscore metadata ({error}): export it again with "
            "`nscore export`"
        ) from error
    if not 0 < temperature < float("inf"):
        raise ModelError(
            f"{path} has temperature {temperature}, which must be a positive number: "
            "export it again with `nscore export`"
        )
    if labels != ["F", "M"]:
        raise ModelError(
            f"{path} has labels {labels}; nscore reads logit 0 as F and 1 as M, "
            'so the metadata must say ["F", "M"]: export it again with `nscore export`'
        )
    if vocab != list(VOCAB):
        raise ModelError(
            f"{path} uses a different vocabulary than this nscore: re-export it"
        )
    if proto_metadata["normalization"] != NORMALIZATION:
        raise ModelError(
            f"{path} expects normalization {proto_metadata['normalization']!r} but this nscore "
            f"applies {NORMALIZATION!r}: re-export the model with this nscore version"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return ModelInfo(
        path=path,
        model_id=proto_metadata["model_id"],
        sha256=digest,
        arch=proto_metadata["arch"],
        temperature=temperature,
        metadata=dict(proto_metadata),
    )


class OnnxModel:
    """One warm onnxruntime session that returns P(F) for normalized first names."""

    def __init__(
        self,
        model: str | os.PathLike = DEFAULT_MODEL,
        provider: str = "auto",
        threads: int | None = None,
        bucket_size: int | None = DEFAULT_BUCKET_SIZE,
        spinning: bool = False,
    ) -> None:
        if provider not in PROVIDERS:
            raise ModelError(
                f"unknown provider {provider!r}: use one of {', '.join(PROVIDERS)}"
            )
        path = resolve_model_path(model)
        options = session_options(threads or default_threads(), spinning)
        self.session = self._create_session(path, options, provider)
        self.provider = self.session.get_providers()[0]
        on_cuda = self.provider == "CUDAExecutionProvider"
        self.bucket_size = bucket_size or (
            CUDA_BUCKET_SIZE if on_cuda else CPU_BUCKET_SIZE
        )
        meta = self.session.get_modelmeta().custom_metadata_map
        self.info = read_model_info(
            path, meta, self.session.get_inputs(), self.session.get_outputs()
        )

    @staticmethod
    def _create_session(
        path: Path, options: ort.SessionOptions, provider: str
    ) -> ort.InferenceSession:
        want_cuda = provider in ("auto", "cuda")
        has_cuda = (
            "CUDAExecutionProvider" in ort.get_available_providers()
            and cuda_driver_present()
        )
        if provider == "cuda" and not has_cuda:
            raise ModelError(
                "provider 'cuda' requested but no CUDA GPU or onnxruntime-gpu build is available: "
                "use --provider cpu"
            )
        try:
            if want_cuda and has_cuda:
                if hasattr(ort, "preload_dlls"):
                    ort.preload_dlls()
                session = ort.InferenceSession(
                    str(path),
                    options,
                    providers=["CUDAExecutionProvider", "CPUExecutionProvider"],
                )
                if session.get_providers()[0] == "CUDAExecutionProvider":
                    log.info("scoring with onnxruntime on CUDA")
                    return session
                if provider == "cuda":
                    raise ModelError(
                        "onnxruntime could not start CUDA: use --provider cpu"
                    )
                log.info("onnxruntime could not start CUDA; scoring on CPU")
            session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except _LOAD_ERRORS as error:
            raise ModelError(
                f"cannot load model {path}: {error}; the file is not a valid ONNX "
                "model, so export it again with `nscore export`"
            ) from error
        log.info("scoring with onnxruntime on CPU")
        return session

    def logits(self, tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Run one batch: tokens (batch, seq) int64 and lengths (batch,) int64 to logits (batch, 2)."""
        if self.provider == "CUDAExecutionProvider":
            binding = self.session.io_binding()
            binding.bind_cpu_input("tokens", np.ascontiguousarray(tokens))
            binding.bind_cpu_input("lengths", np.ascontiguousarray(lengths))
            binding.bind_output("logits", "cpu")
            self.session.run_with_iobinding(binding)
            return binding.copy_outputs_to_cpu()[0]
        return self.session.run(None, {"tokens": tokens, "lengths": lengths})[0]

    def prob_female(
        self, first_names: pa.Array, temperature: float | None = None
    ) -> np.ndarray:
        """Return P(F) for normalized first names without nulls, in their order.

        The model's own fitted temperature applies unless `temperature` is given
        (1.0 gives the uncalibrated probabilities).
        """
        temperature = self.info.temperature if temperature is None else temperature
        tokens, lengths = encode(first_names)
        probs = np.empty(len(lengths), np.float64)
        order = np.argsort(lengths, kind="stable")
        bounds = np.flatnonzero(np.diff(lengths[order])) + 1
        for bucket in np.split(order, bounds):
            if not len(bucket):
                continue
            width = int(lengths[bucket[0]])
            for start in range(0, len(bucket), self.bucket_size):
                rows = bucket[start : start + self.bucket_size]
                logits = self.logits(tokens[rows, :width], lengths[rows]).astype(
                    np.float64
                )
                scaled = logits / temperature
                probs[rows] = 1.0 / (1.0 + np.exp(scaled[:, 1] - scaled[:, 0]))
        return probs
