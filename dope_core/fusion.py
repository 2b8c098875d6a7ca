"""Fusion of part detections into people: the hand/face-to-body assignment of DOPE.

One implementation, used for the part experts' outputs (whole-body pseudo ground
truth) and for the whole-body network's outputs alike. Rules (from the paper,
reimplemented):

* **hands**: a hand belongs to a body when the hand's wrist (hand joint 0) and one
  of the body's two wrists are mutual nearest neighbours (over all hand wrists and
  all body wrists of the image) and at most ``hand_distance_factor`` times the
  hand box's larger side apart. The body wrist it matches (the person's left or right)
  decides the hand's handedness; an unassigned hand keeps its own. Beyond the release, a
  caller may bar hands too large for a body (``max_hand_to_body``) and let a hand lie up to a
  fraction of its body's size from the wrist whatever its own box (``body_reach``); the part
  experts do both (``body_reach`` from their configuration's ``hand_body_reach``).
* **faces**: a face belongs to a body when the body's head point lies inside exactly
  one face box, enlarged by ``face_box_margin`` around its centre. DOPE's head joint
  is the top of the head, above the eyebrows where a landmark box ends, so the head
  point is that joint moved towards the middle of the shoulders by ``head_drop`` of
  their distance (about the brow line). When several bodies claim one face, the
  body whose head point is nearest to the face box centre gets it. Beyond the release:
  when the caller knows a point on each body's face (the part experts' nose landmark,
  ``face_points``), a body whose point lies inside exactly one face box (not enlarged)
  claims that face, and such claims go before head-point ones: a spurious face beside a
  real one (both boxes around the head point) no longer leaves the person without a face.

Unlike the release, an image with no detection of some part gives empty lists
(never a different arity), and handedness always comes from the matched detection.
All coordinates are pixels (see :mod:`dope_core.structures`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence

import numpy as np

from dope_core.boxes import box_side, scaled_box
from dope_core.keypoints import BODY_HEAD, BODY_LEFT_WRIST, BODY_RIGHT_WRIST, BODY_SHOULDERS, HAND_WRIST, Part
from dope_core.structures import Handedness, PartPose, Person, WholeBodyPoses


EXPERTS_MAX_HAND_TO_BODY = 0.5
"""The part experts' ``max_hand_to_body`` (:func:`assign_hands`): their body model fits confident
skeletons on close-up forearms and fists, which would otherwise claim the hand beside them
(a 141-px hand of InterHand2.6M on a 105-px skeleton, a 107-px "hand" on a 55-px body)."""


def assign_hands(
    bodies: Sequence[PartPose], hands: Sequence[PartPose], *, hand_distance_factor: float = 1.0,
    max_hand_to_body: Optional[float] = None, body_reach: Optional[float] = None,
) -> dict[int, tuple[int, Handedness]]:
    """Match hands to body wrists.

    Args:
        max_hand_to_body: beyond the release: a hand whose box's longer side exceeds this fraction
            of a body box's longer side (pixels) is not that body's, whatever the distance (``None``:
            no limit, the release's rule). A hand is about a tenth of its person's height, and a body
            box holds every landmark of the body model, the ones it places beyond the image edge
            included, so even a close-up whose hand nears the camera keeps a ratio under a half;
            a skeleton fitted on a forearm or a fist (a close-up hand's image) does not.
        body_reach: beyond the release: a hand may also lie up to this fraction of the body box's
            longer side (pixels) from that body's wrist, when that is more than
            ``hand_distance_factor`` times its own box (``None``: the release's limit alone). A
            hand box measures the hand as seen: a fist or a hand seen edge-on is much smaller
            than the hand's length, which is about a tenth of its person's height.

    Returns:
        ``{hand index: (body index, handedness)}`` for every assigned hand.
    """
    if not bodies or not hands:
        return {}
    # Body wrist candidates: (body index, handedness, xy).
    wrists = [(b, side, body.keypoints_2d[j]) for b, body in enumerate(bodies)
              for side, j in ((Handedness.RIGHT, BODY_RIGHT_WRIST), (Handedness.LEFT, BODY_LEFT_WRIST))]
    wrist_xy = np.stack([w[2] for w in wrists])  # (2B, 2)
    hand_xy = np.stack([h.keypoints_2d[HAND_WRIST] for h in hands])  # (H, 2)
    dist = np.linalg.norm(hand_xy[:, None, :] - wrist_xy[None, :, :], axis=-1)  # (H, 2B)
    hand_side = np.array([box_side(h.box) for h in hands])
    body_side = np.array([box_side(bodies[w[0]].box) for w in wrists])
    if max_hand_to_body is not None:
        dist[hand_side[:, None] > max_hand_to_body * body_side[None, :]] = np.inf
    limit = np.repeat(hand_distance_factor * hand_side[:, None], len(wrists), axis=1)   # (H, 2B) pixels
    if body_reach is not None:
        limit = np.maximum(limit, body_reach * body_side[None, :])
    nearest_wrist = dist.argmin(axis=1)
    nearest_hand = dist.argmin(axis=0)
    out: dict[int, tuple[int, Handedness]] = {}
    for h, w in enumerate(nearest_wrist):
        if nearest_hand[w] == h and np.isfinite(dist[h, w]) and dist[h, w] <= limit[h, w]:
            out[h] = (wrists[w][0], wrists[w][1])
    return out


def assign_faces(
    bodies: Sequence[PartPose], faces: Sequence[PartPose], *, face_box_margin: float = 0.5, head_drop: float = 0.3,
    face_points: Optional[Sequence[Optional[np.ndarray]]] = None,
) -> dict[int, int]:
    """Match faces to bodies by the body's head joint, or by a point on its face.

    Args:
        face_points: per body (same order), a point on its face in pixels (``(2,)``) or
            ``None``; ``None`` for all: the release's head-point rule alone.

    Returns:
        ``{face index: body index}`` for every assigned face.
    """
    if not bodies or not faces:
        return {}
    if face_points is not None and len(face_points) != len(bodies):
        raise ValueError(f"face_points has {len(face_points)} entries for {len(bodies)} bodies")
    raw = np.stack([f.box for f in faces])  # (F, 4)
    boxes = np.stack([scaled_box(f.box, 1 + face_box_margin) for f in faces])
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    claims: dict[int, list[tuple[int, float, int]]] = {}   # face -> (rule: 0 face point, 1 head; distance; body)
    for b, body in enumerate(bodies):
        point = None if face_points is None else face_points[b]
        inside = _inside(np.asarray(point, dtype=float), raw) if point is not None else np.array([], int)
        rule = 0
        if len(inside) != 1:
            top = body.keypoints_2d[BODY_HEAD]
            point = top + head_drop * (body.keypoints_2d[list(BODY_SHOULDERS)].mean(axis=0) - top)
            inside, rule = _inside(point, boxes), 1
        if len(inside) == 1:
            f = int(inside[0])
            claims.setdefault(f, []).append((rule, float(np.linalg.norm(np.asarray(point) - centres[f])), b))
    return {f: min(c)[2] for f, c in claims.items()}


def _inside(point: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Indices of the ``(N, 4)`` boxes that hold ``point`` (pixels)."""
    return np.flatnonzero((point[0] >= boxes[:, 0]) & (point[0] <= boxes[:, 2])
                          & (point[1] >= boxes[:, 1]) & (point[1] <= boxes[:, 3]))


def assemble(
    bodies: Sequence[PartPose],
    hands: Sequence[PartPose],
    faces: Sequence[PartPose],
    *,
    image_size: tuple[int, int],
    backend: str,
    hand_distance_factor: float = 1.0,
    max_hand_to_body: Optional[float] = None,
    body_reach: Optional[float] = None,
    face_box_margin: float = 0.5,
    head_drop: float = 0.3,
    face_points: Optional[Sequence[Optional[np.ndarray]]] = None,
) -> WholeBodyPoses:
    """Build the per-person result from per-part detections of one image.

    Args:
        bodies, hands, faces: detections of each part (any may be empty).
        image_size: ``(width, height)`` of the image in pixels.
        backend: name recorded in the result.
        hand_distance_factor: the hand-to-wrist distance limit, in hand box sizes.
        max_hand_to_body: the largest hand a body can hold, as a fraction of its box's longer
            side (:func:`assign_hands`; ``None``: no limit, as the release).
        body_reach: how far from a body's wrist a hand may lie, as a fraction of the body box's
            longer side, when that is more than ``hand_distance_factor`` hand boxes
            (:func:`assign_hands`; ``None``: the release's limit alone).
        face_box_margin: relative enlargement of face boxes for the head-point test.
        head_drop: where the head point lies between the head joint and the shoulders.
        face_points: per body of ``bodies``, a point on its face (pixels) or ``None``
            (:func:`assign_faces`).

    Returns:
        People sorted by decreasing score, one per body, with their hands and face;
        hands and faces assigned to nobody in ``unassigned``.
    """
    for name, dets, part in (("bodies", bodies, Part.BODY), ("hands", hands, Part.HAND), ("faces", faces, Part.FACE)):
        if any(d.part is not part for d in dets):
            raise ValueError(f"{name} must all be {part.value} detections")
    order = sorted(range(len(bodies)), key=lambda i: -bodies[i].score)
    bodies = [bodies[i] for i in order]
    if face_points is not None:
        if len(face_points) != len(order):
            raise ValueError(f"face_points has {len(face_points)} entries for {len(order)} bodies")
        face_points = [face_points[i] for i in order]
    people = [Person(id=i, score=b.score, body=b) for i, b in enumerate(bodies)]
    unassigned: list[PartPose] = []
    hand_matches = assign_hands(bodies, hands, hand_distance_factor=hand_distance_factor,
                                max_hand_to_body=max_hand_to_body, body_reach=body_reach)
    for h, hand in enumerate(hands):
        match = hand_matches.get(h)
        if match is None:
            unassigned.append(hand)
            continue
        body, side = match
        slot = "right_hand" if side is Handedness.RIGHT else "left_hand"
        setattr(people[body], slot, replace(hand, handedness=side))
    face_matches = assign_faces(bodies, faces, face_box_margin=face_box_margin, head_drop=head_drop,
                                face_points=face_points)
    for f, face in enumerate(faces):
        if f in face_matches:
            people[face_matches[f]].face = face
        else:
            unassigned.append(face)
    return WholeBodyPoses(image_size=image_size, people=people, unassigned=unassigned, backend=backend)

