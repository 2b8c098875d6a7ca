"""The body expert: BlazePose person detector + BlazePose (full) landmark model.

Multi-person: the person detector runs on the whole image and on overlapping
tiles; every detected person gets a landmark pass in its own rotated region.
Outputs 13 joints in 2D (pixels) and 3D (metres, origin at the middle of the
hips, camera-aligned axes: the model's world landmarks rotated back to the image).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from dope_core.experts.common import check_image, dedupe, extent, probability, sigmoid
from dope_core.experts.mapping import body_confidence_from_blazepose, body_from_blazepose
from dope_core.experts.roi import RotatedRect, alignment_rotation, rotate_xy
from dope_core.experts.ssd import AnchorConfig, Detection, SSDDetector
from dope_core.experts.tflite import TFLiteModel
from dope_core.keypoints import Part
from dope_core.structures import PartPose

_LEFT_HIP, _RIGHT_HIP = 23, 24


def same_pose(a: PartPose, b: PartPose, *, fraction: float = 0.1) -> bool:
    """Two bodies that are one person posed twice: the median distance between their
    13 joints (2D, pixels) is under ``fraction`` of the taller box's height.

    Box overlap misses such duplicates when one pass spreads the arms and the other
    does not (a narrow box inside a wide one); the median ignores the arms.
    """
    height = max(a.box[3] - a.box[1], b.box[3] - b.box[1])
    return bool(np.median(np.linalg.norm(a.keypoints_2d - b.keypoints_2d, axis=1)) < fraction * height)


def _same_person(a: RotatedRect, b: RotatedRect) -> bool:
    """Two person regions (from detections in overlapping views) of about the same place and size."""
    close = np.hypot(a.cx - b.cx, a.cy - b.cy) < 0.08 * min(a.side, b.side)
    return bool(close and 2 / 3 < a.side / b.side < 3 / 2)


def region_from_points(centre: np.ndarray, scale_point: np.ndarray) -> RotatedRect | None:
    """The landmark model's region from a body centre and scale point (pixels): a square of
    side ``2.5 |scale_point - centre|`` about the centre, rotated so that the scale point is
    up; ``None`` when under 5 pixels."""
    side = 2.0 * float(np.linalg.norm(scale_point - centre))
    if side < 4:
        return None
    return RotatedRect(centre[0], centre[1], side, alignment_rotation(centre, scale_point, np.pi / 2)).scaled(1.25)


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
            the next video frame, as the person detector's two keypoints give it.
    """

    pose: PartPose
    landmarks_2d: np.ndarray
    visibility: np.ndarray
    roi_points: np.ndarray | None = None


class BodyExpert:
    """Multi-person body expert.

    Args:
        num_threads: LiteRT CPU threads per model.
        tile_fractions: tile sides as fractions of the image's longer side (empty: no tiles).
        detector_score: minimum person-detector score for a landmark pass.
        max_people: at most this many landmark passes per image (best detections first).
        dedupe_iou: two bodies whose boxes overlap above this are one person (as are two
            that :func:`same_pose` finds alike).
    """

    part = Part.BODY

    def __init__(self, *, num_threads: int = 2, tile_fractions: Sequence[float] = (0.5,), detector_score: float = 0.5,
                 max_people: int = 20, dedupe_iou: float = 0.5) -> None:
        self.detector = SSDDetector(model="pose_detection", anchors=AnchorConfig(224, (8, 16, 32, 32, 32)),
                                    num_keypoints=4, value_range=(-1.0, 1.0), num_threads=num_threads)
        self.landmarks = TFLiteModel("pose_landmark", num_threads=num_threads)
        self.tile_fractions = tuple(tile_fractions)
        self.detector_score = detector_score
        self.max_people = max_people
        self.dedupe_iou = dedupe_iou

    def detect(self, image: np.ndarray, *, regions: Sequence[np.ndarray] = (), min_score: float = 0.5,
               whole_image: bool = True, detector_score: float | None = None,
               max_people: int | None = None) -> list[PartPose]:
        """Bodies in ``image`` (arguments as :meth:`detect_landmarks`)."""
        return [b.pose for b in self.detect_landmarks(image, regions=regions, min_score=min_score,
                                                       whole_image=whole_image, detector_score=detector_score,
                                                       max_people=max_people)]

    def detect_landmarks(self, image: np.ndarray, *, regions: Sequence[np.ndarray] = (), min_score: float = 0.5,
                         whole_image: bool = True, detector_score: float | None = None,
                         max_people: int | None = None) -> list[BodyLandmarks]:
        """Bodies in ``image``, each with the model's 33 native landmarks.

        Args:
            regions: extra ``(4,)`` boxes (pixels) searched at their own scale.
            min_score: minimum body score (the landmark model's presence probability).
            whole_image: also search the whole image and its tiles.
            detector_score: person-detector threshold for this call (default: the constructor's).
            max_people: landmark passes for this call (default: the constructor's).
        """
        check_image(image)
        h, w = image.shape[:2]
        views = (self.detector.whole_image_views(w, h, self.tile_fractions) if whole_image else []) + list(regions)
        gate = self.detector_score if detector_score is None else detector_score
        dets = self.detector.detect(image, views, min(gate, min_score))[: max_people or self.max_people]
        found: list[BodyLandmarks] = []
        done: list[RotatedRect] = []
        for det in dets:  # best first
            rect = self._region(det)
            if rect is None or any(_same_person(rect, other) for other in done):
                continue
            done.append(rect)
            body = self.landmarks_in(image, rect)
            if body.pose.score >= min_score:
                found.append(body)
        return self.dedupe(found)

    def dedupe(self, bodies: Sequence[BodyLandmarks]) -> list[BodyLandmarks]:
        """The best-scoring body of each person among ``bodies`` (box overlap or :func:`same_pose`)."""
        return dedupe(list(bodies), [b.pose.box for b in bodies], [b.pose.score for b in bodies], self.dedupe_iou,
                      same=lambda a, b: same_pose(a.pose, b.pose))

    @staticmethod
    def _region(det: Detection) -> RotatedRect | None:
        return region_from_points(det.keypoints[0], det.keypoints[1])

    def landmarks_in(self, image: np.ndarray, rect: RotatedRect) -> BodyLandmarks:
        """One landmark pass in the rotated region ``rect`` (pixels) of ``image``; the pose's
        score is the model's presence probability (low: no body there)."""
        size = self.landmarks.input_size
        raw, flag, _seg, _heat, world = self.landmarks(rect.crop(image, size, (0.0, 1.0)))
        native = rect.to_image(raw.reshape(-1, 5)[:, :2] / np.array(size))
        lm = raw.reshape(-1, 5)[:33]
        xy = native[:33]
        visibility = sigmoid(lm[:, 3])
        world = rotate_xy(world.reshape(-1, 3)[:33].astype(np.float64), rect.rotation)
        world = world - (world[_LEFT_HIP] + world[_RIGHT_HIP]) / 2
        kp2d = body_from_blazepose(xy)
        pose = PartPose(
            part=Part.BODY,
            score=probability(flag.ravel()[0]),
            box=extent(np.concatenate([xy, kp2d])),
            keypoints_2d=kp2d,
            keypoints_3d=body_from_blazepose(world),
            confidence=body_confidence_from_blazepose(visibility),
        )
        return BodyLandmarks(pose=pose, landmarks_2d=xy, visibility=visibility, roi_points=native[33:35])
