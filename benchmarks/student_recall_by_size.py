"""Which of the experts' held-out parts a student finds, by their size at the student's input.

For a training configuration's held-out images (the ``by_video`` split of ``dope-train
fit``), every teacher part of score at least ``data.hard_threshold`` is matched one to one
to the student's detections of that part (:func:`dope_core.train.agreement.match_teachers`,
box IoU at least 0.3, the agreement's rule) and counted in a bucket of its box's longer
side in pixels of the network's input (the image resized as the checkpoint's transform
resizes it), and in a row per source (a video, or its crops). Each checkpoint runs at its
own post-processing thresholds. Usage::

    .venv/bin/python benchmarks/student_recall_by_size.py \\
        --config config/train/student_mobilenetv2_cpu_finetune_v8.yaml --part face \\
        --checkpoints dope_core/weights/dope_student_mobilenetv2.pth runs/ft_v8.pth
"""

from __future__ import annotations

import argparse
import bisect
import sys
from collections import Counter
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dope_core.keypoints import Part  # noqa: E402
from dope_core.model.inference import NetworkEstimator  # noqa: E402
from dope_core.pseudo_labels.cache import labels_of  # noqa: E402
from dope_core.pseudo_labels.crops import is_crop  # noqa: E402
from dope_core.pseudo_labels.sources import source_of  # noqa: E402
from dope_core.train.agreement import match_teachers  # noqa: E402
from dope_core.train.config import load_config  # noqa: E402
from dope_core.train.dataset import load_records  # noqa: E402
from dope_core.train.trainer import train_val_split  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the training configuration whose held-out images to use")
    parser.add_argument("--checkpoints", nargs="+", required=True, help="network checkpoints (exported students)")
    parser.add_argument("--part", default="face", choices=[p.value for p in Part])
    parser.add_argument("--edges", nargs="+", type=float, default=[20.0, 40.0, 80.0],
                        help="bucket edges: longer box side in pixels of the network's input")
    args = parser.parse_args()
    cfg = load_config(args.config)
    d, part = cfg.data, Part(args.part)
    _, held_out = train_val_split(cfg, load_records(d.caches))
    held_out = [(c, labels_of(r)) for c, r in held_out]   # a few hundred records: their labels in memory
    held_out = [(c, r) for c, r in held_out if r.pseudo_gt is not None
                and any(p.score >= d.hard_threshold for p in r.pseudo_gt.parts(part))]
    edges = sorted(args.edges)
    labels = [f"{lo:g}-{hi:g} px" for lo, hi in zip([0.0] + edges, edges)] + [f">= {edges[-1]:g} px"]
    print(f"{len(held_out)} held-out images with a {part.value} of score >= {d.hard_threshold}")
    for path in args.checkpoints:
        estimator = NetworkEstimator(checkpoint=path, parts=[part], device="cpu")
        transform = estimator.model.transform
        found: Counter[tuple[int, str]] = Counter()   # keys: (0, size bucket), then (1, source)
        total: Counter[tuple[int, str]] = Counter()
        for cache, record in held_out:
            bgr = cv2.imread(str(cache.image_path(record)), cv2.IMREAD_COLOR)
            if bgr is None:
                print(f"skipped {record.key}: its image cannot be read")
                continue
            h, w = bgr.shape[:2]
            scale = min(transform.min_size / min(h, w), transform.max_size / max(h, w))
            students = estimator(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).parts(part)
            teachers = [p for p in record.pseudo_gt.parts(part) if p.score >= d.hard_threshold]
            source = source_of(record.key) + (" (crops)" if is_crop(record.key) else "")
            for teacher, match in zip(teachers, match_teachers(students, teachers)):
                side = scale * max(teacher.box[2] - teacher.box[0], teacher.box[3] - teacher.box[1])
                for key in ((0, labels[bisect.bisect_right(edges, side)]), (1, source)):
                    total[key] += 1
                    found[key] += match is not None
        print(f"\n{path}")
        for key in sorted(total, key=lambda k: (k[0], labels.index(k[1]) if k[0] == 0 else k[1])):
            print(f"  {key[1]:48s} {found[key]:4d} of {total[key]:4d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
