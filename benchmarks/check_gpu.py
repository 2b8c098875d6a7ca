"""The network backend on a GPU: does CUDA (fp32 and fp16) give the CPU's poses, and how fast is it?

For each checkpoint, on real images (the first ``--images`` of the folders given):

* **agreement** of CUDA fp32 and CUDA fp16 with the CPU in fp32, the reference, per part
  (:class:`dope_core.train.agreement.Agreement`: CPU detections as teachers, boxes matched
  by IoU >= 0.5, a keypoint correct within ``--alpha`` times the box's longer side, 0.02 by
  default, i.e. a few pixels): PCK, recall, precision and mean 3D difference (mm);
* **speed** of the whole ``NetworkEstimator`` call (pre-processing, network, PPI,
  fusion; ``torch.cuda.synchronize`` before the clock stops) at 640x480 (images resized),
  one image at a time: median and p95 ms over ``--iters`` calls after ``--warmup``.

Prints Markdown tables and writes them as JSON (``--json``). Needs a CUDA device; the
agreement part also runs the CPU. Example (the GPU check of docs/training.md)::

    python benchmarks/check_gpu.py --checkpoint dope_core/weights/dope_student_mobilenetv2.pth \\
        --folders ../shared/data/images --images 40 --json out/check_gpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dope_core.keypoints import Part  # noqa: E402
from dope_core.model.inference import NetworkEstimator  # noqa: E402
from dope_core.pseudo_labels.sources import find_media  # noqa: E402
from dope_core.train.agreement import Agreement  # noqa: E402


def agreement_with_cpu(checkpoint: Path, images: list[np.ndarray], alpha: float) -> dict[str, dict]:
    """Per mode (``cuda_fp32``, ``cuda_fp16``): per-part agreement with the CPU's fp32 output."""
    cpu = NetworkEstimator(checkpoint=checkpoint, device="cpu")
    modes = {"cuda_fp32": NetworkEstimator(checkpoint=checkpoint, device="cuda"),
             "cuda_fp16": NetworkEstimator(checkpoint=checkpoint, device="cuda", half=True)}
    acc = {m: Agreement(alpha=alpha, min_iou=0.5) for m in modes}
    for image in images:
        ref = cpu(image)
        for mode, est in modes.items():
            out = est(image)
            for part in Part:
                acc[mode].add(part, out.parts(part), ref.parts(part))
    return {m: a.to_dict() for m, a in acc.items()}


def speed(checkpoint: Path, images: list[np.ndarray], size: tuple[int, int], warmup: int, iters: int) -> dict[str, dict]:
    """Per mode: median and p95 ms of one estimator call on ``size`` (width, height) images."""
    frames = [cv2.resize(im, size, interpolation=cv2.INTER_AREA) for im in images]
    out: dict[str, dict] = {}
    for mode, half in (("cuda_fp32", False), ("cuda_fp16", True)):
        est = NetworkEstimator(checkpoint=checkpoint, device="cuda", half=half)
        for i in range(warmup):
            est(frames[i % len(frames)])
        torch.cuda.synchronize()
        times = []
        for i in range(iters):
            t0 = time.perf_counter()
            est(frames[i % len(frames)])
            torch.cuda.synchronize()
            times.append(1000.0 * (time.perf_counter() - t0))
        times.sort()
        out[mode] = {"median_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))],
                     "fps": 1000.0 / statistics.median(times), "calls": iters}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, nargs="+", required=True, help="network checkpoints to check")
    p.add_argument("--folders", type=Path, nargs="+", required=True, help="folders of real images")
    p.add_argument("--images", type=int, default=40, help="images used (default 40)")
    p.add_argument("--alpha", type=float, default=0.02, help="PCK threshold, fraction of the box's longer side")
    p.add_argument("--size", default="640x480", help="input size of the speed test, WIDTHxHEIGHT")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--iters", type=int, default=200)
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("check_gpu: no CUDA device (torch.cuda.is_available() is False)", file=sys.stderr)
        return 2
    try:
        paths = find_media(args.folders)[0][: args.images]   # images, sorted, searched recursively
    except (FileNotFoundError, ValueError) as e:
        print(f"check_gpu: {e}", file=sys.stderr)
        return 2
    if not paths:
        print(f"check_gpu: no image in {[str(f) for f in args.folders]}", file=sys.stderr)
        return 2
    images = [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in paths]
    w, h = (int(v) for v in args.size.lower().split("x"))
    results = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "python": platform.python_version(),
               "images": len(images), "checkpoints": {}}
    print(f"# {results['device']}, torch {torch.__version__}, {len(images)} images")
    for ckpt in args.checkpoint:
        agree = agreement_with_cpu(ckpt, images, args.alpha)
        fast = speed(ckpt, images, (w, h), args.warmup, args.iters)
        results["checkpoints"][str(ckpt)] = {"agreement_with_cpu": agree, "speed": fast}
        print(f"\n## {ckpt}\n\n| mode | part | CPU detections | CUDA detections | matched | PCK@{args.alpha} "
              "| 3D diff mm |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for mode, a in agree.items():
            for part, d in a.items():
                print(f"| {mode} | {part} | {d['teachers']} | {d['students']} | {d['recall']:.3f} | {d['pck']:.3f} | "
                      f"{d['mpjpe_3d_mm']:.2f} |")
        print(f"\n| mode | {w}x{h} median ms | p95 ms | frames/s |\n|---|---:|---:|---:|")
        for mode, s in fast.items():
            print(f"| {mode} | {s['median_ms']:.2f} | {s['p95_ms']:.2f} | {s['fps']:.1f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
