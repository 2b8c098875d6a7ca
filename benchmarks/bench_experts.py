#!/usr/bin/env python3
"""CPU time per image of the part-expert ensemble, by number of people in the image.

Prints one row per image (people, hands, faces found; median and best time over
``--repeat`` runs after one warm-up) and a summary for images with 1 person and
with 5 or more. Default inputs: the portrait that matplotlib ships (always there)
and, when ``../shared/data`` exists, its group photos.

    .venv/bin/python benchmarks/bench_experts.py [--repeat 5] [--threads 2] [IMAGE ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dope_core.experts.ensemble import ExpertsEstimator  # noqa: E402
from dope_core.image_io import read_image  # noqa: E402


def default_images() -> list[Path]:
    from matplotlib import cbook

    images = [Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))]
    shared = REPO.parent / "shared" / "data" / "images"
    if shared.is_dir():
        images += sorted((shared / "multihmr").glob("*.jpg")) + sorted((shared / "alphapose").glob("*.jpg"))
    return images


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="*", type=Path, help="images to time (default: see above)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per image (after one warm-up)")
    p.add_argument("--threads", type=int, default=2, help="LiteRT CPU threads per model")
    args = p.parse_args()
    images = args.images or default_images()
    est = ExpertsEstimator(num_threads=args.threads)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; experts on CPU, {args.threads} LiteRT threads")
    print(f"{'image':40s} {'size':>10s} {'people':>6s} {'hands':>5s} {'faces':>5s} {'median ms':>9s} {'best ms':>8s}")
    rows = []
    for path in images:
        image = read_image(path)
        result = est(image)  # warm-up
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            result = est(image)
            times.append(1000 * (time.perf_counter() - t))
        c = result.counts()
        med = statistics.median(times)
        rows.append((c["people"], med))
        size = f"{image.shape[1]}x{image.shape[0]}"
        print(f"{path.name[:40]:40s} {size:>10s} {c['people']:6d} {c['hands']:5d} {c['faces']:5d} {med:9.0f} {min(times):8.0f}")
    for label, keep in (("1 person", lambda n: n == 1), ("5+ people", lambda n: n >= 5)):
        sel = [t for n, t in rows if keep(n)]
        if sel:
            print(f"{label}: median {statistics.median(sel):.0f} ms per image over {len(sel)} image(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
