"""The hand expert: BlazePalm palm detector + hand landmark (full) model.

Multi-hand: the palm detector runs on the whole image, on overlapping tiles and
on regions around the wrists of detected bodies (where hands are small); each
palm gets a landmark pass in a rotated region. Rotated regions given directly
(from a body's wrist and knuckles, see :func:`dope_core.experts.ensemble.knuckle_hand_rois`)
get a landmark pass too, which finds hands the palm detector misses. Outputs 21 joints in 2D (pixels)
and 3D (metres, origin at the wrist, camera-aligned axes).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dope_core.boxes import box_contains, box_iou, box_side, fraction_within
from dope_core.experts.common import check_image, dedupe, extent, probability
from dope_core.experts.propagation import hand_roi
from dope_core.experts.roi import RotatedRect, alignment_rotation, rotate_xy
from dope_core.experts.ssd import AnchorConfig, Detection, SSDDetector, weighted_nms
from dope_core.experts.tflite import TFLiteModel
from dope_core.keypoints import HAND_WRIST, Part
from dope_core.structures import Handedness, PartPose


class HandExpert:
    """Multi-hand expert.

    Args:
        num_threads: LiteRT CPU threads per model.
        tile_fractions: tile sides as fractions of the image's longer side (empty: no tiles).
        detector_score: minimum palm-detector score for a landmark pass.
        max_hands: at most this many landmark passes per image.
        dedupe_iou: two hands whose boxes overlap above this are one hand.
        mirrored: the images are mirrored (a selfie view); flips the model's handedness.
        landmark_model: ``"hand_landmark"`` (MediaPipe's full model) or ``"hand_landmark_lite"``
            (the same inputs and outputs, about half the CPU time per pass).
        wrist_score: the presence a hand needs when its wrist lies in one of the ``regions`` of
            :meth:`detect` (boxes around a confident body's wrist: the body vouches for a hand
            there), when that is lower than ``min_score``. Small, blurred or gloved hands on
            whole-body photos get presences of 0.2-0.5 where the palm detector and the body both
            put them.
        zoom_out: also run the palm detector on the whole image shrunk inside a black square
            this many times its longer side (:func:`~dope_core.experts.ssd.zoomed_out_view`), for
            close-ups whose hand is larger than the detector's anchors; ``0``: no such view.
        nested: a hand whose box lies at least this much inside a surer hand's box, and whose
            size is under ``nested_size_ratio`` of that one's, is that hand (:meth:`same_hand`);
            above ``1.0``: only boxes overlapping above ``dedupe_iou`` are.
        nested_size_ratio: see ``nested`` (sizes: a box's longer side).
        weak_palm_score: palms the detector scores from this up to ``detector_score`` also get a
            landmark pass (at most ``max_weak_palms`` of them, surest first), and give a hand where
            the landmark model is sure twice: presence at least ``weak_palm_presence`` in the palm's
            region and at least ``weak_palm_recrop`` in the region its own landmarks give
            (:func:`~dope_core.experts.propagation.hand_roi`), and it is no hand already found. Fists
            seen from the back, hands on a cello, hands under a studio's point lights: the detector
            scores them 0.1-0.5. ``0``: no such passes.
        weak_palm_presence: see ``weak_palm_score``.
        weak_palm_recrop: see ``weak_palm_score``.
        max_weak_palms: see ``weak_palm_score``.
    """

    part = Part.HAND

    def __init__(self, *, num_threads: int = 2, tile_fractions: Sequence[float] = (0.5,), detector_score: float = 0.5,
                 max_hands: int = 40, dedupe_iou: float = 0.3, mirrored: bool = False,
                 landmark_model: str = "hand_landmark", wrist_score: float = 0.2, zoom_out: float = 0.0,
                 nested: float = 0.75, nested_size_ratio: float = 0.65, weak_palm_score: float = 0.0,
                 weak_palm_presence: float = 0.95, weak_palm_recrop: float = 0.9, max_weak_palms: int = 10) -> None:
        self.detector = SSDDetector(model="palm_detection", anchors=AnchorConfig(192, (8, 16, 16, 16)),
                                    num_keypoints=7, value_range=(0.0, 1.0), num_threads=num_threads)
        self.landmarks = TFLiteModel(landmark_model, num_threads=num_threads)
        self.tile_fractions = tuple(tile_fractions)
        self.detector_score = detector_score
        self.max_hands = max_hands
        self.dedupe_iou = dedupe_iou
        self.mirrored = mirrored
        self.wrist_score = wrist_score
        self.zoom_out = zoom_out
        self.nested = nested
        self.nested_size_ratio = nested_size_ratio
        self.weak_palm_score = weak_palm_score
        self.weak_palm_presence = weak_palm_presence
        self.weak_palm_recrop = weak_palm_recrop
        self.max_weak_palms = max_weak_palms

    def detect(self, image: np.ndarray, *, regions: Sequence[np.ndarray] = (), min_score: float = 0.5,
               landmark_regions: Sequence[RotatedRect] = ()) -> list[PartPose]:
        """Hands in ``image``.

        Args:
            regions: ``(4,)`` boxes (pixels) around bodies' wrists, where the palm detector also
                searches at their own scale; a hand whose wrist lies in one needs a presence of
                only ``min(min_score, wrist_score)``.
            min_score: the presence a hand needs elsewhere. A low one (the pseudo-labeller's 0.05)
                keeps the uncertain passes of the usual search; it does not lower the palm
                detector's threshold (``detector_score``): the hand model is sure of hands in the
                regions of weak palms on arms, faces and clothes (about half of the 62 hands of
                presence 0.5 or more that a threshold of 0.05 adds on 109 images of
                ``../shared/data``; docs/accuracy.md).
            landmark_regions: rotated regions tried without the palm detector.

        Weaker palms (``weak_palm_score``) add the hands :meth:`hands_at_weak_palms` gives, whatever
        ``min_score``.
        """
        check_image(image)
        h, w = image.shape[:2]
        views = self.detector.whole_image_views(w, h, self.tile_fractions, zoom_out=self.zoom_out) + list(regions)
        palms, weak_palms = self.palms(image, views)
        rects = [r for r in (self._palm_region(d) for d in palms) if r is not None]
        floor = min(min_score, self.wrist_score)
        poses = [p for p in (self.landmarks_in(image, r) for r in rects + list(landmark_regions))
                 if p.score >= min_score
                 or (p.score >= floor and any(box_contains(box, p.keypoints_2d[HAND_WRIST]) for box in regions))]
        hands = self.dedupe(poses)
        return hands + self.hands_at_weak_palms(image, weak_palms, hands)

    def palms(self, image: np.ndarray, views: Sequence[np.ndarray]) -> tuple[list[Detection], list[Detection]]:
        """The palm detector's merged detections in ``views`` (boxes, pixels): the first ``max_hands``
        of ``detector_score`` or more, and the groups headed by a weaker palm, down to
        ``weak_palm_score`` (none when that is 0). The first are what a run at ``detector_score``
        alone gives."""
        weak = 0.0 < self.weak_palm_score < self.detector_score
        raw = [d for v in views
               for d in self.detector.detect_view(image, np.asarray(v, dtype=np.float64),
                                                  self.weak_palm_score if weak else self.detector_score)]
        strong = weighted_nms([d for d in raw if d.score >= self.detector_score], self.detector.nms_iou)
        # A merged group takes its top score: a group with a strong palm in it is above the threshold.
        weaker = [d for d in weighted_nms(raw, self.detector.nms_iou) if d.score < self.detector_score] if weak else []
        return strong[: self.max_hands], weaker

    def hands_at_weak_palms(self, image: np.ndarray, palms: Sequence[Detection], hands: Sequence[PartPose]
                            ) -> list[PartPose]:
        """The hands of weak ``palms`` (surest first) that the landmark model is sure of twice
        (:meth:`sure_twice`) and that are none of ``hands``; palms centred in one of ``hands``' boxes
        are not tried, and at most ``max_weak_palms`` are."""
        tried = [d for d in palms if not any(box_contains(h.box, (d.box[:2] + d.box[2:]) / 2) for h in hands)]
        found = [p for p in (self.sure_twice(image, d) for d in tried[: self.max_weak_palms]) if p is not None]
        return self.dedupe([p for p in found if not any(self.overlaps(p, h) for h in hands)])

    def sure_twice(self, image: np.ndarray, palm: Detection) -> PartPose | None:
        """The hand in a palm's region when the landmark model is sure of it there
        (``weak_palm_presence``) and again in the region its landmarks give (``weak_palm_recrop``,
        :func:`~dope_core.experts.propagation.hand_roi`); else ``None``."""
        rect = self._palm_region(palm)
        pose = self.landmarks_in(image, rect) if rect is not None else None
        if pose is None or pose.score < self.weak_palm_presence:
            return None
        again = hand_roi(pose)
        if again is None or self.landmarks_in(image, again).score < self.weak_palm_recrop:
            return None
        return pose

    def overlaps(self, a: PartPose, b: PartPose) -> bool:
        """Whether hands ``a`` and ``b`` are one by :meth:`dedupe`'s tests, either way round."""
        iou = float(box_iou(a.box[None], b.box[None])[0, 0])
        return iou > self.dedupe_iou or self.same_hand(a, b) or self.same_hand(b, a)

    def dedupe(self, hands: Sequence[PartPose]) -> list[PartPose]:
        """One pose per hand: the surest of any group that overlap above ``dedupe_iou`` or that
        :meth:`same_hand` says are one."""
        hands = list(hands)
        return dedupe(hands, [p.box for p in hands], [p.score for p in hands], self.dedupe_iou, same=self.same_hand)

    def same_hand(self, a: PartPose, b: PartPose) -> bool:
        """Whether ``a`` is a second pass over the surer hand ``b``: at least ``nested`` of ``a``'s box
        (pixels) lies in ``b``'s, and ``a`` is under ``nested_size_ratio`` of ``b``'s size. A landmark
        pass in a region set by a body's knuckles or a palm on the fingers of a hand already found
        collapses onto part of it (a 26-px "hand" on the thumb of a 245-px close-up, hands on the
        fingers of a fist at 0.4-0.56 of its size), so its box, too small for the overlap test,
        sits inside that hand's box. The other hand of a person whose hands are folded together
        also lies in it, but at about its size (a child's hands in her lap: 0.76), and stays."""
        small = box_side(a.box) < self.nested_size_ratio * box_side(b.box)
        return small and fraction_within(a.box, b.box) >= self.nested

    @staticmethod
    def _palm_region(det: Detection) -> RotatedRect | None:
        wrist, middle_mcp = det.keypoints[0], det.keypoints[2]
        bw, bh = det.box[2] - det.box[0], det.box[3] - det.box[1]
        if max(bw, bh) < 2:
            return None
        centre = (det.box[:2] + det.box[2:]) / 2
        rect = RotatedRect(centre[0], centre[1], max(bw, bh), alignment_rotation(wrist, middle_mcp, np.pi / 2))
        return rect.scaled(2.6, shift_y=-0.5 * bh / max(bw, bh))

    def landmarks_in(self, image: np.ndarray, rect: RotatedRect) -> PartPose:
        """One landmark pass in the rotated region ``rect`` (pixels) of ``image``; the score is
        the model's presence probability (low: no hand there)."""
        size = self.landmarks.input_size
        raw, flag, handed, world = self.landmarks(rect.crop(image, size, (0.0, 1.0)))
        presence = probability(flag.ravel()[0])
        xy = rect.to_image(raw.reshape(21, 3)[:, :2] / np.array(size))
        world = rotate_xy(world.reshape(21, 3).astype(np.float64), rect.rotation)
        # The model's handedness score is the probability of a right hand as seen
        # in the image (checked against the body wrists on real photos); in a
        # mirrored view that hand is the person's left.
        right = (probability(handed.ravel()[0]) > 0.5) != self.mirrored
        return PartPose(
            part=Part.HAND,
            score=presence,
            box=extent(xy),
            keypoints_2d=xy,
            keypoints_3d=world - world[HAND_WRIST],
            confidence=np.full(21, presence),
            handedness=Handedness.RIGHT if right else Handedness.LEFT,
        )
