"""Model files whose graph or labels do not fit nscore are rejected at load."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from nscore.errors import ModelError
from nscore.score.model import OnnxModel
from nscore.text import NORMALIZATION, VOCAB


def fake_model(path: Path, output_shape: list, labels: list[str]) -> Path:
    """Write a one-node ONNX model with nscore metadata and the given output."""
    inputs = [
        helper.make_tensor_value_info(
            "tokens", TensorProto.INT64, ["batch", "sequence"]
        ),
        helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"]),
    ]
    output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, output_shape)
    node = helper.make_node("Cast", ["tokens"], ["logits"], to=TensorProto.FLOAT)
    graph = helper.make_graph([node], "fake", inputs, [output])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8
    )
    metadata = {
        "nscore_format": "nscore-onnx/1",
        "model_id": "fake",
        "arch": "bigru",
        "vocab": json.dumps(list(VOCAB)),
        "labels": json.dumps(labels),
        "normalization": NORMALIZATION,
        "temperature": "1.0",
    }
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


def test_output_not_two_logits_rejected(tmp_path: Path) -> None:
    path = fake_model(tmp_path / "m.onnx", ["batch", "sequence"], ["F", "M"])
    with pytest.raises(ModelError, match=r"shape \[batch, 2\]"):
        OnnxModel(path)


def test_swapped_labels_rejected(tmp_path: Path) -> None:
    path = fake_model(tmp_path / "m.onnx", ["batch", 2], ["M", "F"])
    with pytest.raises(ModelError, match="labels"):
        OnnxModel(path)


def test_fitting_fake_model_loads(tmp_path: Path) -> None:
    path = fake_model(tmp_path / "m.onnx", ["batch", 2], ["F", "M"])
    assert OnnxModel(path).info.model_id == "fake"
