"""Time per CPU training step of the light student on a synthetic batch: the RoI pooler and memory layout side by side.

Three copies of the model in the 2-hour CPU recipe's shape (MobileNetV2 with its ImageNet
body when installed, 7 frozen blocks, 128 sampled RoIs, RPN 600/300) train on the same
synthetic batches (random images, boxes and poses of 2 bodies, 3 hands and 2 faces per
image) with SGD, interleaved in blocks of steps so that their ratios hold on a shared
machine:

* ``torchvision``: torchvision's ``MultiScaleRoIAlign`` (the pooler before December 2026);
* ``separable``: the project's RoI pooler (:mod:`dope_core.model.roi_align`), contiguous weights;
* ``channels_last``: the project's pooler with channels-last weights, as ``dope-train fit`` runs on a CPU.

Wall-clock ms per step (forward, losses, backward, optimizer step; no data loading),
median over the counted steps; the load average is printed. Usage::

    .venv/bin/python benchmarks/bench_train_step.py [--steps 9] [--batch 4] [--size 256 341] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torchvision.ops import MultiScaleRoIAlign

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dope_core.model import build_dope_mobilenetv2  # noqa: E402
from dope_core.model.pretrained import MOBILENET_V2_FILE, hub_checkpoint_dir  # noqa: E402

VARIANTS = ("torchvision", "separable", "channels_last")
PART_JOINTS = {"body": (2, 13), "hand": (3, 21), "face": (2, 84)}


def synthetic_targets(seed: int, batch: int, width: int, height: int) -> list[dict]:
    """Random boxes (pixels), 2D poses (pixels), 3D poses (metres) and scores per image."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(batch):
        image = {}
        for part, (n, joints) in PART_JOINTS.items():
            xy = torch.rand(n, 2, generator=g) * torch.tensor([width / 2, height / 2])
            box = torch.cat([xy, xy + 30 + torch.rand(n, 2, generator=g) * 80], 1)
            image[part] = {"boxes": box, "pose2d": xy[:, None] + torch.rand(n, joints, 2, generator=g) * 30,
                           "pose3d": 0.1 * torch.randn(n, joints, 3, generator=g), "scores": torch.rand(n, generator=g)}
        out.append(image)
    return out


def build(variant: str, width: int, height: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """One model in the 2-hour recipe's shape and its SGD optimizer (the same initial weights for every variant)."""
    torch.manual_seed(0)
    model = build_dope_mobilenetv2(
        pretrained_backbone=(hub_checkpoint_dir() / MOBILENET_V2_FILE).is_file(), representation_size=256,
        min_size=min(width, height), max_size=max(width, height), rpn_pre_nms_top_n_train=600,
        rpn_post_nms_top_n_train=300, roi_batch_size_per_image=128)
    model.backbone.freeze_blocks(7)
    if variant == "torchvision":
        pool = model.roi_heads.dope_roi_pool
        model.roi_heads.dope_roi_pool = MultiScaleRoIAlign(featmap_names=["0"], output_size=pool.output_size,
                                                           sampling_ratio=pool.sampling_ratio)
    if variant == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    model.train()
    return model, torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=9, help="counted steps per variant")
    p.add_argument("--block", type=int, default=3, help="steps per variant before switching to the next")
    p.add_argument("--batch", type=int, default=4, help="images per step")
    p.add_argument("--size", type=int, nargs=2, default=(256, 341), metavar=("H", "W"), help="image size (pixels)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    height, width = args.size
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {args.batch} of {width}x{height}; "
          f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    models = {v: build(v, width, height) for v in args.variants}
    images = [torch.rand(3, height, width, generator=torch.Generator().manual_seed(i)) for i in range(args.batch)]
    times: dict[str, list[float]] = {v: [] for v in models}
    blocks = -(-args.steps // args.block) + 1   # the first block of each variant warms up
    for block in range(blocks):
        for variant, (model, optimizer) in models.items():
            for step in range(args.block):
                targets = synthetic_targets(block * args.block + step, args.batch, width, height)
                start = time.perf_counter()
                loss = sum(model(images, targets).values())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if block:
                    times[variant].append(time.perf_counter() - start)
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    print("| variant | ms per step (median) | steps | speed-up vs the first |")
    print("|---|---:|---:|---:|")
    first = statistics.median(next(iter(times.values())))
    for variant, t in times.items():
        median = statistics.median(t)
        print(f"| {variant} | {1000 * median:.0f} | {len(t)} | {first / median:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
