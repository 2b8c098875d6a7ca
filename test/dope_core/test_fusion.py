import numpy as np
import pytest

from dope_core.fusion import assemble, assign_faces, assign_hands
from dope_core.keypoints import BODY_HEAD, BODY_JOINTS, BODY_LEFT_WRIST, BODY_RIGHT_WRIST, Part
from dope_core.structures import Handedness, PartPose


def body_at(x: float, score: float = 0.9) -> PartPose:
    """A standing body centred at x (pixels): head top y=100, shoulders y=160, wrists y=300."""
    kp = np.zeros((13, 2))
    kp[:, 0] = x
    kp[:, 1] = 250
    kp[BODY_HEAD] = (x, 100)
    kp[BODY_JOINTS.index("right_shoulder")] = (x - 30, 160)
    kp[BODY_JOINTS.index("left_shoulder")] = (x + 30, 160)
    kp[BODY_RIGHT_WRIST] = (x - 40, 300)
    kp[BODY_LEFT_WRIST] = (x + 40, 300)
    return PartPose(part=Part.BODY, score=score, box=[x - 50, 100, x + 50, 450], keypoints_2d=kp,
                    keypoints_3d=np.zeros((13, 3)), confidence=np.ones(13))


def hand_at(x: float, y: float, size: float = 30, handedness: str = "left") -> PartPose:
    kp = np.tile([x, y + size / 2], (21, 1))
    kp[0] = (x, y)
    return PartPose(part=Part.HAND, score=0.8, box=[x - size / 2, y, x + size / 2, y + size], keypoints_2d=kp,
                    keypoints_3d=np.zeros((21, 3)), confidence=np.ones(21), handedness=handedness)


def face_at(x: float, y: float, size: float = 40) -> PartPose:
    kp = np.tile([x, y], (84, 1))
    return PartPose(part=Part.FACE, score=0.9, box=[x - size / 2, y - size / 2, x + size / 2, y + size / 2],
                    keypoints_2d=kp, keypoints_3d=np.zeros((84, 3)), confidence=np.ones(84))


def test_hands_go_to_mutually_nearest_wrists_and_take_their_side():
    bodies = [body_at(100), body_at(300)]
    # Right wrist of body 0 is at (60, 300); left wrist of body 1 at (340, 300).
    hands = [hand_at(62, 305, handedness="left"), hand_at(338, 302, handedness="right"), hand_at(200, 50)]
    m = assign_hands(bodies, hands)
    assert m == {0: (0, Handedness.RIGHT), 1: (1, Handedness.LEFT)}
    res = assemble(bodies, hands, [], image_size=(400, 500), backend="t")
    assert res.people[0].right_hand.handedness is Handedness.RIGHT  # corrected from the hand's own label
    assert res.people[1].left_hand is not None and res.people[0].left_hand is None
    assert len(res.unassigned) == 1 and res.unassigned[0].handedness is Handedness.LEFT


def test_hand_too_far_from_its_nearest_wrist_is_unassigned():
    # Wrist distance 50 px, hand box 30 px: beyond 1.0 box size.
    assert assign_hands([body_at(100)], [hand_at(60, 350)]) == {}


def test_two_hands_competing_for_one_wrist_only_the_nearest_wins():
    hands = [hand_at(61, 301), hand_at(65, 310)]
    m = assign_hands([body_at(100)], hands)
    assert list(m) == [0]


def test_a_hand_too_large_for_a_body_is_not_its_hand():
    """The release's rule takes a 200-px hand at a 350-px body's wrist; with ``max_hand_to_body``
    0.5 it goes to no body and keeps its own side, while a usual hand is still taken."""
    big = hand_at(62, 305, size=200, handedness="left")
    assert assign_hands([body_at(100)], [big]) == {0: (0, Handedness.RIGHT)}
    assert assign_hands([body_at(100)], [big], max_hand_to_body=0.5) == {}
    assert assign_hands([body_at(100)], [hand_at(62, 305)], max_hand_to_body=0.5) == {0: (0, Handedness.RIGHT)}
    res = assemble([body_at(100)], [big], [], image_size=(400, 500), backend="t", max_hand_to_body=0.5)
    assert res.unassigned == [big] and res.people[0].right_hand is None
    # Barred from the small body, the hand goes to the next wrist that may hold it.
    tall = body_at(400)
    tall.box[1], tall.box[3] = -300.0, 450.0        # a 750-px body box
    tall.keypoints_2d[BODY_LEFT_WRIST] = (140, 300)
    assert assign_hands([body_at(100), tall], [big], max_hand_to_body=0.5) == {0: (1, Handedness.LEFT)}


def test_body_reach_lets_a_small_hand_lie_a_tenth_of_its_body_from_the_wrist() -> None:
    """A 10-px hand (a fist, a hand seen edge-on) 30 px from a 350-px body's wrist: three of its own
    boxes away, beyond the release's limit; within ``body_reach`` 0.1 of the body (35 px) it is the
    body's. The larger of the two limits holds: a 40-px hand 38 px away is taken at either reach."""
    body = body_at(100)                                   # right wrist (60, 300), box side 350
    small = hand_at(60, 330, size=10)                    # its wrist 30 px below the body's
    assert assign_hands([body], [small]) == {}
    assert assign_hands([body], [small], body_reach=0.1) == {0: (0, Handedness.RIGHT)}
    assert assign_hands([body], [small], body_reach=0.05) == {}
    assert assign_hands([body], [hand_at(60, 338, size=40)], body_reach=0.01) == {0: (0, Handedness.RIGHT)}
    res = assemble([body], [small], [], image_size=(400, 500), backend="t", body_reach=0.1)
    assert res.people[0].right_hand is not None and not res.unassigned


def test_body_reach_scales_with_each_body_and_keeps_mutual_nearest() -> None:
    """The reach is the body's own: 30 px is within 0.1 of a 350-px body, not of a 175-px one; and a
    wrist still takes only its nearest hand."""
    small_body = body_at(100)
    small_body.keypoints_2d[:, 1] = 100 + (small_body.keypoints_2d[:, 1] - 100) / 2   # wrists at y=200
    small_body.box[:] = [50, 100, 150, 275]
    assert assign_hands([small_body], [hand_at(60, 230, size=10)], body_reach=0.1) == {}
    hands = [hand_at(60, 330, size=10), hand_at(60, 315, size=10)]
    assert assign_hands([body_at(100)], hands, body_reach=0.1) == {1: (0, Handedness.RIGHT)}


def test_face_assigned_when_head_point_inside_exactly_one_box():
    bodies = [body_at(100), body_at(300)]
    # Head point = head top + 0.3 * (shoulder mid - head top) = (x, 118).
    faces = [face_at(100, 130), face_at(300, 135), face_at(500, 130)]
    assert assign_faces(bodies, faces) == {0: 0, 1: 1}
    res = assemble(bodies, [], faces, image_size=(600, 500), backend="t")
    assert res.people[0].face is faces[0] and res.people[1].face is faces[1]
    assert res.unassigned == [faces[2]]


def test_head_inside_two_face_boxes_is_ambiguous():
    faces = [face_at(95, 125), face_at(105, 125)]
    assert assign_faces([body_at(100)], faces) == {}


def test_a_face_point_settles_what_the_head_point_cannot():
    """The experts' nose (``face_points``) inside exactly one face box claims it: a spurious face
    beside the real one, both around the head point, no longer leaves the person faceless (the
    tennis group photo of multihmr); without a point, or with one in no box, the head-point rule."""
    spurious, real = face_at(92, 112, size=44), face_at(110, 125, size=36)
    body = body_at(100)
    assert assign_faces([body], [spurious, real]) == {}
    assert assign_faces([body], [spurious, real], face_points=[np.array([118.0, 132.0])]) == {1: 0}
    assert assign_faces([body], [spurious, real], face_points=[None]) == {}
    assert assign_faces([body], [real], face_points=[np.array([400.0, 400.0])]) == {0: 0}
    # a body claiming by its face point goes before one claiming by its head point, however near
    other = body_at(112)
    assert assign_faces([other, body], [real], face_points=[None, np.array([118.0, 132.0])]) == {0: 1}
    # assemble reorders the points with the bodies (by score)
    res = assemble([body_at(300, 0.5), body_at(100, 0.9)], [], [spurious, real], image_size=(400, 500),
                   backend="t", face_points=[None, np.array([118.0, 132.0])])
    assert res.people[0].body.keypoints_2d[0, 0] == 100 and res.people[0].face is real
    assert res.unassigned == [spurious]
    with pytest.raises(ValueError, match="face_points"):
        assign_faces([body], [real], face_points=[])


def test_empty_inputs_and_sorting_by_score():
    assert assemble([], [], [], image_size=(10, 10), backend="t").people == []
    res = assemble([body_at(100, 0.5), body_at(300, 0.95)], [], [face_at(1, 1)], image_size=(400, 500), backend="t")
    assert [p.score for p in res.people] == [0.95, 0.5] and [p.id for p in res.people] == [0, 1]
    assert len(res.unassigned) == 1


def test_wrong_part_type_is_rejected():
    with pytest.raises(ValueError, match="hands must all be hand"):
        assemble([body_at(0)], [face_at(0, 0)], [], image_size=(10, 10), backend="t")


def test_two_heads_in_one_face_box_the_nearer_body_gets_it_whatever_the_order() -> None:
    """Both bodies' head points (x, 118) lie in the face box enlarged to 60 px around (100, 118); the body
    whose head point is nearer the centre (4 px, against 20 px) gets the face, listed first or second."""
    far, near = body_at(120), body_at(104)
    face = face_at(100, 118)
    assert assign_faces([far, near], [face]) == {0: 1}
    assert assign_faces([near, far], [face]) == {0: 0}
    res = assemble([far, near], [], [face], image_size=(400, 500), backend="t")   # equal scores: order kept
    assert res.people[0].body is far and res.people[0].face is None and res.people[1].face is not None


def test_a_hand_exactly_at_the_size_limit_is_still_the_bodys() -> None:
    """``max_hand_to_body`` bars hands whose side *exceeds* the fraction: 175 px on a 350-px body at 0.5 stays."""
    body = body_at(100)   # box 100 x 350 px
    at_limit = assign_hands([body], [hand_at(140, 300, size=175)], max_hand_to_body=0.5)
    assert at_limit == {0: (0, Handedness.LEFT)}
    assert assign_hands([body], [hand_at(140, 300, size=176)], max_hand_to_body=0.5) == {}


def test_the_head_point_lies_head_drop_of_the_way_from_head_top_to_shoulders() -> None:
    """Head top y=100, shoulders y=160, head_drop 0.3: the head point is y=118, not y=142 (0.7 of the way)."""
    faces = [face_at(100, 118, size=20), face_at(100, 142, size=20)]   # enlarged boxes: y 103..133 and 127..157
    assert assign_faces([body_at(100)], faces) == {0: 0}
    assert assign_faces([body_at(100)], faces, head_drop=0.7) == {1: 0}


def test_a_face_point_inside_two_face_boxes_falls_back_to_the_head_point() -> None:
    """A face point that is in two raw face boxes settles nothing: the head point (y=118) picks the face."""
    faces = [face_at(100, 118), face_at(100, 150)]   # raw boxes y 98..138 and 130..170; enlarged 88..148, 120..180
    assert assign_faces([body_at(100)], faces, face_points=[np.array([100.0, 135.0])]) == {0: 0}
