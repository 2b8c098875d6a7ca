"""Print how many bodies, hands and faces the network backend finds on photos.

Usage::

    python benchmarks/count_network_parts.py [--checkpoint FILE] [--postprocess ppi|nms] [IMAGES...]

Without images: the matplotlib portrait of Grace Hopper plus 7 photos of
``../shared/data/images`` (``--shared``; 4 Multi-HMR, the DOPE MPII photo, AlphaPose
2.jpg, zidane.jpg) when that folder exists.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))   # run from a checkout without installing it

from dope_core.estimator import build_estimator  # noqa: E402
from dope_core.image_io import read_image  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "images"


def default_photos(shared: Path) -> list[Path]:
    from matplotlib import cbook

    photos = [Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))]
    if shared.is_dir():
        photos += sorted((shared / "multihmr").glob("*.jpg"))[:4]
        photos += [shared / "dope" / "015994080.jpg", shared / "alphapose" / "2.jpg", shared / "packages" / "zidane.jpg"]
    return [p for p in photos if p.is_file()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*", type=Path, help="photos (default: see above)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="network checkpoint (default: the shipped student)")
    parser.add_argument("--shared", type=Path, default=SHARED, help=f"photo folder (default {SHARED})")
    parser.add_argument("--postprocess", choices=("ppi", "nms"), default=None, help="default: the checkpoint's")
    args = parser.parse_args()
    est = build_estimator("network", checkpoint=args.checkpoint, device="cpu", postprocess=args.postprocess)
    total = {"bodies": 0, "hands": 0, "faces": 0}
    for path in args.images or default_photos(args.shared):
        counts = est(read_image(path)).counts()
        print(f"{path.name}: " + ", ".join(f"{k} {counts[k]}" for k in total))
        for k in total:
            total[k] += counts[k]
    print("total: " + ", ".join(f"{k} {v}" for k, v in total.items()))


if __name__ == "__main__":
    main()
