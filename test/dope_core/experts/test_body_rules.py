"""The rules that compare two bodies or regions (dope_core/experts/body_rules.py), hand-computed,
and the body expert's dedupe that applies them."""

import dataclasses

import numpy as np

from body_poses import ARMS, body_pose
from dope_core.experts.body_landmarks import BodyLandmarks
from dope_core.experts.body_rules import (face_in_face, flat, head_near, inside, nested, on_body, one_person, same_pose,
                                         same_region, seen_by, spread_over_others, too_small, upside_down)
from dope_core.experts.roi import RotatedRect
from dope_core.keypoints import BODY_JOINTS
from dope_core.structures import PartPose


def test_one_person_posed_twice_with_other_arms_is_one_person():
    rng = np.random.default_rng(0)
    kp = np.c_[rng.uniform(100, 140, 13), np.linspace(0, 200, 13)]       # 200 px tall
    spread = kp.copy()
    spread[ARMS, 0] += [-80, 80, -60, 60]                                # arms out: a much wider box
    a, b = body_pose(kp), body_pose(spread)
    assert same_pose(a, b) and same_pose(b, a)                            # median joint distance 0 px


def test_neighbours_and_shifted_poses_are_two_people():
    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]
    assert not same_pose(body_pose(kp), body_pose(kp + [25, 0]))                  # 25 px > 0.1 * 200 px
    assert same_pose(body_pose(kp), body_pose(kp + [15, 0]))                      # 15 px < 20 px
    assert not same_pose(body_pose(kp), body_pose(kp + [15, 0]), fraction=0.05)


def test_two_passes_of_a_person_cut_at_the_hips_are_one_person():
    """Numbers from two passes over Zidane in images/packages/zidane.jpg (1280x720): the
    upper body agrees, the legs below the image are guessed 250-360 px apart."""
    a = np.array([[832, 1225], [977, 1202], [858, 989], [983, 976], [839, 717], [989, 725], [963, 463],
                  [1093, 550], [749, 487], [1072, 546], [816, 293], [1049, 346], [1003, 90]], float)
    b = np.array([[827, 862], [917, 855], [853, 740], [949, 728], [837, 579], [925, 588], [965, 469],
                  [1022, 415], [815, 470], [1005, 462], [846, 313], [1014, 330], [1003, 80]], float)
    conf_a = np.array([1, 1, 54, 37, 100, 99, 100, 73, 100, 47, 100, 100, 100]) / 100
    conf_b = np.array([29, 26, 46, 30, 100, 100, 98, 48, 99, 20, 100, 99, 100]) / 100
    pa, pb = body_pose(a), body_pose(b)
    pa.confidence, pb.confidence = conf_a, conf_b
    assert same_pose(pa, pb) and same_pose(pb, pa)          # median over the 7 joints both see: 36 px < 122 px
    pa.confidence = pb.confidence = np.ones(13)
    assert not same_pose(pa, pb)                            # over all 13 (legs included): 135 px
    # a neighbour seen as well: 30 % of the height to the side is another person
    shifted = body_pose(a + [0.3 * 1216, 0])
    shifted.confidence = conf_a
    pa.confidence = conf_a
    assert not same_pose(pa, shifted)


def test_overlapping_passes_with_other_arms_are_one_person_neighbours_are_not():
    """one_person: up to 0.15 of the height when the boxes overlap (IoU >= 0.3), 0.1 otherwise."""

    kp = np.c_[np.tile([60.0, 140.0], 7)[:13], np.linspace(0, 200, 13)]   # 80 x 200 px
    other_arms = kp.copy()
    other_arms[ARMS + [0, 1, 2], 0] += 26                    # 7 of 13 joints 26 px off: median 26 px = 0.13 h
    a, b = body_pose(kp), body_pose(other_arms)
    assert not same_pose(a, b) and one_person(a, b) and one_person(b, a)
    # the same median distance without box overlap (a neighbour standing apart, boxes disjoint)
    far = body_pose(kp + [26, 0])
    far.box = far.box + np.array([200, 0, 200, 0])
    assert not one_person(a, far)
    # overlapping (IoU 0.39) but further apart than 0.15 of the height: two people
    assert not one_person(a, body_pose(kp + [35, 0]))


def test_a_small_pass_inside_a_person_is_nested_a_neighbour_is_not(experts):
    """nested: 90 % of the small box inside the other's, grown by 5 % of its size (longer side), and
    under 0.4 of its size; the body expert's dedupe drops it only for a body that scores at least as high."""

    person = body_pose(np.c_[np.linspace(100, 260, 13), np.linspace(0, 400, 13)])      # 160 x 400 px
    leg = body_pose(np.c_[np.linspace(150, 200, 13), np.linspace(280, 390, 13)])       # 50 x 110 px, on the legs
    assert nested(leg, person) and not nested(person, leg)
    # a pass on a shoe, 12 of its 32 px below the foot landmarks that end the person's box (the
    # tennis group photo of multihmr: a 0.76 body on a player's shoe)
    shoe = body_pose(np.c_[np.linspace(150, 200, 13), np.linspace(380, 412, 13)])
    assert nested(shoe, person) and not nested(shoe, person, margin=0.0)
    # 40 % of it outside the grown box, or 0.45 of the height: not nested
    assert not nested(body_pose(np.c_[np.linspace(250, 300, 13), np.linspace(280, 390, 13)]), person)
    assert not nested(body_pose(np.c_[np.linspace(150, 200, 13), np.linspace(200, 380, 13)]), person)
    # the same people lying down (a photo turned a quarter): sizes are the boxes' longer sides
    lying = body_pose(person.keypoints_2d[:, ::-1].copy())
    assert nested(body_pose(leg.keypoints_2d[:, ::-1].copy()), lying)
    assert nested(body_pose(shoe.keypoints_2d[:, ::-1].copy()), lying)

    def landmarks(pose: PartPose, score: float) -> BodyLandmarks:
        pose.score = score
        return BodyLandmarks(pose=pose, landmarks_2d=np.zeros((33, 2)), visibility=np.ones(33))

    kept = experts.body.dedupe([landmarks(body_pose(leg.keypoints_2d), 0.91), landmarks(body_pose(person.keypoints_2d), 1.0)])
    assert [k.pose.score for k in kept] == [1.0]
    kept = experts.body.dedupe([landmarks(body_pose(person.keypoints_2d), 0.6), landmarks(body_pose(leg.keypoints_2d), 0.9)])
    assert sorted(k.pose.score for k in kept) == [0.6, 0.9]        # the small body scores higher: both stay


def _face(centre: tuple[float, float], size: float) -> np.ndarray:
    """33 BlazePose landmarks (pixels): the 11 face points spread over ``size`` around ``centre``
    (nose first, at the centre), the body points 3 face sizes below."""
    lm = np.zeros((33, 2))
    lm[:11] = np.asarray(centre) + size * np.c_[np.linspace(-0.5, 0.5, 11), np.linspace(-0.3, 0.3, 11)]
    lm[0] = centre
    lm[11:] = np.asarray(centre) + [0, 3 * size]
    return lm


def test_a_small_person_fitted_on_a_face_goes_a_neighbour_face_stays(experts):
    """face_in_face: a's nose inside b's face box and a's face under half of b's; the body
    expert's dedupe drops such a pass for a body that scores at least as high."""

    def body(lm: np.ndarray, score: float, lean: float = 0.0) -> BodyLandmarks:
        size = np.ptp(lm[:11, 0])     # a skeleton 10 face sizes tall below the face, leaning `lean` sizes
        joints = lm[0] + size * np.c_[np.linspace(-0.5, 0.5 + lean, 13), np.linspace(0, 10, 13)]
        return BodyLandmarks(pose=dataclasses.replace(body_pose(joints), score=score), landmarks_2d=lm,
                             visibility=np.ones(33))

    big = body(_face((300, 200), 130), 1.0)
    small = body(_face((290, 205), 30), 0.97, lean=-10)  # on big's face, a quarter of its size, its box
    assert not nested(small.pose, big.pose)               # mostly outside big's
    assert face_in_face(small, big) and not face_in_face(big, small)
    # over half the size, b's nose outside its face box: a face next to b's, not on it
    assert not face_in_face(body(_face((350, 225), 70), 0.97), big)
    twin = body(_face((295, 200), 120), 0.99, lean=-10)  # the same face fitted again, noses in each other's faces
    assert face_in_face(twin, big) and face_in_face(big, twin)
    assert not face_in_face(body(_face((380, 205), 30), 0.97), big)      # nose beside big's face: a child beside
    assert [b.pose.score for b in experts.body.dedupe([small, big])] == [1.0]
    assert sorted(b.pose.score for b in experts.body.dedupe([dataclasses.replace(big, pose=dataclasses.replace(
        big.pose, score=0.9)), small])) == [0.9, 0.97]     # the small one scores higher: both stay


def test_head_near_measures_from_the_proposal_box_centre_in_box_sides():

    lm = np.zeros((33, 2))
    lm[0] = (150.0, 100.0)                                # nose, pixels
    body = BodyLandmarks(pose=body_pose(np.c_[np.full(13, 150.0), np.linspace(100, 300, 13)]), landmarks_2d=lm,
                         visibility=np.ones(33))
    box = np.array([80.0, 80.0, 120.0, 120.0])           # 40 px, centre (100, 100): the nose 50 px away
    assert not head_near(body, box) and head_near(body, box, reach=1.25)
    assert head_near(body, np.array([120.0, 80.0, 160.0, 120.0]))


def _standing(x: float, top: float, height: float) -> PartPose:
    """A person standing upright at ``x``, head top at ``top`` (pixels, DOPE's 13 joints)."""
    rows = {"right_ankle": (-0.1, 1.0), "left_ankle": (0.1, 1.0), "right_knee": (-0.1, 0.75),
            "left_knee": (0.1, 0.75), "right_hip": (-0.1, 0.5), "left_hip": (0.1, 0.5),
            "right_wrist": (-0.25, 0.5), "left_wrist": (0.25, 0.5), "right_elbow": (-0.2, 0.35),
            "left_elbow": (0.2, 0.35), "right_shoulder": (-0.15, 0.2), "left_shoulder": (0.15, 0.2),
            "head_top": (0.0, 0.0)}
    kp = np.array([[x + dx * height, top + dy * height] for dx, dy in (rows[j] for j in BODY_JOINTS)])
    return body_pose(kp)


def test_a_skeleton_over_a_persons_legs_is_on_that_body_one_behind_them_is_not():
    person = _standing(200.0, 100.0, 400.0)                       # shoulders at y 180, hips at 300
    on_legs = _standing(200.0, 260.0, 230.0)                      # head top at 260: below the shoulders
    behind = _standing(215.0, 110.0, 230.0)                       # head top at 110: a person further back
    assert on_body(on_legs, person) and not on_body(person, on_legs)
    assert not on_body(behind, person)
    assert not on_body(on_legs, person, size_ratio=0.4)           # 0.575 of the person's size


def test_bodies_too_small_or_flat_to_be_a_pose():
    assert too_small(np.array([755.0, 196.0, 765.0, 208.0]))             # a 12-px "person" on a wall camera
    assert too_small(np.array([80.0, 502.0, 146.0, 523.0]))              # 66x21 px: a sheet on a lawn
    assert not too_small(np.array([470.0, 328.0, 481.0, 351.0]))         # an upright 11x23 px walker
    assert not too_small(np.array([0.0, 0.0, 100.0, 30.0]))              # flat but 30 px tall: a person lying
    assert not too_small(np.array([80.0, 502.0, 146.0, 523.0]), flat_height=0.0)
    assert not too_small(np.array([755.0, 196.0, 765.0, 208.0]), min_height=0.0)


def _face_body(centre: tuple[float, float], size: float) -> BodyLandmarks:
    """A body whose 11 face landmarks span ``size`` px around ``centre`` (nose at the centre)."""
    return BodyLandmarks(pose=_standing(centre[0], centre[1], 10 * size), landmarks_2d=_face(centre, size),
                         visibility=np.ones(33))


def test_same_pose_measures_against_the_taller_box() -> None:
    """same_pose: the threshold is a fraction of the taller of the two boxes' heights, not the shorter."""
    y = np.array([0, 10, 20, 30, 40, 50, 60, 100, 120, 140, 160, 180, 200.0])
    tall = np.c_[np.full(13, 100.0), y]                                  # 200 px tall
    short = tall.copy()
    short[:7, 0] += 15                                                   # 7 joints 15 px off: median 15 px
    short[7:] = (115.0, 60.0)                                            # the rest folded up: a 60-px box
    a, b = body_pose(tall), body_pose(short)
    assert b.box[3] - b.box[1] == 60.0
    assert same_pose(a, b) and same_pose(b, a)                           # 15 px < 0.1 * 200 px (not 0.1 * 60)


def test_same_pose_uses_the_joints_both_see_from_exactly_min_joints() -> None:
    """same_pose: with exactly ``min_joints`` joints seen by both, the median runs over those alone."""
    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]
    other = kp.copy()
    other[4:, 0] += 80                                                   # 9 joints far off, 4 in place
    a, b = body_pose(kp), body_pose(other)
    a.confidence = np.r_[np.ones(4), np.full(9, 0.1)]                    # a sees only the 4 that agree
    assert same_pose(a, b)                                               # median over 4 joints: 0 px
    assert not same_pose(a, b, min_joints=5)                             # over all 13: 80 px


def test_same_pose_threshold_is_strict() -> None:
    """same_pose: a median exactly ``fraction`` of the height is not under it: two people."""
    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]
    assert not same_pose(body_pose(kp), body_pose(kp + [20, 0]))         # 20 px = 0.1 * 200 px


def test_one_person_at_exactly_the_overlap_iou() -> None:
    """one_person: boxes overlapping by exactly ``overlap_iou`` (at least) allow ``overlap_fraction``."""
    kp = np.c_[np.tile([60.0, 140.0], 7)[:13], np.linspace(0, 200, 13)]
    other_arms = kp.copy()
    other_arms[ARMS + [0, 1, 2], 0] += 26                                # median 26 px = 0.13 of 200 px
    a, b = body_pose(kp), body_pose(other_arms)
    a.box, b.box = np.array([0, 0, 100, 200.0]), np.array([0, 0, 100, 100.0])   # IoU exactly 0.5
    assert one_person(a, b, overlap_iou=0.5)
    assert not one_person(a, b, overlap_iou=0.51)


def test_nested_margin_grows_the_box_upwards_too() -> None:
    """nested: the margin grows the person's box on every side, above the head as below the feet."""
    person = body_pose(np.c_[np.linspace(100, 260, 13), np.linspace(0, 400, 13)])     # 160 x 400 px
    raised = body_pose(np.c_[np.linspace(150, 200, 13), np.linspace(-12, 20, 13)])    # 12 of 32 px above the head
    assert nested(raised, person) and not nested(raised, person, margin=0.0)
    beside = body_pose(np.c_[np.linspace(248, 280, 13), np.linspace(200, 250, 13)])   # 20 of 32 px right of it
    assert nested(beside, person) and not nested(beside, person, margin=0.0)


def test_nested_at_exactly_the_inside_fraction() -> None:
    """nested: exactly ``inside`` (0.9) of the small box within the grown box counts (at least)."""
    person = body_pose(np.c_[np.linspace(100, 260, 13), np.linspace(0, 400, 13)])     # grown: y up to 420
    low = body_pose(np.c_[np.linspace(150, 200, 13), np.linspace(330, 430, 13)])      # 90 of 100 px inside
    assert nested(low, person)
    assert not nested(low, person, inside=0.91)


def test_on_body_head_exactly_at_the_shoulders_is_not_below_them() -> None:
    """on_body: a head top level with the person's shoulders is not short of them: the body stays."""
    person = _standing(200.0, 100.0, 400.0)                     # shoulders at y 180, hips at 300
    level = _standing(200.0, 180.0, 230.0)                      # head top at y 180
    lower = _standing(200.0, 181.0, 230.0)                      # 1 px below the shoulders
    assert nested(level, person, size_ratio=0.6)
    assert not on_body(level, person) and on_body(lower, person)


def test_face_in_face_exactly_half_the_size_is_comparable() -> None:
    """face_in_face: a face exactly ``size_ratio`` of the other is not under it; the faces are then
    comparable and each nose must lie in the other's face box."""
    big = _face_body((300.0, 200.0), 130.0)
    half_beside = _face_body((340.0, 200.0), 65.0)               # nose on big's face, big's nose outside its box
    assert not face_in_face(half_beside, big)
    assert face_in_face(half_beside, big, size_ratio=0.51)     # under 0.51 of big: on it
    half_on = _face_body((300.0, 200.0), 65.0)                   # noses in each other's face boxes
    assert face_in_face(big, half_on)                            # big is not under half of it, it is 2x: comparable


def test_same_region_offset_is_measured_in_the_smaller_side() -> None:
    """same_region: centres must be closer than ``offset`` times the smaller of the two sides."""
    small, large = RotatedRect(100.0, 100.0, 100.0), RotatedRect(110.0, 100.0, 140.0)
    assert not same_region(small, large) and not same_region(large, small)    # 10 px >= 0.08 * 100 px
    assert same_region(small, RotatedRect(107.0, 100.0, 140.0))               # 7 px < 8 px


def test_inside_checks_the_centre_against_both_axes() -> None:
    """inside: the region's centre must lie in the box along x and along y."""
    box = np.array([50.0, 50.0, 150.0, 150.0])
    assert inside(RotatedRect(100.0, 100.0, 40.0), box)
    assert not inside(RotatedRect(100.0, 300.0, 40.0), box)    # x in the box's x range, y below it
    assert not inside(RotatedRect(300.0, 100.0, 40.0), box)    # y in range, x to the right


def test_flat_compares_width_to_height_and_zero_never_holds() -> None:
    assert flat(np.array([0.0, 0.0, 140.0, 100.0]), aspect=1.4)           # exactly 1.4 times as wide
    assert not flat(np.array([0.0, 0.0, 139.0, 100.0]), aspect=1.4)
    assert not flat(np.array([0.0, 0.0, 1000.0, 10.0]), aspect=0.0)


def test_a_flat_skeleton_with_half_its_joints_on_others_is_spread_over_them() -> None:
    """13 joints along a line 300 px wide and 100 px tall: the first 7 (x <= 150) inside a
    neighbour's box are over half of them; 6 are not; a standing body (taller than wide) never is."""
    kp = np.c_[np.linspace(0, 300, 13), np.linspace(0, 100, 13)]
    lying = body_pose(kp)
    left = body_pose(np.c_[np.linspace(-10, 150, 13), np.linspace(-50, 400, 13)])     # x -10..150
    narrower = body_pose(np.c_[np.linspace(-10, 140, 13), np.linspace(-50, 400, 13)])  # 6 joints
    assert spread_over_others(lying, [left], aspect=1.4, on_others=0.5)
    assert not spread_over_others(lying, [narrower], aspect=1.4, on_others=0.5)
    assert spread_over_others(lying, [narrower, body_pose(np.c_[np.linspace(140, 160, 13), np.linspace(0, 50, 13)])],
                              aspect=1.4, on_others=0.5)           # the joint at x = 150 in another box
    assert not spread_over_others(lying, [], aspect=1.4, on_others=0.5)
    assert not spread_over_others(lying, [left], aspect=0.0, on_others=0.5)
    standing = body_pose(kp[:, ::-1].copy())
    assert not spread_over_others(standing, [body_pose(np.c_[np.linspace(-10, 400, 13), np.linspace(-10, 400, 13)])],
                                  aspect=1.4, on_others=0.0)


def test_upside_down_compares_the_head_top_with_the_middle_of_the_hips() -> None:
    """Pixels, y down: a standing body's head top is above its hips; a skeleton fitted head down has
    it below them; level with the hips is not upside down."""
    kp = np.c_[np.full(13, 50.0), np.linspace(200, 0, 13)]            # ankles at y 200 ... head top at 0
    assert not upside_down(body_pose(kp))
    flipped = kp.copy()
    flipped[:, 1] = 200 - flipped[:, 1]
    assert upside_down(body_pose(flipped))
    level = kp.copy()
    level[BODY_JOINTS.index("head_top"), 1] = level[[BODY_JOINTS.index("right_hip"), BODY_JOINTS.index("left_hip")], 1].mean()
    assert not upside_down(body_pose(level))


def test_seen_by_takes_the_best_box_overlapping_or_holding_the_body() -> None:
    """A body 100 x 200 px at the origin: a box shifted by 50 px (IoU 1/3) sees it, one shifted by 60
    (IoU 0.25) does not; a wider box holding 0.7 of it sees it while at most 3 times its area, or upright,
    at most 1.5 times as tall and centred within 0.2 of its width on it, not beyond; the best score among those that see it counts; no box, 0."""
    body = np.array([0.0, 0.0, 100.0, 200.0])
    shifted = np.array([[50.0, 0, 150, 200], [60.0, 0, 160, 200]])
    assert seen_by(body, shifted[:1], np.array([0.2])) == 0.2                      # IoU 100*200/(3e4 + 1e4) ... 1/3
    assert seen_by(body, shifted[1:], np.array([0.9])) == 0.0                      # IoU 0.25
    holding = np.array([[-100.0, -30, 200, 170]])        # 300 x 200 = 3 times the body's area, holds 0.85 of it
    assert seen_by(body, holding, np.array([0.4])) == 0.4
    assert seen_by(body, holding + [0, 0, 1, 0], np.array([0.4])) == 0.0            # 3.01 times the area, flat
    assert seen_by(body, np.array([[-100.0, -70, 200, 130]]), np.array([0.4])) == 0.0   # holds 0.65 only
    assert seen_by(body, np.r_[shifted, holding], np.array([0.2, 0.9, 0.4])) == 0.4
    assert seen_by(body, np.zeros((0, 4)), np.zeros(0)) == 0.0
    narrow = np.array([0.0, 0.0, 20.0, 200.0])           # a skeleton seen side on: 20 x 200 px
    upright = np.array([[-110.0, -50, 150, 250]])        # 260 x 300: 19.5 times its area, 1.5 times its height
    assert seen_by(narrow, upright, np.array([0.5])) == 0.5
    assert seen_by(narrow, upright + [0, 0, 0, 1], np.array([0.5])) == 0.0         # 1.505 times as tall
    assert seen_by(narrow, np.array([[-140.0, -50, 161, 250]]), np.array([0.5])) == 0.0  # 301 wide, 300 tall
    # its middle (x 10) 0.2 of the box's width (260 px) off the box's (x 62): at the limit; 1 px more is off
    assert seen_by(narrow, np.array([[-68.0, -50, 192, 250]]), np.array([0.5])) == 0.5
    assert seen_by(narrow, np.array([[-67.0, -50, 193, 250]]), np.array([0.5])) == 0.0
