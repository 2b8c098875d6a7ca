"""How the experts fare on small hands: the labelled hand images shrunk so that their largest hand is N px.

Most labelled hands of ``../shared/data`` are large (close-ups, studio frames); COCO's
11-31 px hands are ten. This scores the same labels at smaller scales: every image of the
hand sets (COCO-WholeBody, RHD, OneHand10K, FreiHAND, CMU Panoptic, InterHand2.6M) is
resized (``INTER_AREA``, never enlarged) so that its largest labelled hand's box (larger
side) is ``--sizes`` pixels, its labels with it, and centred on a canvas of its mean
colour at least 640x480 (the original size where larger): a small hand in a photo-sized
image, with the body around it where the image shows one. The hands found are scored as
in ``eval_accuracy.py`` (one-to-one matching, detection rate, PCK@0.2 of the hand box).

One row per experts configuration (``--configs``, as in ``eval_accuracy.py``). Usage:
    .venv/bin/python benchmarks/eval_small_hands.py --sizes 24 40 64 --configs default legacy
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
for path in (REPO_ROOT, REPO_ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from dope_core.datasets import load_annotated  # noqa: E402
from dope_core.datasets.sample import AnnotatedSample  # noqa: E402
from dope_core.evaluation import evaluate_predictions  # noqa: E402
from dope_core.experts.config import ExpertsConfigError  # noqa: E402
from dope_core.image_io import read_image  # noqa: E402
from dope_core.keypoints import Part  # noqa: E402
from dope_core.metrics.pck import bbox_size  # noqa: E402
from eval_accuracy import experts_config, experts_estimator  # noqa: E402
from eval_small_people import centred, resized  # noqa: E402

HAND_SETS = ("coco_wholebody", "rhd", "onehand10k", "freihand", "panoptic_hand", "interhand2.6m")
"""The annotated sets whose labelled hands are shrunk."""

MIN_CANVAS = (640, 480)
"""Smallest canvas (width, height, pixels) a shrunk image is centred on."""


def hand_samples(data_root: Path, limit: int | None = None) -> list[AnnotatedSample]:
    """The images of :data:`HAND_SETS` under ``data_root`` that label a hand, at most ``limit``,
    each with its hands only."""
    samples = [s for name in HAND_SETS for s in load_annotated(name, data_root)]
    return [dataclasses.replace(s, instances=s.of_part(Part.HAND)) for s in samples if s.of_part(Part.HAND)][:limit]


def shrunk_hands(sample: AnnotatedSample, image: np.ndarray, size: float) -> tuple[np.ndarray, AnnotatedSample]:
    """``image`` resized so that ``sample``'s largest hand box is ``size`` pixels (larger side; never
    enlarged) and centred on a canvas of its mean colour of at least :data:`MIN_CANVAS`, with the
    sample's hands moved with it (pixels of the canvas)."""
    largest = max(bbox_size(g.box) for g in sample.instances)
    small, hands = resized(image, sample.instances, min(1.0, size / largest) if largest > 0 else 1.0)
    canvas_size = (max(image.shape[0], MIN_CANVAS[1]), max(image.shape[1], MIN_CANVAS[0]))
    canvas, hands = centred(small, hands, canvas_size, image.reshape(-1, 3).mean(axis=0))
    return canvas, dataclasses.replace(sample, instances=hands)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "annotated")
    p.add_argument("--configs", nargs="+", default=["default"],
                   help="experts presets or YAML files, one row each (NAME+ATTR=VALUE: an attribute of the body expert set)")
    p.add_argument("--sizes", type=float, nargs="+", default=[24.0, 40.0, 64.0],
                   help="the largest hand's box side in each shrunk image (pixels)")
    p.add_argument("--limit", type=int, default=None, help="at most this many images (a quick look)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--per-set", action="store_true", help="also a row per configuration and hand set")
    args = p.parse_args(argv)
    if not args.data_root.is_dir():
        print(f"error: data folder {args.data_root} not found (give --data-root)", file=sys.stderr)
        return 2
    try:
        configs = {name: experts_config(name) for name in args.configs}
        if any(isinstance(c, int) for c in configs.values()):
            raise ExpertsConfigError("the YOLO detector alone finds no hands")
        estimators = {name: experts_estimator(name, cfg, num_threads=args.threads) for name, cfg in configs.items()}
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    samples = hand_samples(args.data_root, args.limit)
    pairs: dict[tuple[str, float], list] = {}
    for sample in samples:
        image = read_image(sample.image_path)
        for size in args.sizes:
            canvas, small = shrunk_hands(sample, image, size)
            for label, estimator in estimators.items():
                pairs.setdefault((label, size), []).append((small, estimator(canvas)))
    load = os.getloadavg()[0]
    hands = sum(len(s.instances) for s in samples)
    print(f"{len(samples)} labelled images, {hands} hands ({', '.join(HAND_SETS)}), shrunk and centred on a canvas "
          f"of at least {MIN_CANVAS[0]}x{MIN_CANVAS[1]}; load average {load:.1f}")
    print("| experts | " + " | ".join(f"largest hand {s:g} px: found, PCK@0.2" for s in args.sizes) + " |")
    print("|---|" + "---|" * len(args.sizes))
    for label in estimators:
        metrics = [evaluate_predictions(pairs[(label, size)]) for size in args.sizes]
        for group in ("all", *(sorted({s.dataset for s in samples}) if args.per_set else ())):
            cells = [f"{m[f'{group}/hand/detection_rate']:.3f}, {m[f'{group}/hand/pck@0.2']:.3f}" for m in metrics]
            name = label if group == "all" else f"{label}, {group} ({metrics[0][f'{group}/hand/instances']:.0f} hands)"
            print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
