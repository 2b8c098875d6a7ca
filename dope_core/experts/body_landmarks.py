"""One pass of the BlazePose landmark model in a region of an image, and what it returns.

:func:`body_landmarks_in` is the second stage of the body expert
(:class:`~dope_core.experts.body.BodyExpert`) and what the streaming experts run frame to
frame: 13 joints in 2D (pixels) and 3D (metres, origin at the middle of the hips,
camera-aligned axes: the model's world landmarks rotated back to the image), with the 33
native landmarks (:class:`BodyLandmarks`) that guide the hand and face experts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from dope_core.experts.common import extent, probability, sigmoid
from dope_core.experts.mapping import (BLAZEPOSE_HAND_GUIDES, BLAZEPOSE_MIRROR, body_confidence_from_blazepose,
                                       body_from_blazepose)
from dope_core.experts.proposals import region_from_points
from dope_core.experts.roi import RotatedRect, rotate_xy
from dope_core.experts.tflite import TFLiteModel
from dope_core.keypoints import Part
from dope_core.structures import PartPose

_LEFT_HIP, _RIGHT_HIP = 23, 24
_ALIGN_HIP, _ALIGN_SCALE = 33, 34
"""The landmark model's two auxiliary landmarks (after its 33): body centre, scale point."""
_MIRROR = list(BLAZEPOSE_MIRROR)
_FLIP_AVERAGED = np.setdiff1d(np.arange(33), BLAZEPOSE_HAND_GUIDES)   # landmarks whose 2D a flipped pass averages
_FACE_LANDMARKS = 11
"""BlazePose's face landmarks come first: nose, eyes (six points), ears, mouth corners."""

__all__ = ["BodyLandmarks", "body_landmarks_in", "sides_exchanged"]


@dataclass
class BodyLandmarks:
    """A body with the 33 native BlazePose landmarks it was mapped from.

    Attributes:
        pose: the body in DOPE's 13 joints.
        landmarks_2d: ``(33, 2)`` native landmarks in pixels (hand knuckles and
            face points included, which guide the hand and face experts).
        visibility: ``(33,)`` landmark visibilities in [0, 1].
        roi_points: ``(2, 2)`` the model's two auxiliary landmarks in pixels (body centre,
            then the point whose distance to it is the body's half extent): the region of
            the next video frame, or of a re-crop, as the person detector's two keypoints give it.
        roi: the region the landmark model ran on.
        claim: index (in this image's merged proposals) of the proposal with keypoints that
            vouches for this body (it was made from it or agrees with it), or ``None``: two bodies
            that different such proposals vouch for are two people, however much their boxes
            overlap, unless their poses are one (:func:`~dope_core.experts.body_rules.one_person`).
        from_source: the 2D joints are the proposal source's, not the landmark model's
            (:func:`~dope_core.experts.source_joints.body_from_source`).
        refined: the pass is the body expert's refining model's (:meth:`~dope_core.experts.body.BodyExpert.refined`).
    """

    pose: PartPose
    landmarks_2d: np.ndarray
    visibility: np.ndarray
    roi_points: Optional[np.ndarray] = None
    roi: Optional[RotatedRect] = None
    claim: Optional[int] = None
    from_source: bool = False
    refined: bool = False

    def next_roi(self) -> Optional[RotatedRect]:
        """The region the model's own auxiliary landmarks give (BlazePose's re-crop); ``None`` without them."""
        return None if self.roi_points is None else region_from_points(self.roi_points[0], self.roi_points[1])

    @property
    def nose(self) -> np.ndarray:
        """``(2,)`` BlazePose's nose landmark in pixels: a point on the face, which the face
        assignment prefers to DOPE's head joint (:func:`dope_core.fusion.assign_faces`)."""
        return self.landmarks_2d[0]

    @property
    def face_points(self) -> np.ndarray:
        """``(11, 2)`` BlazePose's face landmarks in pixels: nose, eyes (six points), ears, mouth corners."""
        return self.landmarks_2d[:_FACE_LANDMARKS]


_LIMBS = np.arange(11, 33)
"""BlazePose's limb landmarks, shoulders to feet: each has a left and a right (:data:`_MIRROR`)."""


def sides_exchanged(a: np.ndarray, b: np.ndarray, *, ratio: float = 0.5, min_distance: float = 0.0) -> bool:
    """Whether the ``(33, 2)`` BlazePose landmarks ``b`` are the person of ``a`` with left and right
    exchanged (the same figure seen facing the other way): with the sides of ``b`` swapped back, its
    limb landmarks lie under ``ratio`` times as far from ``a``'s as they do plainly (median
    distances), and plainly more than ``min_distance`` (pixels: below it the two agree, or the
    person is seen side-on with both sides in one place)."""
    plain = float(np.median(np.linalg.norm(a[_LIMBS] - b[_LIMBS], axis=1)))
    swapped = float(np.median(np.linalg.norm(a[_LIMBS] - b[_MIRROR][_LIMBS], axis=1)))
    return plain > min_distance and swapped < ratio * plain


def body_landmarks_in(model: TFLiteModel, image: np.ndarray, roi: RotatedRect, *, flip: bool = False,
                      flip_min_score: float = 0.0) -> BodyLandmarks:
    """One pass of the BlazePose landmark ``model`` in the rotated region ``roi`` (pixels) of the
    RGB ``uint8`` ``image``: 2D pixels, 3D metres hip-centred; the pose's score is the model's
    presence probability (low: no body there). The second stage of the body expert, also used
    frame to frame by :mod:`dope_core.experts.streaming`.

    ``flip``: a second pass on the mirrored crop, mirrored back (left and right landmarks
    swapped, :data:`~dope_core.experts.mapping.BLAZEPOSE_MIRROR`; the 3D's x negated) and averaged
    with the first (the test-time flip of pose estimation): the 3D of all 33 landmarks, and the 2D
    and visibility of all but the wrists and hand landmarks
    (:data:`~dope_core.experts.mapping.BLAZEPOSE_HAND_GUIDES`), which guide the hand expert and stay
    the first pass's (averaged, they cost hands at the bodies' wrists: 77 -> 70 hands on people
    over 31 photos; kept, 76). The presence and the two alignment points stay the first pass's
    too; the rules that take or refuse a pass then see the averaged joints. When the two passes
    see the person facing opposite ways (:func:`sides_exchanged`: the mirrored pass, mapped back,
    is the first with left and right exchanged), their mean would fold each limb onto the
    middle: the first pass is kept alone (3 of 221 heavy passes over the photos and multi-person
    samples of ``../shared/data``; docs/accuracy.md).

    ``flip_min_score``: the mirrored pass runs only when the first pass's presence is at least this
    (the presence is the first pass's either way, so a caller that drops passes below a presence
    loses nothing by skipping their mirrored pass).
    """
    size = model.input_size
    crop = roi.crop(image, size, (0.0, 1.0))
    raw, flag, _seg, _heat, world = model(crop)
    lm = raw.reshape(-1, 5).astype(np.float64)
    world = world.reshape(-1, 3)[:33].astype(np.float64)
    score = probability(flag.ravel()[0])
    if flip and score >= flip_min_score:
        raw_m, *_, world_m = model(np.ascontiguousarray(crop[:, ::-1]))
        lm_m = raw_m.reshape(-1, 5)[_MIRROR].astype(np.float64)
        lm_m[:, 0] = size[0] - lm_m[:, 0]
        if not sides_exchanged(lm[:33, :2], lm_m[:33, :2], min_distance=0.02 * size[0]):
            lm[_FLIP_AVERAGED] = (lm[_FLIP_AVERAGED] + lm_m[_FLIP_AVERAGED]) / 2
            world_m = world_m.reshape(-1, 3)[_MIRROR].astype(np.float64) * [-1.0, 1.0, 1.0]
            world = (world + world_m) / 2
    native = roi.to_image(lm[:, :2] / np.array(size))
    xy = native[:33]
    visibility = sigmoid(lm[:33, 3])
    world = rotate_xy(world, roi.rotation)
    world = world - (world[_LEFT_HIP] + world[_RIGHT_HIP]) / 2
    kp2d = body_from_blazepose(xy)
    pose = PartPose(
        part=Part.BODY,
        score=score,
        box=extent(np.concatenate([xy, kp2d])),
        keypoints_2d=kp2d,
        keypoints_3d=body_from_blazepose(world),
        confidence=body_confidence_from_blazepose(visibility),
    )
    points = native[_ALIGN_HIP:_ALIGN_SCALE + 1] if len(native) > _ALIGN_SCALE else None
    return BodyLandmarks(pose=pose, landmarks_2d=xy, visibility=visibility, roi_points=points, roi=roi)
