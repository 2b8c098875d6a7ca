"""Hand-made bodies (pixels) for the tests of the body expert and its rules."""

import numpy as np

from dope_core.experts.body_landmarks import BodyLandmarks
from dope_core.keypoints import BODY_JOINTS, Part
from dope_core.structures import PartPose

ARMS = [BODY_JOINTS.index(n) for n in ("right_wrist", "left_wrist", "right_elbow", "left_elbow")]
"""The wrists and elbows: the joints two passes over one person place differently."""


def body_pose(kp: np.ndarray) -> PartPose:
    """A body of score 0.9 with the ``(13, 2)`` joints ``kp`` (pixels), all confident, boxed by them."""
    box = np.r_[kp.min(axis=0), kp.max(axis=0)]
    return PartPose(part=Part.BODY, score=0.9, box=box, keypoints_2d=kp, keypoints_3d=np.zeros((13, 3)),
                    confidence=np.ones(13))


def body_landmarks(pose: PartPose, score: float, claim=None) -> BodyLandmarks:
    """``pose`` as a landmark pass of presence ``score`` (set on ``pose`` too), claimed by the proposal ``claim``."""
    pose.score = score
    return BodyLandmarks(pose=pose, landmarks_2d=np.zeros((33, 2)), visibility=np.ones(33), claim=claim)
