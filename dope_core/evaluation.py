"""Accuracy of a whole-body estimator against annotated samples, per dataset and part.

:func:`evaluate` runs any :class:`~dope_core.estimator.PoseEstimator` on
:class:`~dope_core.datasets.AnnotatedSample` images and returns flat metrics
``{"<dataset>/<part>/<metric>": value}``; :func:`evaluate_predictions` does the
same from predictions already made (the trainer's validation uses either).

Protocol, per image and part:

1. every predicted instance of the part (assigned to a person or not) is matched to
   the ground truths by greedy OKS-like 2D similarity
   (:func:`dope_core.metrics.matching.match_instances`, normaliser: the larger side
   of the ground-truth box);
2. ``detection_rate`` = matched ground truths / ground truths. Ground truths left
   unmatched are misses; predictions left unmatched are not counted (the small
   sets do not label every person, e.g. COCO people without keypoints);
3. ``pck@t`` (bodies and hands): 2D keypoints within ``t`` times the ground-truth
   box's larger side, over all annotated keypoints, **misses counting as wrong**;
   ``pckh@t`` likewise with the head size as normaliser, for bodies that have one (MPII);
4. on matched instances with 3D ground truth: ``mpjpe_mm`` (root-aligned: pelvis =
   middle of the hips for bodies, the wrist for hands), ``pa_mpjpe_mm``
   (Procrustes-aligned) and, for hands, ``auc_0_<max>mm`` (area under the 3D PCK
   curve over 0-``max`` mm, root-aligned);
5. on matched faces: ``nme`` (inter-ocular, outer eye corners), a fraction;
6. on matched hands whose side is known on both sides: ``handedness_accuracy``.

Plus per dataset ``images``, ``failed_images`` (unreadable image or estimator
error: their ground truths count as misses) and ``seconds_per_image`` (the
estimator call only, CPU wall time), and the same over everything under ``all/``.
Metrics with nothing to average over are left out rather than reported as 0.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from dope_core.datasets.sample import ROOT_JOINTS, AnnotatedSample, GroundTruthInstance
from dope_core.estimator import PoseEstimator
from dope_core.image_io import read_image
from dope_core.keypoints import BODY_JOINTS, Part
from dope_core.metrics.matching import match_instances
from dope_core.metrics.nme import nme
from dope_core.metrics.pck import bbox_size, pck_correct, torso_size
from dope_core.metrics.pose3d import auc, joint_errors_mm
from dope_core.structures import PartPose, WholeBodyPoses

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationSettings:
    """Thresholds of the protocol (see the module docstring).

    Attributes:
        pck_thresholds: PCK thresholds per part, as fractions of the ground-truth box's larger side.
        pckh_threshold: PCKh threshold, as a fraction of the ground truth's head size.
        auc_max_mm: upper end of the hand 3D PCK curve, millimetres.
        match_kappa: per-keypoint tolerance of the matching similarity (fraction of box side).
        min_similarity: smallest similarity that makes a match.
    """

    pck_thresholds: dict[Part, float] = field(default_factory=lambda: {Part.BODY: 0.1, Part.HAND: 0.2})
    pckh_threshold: float = 0.5
    auc_max_mm: float = 50.0
    match_kappa: float = 0.1
    min_similarity: float = 0.05


@dataclass
class _PartStats:
    gt: int = 0
    matched: int = 0
    pck_correct: int = 0
    pck_total: int = 0
    pckh_correct: int = 0
    pckh_total: int = 0
    errors_mm: list[np.ndarray] = field(default_factory=list)
    pa_errors_mm: list[np.ndarray] = field(default_factory=list)
    nmes: list[float] = field(default_factory=list)
    handedness_hits: list[bool] = field(default_factory=list)


@dataclass
class _DatasetStats:
    images: int = 0
    failed: int = 0
    seconds: list[float] = field(default_factory=list)
    parts: dict[Part, _PartStats] = field(default_factory=lambda: defaultdict(_PartStats))


def evaluate(
    estimator: PoseEstimator,
    samples: Iterable[AnnotatedSample],
    *,
    settings: EvaluationSettings = EvaluationSettings(),
    on_sample: Optional[Callable[[AnnotatedSample, Optional[WholeBodyPoses]], None]] = None,
) -> dict[str, float]:
    """Run ``estimator`` on each sample's image and score it.

    Args:
        estimator: takes an RGB ``uint8`` image, returns :class:`WholeBodyPoses`.
        samples: annotated images (any mix of datasets).
        settings: protocol thresholds.
        on_sample: called after each image with its prediction (``None`` if it failed),
            e.g. to advance a progress bar.

    Returns:
        Flat metrics, see the module docstring.
    """
    stats: dict[str, _DatasetStats] = defaultdict(_DatasetStats)
    for sample in samples:
        prediction, seconds = _predict(estimator, sample)
        _score(stats[sample.dataset], sample, prediction, seconds, settings)
        if on_sample is not None:
            on_sample(sample, prediction)
    return _summarise(stats, settings)


def evaluate_predictions(
    pairs: Iterable[tuple[AnnotatedSample, Optional[WholeBodyPoses]]],
    *,
    settings: EvaluationSettings = EvaluationSettings(),
) -> dict[str, float]:
    """Score predictions already made: ``(sample, prediction or None if it failed)`` pairs.

    Returns the same metrics as :func:`evaluate`, without timings.
    """
    stats: dict[str, _DatasetStats] = defaultdict(_DatasetStats)
    for sample, prediction in pairs:
        _score(stats[sample.dataset], sample, prediction, None, settings)
    return _summarise(stats, settings)


def _predict(estimator: PoseEstimator, sample: AnnotatedSample) -> tuple[Optional[WholeBodyPoses], Optional[float]]:
    try:
        image = read_image(sample.image_path)
    except ValueError as e:
        log.warning("skipping %s: %s", sample.image_path, e)
        return None, None
    start = time.perf_counter()
    try:
        prediction = estimator(image)
    except Exception as e:  # noqa: BLE001 - a failing image is counted, the run goes on
        log.warning("estimator failed on %s: %s: %s", sample.image_path, type(e).__name__, e)
        return None, None
    return prediction, time.perf_counter() - start


def _score(
    stats: _DatasetStats,
    sample: AnnotatedSample,
    prediction: Optional[WholeBodyPoses],
    seconds: Optional[float],
    settings: EvaluationSettings,
) -> None:
    stats.images += 1
    if prediction is None:
        stats.failed += 1
    elif seconds is not None:
        stats.seconds.append(seconds)
    for part in Part:
        gts = sample.of_part(part)
        if gts:
            preds = prediction.parts(part) if prediction is not None else []
            _score_part(stats.parts[part], part, gts, preds, settings)


def _score_part(
    stats: _PartStats, part: Part, gts: Sequence[GroundTruthInstance], preds: Sequence[PartPose], settings: EvaluationSettings
) -> None:
    sizes = [bbox_size(g.box) for g in gts]
    matches = match_instances([p.keypoints_2d for p in preds], [g.keypoints_2d for g in gts], [g.visible for g in gts],
                              sizes, kappa=settings.match_kappa, min_similarity=settings.min_similarity)
    stats.gt += len(gts)
    stats.matched += len(matches)
    threshold = settings.pck_thresholds.get(part)
    for g, (gt, size) in enumerate(zip(gts, sizes)):
        pred = preds[matches[g]] if g in matches else None
        if threshold is not None:
            stats.pck_total += int(gt.visible.sum())
            if pred is not None:
                stats.pck_correct += int(pck_correct(pred.keypoints_2d, gt.keypoints_2d, gt.visible, size, threshold).sum())
        if gt.head_size is not None:
            stats.pckh_total += int(gt.visible.sum())
            if pred is not None:
                stats.pckh_correct += int(pck_correct(pred.keypoints_2d, gt.keypoints_2d, gt.visible, gt.head_size,
                                                      settings.pckh_threshold).sum())
        if pred is None:
            continue
        if gt.keypoints_3d is not None and part in ROOT_JOINTS:
            root = ROOT_JOINTS[part]
            stats.errors_mm.append(joint_errors_mm(pred.keypoints_3d, gt.keypoints_3d, gt.valid_3d, root=root))
            stats.pa_errors_mm.append(
                joint_errors_mm(pred.keypoints_3d, gt.keypoints_3d, gt.valid_3d, root=root, procrustes=True))
        if part is Part.FACE:
            stats.nmes.append(nme(pred.keypoints_2d, gt.keypoints_2d, gt.visible))
        if part is Part.HAND and gt.handedness is not None and pred.handedness is not None:
            stats.handedness_hits.append(gt.handedness is pred.handedness)


def _summarise(stats: dict[str, _DatasetStats], settings: EvaluationSettings) -> dict[str, float]:
    total = _DatasetStats()
    for ds in stats.values():
        total.images += ds.images
        total.failed += ds.failed
        total.seconds += ds.seconds
        for part, ps in ds.parts.items():
            t = total.parts[part]
            t.gt += ps.gt
            t.matched += ps.matched
            t.pck_correct += ps.pck_correct
            t.pck_total += ps.pck_total
            t.pckh_correct += ps.pckh_correct
            t.pckh_total += ps.pckh_total
            t.errors_mm += ps.errors_mm
            t.pa_errors_mm += ps.pa_errors_mm
            t.nmes += ps.nmes
            t.handedness_hits += ps.handedness_hits
    out: dict[str, float] = {}
    for name, ds in [*sorted(stats.items()), ("all", total)]:
        out[f"{name}/images"] = float(ds.images)
        out[f"{name}/failed_images"] = float(ds.failed)
        if ds.seconds:
            out[f"{name}/seconds_per_image"] = float(np.mean(ds.seconds))
        for part in Part:
            if part in ds.parts:
                out.update({f"{name}/{part.value}/{k}": v for k, v in _part_metrics(part, ds.parts[part], settings).items()})
    return out


def _part_metrics(part: Part, ps: _PartStats, settings: EvaluationSettings) -> dict[str, float]:
    out = {"instances": float(ps.gt), "detection_rate": ps.matched / ps.gt}
    threshold = settings.pck_thresholds.get(part)
    if threshold is not None and ps.pck_total:
        out[f"pck@{threshold:g}"] = ps.pck_correct / ps.pck_total
    if ps.pckh_total:
        out[f"pckh@{settings.pckh_threshold:g}"] = ps.pckh_correct / ps.pckh_total
    if ps.errors_mm:
        errors = np.concatenate(ps.errors_mm)
        out["mpjpe_mm"] = float(errors.mean())
        out["pa_mpjpe_mm"] = float(np.concatenate(ps.pa_errors_mm).mean())
        if part is Part.HAND:
            out[f"auc_0_{settings.auc_max_mm:g}mm"] = auc(errors, max_mm=settings.auc_max_mm,
                                                          steps=int(round(settings.auc_max_mm)) + 1)
    if ps.nmes:
        out["nme"] = float(np.mean(ps.nmes))
    if ps.handedness_hits:
        out["handedness_accuracy"] = float(np.mean(ps.handedness_hits))
    return out


# --- Multi-person body recall and recall-aware PCK -------------------------------------------------------------

LIMB_JOINTS: tuple[int, ...] = tuple(i for i, name in enumerate(BODY_JOINTS) if name != "head_top")
"""The 12 limb joints (shoulders, elbows, wrists, hips, knees, ankles) that every multi-person set labels."""


@dataclass(frozen=True)
class MultiPersonSettings:
    """Protocol of :func:`score_multi_person`.

    Attributes:
        min_limb_joints: a person counts when at least this many of the 12 limb joints are labelled.
        large_side: a person is "large" when both sides of the box are at least this many pixels.
        pck_threshold: a joint is right within this fraction of the person's torso diameter.
        match_kappa: per-joint tolerance of the matching similarity (fraction of the box's larger side).
        min_similarity: smallest similarity that makes a match.
    """

    min_limb_joints: int = 6
    large_side: float = 96.0
    pck_threshold: float = 0.2
    match_kappa: float = 0.1
    min_similarity: float = 0.05


@dataclass
class PersonScore:
    """How one labelled person fared: found or not, and its limb joints placed right.

    Attributes:
        large: the person's box is at least ``large_side`` on both sides.
        found: a predicted body was matched to the person.
        correct: limb joints within ``pck_threshold`` torso diameters (0 when missed).
        labelled: labelled limb joints (the PCK denominator; 0 when the torso diameter is unknown).
        joints_correct: ``(13,)`` bool, which joints of :data:`~dope_core.keypoints.BODY_JOINTS` count
            as right (``correct`` of them; all false when missed).
        joints_labelled: ``(13,)`` bool, which count in ``labelled``.
    """

    large: bool
    found: bool
    correct: int
    labelled: int
    joints_correct: np.ndarray = field(default_factory=lambda: np.zeros(len(BODY_JOINTS), bool))
    joints_labelled: np.ndarray = field(default_factory=lambda: np.zeros(len(BODY_JOINTS), bool))


def score_multi_person(gts: Sequence[GroundTruthInstance], bodies: Sequence[PartPose],
                       settings: MultiPersonSettings = MultiPersonSettings()) -> list[PersonScore]:
    """Score the predicted ``bodies`` of one image against its labelled bodies.

    Predictions are matched one-to-one to **all** labelled people of the image by
    OKS-like similarity over the limb joints (so a prediction on a lightly labelled
    person is not counted for a neighbour); scores are returned for the people with
    at least ``min_limb_joints`` labelled limb joints. A person's PCK normaliser is
    the torso diameter (:func:`dope_core.metrics.pck.torso_size`); people without
    one (a shoulder and the opposite hip) count for recall only.
    """
    limbs = list(LIMB_JOINTS)
    visible = [g.visible & np.isin(np.arange(len(g.visible)), limbs) for g in gts]
    matches = match_instances([p.keypoints_2d for p in bodies], [g.keypoints_2d for g in gts], visible,
                              [bbox_size(g.box) for g in gts], kappa=settings.match_kappa,
                              min_similarity=settings.min_similarity)
    out = []
    for g, (gt, vis) in enumerate(zip(gts, visible)):
        if vis.sum() < settings.min_limb_joints:
            continue
        w, h = gt.box[2] - gt.box[0], gt.box[3] - gt.box[1]
        torso = torso_size(gt.keypoints_2d, gt.visible)
        labelled = int(vis.sum()) if np.isfinite(torso) and torso > 0 else 0
        right = np.zeros(len(vis), bool)
        if g in matches and labelled:
            right[vis] = pck_correct(bodies[matches[g]].keypoints_2d, gt.keypoints_2d, vis, torso,
                                     settings.pck_threshold)
        out.append(PersonScore(large=bool(min(w, h) >= settings.large_side), found=g in matches,
                               correct=int(right.sum()), labelled=labelled, joints_correct=right,
                               joints_labelled=vis if labelled else np.zeros(len(vis), bool)))
    return out


def multi_person_metrics(scores: Sequence[PersonScore], settings: MultiPersonSettings = MultiPersonSettings(),
                         ) -> dict[str, float]:
    """``people``, ``recall``, ``large_people``, ``recall_large`` and ``pck@<t>_torso`` over ``scores``.

    Recall and PCK are NaN when there is nobody to average over.
    """
    large = [s for s in scores if s.large]
    labelled = sum(s.labelled for s in scores)
    return {
        "people": float(len(scores)),
        "recall": float(np.mean([s.found for s in scores])) if scores else float("nan"),
        "large_people": float(len(large)),
        "recall_large": float(np.mean([s.found for s in large])) if large else float("nan"),
        f"pck@{settings.pck_threshold:g}_torso": sum(s.correct for s in scores) / labelled if labelled else float("nan"),
    }
