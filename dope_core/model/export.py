"""ONNX export of the network's box-conditioned part: backbone + RoIAlign + head + decoding.

The exported graph takes a normalised, padded image batch of one image and proposal
boxes, and returns per part the softmax scores and decoded poses of every anchor class::

    inputs : image (1, 3, H, W) float32 (ImageNet-normalised, H and W multiples of 32)
             boxes (N, 4) float32 x1, y1, x2, y2 pixels of that image
    outputs: {part}_scores (N, K + 1), {part}_pose2d (N, K, J, 2) pixels,
             {part}_pose3d (N, K, J, 3) metres, for part in body, hand, face

Proposals come from the PyTorch RPN (or any detector); the RPN's anchor generation and
NMS stay outside the graph. Usage::

    python -m dope_core.model.export --checkpoint student.pth --output dope.onnx

The file is written to a temporary name beside ``--output`` and renamed once complete
(:mod:`dope_core.atomic_files`): a failed export (a full disk) leaves any earlier file as it was.
The graph is one file (about 14 MB: torch writes external-data files only for graphs over
protobuf's 2 GB). ``--output`` never replaces the checkpoint itself (whatever path or link names
it), a folder, or an existing file whose name does not end in ``.onnx``: only an earlier export.
A refusal or a failure is one line and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor, nn
from torchvision.ops import roi_align

from dope_core.atomic_files import atomic_path
from dope_core.checkpoint import CheckpointError
from dope_core.model.dope_rcnn import PARTS, DopeRCNN

FEATURE_STRIDE = 16
MIN_OPSET = 11
"""Lowest ONNX opset that has RoIAlign (torchvision's ``roi_align`` exports from 11 on)."""


def max_opset() -> int:
    """Highest ONNX opset the installed torch's exporter (the TorchScript one used here) writes (20 in torch 2.14)."""
    try:
        from torch.onnx import _constants
    except ImportError:
        return 17
    return int(getattr(_constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", getattr(_constants, "ONNX_MAX_OPSET", 17)))


def check_opset(opset: int) -> None:
    """Raises ValueError (one line) unless ``opset`` is one this model exports to."""
    if not MIN_OPSET <= opset <= max_opset():
        raise ValueError(f"--opset {opset} is not supported: use {MIN_OPSET} to {max_opset()} (RoIAlign needs "
                         f"{MIN_OPSET}; {max_opset()} is the highest this torch exports)")


class BoxConditionedDope(nn.Module):
    """The network from image and boxes to decoded part poses (no RPN), for export.

    RoIAlign runs at ``1 / 16`` scale, which is what the network's pooler infers for a
    stride-16 map of an image padded to a multiple of 32.
    """

    def __init__(self, model: DopeRCNN) -> None:
        super().__init__()
        self.backbone = model.backbone
        self.roi_heads = model.roi_heads
        pool = model.roi_heads.dope_roi_pool
        self.output_size = pool.output_size
        self.sampling_ratio = pool.sampling_ratio

    def forward(self, image: Tensor, boxes: Tensor) -> tuple[Tensor, ...]:
        """Outputs in the order ``scores, pose2d, pose3d`` for body, hand, face."""
        features = self.backbone(image)["0"]
        rois = torch.cat([torch.zeros_like(boxes[:, :1]), boxes], dim=1)
        pooled = roi_align(features, rois, self.output_size, spatial_scale=1.0 / FEATURE_STRIDE,
                           sampling_ratio=self.sampling_ratio, aligned=False)
        logits, regression = self.roi_heads.dope_predictor(self.roi_heads.dope_head(pooled))
        out: list[Tensor] = []
        for part in PARTS:
            pose2d, pose3d = self.roi_heads.codecs[part].decode(regression[part], boxes, self.roi_heads.anchors(part))
            out += [logits[part].softmax(dim=-1), pose2d, pose3d]
        return tuple(out)


def output_names() -> list[str]:
    """Names of the exported outputs, in order."""
    return [f"{p}_{k}" for p in PARTS for k in ("scores", "pose2d", "pose3d")]


def export_onnx(model: DopeRCNN, path: str | os.PathLike, *, height: int = 480, width: int = 640,
                num_boxes: int = 8, opset: int = 17) -> None:
    """Write the box-conditioned network to ``path`` (dynamic image size and box count; ``height`` and
    ``width`` in pixels are those of the example input only), atomically: a failure leaves any earlier file at
    ``path`` untouched. ``path``'s folder is created when missing.

    Raises:
        ValueError: ``opset`` is outside :data:`MIN_OPSET` to :func:`max_opset`.
    """
    check_opset(opset)
    wrapper = BoxConditionedDope(model.eval().float()).eval()
    image = torch.zeros((1, 3, height, width))
    boxes = torch.tensor([[0.0, 0.0, width / 2, height / 2]]).repeat(num_boxes, 1)
    axes = {"image": {2: "height", 3: "width"}, "boxes": {0: "num_boxes"}}
    axes.update({name: {0: "num_boxes"} for name in output_names()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), atomic_path(path) as tmp:
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (image, boxes), str(tmp), input_names=["image", "boxes"],
                          output_names=output_names(), dynamic_axes=axes, opset_version=opset, dynamo=False)


def check_onnx_target(output: Path, checkpoint: Path) -> None:
    """Refuse an ``--output`` whose replacement would lose data: the checkpoint itself (through any path or
    link), a folder, or an existing file whose name does not end in ``.onnx`` (only an earlier export is
    replaced).

    Raises:
        CheckpointError: one line saying why.
    """
    if output.is_dir():
        raise CheckpointError(f"--output {output} is a folder; name the .onnx file to write")
    if not output.exists():
        return
    if checkpoint.exists() and os.path.samefile(output, checkpoint):
        raise CheckpointError(f"--output {output} is the checkpoint {checkpoint}: write the graph to a new .onnx file")
    if output.suffix.lower() != ".onnx":
        raise CheckpointError(f"--output {output} exists and its name does not end in .onnx: refusing to replace "
                              "it (only an earlier export is replaced); choose another --output")


def main(argv: Optional[list[str]] = None) -> int:
    """Command line: export a checkpoint's network to ONNX; 2 (one line) on a refused or failed export."""
    from dope_core.checkpoint import load_checkpoint

    parser = argparse.ArgumentParser(description="Export the DOPE network (backbone + heads for given boxes) to ONNX.")
    parser.add_argument("--checkpoint", required=True, help="release or dope_ros checkpoint")
    parser.add_argument("--output", required=True, help="output .onnx file")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args(argv)
    try:
        check_opset(args.opset)
        check_onnx_target(Path(args.output), Path(args.checkpoint))
        export_onnx(load_checkpoint(args.checkpoint).model, args.output, opset=args.opset)
    except (ValueError, OSError) as e:   # a bad --opset, a missing or bad checkpoint (CheckpointError), a full disk...
        print(f"dope_core.model.export: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:   # the exporter's own failure: one line, no partial file (atomic_path)
        first = (str(e).strip().splitlines() or [""])[0][:200]
        print(f"dope_core.model.export: error: the export failed ({type(e).__name__}: {first})", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
