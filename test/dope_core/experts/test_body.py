"""The body expert's landmark passes: collapsed poses are dropped (default tier, real models)."""

import numpy as np
import pytest

from dope_core.experts.body import BodyExpert, BodyLandmarks
from dope_core.experts.ssd import Detection
from dope_core.keypoints import Part
from dope_core.structures import PartPose


def _body(box: tuple[float, float, float, float], score: float = 0.95) -> BodyLandmarks:
    x1, y1, x2, y2 = box
    kp = np.stack([np.linspace(x1, x2, 13), np.linspace(y1, y2, 13)], axis=1)
    pose = PartPose(part=Part.BODY, score=score, box=np.array(box, float), keypoints_2d=kp,
                    keypoints_3d=np.zeros((13, 3)), confidence=np.ones(13))
    return BodyLandmarks(pose=pose, landmarks_2d=np.zeros((33, 2)), visibility=np.ones(33))


@pytest.mark.parametrize("extent, kept", [(200.0, True), (90.0, True), (60.0, False)])
def test_pose_that_fills_little_of_its_region_is_dropped(monkeypatch, extent, kept):
    expert = BodyExpert(tile_fractions=())
    # One detection: hips at (200, 200), scale point 80 px above: region side 2 * 80 * 1.25 = 200 px.
    det = Detection(box=np.array([100.0, 100.0, 300.0, 300.0]),
                    keypoints=np.array([[200.0, 200.0], [200.0, 120.0], [0, 0], [0, 0]]), score=0.9)
    monkeypatch.setattr(expert.detector, "detect", lambda image, views, score: [det])
    sides = []

    def landmarks(image, rect):
        sides.append(rect.side)
        return _body((150.0, 100.0, 150.0 + extent / 2, 100.0 + extent))

    monkeypatch.setattr(expert, "_landmarks", landmarks)
    found = expert.detect_landmarks(np.zeros((400, 400, 3), np.uint8))
    assert sides == [pytest.approx(200.0)]
    assert (len(found) == 1) is kept      # fill 1.0 and 0.45 kept, 0.3 dropped (min_region_fill 0.4)


def test_thorough_search_gives_no_collapsed_bodies_on_a_group(shared_data):
    from dope_core.experts.ensemble import ExpertsEstimator
    from dope_core.image_io import read_image

    image = read_image(shared_data / "images" / "multihmr" / "39742984604_46934fbd50_c.jpg")  # 7 standing people
    result = ExpertsEstimator(tile_fractions=(0.5, 0.3))(image)
    heights = [p.body.box[3] - p.body.box[1] for p in result.people if p.body is not None]
    assert 6 <= len(heights) <= 8
    assert min(heights) > 100, heights    # the people are 350-430 px tall; a collapsed pass gave 22 px
