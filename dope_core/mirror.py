"""Mirrored (selfie-view) images: estimate on the true view, report in the mirrored image.

A webcam shown as a mirror flips the image left-right. Run on it directly, an estimator
sees a mirrored person: the person's left hand looks like a right hand and the body's
left joints like right ones, and 3D from it is a reflection (a left-handed world). The
node's ``mirrored`` mode instead:

1. flips the image back (:func:`unmirror_image`) and estimates on the true view, so
   handedness, left/right joints and 3D (camera optical frame, right-handed) are the
   person's real ones; placement uses the camera of that flipped-back view
   (:func:`unmirror_camera`);
2. maps the 2D quantities back onto the mirrored image that was received
   (:func:`mirror_poses_2d`), so boxes and keypoints overlay it.

Pixel conventions are the project's (:mod:`dope_core.structures`, :mod:`dope_core.camera`:
origin at the top-left corner of the top-left pixel), so a flip maps x to ``width - x``
for keypoints, boxes and the camera's principal point alike.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dope_core.camera import CameraModel
from dope_core.structures import PartPose, WholeBodyPoses


def unmirror_image(image: np.ndarray) -> np.ndarray:
    """The image flipped left-right (an ``(H, W, C)`` array; contiguous copy)."""
    return np.ascontiguousarray(image[:, ::-1])


def unmirror_camera(camera: CameraModel | np.ndarray, width: int) -> CameraModel | np.ndarray:
    """The camera of the left-right flipped-back view of mirrored images ``width`` pixels wide.

    ``camera`` describes the mirrored images: a 3x3 matrix ``K`` or a
    :class:`~dope_core.camera.CameraModel` (binning, region of interest, distortion,
    rectification). The returned one projects a point ``X`` of the true view to
    ``width - u`` where ``camera`` projects the mirror point ``diag(-1, 1, 1) X`` to ``u``:
    ``K' = A K M``, ``P' = A P diag(M, 1)``, ``R' = M R M`` with ``M = diag(-1, 1, 1)`` and
    ``A`` the flip of full-sensor pixels; the tangential coefficient ``p2`` of
    ``plumb_bob`` / ``rational_polynomial`` changes sign (radial and fisheye terms are even in x).
    """
    m3 = np.diag([-1.0, 1.0, 1.0])
    if not isinstance(camera, CameraModel):
        a = np.array([[-1.0, 0.0, float(width)], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        return a @ np.asarray(camera, dtype=np.float64).reshape(3, 3) @ m3
    # Full-sensor flip matching x -> width - x in the processed image (binning, ROI offset).
    a = np.array([[-1.0, 0.0, width * camera.binning[0] + 2.0 * camera.roi_offset[0]], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    d = np.array(camera.d, dtype=np.float64)
    if camera.distortion_model in ("plumb_bob", "rational_polynomial") and d.size >= 4:
        d[3] = -d[3]
    return dataclasses.replace(camera, k=a @ camera.k @ m3, d=d, r=m3 @ camera.r @ m3,
                               p=None if camera.p is None else a @ camera.p @ np.diag([-1.0, 1.0, 1.0, 1.0]))


def _mirror_part(pose: PartPose, width: float) -> PartPose:
    kp = pose.keypoints_2d.copy()
    kp[:, 0] = width - kp[:, 0]
    box = np.array([width - pose.box[2], pose.box[1], width - pose.box[0], pose.box[3]])
    velocity_2d = None if pose.velocity_2d is None else pose.velocity_2d * np.array([-1.0, 1.0])
    return dataclasses.replace(pose, keypoints_2d=kp, box=box, velocity_2d=velocity_2d)


def mirror_poses_2d(poses: WholeBodyPoses, width: int) -> WholeBodyPoses:
    """A copy of ``poses`` with boxes, 2D keypoints and 2D velocities flipped left-right in an image ``width`` wide.

    Labels (handedness, joint names), 3D keypoints, placement and frames are unchanged:
    they stay those of the true view.
    """
    people = [dataclasses.replace(person, **{slot: _mirror_part(pose, width) for slot, pose in person.parts()})
              for person in poses.people]
    return dataclasses.replace(poses, people=people, unassigned=[_mirror_part(p, width) for p in poses.unassigned])
