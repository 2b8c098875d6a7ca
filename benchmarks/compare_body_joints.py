#!/usr/bin/env python3
"""Which body joints a person proposal source's own 2D keypoints get right more often than the
landmark model: the measurement behind ``source_joints`` of ``config/experts_yolo.yaml``.

On the multi-person samples of ``../shared/data/annotated`` (as ``eval_accuracy.py
--multi-person``), the optional YOLO11n-pose detector by itself (at the configuration's
``yolo_image_size``) and the experts of the given configuration with ``source_joints`` emptied
(every joint from the BlazePose landmark model; bodies the experts made from YOLO's joints,
where the landmark pass disagreed, left out) are scored per labelled person
(:func:`dope_core.evaluation.score_multi_person`). Over the people
that both find, per limb joint: labelled count and PCK@0.2 of the torso diameter of each source.
Prints the joints where the detector is right more often, as a ``source_joints`` list; the
choice is made per left/right pair (both sides pooled: on a few dozen people a difference between
the two sides of one joint is noise, and both models are left/right symmetric).

Needs the opt-in extra (``scripts/setup_env.sh --with yolo``)::

    .venv/bin/python benchmarks/compare_body_joints.py --config config/experts_yolo.yaml
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from dope_core.datasets.multi_person import MULTI_PERSON_SETS, load_multi_person  # noqa: E402
from dope_core.evaluation import LIMB_JOINTS, score_multi_person  # noqa: E402
from dope_core.experts.config import ExpertsConfigError, load_experts_config  # noqa: E402
from dope_core.image_io import read_image  # noqa: E402
from dope_core.keypoints import BODY_JOINTS, Part  # noqa: E402

DEFAULT_ROOT = REPO_ROOT.parent / "shared" / "data" / "annotated"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--config", type=Path, default=REPO_ROOT / "config" / "experts_yolo.yaml",
                   help="experts configuration with the yolo person detector")
    p.add_argument("--data-root", type=Path, default=DEFAULT_ROOT, help="the 'annotated' folder")
    p.add_argument("--threads", type=int, default=2, help="LiteRT CPU threads per model")
    args = p.parse_args(argv)
    try:
        config = load_experts_config(args.config).replace(source_joints=())
    except ExpertsConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if "yolo" not in config.person_detectors:
        print(f"error: {args.config} does not name the yolo person detector", file=sys.stderr)
        return 2
    from dope_core.experts.ensemble import ExpertsEstimator
    from dope_core.experts.yolo import YoloPoseDetector

    detector = YoloPoseDetector(image_size=config.yolo_image_size)
    experts = ExpertsEstimator(config=config, num_threads=args.threads, parts=[Part.BODY])
    labelled = np.zeros(len(BODY_JOINTS), int)
    right = {"yolo": np.zeros(len(BODY_JOINTS), int), "landmarks": np.zeros(len(BODY_JOINTS), int)}
    people = 0
    for name in MULTI_PERSON_SETS:
        for sample in load_multi_person(name, args.data_root):
            image = read_image(sample.image_path)
            gts = sample.of_part(Part.BODY)
            bodies, _, _ = experts.detect_landmarks(image)
            ours = score_multi_person(gts, [b.pose for b in bodies if not b.from_source and b.pose.score >= 0.5])
            theirs = score_multi_person(gts, detector.bodies(image))
            for a, b in zip(ours, theirs):
                if a.found and b.found and a.labelled:
                    people += 1
                    labelled += a.joints_labelled
                    right["landmarks"] += a.joints_correct
                    right["yolo"] += b.joints_correct
    load = os.getloadavg()[0]
    print(f"{people} people found by both (experts config {args.config.name}, source_joints emptied); "
          f"PCK@0.2 torso per joint; load average {load:.1f}")
    print(f"{'joint':<16}{'labelled':>9}{'yolo':>8}{'landmarks':>11}")
    for j in LIMB_JOINTS:
        n = max(int(labelled[j]), 1)
        print(f"{BODY_JOINTS[j]:<16}{labelled[j]:>9}{right['yolo'][j] / n:>8.2f}{right['landmarks'][j] / n:>11.2f}")
    better = []
    for kind in ("ankle", "knee", "hip", "wrist", "elbow", "shoulder"):
        pair = [BODY_JOINTS.index(f"{side}_{kind}") for side in ("right", "left")]
        n = max(int(labelled[pair].sum()), 1)
        yolo, landmarks = right["yolo"][pair].sum(), right["landmarks"][pair].sum()
        print(f"{kind + 's (pair)':<16}{labelled[pair].sum():>9}{yolo / n:>8.2f}{landmarks / n:>11.2f}")
        if yolo > landmarks:
            better += [BODY_JOINTS[j] for j in pair]
    total = max(int(labelled.sum()), 1)
    print(f"{'all limb joints':<16}{labelled.sum():>9}{right['yolo'].sum() / total:>8.2f}"
          f"{right['landmarks'].sum() / total:>11.2f}")
    print(f"source_joints: [{', '.join(better)}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
