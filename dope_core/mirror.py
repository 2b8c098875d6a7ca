"""Mirrored (selfie-view) images: estimate on the true view, report in the mirrored image.

A webcam shown as a mirror flips the image left-right. Run on it directly, an estimator
sees a mirrored person: the person's left hand looks like a right hand and the body's
left joints like right ones, and 3D from it is a reflection (a left-handed world). The
node's ``mirrored`` mode instead:

1. flips the image back (:func:`unmirror_image`) and estimates on the true view, so
   handedness, left/right joints and 3D (camera optical frame, right-handed) are the
   person's real ones; placement uses the intrinsics of that flipped-back view
   (:func:`unmirror_intrinsics`);
2. maps the 2D quantities back onto the mirrored image that was received
   (:func:`mirror_poses_2d`), so boxes and keypoints overlay it.

Pixel conventions: boxes and 2D keypoints use :mod:`dope_core.structures`' (origin at
the top-left corner of the top-left pixel), so a flip maps x to ``width - x``; a camera
matrix uses OpenCV's (pixel centres at integers), so ``cx`` maps to ``width - 1 - cx``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dope_core.structures import PartPose, WholeBodyPoses


def unmirror_image(image: np.ndarray) -> np.ndarray:
    """The image flipped left-right (an ``(H, W, C)`` array; contiguous copy)."""
    return np.ascontiguousarray(image[:, ::-1])


def unmirror_intrinsics(k: np.ndarray, width: int) -> np.ndarray:
    """The 3x3 camera matrix of the left-right flipped image of ``width`` pixels (``cx -> width - 1 - cx``)."""
    out = np.array(k, dtype=np.float64).reshape(3, 3).copy()
    out[0, 2] = width - 1 - out[0, 2]
    return out


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
