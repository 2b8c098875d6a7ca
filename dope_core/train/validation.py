"""Validation during training: agreement with the experts, and accuracy on annotated samples.

* **Agreement**: each held-out pseudo-labelled image is run through the student at its
  original resolution (the network's transform resizes it and maps outputs back to the
  image's pixels); its people are compared with the experts' pseudo ground truth of
  the record (:class:`~dope_core.train.agreement.Agreement`: PCK, recall, precision,
  3D error), over all of them and apart for whole images and close-up crops
  (``by_kind``: a crop's experts' bodies often reach far outside it, so the two kinds
  measure different things).
* **Accuracy** (when ``validation.annotated`` names the ``annotated`` folder): the
  student is scored on real annotated samples with :func:`dope_core.evaluation.evaluate`.

The student is wrapped as a :class:`~dope_core.estimator.PoseEstimator`
(:class:`StudentEstimator`), with the same post-processing as the network backend.
"""

from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

import cv2
import numpy as np
import torch
from torch import nn

from dope_core.estimator import PoseEstimator
from dope_core.image_io import read_bgr
from dope_core.keypoints import Part
from dope_core.postprocess import PostprocessConfig, detections_to_poses
from dope_core.pseudo_labels.cache import LabelCache, Record, labels_of
from dope_core.pseudo_labels.crops import CROP_MARK
from dope_core.structures import WholeBodyPoses
from dope_core.train.agreement import Agreement
from dope_core.train.config import TrainConfig

LOG = logging.getLogger(__name__)


class StudentEstimator:
    """An in-memory network as a whole-body estimator (RGB ``uint8`` image in, people out).

    Args:
        model: a :class:`dope_core.model.DopeRCNN` (put in eval mode here).
        parts: parts to report.
        postprocess: post-processing settings (the network backend's defaults if ``None``).
    """

    name = "student"

    def __init__(self, model: nn.Module, *, parts: Sequence[Part | str] = tuple(Part),
                 postprocess: Optional[PostprocessConfig] = None) -> None:
        self.model = model.eval()
        self.parts = tuple(Part(p) for p in parts)
        self.postprocess = postprocess or PostprocessConfig()
        self.num_anchor_poses = {p.value: int(model.roi_heads.anchors(p.value).shape[0]) for p in Part}
        self.device = str(next(model.parameters()).device)

    @torch.no_grad()
    def __call__(self, image: np.ndarray) -> WholeBodyPoses:
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
        det = self.model([tensor.to(self.device)])[0]
        return detections_to_poses(det, image_size=(image.shape[1], image.shape[0]), parts=self.parts,
                                   num_anchor_poses=self.num_anchor_poses, config=self.postprocess)


def spread(records: Sequence[Any], count: int) -> list[Any]:
    """At most ``count`` of ``records``, evenly spaced over the whole sequence (all when fewer).

    Held-out records come sorted by source (video, then frame): the first ``count`` would
    all be frames of the first held-out video.
    """
    records = list(records)
    if count >= len(records):
        return records
    if count <= 0:
        return []
    return [records[i] for i in np.unique(np.linspace(0, len(records) - 1, count).round().astype(int))]


def item_kind(key: str) -> str:
    """``"crops"`` for a close-up cut from a labelled image (its key holds the crop mark), else ``"whole"``."""
    return "crops" if CROP_MARK in key else "whole"


def agreement_with_experts(estimator: PoseEstimator, records: Sequence[tuple[LabelCache, Record]], *,
                           alpha: float, hard_threshold: float, max_images: int) -> dict[str, Any]:
    """Agreement of the student with the records' pseudo ground truth (see the module docstring):
    ``images``, ``skipped``, ``alpha``, ``parts`` (over all images) and ``by_kind`` (``"whole"`` and
    ``"crops"``, each with its ``images`` and ``parts``; a kind without images is left out)."""
    agreement = Agreement(alpha=alpha)
    kinds = {kind: Agreement(alpha=alpha) for kind in ("whole", "crops")}
    counts = dict.fromkeys(kinds, 0)
    used = skipped = 0
    for cache, record in spread(records, max_images):
        record = labels_of(record)
        bgr = read_bgr(cache.image_path(record))
        if bgr is None or record.pseudo_gt is None:
            skipped += 1
            continue
        student = estimator(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        kind = item_kind(record.key)
        for part in estimator.parts:
            teacher = [p for p in record.pseudo_gt.parts(part) if p.score >= hard_threshold]
            agreement.add(part, student.parts(part), teacher)
            kinds[kind].add(part, student.parts(part), teacher)
        counts[kind] += 1
        used += 1

    def parts(a: Agreement) -> dict[str, Any]:
        return {k: v for k, v in a.to_dict().items() if Part(k) in estimator.parts}

    return {"images": used, "skipped": skipped, "alpha": alpha, "parts": parts(agreement),
            "by_kind": {kind: {"images": counts[kind], "parts": parts(kinds[kind])}
                        for kind in kinds if counts[kind]}}


def accuracy_on_annotated(estimator: PoseEstimator, root: str, datasets: Sequence[str]) -> dict[str, float]:
    """Flat metrics of :func:`dope_core.evaluation.evaluate` on the annotated sets under ``root``."""
    from dope_core.datasets import DATASET_NAMES, load_annotated
    from dope_core.evaluation import evaluate

    samples = [s for name in (datasets or DATASET_NAMES) for s in load_annotated(name, root)]
    return evaluate(estimator, samples)


def validate(model: nn.Module, records: Sequence[tuple[LabelCache, Record]], cfg: TrainConfig) -> dict[str, Any]:
    """The validation report of an in-memory student: ``{"agreement": {...}, "accuracy": {...} or None}``."""
    return validate_estimator(StudentEstimator(model, parts=cfg.data.parts), records, cfg)


def validate_estimator(estimator: PoseEstimator, records: Sequence[tuple[LabelCache, Record]],
                       cfg: TrainConfig) -> dict[str, Any]:
    """The same report for any estimator with a ``parts`` attribute (e.g. a
    :class:`~dope_core.model.inference.NetworkEstimator` on an exported checkpoint), so that
    two checkpoints are compared on one run's held-out images."""
    report: dict[str, Any] = {"agreement": agreement_with_experts(
        estimator, records, alpha=cfg.validation.pck_alpha, hard_threshold=cfg.data.hard_threshold,
        max_images=cfg.validation.max_images), "accuracy": None}
    if cfg.validation.annotated:
        report["accuracy"] = accuracy_on_annotated(estimator, cfg.validation.annotated, cfg.validation.annotated_datasets)
    return report
