"""From network outputs to people: handedness from the class halves, release conventions, shared fusion."""

import numpy as np
import pytest
import torch

from dope_core.codecs.release import HAND_PUBLIC_FROM_RELEASE
from dope_core.keypoints import BODY_LEFT_WRIST, BODY_RIGHT_WRIST, HAND_JOINTS, HAND_WRIST
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


def test_the_release_hand_count_sets_handedness():
    config = PostprocessConfig(right_hand_classes=3)
    poses = to_part_poses("hand", _hand_dets([0, 2, 3, 9]), num_anchor_poses=10, config=config)
    assert [p.handedness for p in poses] == [Handedness.RIGHT, Handedness.RIGHT, Handedness.LEFT, Handedness.LEFT]


def test_release_conventions_are_mapped_per_part():
    release = PostprocessConfig(conventions="release")
    hands = to_part_poses("hand", _hand_dets([0]), num_anchor_poses=10, config=release)
    np.testing.assert_allclose(hands[0].keypoints_3d[0], [0.0, 0.1, 0.2])      # hands: image-aligned already
    order = PartDetections(scores=np.ones(1), boxes=np.zeros((1, 4)), pose2d=np.arange(42.0).reshape(1, 21, 2),
                           pose3d=np.zeros((1, 21, 3)), classes=np.zeros(1, dtype=int))
    hand = to_part_poses("hand", order, num_anchor_poses=10, config=release)[0]
    # release order: wrist, 5 finger bases, then 3 joints per finger -> public: wrist then 4 per finger
    assert hand.keypoints_2d[HAND_JOINTS.index("index_mcp"), 0] == 2 * 2          # release joint 2
    assert hand.keypoints_2d[HAND_JOINTS.index("index_pip"), 0] == 2 * 9          # release joint 9
    assert hand.keypoints_2d[HAND_JOINTS.index("little_tip"), 0] == 2 * 20        # release joint 20
    assert sorted(HAND_PUBLIC_FROM_RELEASE) == list(range(21))
    body3d = np.tile([0.1, 0.2, 0.3], (1, 13, 1))
    body3d[0, 4], body3d[0, 5] = [0.3, -0.25, 1.0], [0.1, -0.25, 1.0]                 # hips: centre (0.2, -0.25, 1)
    bodies = PartDetections(scores=np.full(1, 2.5), boxes=np.zeros((1, 4)), pose2d=np.zeros((1, 13, 2)),
                            pose3d=body3d, classes=np.zeros(1, dtype=int))
    body = to_part_poses("body", bodies, num_anchor_poses=20, config=release)[0]
    # x, y negated, then centred on the mid-hips (-0.2, 0.25, 1.0)
    np.testing.assert_allclose(body.keypoints_3d[0], [-0.1 + 0.2, -0.2 - 0.25, 0.3 - 1.0])
    np.testing.assert_allclose(body.keypoints_3d[4], [-0.1, 0.0, 0.0])
    assert body.score == 1.0 and body.confidence.max() == 1.0              # summed PPI score clipped to 1
    project = to_part_poses("body", bodies, num_anchor_poses=20, config=PostprocessConfig())[0]
    np.testing.assert_allclose(project.keypoints_3d, body3d[0])
    with pytest.raises(ValueError, match="conventions"):
        PostprocessConfig(conventions="y_up")


def test_settings_written_before_conventions_existed_still_load():
    old = PostprocessConfig().to_dict()
    del old["conventions"], old["right_hand_classes"], old["wrist_from_hand"]
    old["axes_3d"], old["min_score"] = "camera", 0.3          # 0.3 was a threshold on another score
    assert PostprocessConfig.from_dict(old) == PostprocessConfig()
    assert PostprocessConfig().min_score == {"body": 2.0, "hand": 0.3, "face": 0.5}
    with pytest.raises(ValueError, match="y_up"):
        PostprocessConfig.from_dict(dict(old, axes_3d="y_up"))


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
                                 config=PostprocessConfig(method=method, min_score=0.3))
    assert result.backend == "network" and result.image_size == (640, 480)
    assert result.counts() == {"people": 1, "bodies": 1, "hands": 1, "faces": 0}
    person = result.people[0]
    assert person.right_hand is not None and person.left_hand is None
    np.testing.assert_allclose(person.body.keypoints_2d, body2d, atol=1e-4)
    only_hands = detections_to_poses(_network_output(body2d, hand2d), image_size=(640, 480), parts=("hand",),
                                     num_anchor_poses={"body": 2, "hand": 2, "face": 2},
                                     config=PostprocessConfig(min_score=0.3))
    assert only_hands.counts() == {"people": 0, "bodies": 0, "hands": 1, "faces": 0}


def test_the_release_puts_the_hand_wrist_on_the_body():
    rng = np.random.default_rng(1)
    body2d = rng.uniform(100, 300, (13, 2))
    hand2d = body2d[BODY_RIGHT_WRIST] + rng.uniform(-8, 8, (21, 2))
    hand2d[HAND_WRIST] = body2d[BODY_RIGHT_WRIST] + 3.0
    kwargs = dict(image_size=(640, 480), parts=("body", "hand", "face"),
                  num_anchor_poses={"body": 2, "hand": 2, "face": 2})
    replaced = detections_to_poses(_network_output(body2d, hand2d), config=PostprocessConfig(min_score=0.3, wrist_from_hand=True),
                                   **kwargs).people[0]
    np.testing.assert_allclose(replaced.body.keypoints_2d[BODY_RIGHT_WRIST], hand2d[HAND_WRIST], atol=1e-4)
    np.testing.assert_allclose(replaced.body.keypoints_2d[BODY_LEFT_WRIST], body2d[BODY_LEFT_WRIST], atol=1e-4)
    kept = detections_to_poses(_network_output(body2d, hand2d), config=PostprocessConfig(min_score=0.3), **kwargs).people[0]
    np.testing.assert_allclose(kept.body.keypoints_2d[BODY_RIGHT_WRIST], body2d[BODY_RIGHT_WRIST], atol=1e-4)
