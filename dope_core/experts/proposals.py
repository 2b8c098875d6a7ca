"""Person proposals: where the body landmark model should look.

The body expert is two-stage: proposal sources say where people may be (a box in
pixels, and when they know it the two alignment points of BlazePose: the middle of
the hips and a point whose distance to it is the radius of a circle around the
whole body), then the landmark model runs on an aligned region of interest per
proposal. Sources implement :class:`ProposalSource`; :func:`merge_proposals`
keeps one proposal per place (box NMS across sources) and caps their number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional, Protocol, Sequence

import numpy as np

from dope_core.boxes import box_iou
from dope_core.experts.object_ssd import ObjectSSD
from dope_core.experts.roi import RotatedRect, alignment_rotation
from dope_core.experts.ssd import AnchorConfig, Detection, SSDDetector, tile_views, weighted_nms

log = logging.getLogger(__name__)

ROI_SCALE = 1.25
"""BlazePose's region of interest: the alignment circle's square, scaled by this."""

KEYPOINT_SCORE = 0.5
"""A source's keypoint counts (alignment points, joints taken from it) from this confidence."""


@dataclass
class Proposal:
    """A place where a person may be.

    Attributes:
        box: ``x1, y1, x2, y2`` pixels.
        score: the source's confidence in [0, 1].
        source: name of the source that proposed it.
        alignment: ``(2, 2)`` pixels, the middle of the hips and the scale point
            (BlazePose's alignment points), or ``None`` when the source gives a box only.
        keypoints: ``(13, 3)`` the source's own body joints (DOPE's order; ``x, y`` pixels and
            a confidence in [0, 1]), or ``None`` when it gives none (the optional YOLO detector does).
    """

    box: np.ndarray
    score: float
    source: str
    alignment: Optional[np.ndarray] = None
    keypoints: Optional[np.ndarray] = None

    def roi(self) -> Optional[RotatedRect]:
        """The landmark model's region for this proposal (``None`` when degenerate).

        With alignment points: centred on the hips, side ``2.5 |scale point - hips|``,
        rotated so that the hips-to-scale-point direction points up. With a box only:
        an upright square around the box centre, side 1.25 times the box's larger side
        (the landmark model's own re-crop then aligns it, see
        :class:`dope_core.experts.body.BodyExpert`).
        """
        if self.alignment is not None:
            return region_from_points(self.alignment[0], self.alignment[1])
        x1, y1, x2, y2 = (float(v) for v in self.box)
        side = max(x2 - x1, y2 - y1)
        if side < 4:
            return None
        return RotatedRect((x1 + x2) / 2, (y1 + y2) / 2, side * ROI_SCALE, 0.0)


def region_from_points(centre: np.ndarray, scale_point: np.ndarray) -> Optional[RotatedRect]:
    """The landmark model's region from a body centre and scale point (pixels): a square of
    side ``2.5 |scale_point - centre|`` about the centre, rotated so that the scale point is
    up; ``None`` when under 5 pixels."""
    side = 2.0 * float(np.linalg.norm(np.asarray(scale_point) - np.asarray(centre)))
    if side < 4:
        return None
    return RotatedRect(float(centre[0]), float(centre[1]), side,
                       alignment_rotation(centre, scale_point, np.pi / 2)).scaled(ROI_SCALE)


class ProposalSource(Protocol):
    """A person proposal source.

    ``propose`` takes an RGB ``uint8`` image ``(H, W, 3)`` and returns proposals
    scoring at least ``min_score``, best first.
    """

    name: str

    def propose(self, image: np.ndarray, *, min_score: float) -> list[Proposal]: ...


class BlazePoseDetector:
    """BlazePose's person detector (a face-and-upper-body SSD) on the whole image and tiles.

    Args:
        num_threads: LiteRT CPU threads.
        tile_fractions: tile sides as fractions of the image's longer side (empty: whole image only).
        min_tile_side: tiles of the finer fractions (all but the first) smaller than this
            (pixels) are left out: small images get no finer tiles (the first fraction's tiles
            go down to 3/4 of the detector's 224-pixel input, as before).
    """

    name = "blazepose"

    def __init__(self, *, num_threads: int = 2, tile_fractions: Sequence[float] = (0.5,),
                 min_tile_side: float = 168.0) -> None:
        self.detector = SSDDetector(model="pose_detection", anchors=AnchorConfig(224, (8, 16, 32, 32, 32)),
                                    num_keypoints=4, value_range=(-1.0, 1.0), num_threads=num_threads)
        self.tile_fractions = tuple(tile_fractions)
        self.min_tile_side = float(min_tile_side)

    def coarse_views(self, width: int, height: int) -> list[np.ndarray]:
        """The whole image and the tiles of the first (coarsest) fraction, down to 3/4 of the
        detector's input (``(4,)`` boxes, pixels)."""
        return self.detector.whole_image_views(width, height, self.tile_fractions[:1])

    def whole_image_views(self, width: int, height: int) -> list[np.ndarray]:
        """:meth:`coarse_views`, then the tiles of the finer fractions down to ``min_tile_side`` pixels."""
        fine = tile_views(width, height, tile_fractions=self.tile_fractions[1:], min_side=self.min_tile_side)
        return self.coarse_views(width, height) + fine[1:]

    def propose(self, image: np.ndarray, *, min_score: float, regions: Sequence[np.ndarray] = (),
                whole_image: bool = True) -> list[Proposal]:
        """Detections in the whole image and its tiles, and in ``regions`` (``(4,)`` boxes, pixels)."""
        h, w = image.shape[:2]
        views = (self.whole_image_views(w, h) if whole_image else []) + list(regions)
        return [Proposal(d.box, d.score, self.name, d.keypoints[:2].copy())
                for d in self.detector.detect(image, views, min_score)]


class SSDPersonDetector:
    """Objectron's Open Images SSD, its ``Person`` class (:class:`~dope_core.experts.object_ssd.ObjectSSD`).

    A whole-person box detector: it finds people seen from the back, small and partly hidden
    ones, where BlazePose's detector needs a face. Box-only proposals (the landmark model's own
    re-crop aligns them). Its scores run lower than BlazePose's (a clear person at 0.5-0.8),
    so it has its own threshold.

    Args:
        score: proposal threshold (in place of the body expert's ``detector_score``).
        tile_fractions: tiles (fractions of the image's longer side) besides the whole image.
        fill_tile_fractions: tiles of :meth:`propose_fill`, searched after every other proposal
            for people outside the bodies found (:meth:`~dope_core.experts.body.BodyExpert.detect_landmarks`).
        num_threads: LiteRT CPU threads.
    """

    name = "ssd"

    def __init__(self, *, score: float = 0.3, tile_fractions: Sequence[float] = (),
                 fill_tile_fractions: Sequence[float] = (), num_threads: int = 2) -> None:
        self.detector = ObjectSSD(num_threads=num_threads)
        self.score = float(score)
        self.tile_fractions = tuple(tile_fractions)
        self.fill_tile_fractions = tuple(fill_tile_fractions)

    def propose(self, image: np.ndarray, *, min_score: float) -> list[Proposal]:
        """Person boxes scoring at least this source's own ``score`` (``min_score`` is the
        BlazePose threshold, which does not apply to this detector's scale)."""
        return self.propose_with_support(image, min_score=min_score, support_score=self.score)[0]

    def propose_with_support(self, image: np.ndarray, *, min_score: float, support_score: float
                             ) -> tuple[list[Proposal], list[Detection]]:
        """:meth:`propose`'s proposals and, from the same run of the detector, every person box scoring
        at least ``support_score`` (merged apart, so that the proposals are :meth:`propose`'s): the
        boxes where this detector sees a person, however unsure (the body expert's ``unseen_score``)."""
        low = min(self.score, float(support_score))
        dets = self.detector.detections(image, min_score=low, tile_fractions=self.tile_fractions)
        boxes = self.detector.merged([d for d in dets if d.score >= self.score])
        support = self.detector.merged(dets) if low < self.score else [d for d in boxes if d.score >= support_score]
        return [Proposal(d.box, d.score, self.name) for d in boxes], support

    def propose_fill(self, image: np.ndarray) -> list[Proposal]:
        """Person boxes in the tiles of ``fill_tile_fractions`` (not the whole image; tiles under 3/4
        of the input left out), scoring at least this source's ``score``, merged; none without such
        tiles. Smaller tiles than the first search's show small people at a size the detector
        finds; searched first, their proposals of large people would compete with the first
        search's (docs/accuracy.md)."""
        h, w = image.shape[:2]
        tiles = tile_views(w, h, tile_fractions=self.fill_tile_fractions, min_side=0.75 * self.detector.size)[1:]
        return self.propose_in(image, tiles) if tiles else []

    def propose_in(self, image: np.ndarray, regions: Sequence[np.ndarray]) -> list[Proposal]:
        """Person boxes in each of ``regions`` (``(4,)`` boxes, pixels, each letterboxed into the
        detector's input on its own), scoring at least this source's ``score``, merged."""
        dets = [d for r in regions for d in self.detector.detect_view(image, np.asarray(r, dtype=np.float64),
                                                                       self.score)]
        return [Proposal(d.box, d.score, self.name) for d in weighted_nms(dets, self.detector.nms_iou)]


def merge_proposals(proposals: Sequence[Proposal], *, iou: float = 0.5, max_candidates: int = 100) -> list[Proposal]:
    """One proposal per place: best first, dropping any whose box overlaps a kept one above ``iou``.

    Between a proposal with alignment points and one without at the same place, the
    aligned one is kept (its region is better) with the higher of the two scores; keypoints
    of a dropped proposal pass to the kept one when it has none. Two proposals that both carry
    keypoints are never merged: their source told the two people apart by their poses (people
    behind one another overlap by more than ``iou``).
    At most ``max_candidates`` are kept; more are dropped with a log line (a crowd or
    a texture can give hundreds).
    """
    order = sorted(proposals, key=lambda p: -p.score)
    kept: list[Proposal] = []
    for p in order:
        if kept:
            overlap = box_iou(np.asarray(p.box, dtype=np.float64)[None], np.stack([k.box for k in kept]))[0]
            if p.keypoints is not None:
                overlap[[k.keypoints is not None for k in kept]] = 0.0
            best = int(np.argmax(overlap))
            if overlap[best] > iou:
                k = kept[best]
                if k.alignment is None and p.alignment is not None:
                    k = Proposal(p.box, k.score, p.source, p.alignment, k.keypoints)
                if k.keypoints is None and p.keypoints is not None:
                    k = Proposal(k.box, k.score, k.source, k.alignment, p.keypoints)
                kept[best] = k
                continue
        kept.append(p)
    if len(kept) > max_candidates:
        log.info("%d person proposals, keeping the best %d", len(kept), max_candidates)
        kept = kept[:max_candidates]
    return kept
