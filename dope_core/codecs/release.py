"""The DOPE release's output conventions and their mapping into this project's.

The released checkpoints (``DOPE_v1_0_0``, ``DOPErealtime_v1_0_0``) regress poses in
their own conventions, which differ from the project's public data model
(:mod:`dope_core.structures`, :mod:`dope_core.keypoints`) per part:

* **body 3D axes**: the release's body 3D has x and y of opposite sign to the image
  (the person's right side at +x, the head at +y); the project's 3D is in camera
  optical axes (x right, y down, z forward), so x and y are negated;
* **body 3D origin**: the release centres bodies on a "body centre" (about 0.25 m above
  the mid-hips in its maintainers' sample output); the project's body origin is the
  mid-point of the hips, so each body is re-centred there;
* **hand joint order**: the release has the wrist, the five finger bases (thumb to
  little), then the three further joints of each finger (thumb 6-8, index 9-11,
  middle 12-14, ring 15-17, little 18-20); the project's public order is the wrist then
  four joints per finger from the palm outwards (:data:`dope_core.keypoints.HAND_JOINTS`);
* hand and face 3D axes are already image-aligned (x right, y down) and the face's 84
  landmarks are in the project's order: both are kept as they are.
"""

from __future__ import annotations

import numpy as np

from dope_core.keypoints import BODY_LEFT_HIP, BODY_RIGHT_HIP, Part

NUM_FINGERS = 5
JOINTS_PER_FINGER = 4


def _hand_public_from_release() -> tuple[int, ...]:
    order = [0]
    for finger in range(NUM_FINGERS):
        order.append(1 + finger)                                   # the finger's base
        order.extend(1 + NUM_FINGERS + 3 * finger + j for j in range(JOINTS_PER_FINGER - 1))
    return tuple(order)


HAND_PUBLIC_FROM_RELEASE: tuple[int, ...] = _hand_public_from_release()
"""Release hand-joint index of each public hand joint: ``public = release[HAND_PUBLIC_FROM_RELEASE]``."""

BODY_AXES_SIGN = np.array([-1.0, -1.0, 1.0])
"""Factor turning the release's body 3D axes into camera optical axes (x and y negated)."""


def release_to_public(part: Part | str, pose2d: np.ndarray, pose3d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poses of ``part`` in the release's conventions -> the project's public ones.

    Args:
        pose2d: ``(..., J, 2)`` pixels; pose3d: ``(..., J, 3)`` metres, release axes/origin/order.

    Returns:
        New arrays: 2D pixels and 3D metres in camera optical axes, part-relative (bodies
        centred on the mid-hips), joints in the public order.
    """
    part = Part(part)
    pose2d, pose3d = np.array(pose2d, dtype=np.float64), np.array(pose3d, dtype=np.float64)
    if part is Part.BODY:
        pose3d = pose3d * BODY_AXES_SIGN
        pose3d = pose3d - (pose3d[..., BODY_RIGHT_HIP:BODY_RIGHT_HIP + 1, :]
                           + pose3d[..., BODY_LEFT_HIP:BODY_LEFT_HIP + 1, :]) / 2
    elif part is Part.HAND:
        order = list(HAND_PUBLIC_FROM_RELEASE)
        pose2d, pose3d = pose2d[..., order, :], pose3d[..., order, :]
    return pose2d, pose3d
