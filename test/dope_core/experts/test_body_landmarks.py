"""One pass of the BlazePose landmark model (dope_core/experts/body_landmarks.py): the mirrored pass."""

import numpy as np

from dope_core.experts.body_landmarks import body_landmarks_in, sides_exchanged
from dope_core.experts.body_rules import same_pose
from dope_core.keypoints import BODY_JOINTS


def test_a_flipped_pass_is_mirror_symmetric_and_keeps_the_presence(experts, portrait):
    """``body_landmarks_in(flip=True)``: on a region whose crop is pixel-aligned (the model's input
    side, integer centre), the mirrored image in the mirrored region gives exactly the mirrored
    body (x mirrored, left and right swapped; in 3D, and in 2D but for the hand guides, which are
    the plain pass's), which one plain pass does not (it moves by pixels); in the region the
    expert finds, the presence, alignment points and hand guides are the plain pass's and the
    joints stay on the same person."""
    from dope_core.experts.mapping import BLAZEPOSE_HAND_GUIDES, BLAZEPOSE_MIRROR
    from dope_core.experts.roi import RotatedRect

    model = experts.body.landmarks
    roi = experts.body.detect_landmarks(portrait, refine=False)[0].roi
    plain, flipped = body_landmarks_in(model, portrait, roi), body_landmarks_in(model, portrait, roi, flip=True)
    assert flipped.pose.score == plain.pose.score >= 0.5
    assert same_pose(flipped.pose, plain.pose)
    np.testing.assert_array_equal(flipped.roi_points, plain.roi_points)
    guides = list(BLAZEPOSE_HAND_GUIDES)
    np.testing.assert_array_equal(flipped.landmarks_2d[guides], plain.landmarks_2d[guides])
    assert np.abs(flipped.landmarks_2d - plain.landmarks_2d).max() > 0.5             # pixels: the rest moved

    w = portrait.shape[1]
    side = model.input_size[0]
    aligned = RotatedRect(260.0, 300.0, float(side))
    mirrored = (np.ascontiguousarray(portrait[:, ::-1]), RotatedRect(w - aligned.cx, aligned.cy, float(side)))
    mirror = list(BLAZEPOSE_MIRROR)
    swap = [BODY_JOINTS.index(n.replace("left", "L").replace("right", "left").replace("L", "right"))
            for n in BODY_JOINTS]

    def gaps(flip: bool) -> tuple[float, float]:
        """The largest 2D (pixels) and 3D (metres) gaps between the pass and the mirrored pass, mirrored back."""
        here = body_landmarks_in(model, portrait, aligned, flip=flip)
        there = body_landmarks_in(model, *mirrored, flip=flip)
        xy = there.landmarks_2d[mirror] * [-1.0, 1.0] + [w, 0.0]
        world = there.pose.keypoints_3d[swap] * [-1.0, 1.0, 1.0]
        averaged = np.setdiff1d(np.arange(33), guides)
        return (float(np.abs(xy - here.landmarks_2d)[averaged].max()),
                float(np.abs(world - here.pose.keypoints_3d).max()))

    flip_2d, flip_3d = gaps(True)
    plain_2d, plain_3d = gaps(False)
    assert flip_2d < 1e-6 and flip_3d < 1e-9
    assert plain_2d > 1.0 and plain_3d > 1e-3


def test_the_mirrored_pass_runs_only_for_a_presence_the_caller_keeps(experts, portrait):
    """``flip_min_score``: under it the mirrored pass is skipped (one model call, the plain pass's
    result exactly); at or below the presence it is made (two calls, the flipped result)."""

    model = experts.body.landmarks
    calls = []

    class Counting:
        input_size = model.input_size

        def __call__(self, tensor):
            calls.append(1)
            return model(tensor)

    roi = experts.body.detect_landmarks(portrait, refine=False)[0].roi
    plain, flipped = body_landmarks_in(model, portrait, roi), body_landmarks_in(model, portrait, roi, flip=True)
    presence = plain.pose.score
    skipped = body_landmarks_in(Counting(), portrait, roi, flip=True, flip_min_score=min(presence + 1e-3, 1.001))
    assert len(calls) == 1
    np.testing.assert_array_equal(skipped.landmarks_2d, plain.landmarks_2d)
    np.testing.assert_array_equal(skipped.pose.keypoints_3d, plain.pose.keypoints_3d)
    calls.clear()
    made = body_landmarks_in(Counting(), portrait, roi, flip=True, flip_min_score=presence)
    assert len(calls) == 2
    np.testing.assert_array_equal(made.landmarks_2d, flipped.landmarks_2d)


def test_sides_exchanged_tells_a_person_facing_the_other_way_from_the_same_one_moved():
    from dope_core.experts.mapping import BLAZEPOSE_MIRROR

    a = np.random.default_rng(0).uniform(0, 256, (33, 2))
    assert sides_exchanged(a, a[list(BLAZEPOSE_MIRROR)])                     # left and right traded
    assert not sides_exchanged(a, a + 3.0)                                   # the same figure, moved
    side_on = a.copy()
    side_on[1::2][5:] = side_on[2::2][5:]                                    # both sides in one place
    assert not sides_exchanged(side_on, side_on[list(BLAZEPOSE_MIRROR)] + 0.5, min_distance=2.0)


def test_a_flipped_pass_that_sees_the_person_turned_is_not_averaged(experts, shared_data, monkeypatch):
    """COCO 192's catcher, standing in his gear: the heavy model's mirrored pass sees him facing the
    other way than its first pass; averaged, every limb folded onto his middle (shoulders 1 px
    apart). The first pass alone keeps them apart (25 px)."""
    from dope_core.experts import body_landmarks as landmarks_module
    from dope_core.image_io import read_image

    image = read_image(shared_data / "images" / "coco_val2014" / "COCO_val2014_000000000192.jpg")
    shoulders = (BODY_JOINTS.index("right_shoulder"), BODY_JOINTS.index("left_shoulder"))

    def catchers_shoulders() -> float:
        bodies = [b for b in experts.body.detect_landmarks(image)
                  if 460 <= (b.pose.box[0] + b.pose.box[2]) / 2 <= 500 and b.pose.box[3] - b.pose.box[1] > 150]
        assert len(bodies) == 1
        a, b = bodies[0].pose.keypoints_2d[list(shoulders)]
        return float(np.linalg.norm(a - b))                                  # pixels

    assert catchers_shoulders() > 15
    monkeypatch.setattr(landmarks_module, "sides_exchanged", lambda *a, **k: False)   # always averaged
    monkeypatch.setattr(experts.body, "unseen_score", 0.0)         # the folded skeleton's narrow box: no ssd box's
    assert catchers_shoulders() < 5
