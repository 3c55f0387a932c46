"""`nscore evaluate`: the training report for a checkpoint or an exported model."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from nscore.data import LabelledNames, census_names, read_labelled_file, split
from nscore.errors import ModelError


def validation_split(data_rule: str, split_seed: int) -> LabelledNames:
    """Rebuild the validation names of a model from its stored data rule and seed."""
    kind, _, rule = data_rule.partition(":")
    if kind != "census":
        raise ModelError(
            f"the model was trained on {data_rule!r}, not the census: pass a labelled DATA file"
        )
    rule, _, min_share = rule.partition(":")
    data = census_names(rule, float(min_share) if min_share else 0.95)
    return split(data, split_seed)[1]


def evaluate_model(
    model: str,
    data: Path | None,
    name_column: str = "name",
    label_column: str = "gender",
) -> dict:
    """Score labelled names with a `.pt` checkpoint or an ONNX model and return the metrics."""
    from nscore.train.metrics import classification_metrics

    if model.endswith(".pt") and Path(model).is_file():
        from nscore.train.loop import load_checkpoint, predict_logits, softmax_female

        try:
            network, stored = load_checkpoint(Path(model))
        except ValueError as error:
            raise ModelError(str(error)) from error
        names = (
            read_labelled_file(data, name_column, label_column)
            if data
            else validation_split(stored["data_rule"], stored["split_seed"])
        )
        import torch

        logits = predict_logits(network, names.names, torch.device("cpu"))
        prob_female = softmax_female(logits, stored["temperature"])
        parameters = sum(p.numel() for p in network.parameters())
    else:
        from nscore.score.model import OnnxModel

        onnx_model = OnnxModel(model, provider="auto")
        meta = onnx_model.info.metadata
        names = (
            read_labelled_file(data, name_column, label_column)
            if data
            else validation_split(meta["data_rule"], int(meta["split_seed"]))
        )
        prob_female = onnx_model.prob_female(pa.array(names.names, pa.string()))
        parameters = None
    metrics = classification_metrics(names.labels, prob_female, names.weights)
    if parameters is not None:
        metrics["parameters"] = parameters
    return metrics
