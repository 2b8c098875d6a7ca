"""From network outputs to people: handedness from the class halves, 3D axes, shared fusion."""

import numpy as np
import pytest
import torch

from dope_core.keypoints import BODY_RIGHT_WRIST, HAND_WRIST
from dope_core.postprocess.detections import PartDetections
from dope_core.postprocess.pipeline import PostprocessConfig, detections_to_poses, to_part_poses
from dope_core.structures import Handedness


def _hand_dets(classes):
    m = len(classes)
    return PartDetections(scores=np.full(m, 0.9), boxes=np.tile([0.0, 0.0, 10.0, 10.0], (m, 1)),
                          pose2d=np.zeros((m, 21, 2)), pose3d=np.tile([0.0, 0.1, 0.2], (m, 21, 1)),
                          classes=np.array(classes))


def test_hand_classes_in_the_first_half_are_right_hands():
    poses = to_part_poses("hand", _hand_dets([0, 4, 5, 9]), num_anchor_poses=10, config=PostprocessConfig())
    assert [p.handedness for p in poses] == [Handedness.RIGHT, Handedness.RIGHT, Handedness.LEFT, Handedness.LEFT]
    assert poses[0].confidence.tolist() == [0.9] * 21
    none = to_part_poses("hand", _hand_dets([0]), num_anchor_poses=10, config=PostprocessConfig(right_hand_first=False))
    assert none[0].handedness is None


def test_y_up_outputs_are_turned_into_camera_axes():
    poses = to_part_poses("hand", _hand_dets([0]), num_anchor_poses=10, config=PostprocessConfig(axes_3d="y_up"))
    np.testing.assert_allclose(poses[0].keypoints_3d[0], [0.0, -0.1, -0.2])
    with pytest.raises(ValueError, match="axes_3d"):
        PostprocessConfig(axes_3d="z_up")


def _network_output(body2d, hand2d):
    """One proposal per part: K = 2, class 0 confident."""
    def part(pose2d, k=2):
        j = pose2d.shape[0]
        return (torch.tensor([[0.05, 0.9, 0.05]]), torch.from_numpy(np.repeat(pose2d[None, None], k, 1)).float(),
                torch.zeros(1, k, j, 3))
    out = {"boxes": torch.zeros(1, 4)}
    for name, pose in (("body", body2d), ("hand", hand2d), ("face", np.zeros((84, 2)))):
        out[f"{name}_scores"], out[f"{name}_pose2d"], out[f"{name}_pose3d"] = part(pose)
    out["face_scores"] = torch.tensor([[0.99, 0.005, 0.005]])  # no face
    return out


@pytest.mark.parametrize("method", ["ppi", "nms"])
def test_detections_become_people_through_the_shared_fusion(method):
    rng = np.random.default_rng(0)
    body2d = rng.uniform(100, 300, (13, 2))
    hand2d = body2d[BODY_RIGHT_WRIST] + rng.uniform(-8, 8, (21, 2))
    hand2d[HAND_WRIST] = body2d[BODY_RIGHT_WRIST] + 1.0
    result = detections_to_poses(_network_output(body2d, hand2d), image_size=(640, 480), parts=("body", "hand", "face"),
                                 num_anchor_poses={"body": 2, "hand": 2, "face": 2},
                                 config=PostprocessConfig(method=method))
    assert result.backend == "network" and result.image_size == (640, 480)
    assert result.counts() == {"people": 1, "bodies": 1, "hands": 1, "faces": 0}
    person = result.people[0]
    assert person.right_hand is not None and person.left_hand is None
    np.testing.assert_allclose(person.body.keypoints_2d, body2d, atol=1e-4)
    only_hands = detections_to_poses(_network_output(body2d, hand2d), image_size=(640, 480), parts=("hand",),
                                     num_anchor_poses={"body": 2, "hand": 2, "face": 2}, config=PostprocessConfig())
    assert only_hands.counts() == {"people": 0, "bodies": 0, "hands": 1, "faces": 0}
