"""How much of the multi-person table is the tuning: the labelled images mirrored, resized and recompressed.

The experts' rules and thresholds were chosen on the annotated samples of ``../shared/data``,
so their scores there are optimistic for photos they never saw. This scores the same labelled
people on copies that hold the same people but that no rule was tuned on: each image mirrored
(left and right labels exchanged), shrunk to 0.75 (``INTER_AREA``), enlarged 1.5 times
(``INTER_CUBIC``) and recompressed as a JPEG of quality 50; with ``--copies``, also (or instead)
photometric copies, as other cameras would give them: grey (a mono camera), dark (under-exposed),
blurred and noisy (:data:`PHOTOMETRIC`). Bodies are scored as in
``eval_accuracy.py --multi-person`` (:func:`dope_core.evaluation.score_multi_person`: people with
at least 6 labelled limb joints, one-to-one matching, recall and PCK@0.2 of the torso with missed
people counted wrong), over every image of the single-person body sets (Human3.6M, MPI-INF-3DHP,
MPII, COCO-WholeBody) and of the multi-person samples (COCO, CrowdPose, OCHuman, PoseTrack18).

One row per experts configuration (``--configs``: presets or YAML files, as in
``eval_accuracy.py``); the last column is the mean over the copies. A second table counts the
false bodies on the lab images of each copy (Human3.6M, MPI-INF-3DHP: one actor each; bodies found
beyond the labelled person, as ``eval_accuracy.py --multi-person`` counts them). Usage:
    .venv/bin/python benchmarks/eval_perturbed.py --configs default config/my_experts.yaml
    .venv/bin/python benchmarks/eval_perturbed.py --copies gray dark blur noise
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
for path in (REPO_ROOT, REPO_ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from dope_core.datasets.multi_person import MULTI_PERSON_SETS  # noqa: E402
from dope_core.datasets.sample import GroundTruthInstance  # noqa: E402
from dope_core.evaluation import PersonScore, multi_person_metrics, score_multi_person  # noqa: E402
from dope_core.image_io import read_image  # noqa: E402
from dope_core.keypoints import FLIP_PERMUTATION, Part  # noqa: E402
from eval_accuracy import LAB_SETS, jpeg_round_trip  # noqa: E402
from eval_small_people import BODY_SETS, add_body_set_arguments, estimators_and_samples, scaled  # noqa: E402

COPIES = ("mirrored", "x0.75", "x1.5", "jpeg50")
"""The copies scored besides the original by default, in the table's order."""
PHOTOMETRIC = ("gray", "dark", "blur", "noise")
"""Copies with the same geometry and other pixels: the luminance in all three channels (a mono camera),
every value times 0.35 (under-exposed), a Gaussian blur of sigma 2 px (out of focus, moving) and
Gaussian noise of sigma 12 grey levels (high gain; seeded, the same on every run)."""


def mirrored(gt: GroundTruthInstance, width: int) -> GroundTruthInstance:
    """The 2D labels of ``gt`` (a body) in its image mirrored left to right (``width`` pixels): x
    becomes ``width - 1 - x`` and the left and right joints exchange their labels (the person's left
    hand is on the image's other side, and still their left). The 3D labels are left out."""
    perm = list(FLIP_PERMUTATION[gt.part])
    kp = gt.keypoints_2d.copy()
    kp[:, 0] = width - 1 - kp[:, 0]
    box = np.asarray(gt.box, dtype=np.float64).copy()
    box[[0, 2]] = width - 1 - box[[2, 0]]
    return dataclasses.replace(gt, keypoints_2d=kp[perm], visible=np.asarray(gt.visible)[perm], box=box,
                               keypoints_3d=None, valid_3d=None, root_camera=None)


def copies(image: np.ndarray, gts: Sequence[GroundTruthInstance], names: Sequence[str] = COPIES
           ) -> Iterator[tuple[str, np.ndarray, list[GroundTruthInstance]]]:
    """``(name, image, labels)`` of each copy ``names`` gives (of :data:`COPIES` and :data:`PHOTOMETRIC`;
    RGB ``uint8``, labels in its pixels), in that order."""
    w = image.shape[1]
    make = {
        "mirrored": lambda: (np.ascontiguousarray(image[:, ::-1]), [mirrored(g, w) for g in gts]),
        "x0.75": lambda: (cv2.resize(image, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA),
                          [scaled(g, 0.75) for g in gts]),
        "x1.5": lambda: (cv2.resize(image, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC),
                         [scaled(g, 1.5) for g in gts]),
        "jpeg50": lambda: (jpeg_round_trip(image, 50), list(gts)),
        "gray": lambda: (cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB), list(gts)),
        "dark": lambda: (np.clip(image * 0.35, 0, 255).astype(np.uint8), list(gts)),
        "blur": lambda: (cv2.GaussianBlur(image, (0, 0), 2.0), list(gts)),
        "noise": lambda: (np.clip(image + np.random.default_rng(0).normal(0.0, 12.0, image.shape), 0, 255)
                          .astype(np.uint8), list(gts)),
    }
    for name in names:
        yield (name, *make[name]())


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_body_set_arguments(p)
    p.add_argument("--copies", nargs="+", choices=COPIES + PHOTOMETRIC, default=list(COPIES),
                   help="the copies scored besides the original")
    args = p.parse_args(argv)
    prepared = estimators_and_samples(args)
    if prepared is None:
        return 2
    estimators, samples = prepared
    scores: dict[tuple[str, str], list[PersonScore]] = {}
    extra: dict[tuple[str, str], int] = {}
    lab = sum(sample.dataset in LAB_SETS for sample in samples)
    for sample in samples:
        image = read_image(sample.image_path)
        gts = sample.of_part(Part.BODY)
        for copy, pixels, labels in [("original", image, gts), *copies(image, gts, args.copies)]:
            for name, estimator in estimators.items():
                bodies = estimator(pixels).parts(Part.BODY)
                got = score_multi_person(labels, bodies)
                scores.setdefault((name, copy), []).extend(got)
                if sample.dataset in LAB_SETS:
                    extra[(name, copy)] = extra.get((name, copy), 0) + len(bodies) - sum(p.found for p in got)
    people = multi_person_metrics(scores[(args.configs[0], "original")])["people"]
    print(f"{len(samples)} labelled images ({', '.join(BODY_SETS + tuple(MULTI_PERSON_SETS))}), {people:.0f} people; "
          f"recall / PCK@0.2 torso; load average {os.getloadavg()[0]:.1f}")
    print("| experts | original | " + " | ".join(args.copies) + " | mean of the copies |")
    print("|---|---|" + "---|" * (len(args.copies) + 1))
    for name in args.configs:
        metrics = {copy: multi_person_metrics(scores[(name, copy)]) for copy in ("original", *args.copies)}
        cells = [f"{m['recall']:.3f} / {m['pck@0.2_torso']:.3f}" for m in metrics.values()]
        mean = np.mean([[metrics[c]["recall"], metrics[c]["pck@0.2_torso"]] for c in args.copies], axis=0)
        print(f"| {name} | " + " | ".join(cells) + f" | {mean[0]:.3f} / {mean[1]:.3f} |")
    if lab:
        print(f"\nfalse bodies on the {lab} lab images ({', '.join(LAB_SETS)}: one actor each, bodies found beyond "
              "the labelled person)")
        print("| experts | original | " + " | ".join(args.copies) + " | sum of the copies |")
        print("|---|---|" + "---|" * (len(args.copies) + 1))
        for name in args.configs:
            counts = [extra.get((name, copy), 0) for copy in ("original", *args.copies)]
            print(f"| {name} | " + " | ".join(str(c) for c in counts) + f" | {sum(counts[1:])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
