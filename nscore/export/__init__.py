"""Export a checkpoint to ONNX and TorchScript, then prove both match PyTorch.

The ONNX file carries everything scoring needs in its metadata_props, so an
`.onnx` file alone is enough to score. Export uses the TorchScript-based
exporter (`dynamo=False`): the dynamo exporter, the default from torch 2.9,
does not translate packed sequences, while the legacy one turns the pack/pad
pair into the `sequence_lens` input of the ONNX RNN, LSTM and GRU operators.
"""

from nscore.export.onnx_export import ExportVerificationError, export_checkpoint

__all__ = ["ExportVerificationError", "export_checkpoint"]
