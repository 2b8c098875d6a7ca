"""Rules that compare two bodies, or two regions, of one image (pixels).

The body expert (:class:`~dope_core.experts.body.BodyExpert`) keeps one body per person:
two landmark passes over one person (:func:`same_pose`, :func:`one_person`), a small pass
inside a person or fitted on its legs or face (:func:`nested`, :func:`on_body`,
:func:`face_in_face`) are one. It also skips a region that one already searched explains
(:func:`same_region`, :func:`inside`) and re-crops a pass whose own region differs from the
one it ran on (:func:`needs_recrop`).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from dope_core.boxes import box_contains, box_iou, box_side, fraction_within
from dope_core.experts.body_landmarks import BodyLandmarks
from dope_core.experts.common import extent
from dope_core.experts.roi import RotatedRect
from dope_core.keypoints import BODY_HEAD, BODY_HIPS, BODY_SHOULDERS
from dope_core.structures import PartPose

__all__ = ["face_in_face", "flat", "head_near", "inside", "needs_recrop", "nested", "on_body", "one_person", "same_pose",
           "same_region", "seen_by", "spread_over_others", "upside_down"]


def same_pose(a: PartPose, b: PartPose, *, fraction: float = 0.1, min_confidence: float = 0.5,
              min_joints: int = 4) -> bool:
    """Two bodies that are one person posed twice: the median distance between their
    joints (2D, pixels) is under ``fraction`` of the taller box's height.

    The median runs over the joints both bodies see (confidence at least
    ``min_confidence`` in both) when there are at least ``min_joints`` of them, else over
    all 13. Box overlap misses such duplicates when one pass spreads the arms and the
    other does not (a narrow box inside a wide one); the median ignores the arms. Joints
    outside the image (a person cut at the hips) are guesses that two passes make
    differently: over all 13 joints, two passes of one half-visible person differ by
    their guessed legs more than two neighbours do.
    """
    height = max(a.box[3] - a.box[1], b.box[3] - b.box[1])
    distances = np.linalg.norm(a.keypoints_2d - b.keypoints_2d, axis=1)
    seen = (a.confidence >= min_confidence) & (b.confidence >= min_confidence)
    if int(seen.sum()) >= min_joints:
        distances = distances[seen]
    return bool(np.median(distances) < fraction * height)


def one_person(a: PartPose, b: PartPose, *, overlap_iou: float = 0.3, overlap_fraction: float = 0.15) -> bool:
    """Two bodies that are one person: :func:`same_pose` at its usual 0.1 of the height, or at
    ``overlap_fraction`` when their boxes overlap by at least ``overlap_iou``.

    Two passes over one person that fit the head and legs alike but the arms differently
    stay apart by a median just over 0.1 (measured on the multi-person photos: 0.101 and
    0.123, heads 0.05-0.13 of the height apart, boxes overlapping by 0.46-0.47); two
    overlapping people differ by much more (0.31 there, heads 0.68 apart).
    """
    if same_pose(a, b):
        return True
    iou = float(box_iou(np.asarray(a.box, dtype=np.float64)[None], np.asarray(b.box, dtype=np.float64)[None])[0, 0])
    return iou >= overlap_iou and same_pose(a, b, fraction=overlap_fraction)


def nested(a: PartPose, b: PartPose, *, inside: float = 0.9, size_ratio: float = 0.4, margin: float = 0.05) -> bool:
    """Body ``a`` is a small pass inside person ``b``: at least ``inside`` of ``a``'s box lies in
    ``b``'s, grown by ``margin`` of ``b``'s size on every side (a shoe reaches past the foot
    landmarks that end ``b``'s box), and ``a``'s size is under ``size_ratio`` of ``b``'s (pixels).
    A box's size is its longer side, so that the rule holds for people lying down as for people
    standing (a photo turned a quarter: a 0.999 body on a lying player's shoe).

    Small image tiles show the detector a leg, a skirt or a statue's shorts as a whole small
    person; the landmark model then fits a body there (scores 0.6-0.9 on the multi-person
    photos, inside a person found at about 1.0). A real person that small, wholly inside a
    nearer one's box, is rare; :meth:`~dope_core.experts.body.BodyExpert.dedupe` drops ``a`` only for a ``b`` that
    ranks at least as high there (a claimed body first, then the score); :func:`on_body` goes
    further for a body whose head lies below ``b``'s shoulders.
    """
    bx1, by1, bx2, by2 = (float(v) for v in b.box[:4])
    size = box_side(b.box)
    grow = margin * size
    aw, ah = float(a.box[2] - a.box[0]), float(a.box[3] - a.box[1])
    within = fraction_within(a.box, np.array([bx1 - grow, by1 - grow, bx2 + grow, by2 + grow]))
    return aw > 0 and ah > 0 and within >= inside and max(aw, ah) < size_ratio * size


def on_body(a: PartPose, b: PartPose, *, size_ratio: float = 0.6) -> bool:
    """Body ``a`` is a skeleton fitted on person ``b``'s own body: :func:`nested` in ``b`` with
    ``size_ratio``, and ``a``'s head top lies below ``b``'s shoulders (its projection on ``b``'s axis
    from the middle of the hips to the middle of the shoulders, pixels, short of the shoulders).

    Tiles show the detector a person's shorts or shirt as a small person; the landmark model then
    fits a whole skeleton over the legs, its shoulders on the hips (1.0 presence, 0.42-0.55 of
    the person's size in Human3.6M's, MPI-INF-3DHP's and Pose2Sim's labs). A person half hidden
    behind a nearer one also lies in that one's box, at about that size, but shows a head at the
    height of the nearer one's shoulders or above (a skier behind another, COCO 197388), and stays.
    """
    if not nested(a, b, size_ratio=size_ratio):
        return False
    kb = b.keypoints_2d[:, :2]
    hips = kb[list(BODY_HIPS)].mean(axis=0)
    up = kb[list(BODY_SHOULDERS)].mean(axis=0) - hips
    torso = float(up @ up)
    return torso > 0 and float((a.keypoints_2d[BODY_HEAD, :2] - hips) @ up) < torso


def face_in_face(a: BodyLandmarks, b: BodyLandmarks, *, size_ratio: float = 0.5) -> bool:
    """Body ``a``'s head is on ``b``'s face: ``a``'s nose lies in the box of ``b``'s face landmarks
    (BlazePose's 11: nose, eyes, ears, mouth; pixels), and either ``a``'s face is under
    ``size_ratio`` of ``b``'s in size (the longer side of the same box) or, the two faces of
    comparable sizes (neither under ``size_ratio`` of the other), ``b``'s nose lies in ``a``'s
    face box too.

    Tiles and person proposals on a close-up face show the landmark model a face that fills
    the region; it may fit a whole small person there, whose head sits on the nose (a portrait
    panned by a camera: a face 31 px across inside one of 134 px, scored 0.97), or fit the same
    face again with another body (a LaPa face close-up: five bodies for one person). Two faces
    that both show cannot overlap like that, and the box of ``b``'s enlarged skeleton (legs
    guessed far below the image) does not contain ``a``'s, so :func:`nested` misses it.
    """
    fa, fb = a.face_points, b.face_points
    sa, sb = float(np.ptp(fa, axis=0).max()), float(np.ptp(fb, axis=0).max())
    if sa <= 0 or sb <= 0 or not box_contains(extent(fb), fa[0]):
        return False
    if sa < size_ratio * sb:
        return True
    return bool(sa * size_ratio <= sb and box_contains(extent(fa), fb[0]))


def flat(box: np.ndarray, *, aspect: float) -> bool:
    """A box (pixels) at least ``aspect`` times as wide as tall; ``aspect`` 0 never is."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    return aspect > 0 and x2 - x1 >= aspect * max(y2 - y1, 1e-9)


def spread_over_others(body: PartPose, others: Sequence[PartPose], *, aspect: float = 1.4,
                       on_others: float = 0.5) -> bool:
    """``body`` lies flat over other people: its box :func:`flat` at ``aspect``, and at least
    ``on_others`` of its 13 joints (2D, pixels) inside the boxes of ``others``.

    A skeleton that the landmark model fits across two people side by side, or along a man's arm and
    the engine of the truck he leans on, lies so; a person lying on the floor is as flat but on
    nobody found (his joints are his own).
    """
    if not others or not flat(body.box, aspect=aspect):
        return False
    points = np.asarray(body.keypoints_2d, dtype=np.float64)
    on = np.zeros(len(points), dtype=bool)
    for other in others:
        bx1, by1, bx2, by2 = (float(v) for v in other.box[:4])
        on |= (points[:, 0] >= bx1) & (points[:, 0] <= bx2) & (points[:, 1] >= by1) & (points[:, 1] <= by2)
    return bool(on.mean() >= on_others)


def seen_by(box: np.ndarray, boxes: np.ndarray, scores: np.ndarray, *, iou: float = 0.3, within: float = 0.7,
            max_area: float = 3.0, max_height: float = 1.5, off_centre: float = 0.2) -> float:
    """How sure a person detector is of a person at ``box`` (``x1, y1, x2, y2``, pixels): the best of
    ``scores`` among its ``(N, 4)`` ``boxes`` (pixels) that overlap ``box`` at IoU ``iou`` or more, or that
    hold ``within`` of its area and are either at most ``max_area`` times as large or a box around that
    skeleton: upright (no wider than tall), at most ``max_height`` times as tall, its middle within
    ``off_centre`` of its width of the skeleton's middle (horizontally); 0 when none does.

    A detector's box around a person is wider than a skeleton seen side on or half hidden (a baseball
    catcher behind the umpire, a pedestrian walking past a pole: 22 px wide in a 69-px box of his
    height, centred on him), while the box of a person beside a skeleton fitted on a thing holds that
    skeleton off its middle (the astronaut's box, the space shuttle at her side), and the box of a
    person on whose part (a hand, the legs) a skeleton was fitted is taller than that skeleton."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return 0.0
    box = np.asarray(box[:4], dtype=np.float64)
    overlap = box_iou(box[None], boxes)[0]
    width, height = max(float(box[2] - box[0]), 1e-9), max(float(box[3] - box[1]), 1e-9)
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    offsets = np.abs((boxes[:, 0] + boxes[:, 2]) - (box[0] + box[2])) / 2
    around = (widths <= heights) & (heights <= max_height * height) & (offsets <= off_centre * widths)
    held = np.array([fraction_within(box, b) for b in boxes]) >= within
    held &= (widths * heights <= max_area * width * height) | around
    sees = (overlap >= iou) | held
    return float(np.max(np.asarray(scores, dtype=np.float64)[sees])) if sees.any() else 0.0


def upside_down(body: PartPose) -> bool:
    """``body``'s head top lies below the middle of its hips in the image (pixels, y down)."""
    hips = np.asarray(body.keypoints_2d, dtype=np.float64)[list(BODY_HIPS), 1].mean()
    return bool(body.keypoints_2d[BODY_HEAD, 1] > hips)


def head_near(body: BodyLandmarks, box: np.ndarray, *, reach: float = 1.0) -> bool:
    """The body's nose (pixels) lies within ``reach`` times the longer side of ``box`` of its centre."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    side = max(x2 - x1, y2 - y1)
    return bool(np.hypot(body.landmarks_2d[0][0] - (x1 + x2) / 2, body.landmarks_2d[0][1] - (y1 + y2) / 2)
                <= reach * side)


def too_small(box: np.ndarray, *, min_height: float = 16.0, flat_height: float = 24.0, flat_ratio: float = 2.5) -> bool:
    """Whether a body's ``box`` (``x1, y1, x2, y2``, pixels) is too small to be a person's pose: under
    ``min_height`` tall (13 joints 1-2 px apart, below what the landmark model resolves), or under
    ``flat_height`` tall and more than ``flat_ratio`` times as wide as tall. Of the 695 bodies the
    default found on 90 images and 132 video frames of ``../shared/data``, those were all false: a
    wall camera and a ceiling light (13-14 px), vtest's yellow sheet on the lawn (66x21 px, on every
    frame), feet on a pool's edge (94-125 px wide, 20-22 tall), a bus window's edge; the people of
    20-24 px (a walker, a bending batter, vtest's pedestrians) stand upright and stay."""
    height, width = float(box[3] - box[1]), float(box[2] - box[0])
    return height < min_height or (height < flat_height and width > flat_ratio * height)


def same_region(a: RotatedRect, b: RotatedRect, *, offset: float = 0.08, ratio: float = 1.5) -> bool:
    """Two regions of about the same place (centres closer than ``offset`` times the
    smaller side) and size (sides within a factor ``ratio``)."""
    close = math.hypot(a.cx - b.cx, a.cy - b.cy) < offset * min(a.side, b.side)
    return bool(close and 1 / ratio < a.side / b.side < ratio)


def inside(roi: RotatedRect, box: np.ndarray) -> bool:
    """Whether the centre of ``roi`` lies in ``box`` (``x1, y1, x2, y2``, pixels)."""
    return bool(box[0] <= roi.cx <= box[2] and box[1] <= roi.cy <= box[3])


def needs_recrop(body: BodyLandmarks, *, offset: float = 0.1, ratio: float = 1.25,
                 angle: float = math.radians(20)) -> bool:
    """Whether the model's own region differs from the one it ran on by more than
    ``offset`` sides, a size factor ``ratio`` or ``angle`` radians."""
    a, b = body.roi, body.next_roi()
    if a is None or b is None:
        return False
    turn = abs((a.rotation - b.rotation + math.pi) % (2 * math.pi) - math.pi)
    return not same_region(a, b, offset=offset, ratio=ratio) or turn > angle
