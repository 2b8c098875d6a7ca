"""Latency and throughput of the DOPE network variants (random weights), printed as a Markdown table.

Per variant and input size: the network forward (median over ``--iters`` runs after one
warm-up), the post-processing (PPI + fusion; with random weights its cost is only
indicative, it grows with the number of confident proposals) and the throughput of a
batch of ``--batch`` frames. Wall-clock times (ms) and the CPU time the process used
(CPU-ms, summed over its threads) are both reported: on a shared machine the CPU time
is the steadier figure; with ``--threads 1`` it approximates one free core's latency.
Examples::

    python benchmarks/bench_network.py                        # CPU, both variants, 640x480 and 1280x720
    python benchmarks/bench_network.py --device cuda --half   # GPU fp16
    python benchmarks/bench_network.py --variants mobilenetv2 --as-built   # what the inference preparation saves
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))   # run from a checkout without installing it

from dope_core.model import build_dope_mobilenetv2, build_dope_resnet50  # noqa: E402
from dope_core.model.inference import prepare_for_inference, resolve_device  # noqa: E402
from dope_core.postprocess.pipeline import PostprocessConfig, detections_to_poses  # noqa: E402

SIZES = {"640x480": (640, 480), "1280x720": (1280, 720)}
BUILDERS: dict[str, Callable[..., torch.nn.Module]] = {
    "mobilenetv2": lambda: build_dope_mobilenetv2(pretrained_backbone=_imagenet_available()),
    "resnet50": build_dope_resnet50,
}


def _imagenet_available() -> bool:
    """Use ImageNet MobileNetV2 weights when installed (realistic activation ranges)."""
    from dope_core.model.pretrained import MOBILENET_V2_FILE, hub_checkpoint_dir

    return (hub_checkpoint_dir() / MOBILENET_V2_FILE).is_file()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device, iters: int) -> tuple[float, float, object]:
    """Median wall-clock seconds, median CPU seconds of this process (all threads), last output."""
    out = fn()  # warm-up
    _sync(device)
    wall, cpu = [], []
    for _ in range(iters):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        _sync(device)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu), out


def bench(variant: str, size: tuple[int, int], *, device: torch.device, half: bool, iters: int, batch: int,
          as_built: bool = False) -> dict:
    """One row of the table (times in milliseconds, throughput in frames per second).

    The model is prepared as the network backend runs it (:func:`prepare_for_inference`:
    folded norms, channels-last on the CPU), or used as built with ``as_built``.
    """
    torch.manual_seed(0)
    model = BUILDERS[variant]()
    if as_built:
        model = model.eval().to(device)
        model = model.half() if half else model
    else:
        model = prepare_for_inference(model, device, half=half)
    w, h = size
    rng = np.random.default_rng(0)
    image = torch.from_numpy(rng.integers(0, 256, (3, h, w), dtype=np.uint8)).to(device)
    image = (image.half() if half else image.float()) / 255.0
    counts = {p: int(model.roi_heads.anchors(p).shape[0]) for p in ("body", "hand", "face")}
    config = PostprocessConfig()
    with torch.no_grad():
        net_s, net_cpu, det = _timed(lambda: model([image]), device, iters)
        post_s, post_cpu, _ = _timed(lambda: detections_to_poses(det[0], image_size=(w, h), parts=("body", "hand", "face"),
                                                       num_anchor_poses=counts, config=config), device, iters)
        batch_s, _, _ = _timed(lambda: model([image] * batch), device, max(1, iters // 2))
    scale = min(model.transform.min_size / min(h, w), model.transform.max_size / max(h, w))
    return {"variant": variant + (" (as built)" if as_built else ""), "input": f"{w}x{h}",
            "resized": f"{round(w * scale)}x{round(h * scale)}",
            "network_ms": net_s * 1e3, "post_ms": post_s * 1e3, "total_ms": (net_s + post_s) * 1e3,
            "network_cpu_ms": net_cpu * 1e3, "post_cpu_ms": post_cpu * 1e3,
            "fps": batch / batch_s, "proposals": int(det[0]["boxes"].shape[0])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--half", action="store_true", help="fp16 (CUDA only)")
    parser.add_argument("--iters", type=int, default=3, help="timed runs per measurement (ResNet-50 on CPU: keep small)")
    parser.add_argument("--batch", type=int, default=2, help="frames per batch for the throughput column")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--as-built", action="store_true",
                        help="after each row, the same model as built (no folded norms, no channels-last): "
                             "what the preparation saves, in the same run")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    # Random weights without batch-norm statistics drive activations towards denormal
    # floats, which are very slow on x86 CPUs; trained weights do not. Flush them to zero.
    torch.set_flush_denormal(True)
    device = resolve_device(args.device)
    half = args.half and device.type == "cuda"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or 'CPU'}, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); precision: {'fp16' if half else 'fp32'}; torch {torch.__version__}; "
          f"median of {args.iters} runs; random weights; load average before: {os.getloadavg()[0]:.1f}\n")
    print("| variant | input | network input | network ms | post-process ms | total ms | network CPU-ms | "
          f"post-process CPU-ms | throughput fps (batch {args.batch}) | proposals |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for variant in args.variants:
        for size in args.sizes:
            for as_built in (False, True) if args.as_built else (False,):
                r = bench(variant, SIZES[size], device=device, half=half, iters=args.iters, batch=args.batch,
                          as_built=as_built)
                print(f"| {r['variant']} | {r['input']} | {r['resized']} | {r['network_ms']:.0f} | "
                      f"{r['post_ms']:.0f} | {r['total_ms']:.0f} | {r['network_cpu_ms']:.0f} | {r['post_cpu_ms']:.0f} | {r['fps']:.2f} | "
                      f"{r['proposals']} |", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
