from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from nscore.export.onnx_export import verification_names
from nscore.text import encode
from nscore.train import load_checkpoint, predict_logits


def test_checkpoint_has_config_and_metrics(tiny_run: Path) -> None:
    stored = torch.load(tiny_run / "checkpoint.pt", weights_only=True)
    assert stored["model_config"]["arch"] == "bigru"
    assert stored["vocab"][:3] == ["<pad>", "<unk>", "a"]
    assert stored["labels"] == ["F", "M"]
    assert stored["data_rule"] == "census:exclusive"
    assert stored["split_seed"] == 271828
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert set(metrics) >= {"accuracy", "report", "confusion_matrix", "parameters"}
    assert metrics["accuracy"] > 0.7


def test_onnx_has_dynamic_axes_and_metadata(tiny_model: Path) -> None:
    proto = onnx.load(str(tiny_model))
    inputs = {i.name: i for i in proto.graph.input}
    assert list(inputs) == ["tokens", "lengths"]
    assert [d.dim_param for d in inputs["tokens"].type.tensor_type.shape.dim] == [
        "batch",
        "sequence",
    ]
    assert inputs["tokens"].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert [o.name for o in proto.graph.output] == ["logits"]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["normalization"] == "nfkd-ascii-lower/1"
    assert len(meta["weights_sha256"]) == 64
    gru = [n for n in proto.graph.node if n.op_type == "GRU"]
    assert gru and all(
        any(a.name == "linear_before_reset" and a.i == 1 for a in n.attribute)
        for n in gru
    )


def test_backends_agree_on_census_names(tiny_run: Path, tiny_model: Path) -> None:
    model, _ = load_checkpoint(tiny_run / "checkpoint.pt")
    names = verification_names(3000)
    eager = predict_logits(model, names, torch.device("cpu"))
    tokens, lengths = encode(names)
    session = ort.InferenceSession(str(tiny_model), providers=["CPUExecutionProvider"])
    onnx_logits = session.run(None, {"tokens": tokens, "lengths": lengths})[0]
    traced = torch.jit.load(str(tiny_model.with_suffix(".pt")))
    with torch.no_grad():
        ts_logits = traced(torch.from_numpy(tokens), torch.from_numpy(lengths)).numpy()
    assert np.abs(onnx_logits - eager).max() < 1e-4
    assert np.abs(ts_logits - eager).max() < 1e-4
    labels = eager.argmax(1)
    assert (onnx_logits.argmax(1) == labels).all()
    assert (ts_logits.argmax(1) == labels).all()


def test_onnx_padded_row_equals_alone(tiny_model: Path) -> None:
    session = ort.InferenceSession(str(tiny_model), providers=["CPUExecutionProvider"])
    names = ["ana", "maria", "jose", "bartolomeu", "li"]
    tokens, lengths = encode(names)
    batch = session.run(None, {"tokens": tokens, "lengths": lengths})[0]
    for i, name in enumerate(names):
        t, l = encode([name])
        alone = session.run(None, {"tokens": t, "lengths": l})[0]
        assert np.abs(alone[0] - batch[i]).max() < 1e-5
