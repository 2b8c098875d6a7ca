"""How the experts fare on small people: the labelled images shrunk so that their tallest person is N px.

The annotated photos of ``../shared/data`` show mostly large people. This scores the same
labels at smaller scales: every image of the single-person body sets (Human3.6M,
MPI-INF-3DHP, MPII, COCO-WholeBody) and of the multi-person samples (COCO, CrowdPose,
OCHuman, PoseTrack18) is resized (``INTER_AREA``) so that its tallest labelled person
(box height) is ``--heights`` pixels, its labels with it, and the bodies found are scored
as in ``eval_accuracy.py --multi-person`` (:func:`dope_core.evaluation.score_multi_person`:
people with at least 6 labelled limb joints, one-to-one matching, recall and PCK@0.2 of
the torso with missed people counted wrong). Images are never enlarged.

One row per experts configuration (``--configs``: presets or YAML files, as in
``eval_accuracy.py``, and ``NAME+ATTR=VALUE``: an attribute of the body expert,
:class:`~dope_core.experts.body.BodyExpert`, set, e.g. ``default+refine_min_height=32``: no
configuration key holds it). Usage:
    .venv/bin/python benchmarks/eval_small_people.py --canvas --heights 60 100 160 --configs default default+refine_min_height=32
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
for path in (REPO_ROOT, REPO_ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from dope_core.datasets import load_annotated  # noqa: E402
from dope_core.datasets.multi_person import MULTI_PERSON_SETS, load_multi_person  # noqa: E402
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance  # noqa: E402
from dope_core.evaluation import PersonScore, multi_person_metrics, score_multi_person  # noqa: E402
from eval_accuracy import experts_config, experts_estimator  # noqa: E402
from dope_core.experts.config import ExpertsConfigError  # noqa: E402
from dope_core.image_io import read_image  # noqa: E402
from dope_core.keypoints import Part  # noqa: E402

BODY_SETS = ("h36m", "mpi_inf_3dhp", "mpii", "coco_wholebody")
"""The single-person sets whose images are scored besides :data:`MULTI_PERSON_SETS`."""


def body_samples(data_root: Path, limit: int | None = None) -> list[AnnotatedSample]:
    """The images of :data:`BODY_SETS` and :data:`MULTI_PERSON_SETS` under ``data_root`` that label
    a body, at most ``limit``."""
    samples = [s for name in BODY_SETS for s in load_annotated(name, data_root)]
    samples += [s for name in MULTI_PERSON_SETS for s in load_multi_person(name, data_root)]
    return [s for s in samples if s.of_part(Part.BODY)][:limit]


def body_estimators(names: Sequence[str], *, threads: int = 2) -> dict:
    """``{name: ExpertsEstimator}`` of bodies only, per experts preset or YAML file (as
    ``eval_accuracy.py`` reads them); ``ValueError`` (one line) for a bad name or file, or for the
    YOLO detector alone, which finds no 3D."""
    configs = {name: experts_config(name) for name in names}
    if any(isinstance(c, int) for c in configs.values()):
        raise ExpertsConfigError("the YOLO detector alone finds no hands or 3D: use eval_accuracy.py --multi-person")
    return {name: experts_estimator(name, cfg, num_threads=threads, parts=(Part.BODY,)) for name, cfg in configs.items()}


def add_body_set_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the scripts that score :func:`body_samples`: ``--data-root``, ``--configs``,
    ``--limit``, ``--threads``."""
    p.add_argument("--data-root", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "annotated")
    p.add_argument("--configs", nargs="+", default=["default"],
                   help="experts presets or YAML files, one row each (NAME+ATTR=VALUE: an attribute of the body expert set)")
    p.add_argument("--limit", type=int, default=None, help="at most this many images (a quick look)")
    p.add_argument("--threads", type=int, default=2)


def estimators_and_samples(args: argparse.Namespace) -> tuple[dict, list[AnnotatedSample]] | None:
    """:func:`body_estimators` and :func:`body_samples` of the options :func:`add_body_set_arguments`
    adds; ``None`` after a one-line error on stderr (no data folder, a bad configuration)."""
    if not args.data_root.is_dir():
        print(f"error: data folder {args.data_root} not found (give --data-root)", file=sys.stderr)
        return None
    try:
        estimators = body_estimators(args.configs, threads=args.threads)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return None
    return estimators, body_samples(args.data_root, args.limit)


def scaled(gt: GroundTruthInstance, factor: float) -> GroundTruthInstance:
    """``gt`` in an image resized by ``factor`` (its 2D keypoints and box, pixels)."""
    return dataclasses.replace(gt, keypoints_2d=gt.keypoints_2d * factor, box=np.asarray(gt.box) * factor)


def shrunk(sample: AnnotatedSample, image: np.ndarray, tallest: float, *, canvas: bool = False
           ) -> tuple[np.ndarray, list[GroundTruthInstance]]:
    """``image`` and its labelled bodies resized so that the tallest body box is ``tallest``
    pixels high (never enlarged). With ``canvas``, the resized image is centred on a canvas of
    the original size, filled with its mean colour (small people in a full-size image)."""
    bodies = sample.of_part(Part.BODY)
    height = max(float(g.box[3] - g.box[1]) for g in bodies)
    factor = min(1.0, tallest / height) if height > 0 else 1.0
    small, gts = resized(image, bodies, factor)
    if not canvas or factor >= 1.0:
        return small, gts
    return centred(small, gts, image.shape[:2], image.reshape(-1, 3).mean(axis=0))


def resized(image: np.ndarray, gts: Sequence[GroundTruthInstance], factor: float
            ) -> tuple[np.ndarray, list[GroundTruthInstance]]:
    """``image`` shrunk by ``factor`` (``INTER_AREA``; never enlarged) and its labels ``gts`` scaled
    with it."""
    factor = min(factor, 1.0)
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1.0 else image
    return small, [scaled(g, factor) for g in gts]


def centred(small: np.ndarray, gts: Sequence[GroundTruthInstance], size: tuple[int, int], fill: np.ndarray
            ) -> tuple[np.ndarray, list[GroundTruthInstance]]:
    """``small`` centred on a canvas of ``size`` (height, width, pixels; at least ``small``'s) filled
    with the colour ``fill``, and its labels ``gts`` shifted with it."""
    h, w = size
    top, left = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out = np.empty((h, w, 3), dtype=np.uint8)
    out[:] = np.asarray(fill).astype(np.uint8)
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    shift = np.array([left, top], dtype=np.float64)
    return out, [dataclasses.replace(g, keypoints_2d=g.keypoints_2d + shift, box=np.asarray(g.box) + np.tile(shift, 2))
                 for g in gts]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_body_set_arguments(p)
    p.add_argument("--heights", type=float, nargs="+", default=[60.0, 100.0, 160.0],
                   help="the tallest person's height in each shrunk image (pixels)")
    p.add_argument("--canvas", action="store_true",
                   help="keep each image's size: the shrunk image centred on a canvas of its mean colour")
    args = p.parse_args(argv)
    prepared = estimators_and_samples(args)
    if prepared is None:
        return 2
    estimators, samples = prepared
    scores: dict[tuple[str, float], list[PersonScore]] = {}
    for sample in samples:
        image = read_image(sample.image_path)
        for tallest in args.heights:
            small, gts = shrunk(sample, image, tallest, canvas=args.canvas)
            for label, estimator in estimators.items():
                bodies = estimator(small).parts(Part.BODY)
                scores.setdefault((label, tallest), []).extend(score_multi_person(gts, bodies))
    load = os.getloadavg()[0]
    where = "centred on a canvas of the original size" if args.canvas else "alone"
    print(f"{len(samples)} labelled images ({', '.join(BODY_SETS + tuple(MULTI_PERSON_SETS))}), shrunk {where}; "
          f"load average {load:.1f}")
    print("| experts | " + " | ".join(f"tallest {h:g} px: recall, PCK@0.2 torso" for h in args.heights) + " |")
    print("|---|" + "---|" * len(args.heights))
    for label in estimators:
        cells = []
        for tallest in args.heights:
            m = multi_person_metrics(scores[(label, tallest)])
            cells.append(f"{m['recall']:.3f}, {m['pck@0.2_torso']:.3f} ({m['people']:.0f} people)")
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
