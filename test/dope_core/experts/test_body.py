"""The body expert's duplicate rule (pose similarity), hand-computed."""

import dataclasses

import numpy as np

from dope_core.boxes import box_centre, box_contains
from dope_core.experts.body import on_body, same_pose
from dope_core.keypoints import BODY_JOINTS, Part
from dope_core.structures import PartPose

_ARMS = [BODY_JOINTS.index(n) for n in ("right_wrist", "left_wrist", "right_elbow", "left_elbow")]


def _body(kp: np.ndarray) -> PartPose:
    box = np.r_[kp.min(axis=0), kp.max(axis=0)]
    return PartPose(part=Part.BODY, score=0.9, box=box, keypoints_2d=kp, keypoints_3d=np.zeros((13, 3)),
                    confidence=np.ones(13))


def test_one_person_posed_twice_with_other_arms_is_one_person():
    rng = np.random.default_rng(0)
    kp = np.c_[rng.uniform(100, 140, 13), np.linspace(0, 200, 13)]       # 200 px tall
    spread = kp.copy()
    spread[_ARMS, 0] += [-80, 80, -60, 60]                                # arms out: a much wider box
    a, b = _body(kp), _body(spread)
    assert same_pose(a, b) and same_pose(b, a)                            # median joint distance 0 px


def test_neighbours_and_shifted_poses_are_two_people():
    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]
    assert not same_pose(_body(kp), _body(kp + [25, 0]))                  # 25 px > 0.1 * 200 px
    assert same_pose(_body(kp), _body(kp + [15, 0]))                      # 15 px < 20 px
    assert not same_pose(_body(kp), _body(kp + [15, 0]), fraction=0.05)


def test_dedupe_keeps_the_best_of_overlapping_or_alike_items():
    from dope_core.experts.common import dedupe

    boxes = [np.array(b, float) for b in ([0, 0, 10, 10], [1, 0, 11, 10], [50, 0, 60, 10], [80, 0, 90, 10])]
    items = ["a", "b", "c", "d"]
    scores = [0.5, 0.9, 0.7, 0.8]
    assert dedupe(items, boxes, scores, 0.5) == ["b", "d", "c"]             # a overlaps b (IoU 0.82)
    assert dedupe(items, boxes, scores, 0.5, same=lambda x, y: {x, y} == {"c", "d"}) == ["b", "d"]


def test_two_passes_of_a_person_cut_at_the_hips_are_one_person():
    """Numbers from two passes over Zidane in images/packages/zidane.jpg (1280x720): the
    upper body agrees, the legs below the image are guessed 250-360 px apart."""
    a = np.array([[832, 1225], [977, 1202], [858, 989], [983, 976], [839, 717], [989, 725], [963, 463],
                  [1093, 550], [749, 487], [1072, 546], [816, 293], [1049, 346], [1003, 90]], float)
    b = np.array([[827, 862], [917, 855], [853, 740], [949, 728], [837, 579], [925, 588], [965, 469],
                  [1022, 415], [815, 470], [1005, 462], [846, 313], [1014, 330], [1003, 80]], float)
    conf_a = np.array([1, 1, 54, 37, 100, 99, 100, 73, 100, 47, 100, 100, 100]) / 100
    conf_b = np.array([29, 26, 46, 30, 100, 100, 98, 48, 99, 20, 100, 99, 100]) / 100
    pa, pb = _body(a), _body(b)
    pa.confidence, pb.confidence = conf_a, conf_b
    assert same_pose(pa, pb) and same_pose(pb, pa)          # median over the 7 joints both see: 36 px < 122 px
    pa.confidence = pb.confidence = np.ones(13)
    assert not same_pose(pa, pb)                            # over all 13 (legs included): 135 px
    # a neighbour seen as well: 30 % of the height to the side is another person
    shifted = _body(a + [0.3 * 1216, 0])
    shifted.confidence = conf_a
    pa.confidence = conf_a
    assert not same_pose(pa, shifted)


def test_source_joints_replace_only_confident_joints_of_the_same_person():
    from dope_core.experts.body import BodyLandmarks, source_agrees, with_source_joints

    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]
    body = BodyLandmarks(pose=_body(kp), landmarks_2d=np.zeros((33, 2)), visibility=np.ones(33))
    source = np.c_[kp + [5, 0], np.full(13, 0.9)]                         # the same person, 5 px off
    source[_ARMS[0], 2] = 0.2                                             # right wrist: not confident
    out = with_source_joints(body, source, _ARMS)
    assert np.allclose(out.pose.keypoints_2d[_ARMS[1:]], source[_ARMS[1:], :2])
    assert np.allclose(out.pose.keypoints_2d[_ARMS[0]], kp[_ARMS[0]])      # kept: the source is unsure
    untouched = [j for j in range(13) if j not in _ARMS[1:]]
    assert np.allclose(out.pose.keypoints_2d[untouched], kp[untouched]) and out.pose.keypoints_3d is body.pose.keypoints_3d
    assert np.isclose(out.pose.confidence[_ARMS[1]], 0.9)
    neighbour = np.c_[kp + [60, 0], np.full(13, 0.9)]                    # 60 px > 0.2 * 200 px: someone else
    assert not source_agrees(body.pose, neighbour) and with_source_joints(body, neighbour, _ARMS) is body
    assert not source_agrees(body.pose, np.c_[kp, np.full(13, 0.1)])      # nothing confident: no say


def test_a_body_made_from_a_source_has_its_2d_and_score_and_the_pass_3d():
    from dope_core.experts.body import BodyLandmarks, body_from_source
    from dope_core.experts.proposals import Proposal

    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]
    scattered = BodyLandmarks(pose=_body(kp * [3, 0.2]), landmarks_2d=np.zeros((33, 2)), visibility=np.ones(33))
    source = np.c_[kp, np.full(13, 0.8)]
    made = body_from_source(scattered, Proposal(np.array([90, -5, 110, 205.0]), 0.4, "yolo", keypoints=source))
    assert made.from_source and made.pose.score == 0.4 and np.allclose(made.pose.keypoints_2d, kp)
    assert np.allclose(made.pose.confidence, 0.8) and made.pose.keypoints_3d is scattered.pose.keypoints_3d
    assert np.allclose(made.pose.box, [90, -5, 110, 205])


def test_overlapping_passes_with_other_arms_are_one_person_neighbours_are_not():
    """one_person: up to 0.15 of the height when the boxes overlap (IoU >= 0.3), 0.1 otherwise."""
    from dope_core.experts.body import one_person

    kp = np.c_[np.tile([60.0, 140.0], 7)[:13], np.linspace(0, 200, 13)]   # 80 x 200 px
    other_arms = kp.copy()
    other_arms[_ARMS + [0, 1, 2], 0] += 26                    # 7 of 13 joints 26 px off: median 26 px = 0.13 h
    a, b = _body(kp), _body(other_arms)
    assert not same_pose(a, b) and one_person(a, b) and one_person(b, a)
    # the same median distance without box overlap (a neighbour standing apart, boxes disjoint)
    far = _body(kp + [26, 0])
    far.box = far.box + np.array([200, 0, 200, 0])
    assert not one_person(a, far)
    # overlapping (IoU 0.39) but further apart than 0.15 of the height: two people
    assert not one_person(a, _body(kp + [35, 0]))


def test_a_small_pass_inside_a_person_is_nested_a_neighbour_is_not(experts):
    """nested: 90 % of the small box inside the other's, grown by 5 % of its size (longer side), and
    under 0.4 of its size; the body expert's dedupe drops it only for a body that scores at least as high."""
    from dope_core.experts.body import BodyLandmarks, nested

    person = _body(np.c_[np.linspace(100, 260, 13), np.linspace(0, 400, 13)])      # 160 x 400 px
    leg = _body(np.c_[np.linspace(150, 200, 13), np.linspace(280, 390, 13)])       # 50 x 110 px, on the legs
    assert nested(leg, person) and not nested(person, leg)
    # a pass on a shoe, 12 of its 32 px below the foot landmarks that end the person's box (the
    # tennis group photo of multihmr: a 0.76 body on a player's shoe)
    shoe = _body(np.c_[np.linspace(150, 200, 13), np.linspace(380, 412, 13)])
    assert nested(shoe, person) and not nested(shoe, person, margin=0.0)
    # 40 % of it outside the grown box, or 0.45 of the height: not nested
    assert not nested(_body(np.c_[np.linspace(250, 300, 13), np.linspace(280, 390, 13)]), person)
    assert not nested(_body(np.c_[np.linspace(150, 200, 13), np.linspace(200, 380, 13)]), person)
    # the same people lying down (a photo turned a quarter): sizes are the boxes' longer sides
    lying = _body(person.keypoints_2d[:, ::-1].copy())
    assert nested(_body(leg.keypoints_2d[:, ::-1].copy()), lying)
    assert nested(_body(shoe.keypoints_2d[:, ::-1].copy()), lying)

    def landmarks(pose: PartPose, score: float) -> BodyLandmarks:
        pose.score = score
        return BodyLandmarks(pose=pose, landmarks_2d=np.zeros((33, 2)), visibility=np.ones(33))

    kept = experts.body.dedupe([landmarks(_body(leg.keypoints_2d), 0.91), landmarks(_body(person.keypoints_2d), 1.0)])
    assert [k.pose.score for k in kept] == [1.0]
    kept = experts.body.dedupe([landmarks(_body(person.keypoints_2d), 0.6), landmarks(_body(leg.keypoints_2d), 0.9)])
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
    from dope_core.experts.body import BodyLandmarks, face_in_face, nested

    def body(lm: np.ndarray, score: float, lean: float = 0.0) -> BodyLandmarks:
        size = np.ptp(lm[:11, 0])     # a skeleton 10 face sizes tall below the face, leaning `lean` sizes
        joints = lm[0] + size * np.c_[np.linspace(-0.5, 0.5 + lean, 13), np.linspace(0, 10, 13)]
        return BodyLandmarks(pose=dataclasses.replace(_body(joints), score=score), landmarks_2d=lm,
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


def test_a_face_close_up_drops_bodies_fitted_again_to_its_face(experts, shared_data):
    """LaPa 10773046825_0: one face fills the image and the landmark model fits five bodies to
    it; two of them have their noses in each other's faces, faces of comparable sizes: one
    face fitted twice. Three are left (the refining pass, after the duplicate rules, moves
    the rest apart), against five before the rule."""
    from dope_core.image_io import read_image

    image = read_image(shared_data / "annotated" / "mmpose" / "lapa" / "10773046825_0.jpg")
    assert 1 <= len(experts.body.detect_landmarks(image)) <= 3
    assert 1 <= len(experts.body.detect_landmarks(image, refine=False)) <= 3


def test_a_close_up_portrait_is_one_body(experts, portrait):
    """Matplotlib's portrait, 12 px of a pan to the right: a person proposal on the face made the
    landmark model fit a small whole person there (face 31 px across inside the real one's 134,
    score 0.97); its box is not inside the real body's (whose guessed legs reach y = 1640), so
    only the face rule sees that it is a duplicate. Searched, the streaming experts showed it
    as a second person on that frame."""
    frame = np.ascontiguousarray(portrait[:600, 12:452])
    for refine in (False, True):
        assert len(experts.body.detect_landmarks(frame, refine=refine)) == 1


def _landmarks(pose: PartPose, score: float, claim=None):
    from dope_core.experts.body import BodyLandmarks

    pose.score = score
    return BodyLandmarks(pose=pose, landmarks_2d=np.zeros((33, 2)), visibility=np.ones(33), claim=claim)


def test_each_keypoint_proposal_claims_the_unclaimed_body_closest_to_it():
    """claim_unclaimed: pairs closest first, one body per proposal and one proposal per body."""
    from dope_core.experts.body import claim_unclaimed
    from dope_core.experts.proposals import Proposal

    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]               # 200 px tall
    near, far, elsewhere = _body(kp.copy()), _body(kp + [30, 0]), _body(kp + [400, 0])
    bodies = [_landmarks(far, 0.9), _landmarks(near, 0.9), _landmarks(elsewhere, 0.9), _landmarks(_body(kp.copy()), 0.9, 7)]

    def proposal(points: np.ndarray) -> Proposal:
        return Proposal(np.r_[points.min(axis=0), points.max(axis=0)], 0.8, "yolo", keypoints=np.c_[points, np.full(13, 0.9)])

    # proposal 0 lies 10 px from `near`, 20 px from `far`; proposal 1 on `near` itself; proposal 2 far from all
    proposals = [proposal(kp + [10, 0]), proposal(kp.copy()), proposal(kp + [900, 0])]
    out = claim_unclaimed(bodies, proposals)
    assert [b.claim for b in out] == [0, 1, None, 7]      # `near` goes to proposal 1 (0 px), `far` to proposal 0
    assert [b.claim for b in bodies] == [None, None, None, 7]    # the input is left as it was
    # only under `fraction` of the height (10 px = 0.05 of it here); a proposal that a body is claimed by claims no other
    assert [b.claim for b in claim_unclaimed(bodies, proposals[:1], fraction=0.04)] == [None, None, None, 7]
    assert [b.claim for b in claim_unclaimed(out[:3] + [_landmarks(_body(kp + [5, 0]), 0.9)], proposals)][3] is None


def test_one_pass_fitted_to_two_source_people_is_split_back_into_two(experts):
    """split_shared_passes: two keypoint proposals that are two people, whose landmark passes fitted the
    same person, give that person (the pass that agrees better with its own proposal) and the other
    proposal's person from its keypoints; two proposals that are one person stay one body."""
    from dope_core.experts.body import split_shared_passes
    from dope_core.experts.proposals import Proposal

    kp = np.c_[np.tile([60.0, 140.0], 7)[:13], np.linspace(0, 200, 13)]   # 80 x 200 px
    neighbour = kp + [40, 0]                                               # the other dancer, 40 px aside

    def proposal(points: np.ndarray) -> Proposal:
        return Proposal(np.r_[points.min(axis=0), points.max(axis=0)], 0.8, "yolo", keypoints=np.c_[points, np.full(13, 0.9)])

    proposals = [proposal(kp.copy()), proposal(neighbour)]
    # both passes fitted the first person (the second 3 px off it)
    bodies = [_landmarks(_body(kp + [3, 0]), 0.9, claim=1), _landmarks(_body(kp.copy()), 0.9, claim=0)]
    out = split_shared_passes(bodies, proposals)
    assert [b.from_source for b in out] == [True, False] and [b.claim for b in out] == [1, 0]
    assert np.allclose(out[0].pose.keypoints_2d, neighbour) and out[1] is bodies[1]
    assert [b.from_source for b in bodies] == [False, False]             # the input is left as it was
    assert sorted(b.claim for b in experts.body.dedupe(out)) == [0, 1]     # and the duplicate rule keeps both
    # two partial boxes of one person (keypoints that agree): nothing to split
    same = [proposal(kp.copy()), proposal(kp + [4, 0])]
    assert split_shared_passes(bodies, same) == bodies
    # passes that are two people already: nothing to split
    apart = [_landmarks(_body(neighbour), 0.9, claim=1), bodies[1]]
    assert split_shared_passes(apart, proposals) == apart


def test_a_body_a_source_vouches_for_outlasts_an_unclaimed_pass_over_it(experts):
    """dedupe: claimed bodies go first, and two claimed ones stay apart unless their poses are one."""
    kp = np.c_[np.tile([60.0, 140.0], 7)[:13], np.linspace(0, 200, 13)]   # 80 x 200 px
    claimed, unclaimed = _landmarks(_body(kp.copy()), 0.4, claim=3), _landmarks(_body(kp + [5, 0]), 0.95)
    assert [b.claim for b in experts.body.dedupe([unclaimed, claimed])] == [3]
    assert [b.claim for b in experts.body.dedupe([_landmarks(_body(kp.copy()), 0.4), _landmarks(_body(kp + [5, 0]), 0.95)])] == [None]
    # two proposals' passes: a neighbour 35 px off (box IoU 0.4) stays, the same pose twice is one
    other = _landmarks(_body(kp + [35, 0]), 0.9, claim=4)
    assert sorted(b.claim for b in experts.body.dedupe([claimed, other])) == [3, 4]
    assert [b.claim for b in experts.body.dedupe([claimed, _landmarks(_body(kp + [5, 0]), 0.9, claim=4)])] == [4]


def test_between_equal_scores_the_pass_whose_alignment_converged_is_kept(experts):
    """dedupe: two passes over one person at presence 1.0; the one that ran in the region its own
    landmarks give (no re-crop needed) is kept, whichever comes first."""
    from dope_core.experts.body import needs_recrop
    from dope_core.experts.roi import RotatedRect

    kp = np.c_[np.tile([60.0, 140.0], 7)[:13], np.linspace(0, 200, 13)]
    points = np.array([[100.0, 100.0], [100.0, 20.0]])                    # a 200-px region about (100, 100)

    def one_pass(side: float):
        b = _landmarks(_body(kp.copy()), 1.0)
        return dataclasses.replace(b, roi_points=points, roi=RotatedRect(100.0, 100.0, side, 0.0))

    converged, too_large = one_pass(200.0), one_pass(400.0)
    assert not needs_recrop(converged) and needs_recrop(too_large)
    for order in ([converged, too_large], [too_large, converged]):
        kept = experts.body.dedupe(order)
        assert len(kept) == 1 and kept[0].roi.side == 200.0


def test_a_local_search_looks_in_its_regions_only(experts, portrait):
    """``proposals_in``: the person detectors in the given regions alone (image coordinates);
    without ``sources`` only BlazePose's detector."""
    import cv2

    canvas = np.zeros((400, 1200, 3), np.uint8)
    canvas[100:, 700:956] = cv2.resize(portrait, (256, 300), interpolation=cv2.INTER_AREA)
    body = experts.body
    near = body.proposals_in(canvas, [np.array([600.0, 0, 1100, 400])])
    assert near and all(650 <= (p.box[0] + p.box[2]) / 2 <= 1000 for p in near)
    assert {p.source for p in near} >= {"ssd"}
    assert body.proposals_in(canvas, [np.array([0.0, 0, 500, 400])]) == []
    assert {p.source for p in body.proposals_in(canvas, [np.array([600.0, 0, 1100, 400])], sources=False)} \
        <= {"blazepose"}


def test_the_refining_pass_replaces_a_body_only_with_the_same_person(experts, shared_data):
    """``refined``: the heavy model's pass in the body's own region replaces it (the same person,
    ``refined`` set); in a neighbour's region it finds the neighbour, and the body is kept as it was."""
    from dope_core.experts.body import one_person
    from dope_core.image_io import read_image

    image = read_image(shared_data / "images" / "multihmr" / "4446582661_b188f82f3c_c.jpg")
    body = experts.body
    plain = sorted(body.detect_landmarks(image, refine=False), key=lambda b: b.pose.box[0])
    assert not any(b.refined for b in plain)
    first, second = plain[0], plain[1]                                # the two players on the left
    fine = body.refined(image, first, [])
    assert fine.refined and one_person(fine.pose, first.pose) and fine.pose.score >= 0.5
    assert body.refined(image, dataclasses.replace(first, roi=second.roi), []).pose is first.pose
    assert body.refined(image, fine, []) is fine                      # never twice
    low = dataclasses.replace(first, pose=dataclasses.replace(first.pose, score=0.3))
    assert body.refined(image, low, [], min_score=0.05) is low        # uncertain bodies are not refined


def test_a_flipped_pass_is_mirror_symmetric_and_keeps_the_presence(experts, portrait):
    """``body_landmarks_in(flip=True)``: on a region whose crop is pixel-aligned (the model's input
    side, integer centre), the mirrored image in the mirrored region gives exactly the mirrored
    body (x mirrored, left and right swapped; in 3D, and in 2D but for the hand guides, which are
    the plain pass's), which one plain pass does not (it moves by pixels); in the region the
    expert finds, the presence, alignment points and hand guides are the plain pass's and the
    joints stay on the same person."""
    from dope_core.experts.body import body_landmarks_in, same_pose
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
    from dope_core.experts.body import body_landmarks_in

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
    from dope_core.experts.body import sides_exchanged
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
    from dope_core.experts import body as body_module
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
    monkeypatch.setattr(body_module, "sides_exchanged", lambda *a, **k: False)   # always averaged
    assert catchers_shoulders() < 5


def test_refine_max_bounds_the_refining_passes_to_the_tallest_bodies(experts, shared_data, monkeypatch):
    from dope_core.image_io import read_image

    image = read_image(shared_data / "images" / "multihmr" / "4446582661_b188f82f3c_c.jpg")
    monkeypatch.setattr(experts.body, "second_opinion_accept", 2.0)   # no second opinion taken: refining passes only
    plain = experts.body.detect_landmarks(image, refine=False)
    tallest = sorted(plain, key=lambda b: b.pose.box[1] - b.pose.box[3])[:2]
    monkeypatch.setattr(experts.body, "refine_max", 2)
    refined = [b for b in experts.body.detect_landmarks(image) if b.refined]
    centre = lambda b: (b.pose.box[0] + b.pose.box[2]) / 2              # noqa: E731
    assert len(refined) == 2
    assert all(min(abs(centre(b) - centre(t)) for t in tallest) < 40 for b in refined)   # pixels


def test_a_box_only_pass_nested_in_a_body_found_needs_a_sure_presence(experts, shared_data, monkeypatch):
    """COCO 294, a man holding up a pan: an ``ssd`` tile box over his arm and the pan gets a pass that
    fits a second, 0.55 person there (centre inside the man's box), which would take his hands;
    ``nested_body_score`` drops it (and so does :func:`on_body` since: wholly in his box, under 0.6 of
    his size, its head below his shoulders), and the man stays."""
    from dope_core.image_io import read_image

    image = read_image(shared_data / "images" / "coco_val2014" / "COCO_val2014_000000000294.jpg")
    bodies = experts.body.detect_landmarks(image, refine=False)
    assert len(bodies) == 1 and bodies[0].pose.score > 0.9
    assert bodies[0].pose.box[3] - bodies[0].pose.box[1] > 200          # the man (266 px tall), pixels
    monkeypatch.setattr(experts.body, "nested_body_score", 0.0)
    assert len(experts.body.detect_landmarks(image, refine=False)) == 1
    monkeypatch.setattr(experts.body, "on_body_size_ratio", 0.0)
    assert len(experts.body.detect_landmarks(image, refine=False)) == 2


def test_a_body_the_heavy_model_sees_nothing_in_is_dropped(experts, shared_data, monkeypatch):
    """The bus photo: the full model fits a 0.74 person on the bus's white logo, where the heavy
    model's refining pass finds none (presence 0.01); ``refuted_score`` drops it, the three people
    walking stay."""
    from dope_core.image_io import read_image

    image = read_image(shared_data / "images" / "packages" / "bus.jpg")
    logo = np.array([387.0, 550.0, 485.0, 685.0])                        # its box, pixels

    def on_logo(bodies):
        return [b for b in bodies if box_contains(logo, box_centre(b.pose.box))]

    bodies = experts.body.detect_landmarks(image)
    assert on_logo(bodies) == []
    assert sum(b.pose.box[3] - b.pose.box[1] > 300 for b in bodies) == 3            # the people, pixels
    monkeypatch.setattr(experts.body, "refuted_score", 0.0)
    kept = on_logo(experts.body.detect_landmarks(image))
    assert len(kept) == 1 and 0.5 <= kept[0].pose.score < 0.8


def test_the_last_search_finds_a_person_between_two_found_ones(experts, shared_data, monkeypatch):
    """COCO 328: three cadets on a bench; the one in the middle, reading, head down, has no proposal
    of the first search (BlazePose's detector misses his face, the ``ssd`` detector's boxes on the
    whole image and its 0.7 tiles go to his neighbours). The ``ssd`` detector on half-size tiles,
    searched last, proposes him; his box's centre lies in no neighbour's box, so he gets a pass."""
    from dope_core.image_io import read_image

    image = read_image(shared_data / "images" / "coco_val2014" / "COCO_val2014_000000000328.jpg")
    middle = np.array([268.0, 122.0, 362.0, 323.0])                     # his box, pixels

    def his(bodies):
        return [b for b in bodies if box_contains(middle, box_centre(b.pose.box))]

    bodies = experts.body.detect_landmarks(image)
    assert len(bodies) == 3 and len(his(bodies)) == 1 and his(bodies)[0].pose.score > 0.9
    ssd = next(s for s in experts.body.sources if s.name == "ssd")
    monkeypatch.setattr(ssd, "fill_tile_fractions", ())
    assert experts.body.fill_proposals(image, []) == []
    bodies = experts.body.detect_landmarks(image)
    assert len(bodies) == 2 and his(bodies) == []


def test_the_last_searchs_proposals_leave_found_people_alone(experts, shared_data):
    """The last search's proposals overlap none of the first search's (box IoU at most 0.5), and a
    landmark pass is made only where no body lies (centre outside every body's box): on the tennis
    photo, where every player is found, it adds no body and changes none."""
    from dope_core.boxes import box_iou
    from dope_core.image_io import read_image

    image = read_image(shared_data / "images" / "multihmr" / "4446582661_b188f82f3c_c.jpg")
    first = experts.body.proposals(image, min_score=experts.body.detector_score)
    fill = experts.body.fill_proposals(image, first)
    assert fill and all(box_iou(p.box[None], np.stack([q.box for q in first])).max() <= 0.5 for p in fill)
    ssd = next(s for s in experts.body.sources if s.name == "ssd")
    with_fill = experts.body.detect_landmarks(image)
    saved, ssd.fill_tile_fractions = ssd.fill_tile_fractions, ()
    try:
        without = experts.body.detect_landmarks(image)
    finally:
        ssd.fill_tile_fractions = saved
    assert len(with_fill) == len(without) == 5
    for a, b in zip(sorted(with_fill, key=lambda b: b.pose.box[0]), sorted(without, key=lambda b: b.pose.box[0])):
        np.testing.assert_allclose(a.pose.keypoints_2d, b.pose.keypoints_2d)


def test_a_body_the_heavy_model_contradicts_at_the_image_edge_is_dropped(experts, shared_data, monkeypatch):
    """AlphaPose's skiers: the full model fits a 0.94 person lying across the image's left edge onto
    a skier's skis and poles (hips 100 px outside the image, its box 0.29 inside); the heavy model is
    sure of another person there (0.998) and no skier found is that one. ``contradicted_inside``
    drops it; the five skiers stay."""
    from dope_core.image_io import read_image

    image = read_image(shared_data / "images" / "alphapose" / "1.jpg")

    def past_left_edge(bodies):
        return [b for b in bodies if b.pose.box[0] < -100]                # pixels

    bodies = experts.body.detect_landmarks(image)
    assert past_left_edge(bodies) == []
    assert sum(b.pose.score > 0.9 and b.pose.box[3] - b.pose.box[1] > 100 for b in bodies) == 5   # pixels
    monkeypatch.setattr(experts.body, "contradicted_inside", 0.0)
    kept = past_left_edge(experts.body.detect_landmarks(image))
    assert len(kept) == 1 and kept[0].pose.score > 0.9


def test_a_second_opinion_finds_a_person_the_full_model_does_not(experts, shared_data):
    """PoseTrack's wheelchair dancer seen from above: the ``ssd`` box is there, the full landmark
    model's presence in its region is 0.00, the heavy model's second opinion 0.99."""
    from dope_core.image_io import read_image

    image = read_image(shared_data / "annotated" / "mmpose" / "posetrack18" / "images" / "val" / "012834_mpii_test"
                       / "000000.jpg")
    x1, y1, x2, y2 = 1300.0, 441.0, 1483.0, 666.0                        # her ssd box, pixels

    def hers(bodies):
        return [b for b in bodies if x1 <= (b.pose.box[0] + b.pose.box[2]) / 2 <= x2
                and y1 <= (b.pose.box[1] + b.pose.box[3]) / 2 <= y2]

    found = hers(experts.body.detect_landmarks(image))
    assert len(found) == 1 and found[0].refined and found[0].pose.score > 0.8
    assert found[0].pose.box[3] - found[0].pose.box[1] > 128
    assert hers(experts.body.detect_landmarks(image, refine=False)) == []


def test_head_near_measures_from_the_proposal_box_centre_in_box_sides():
    from dope_core.experts.body import BodyLandmarks, head_near

    lm = np.zeros((33, 2))
    lm[0] = (150.0, 100.0)                                # nose, pixels
    body = BodyLandmarks(pose=_body(np.c_[np.full(13, 150.0), np.linspace(100, 300, 13)]), landmarks_2d=lm,
                         visibility=np.ones(33))
    box = np.array([80.0, 80.0, 120.0, 120.0])           # 40 px, centre (100, 100): the nose 50 px away
    assert not head_near(body, box) and head_near(body, box, reach=1.25)
    assert head_near(body, np.array([120.0, 80.0, 160.0, 120.0]))


def test_a_second_opinion_with_its_head_away_from_the_proposal_is_not_taken(experts, shared_data):
    """MPI-INF-3DHP S8 (one man crawling): BlazePose's detector proposes his head region; the
    heavy model's pass there (the full one: nobody) fits a person onto his legs with presence
    0.97, its nose 2.4 proposal sides away from the proposal: not a second opinion. Without the
    reach rule it is one more body, mostly inside his."""
    from dope_core.boxes import box_iou
    from dope_core.image_io import read_image

    image = read_image(shared_data / "annotated" / "mmpose" / "mpi_inf_3dhp" / "S8_Seq1_Cam8_002165.jpg")
    kept = experts.body.detect_landmarks(image)
    reach = experts.body.second_opinion_reach
    try:
        experts.body.second_opinion_reach = 1e9
        loose = experts.body.detect_landmarks(image)
    finally:
        experts.body.second_opinion_reach = reach
    legs = np.array([[628.0, 1006.0, 1027.0, 1215.0]])   # that body's box (one heavy pass), pixels
    # IoU 0.71 with it since the heavy passes are averaged with their mirror (``refine_flip``); the
    # man's own bodies overlap it by at most 0.34.
    on_legs = [b for b in loose if box_iou(np.asarray(b.pose.box, float)[None], legs)[0, 0] > 0.6]
    assert len(on_legs) == 1 and on_legs[0].refined
    assert len(loose) == len(kept) + 1
    assert not any(box_iou(np.asarray(b.pose.box, float)[None], legs)[0, 0] > 0.6 for b in kept)


def test_proposals_with_their_own_keypoints_get_no_second_opinion(experts, monkeypatch):
    """A source with keypoints (YOLO) vouches for its people (``body_from_source``): where the full
    model finds nobody in its region, the heavy model is not asked (with YOLO it lost a person)."""
    from dope_core.experts.proposals import Proposal

    blank = np.full((480, 640, 3), 127, np.uint8)                        # nobody: every pass fails
    kp = np.c_[np.linspace(300, 340, 13), np.linspace(100, 400, 13), np.ones(13)]
    hips, top = np.array([320.0, 300.0]), np.array([320.0, 60.0])

    class Source:
        name = "keypoints"

        def __init__(self, keypoints):
            self.keypoints = keypoints

        def propose(self, image, *, min_score):
            return [Proposal(np.array([280.0, 80, 360, 420]), 0.9, self.name, np.stack([hips, top]),
                             keypoints=self.keypoints)]

    calls = []
    heavy = experts.body.refine_landmarks

    class Counting:
        input_size = heavy.input_size

        def __call__(self, tensor):
            calls.append(1)
            return heavy(tensor)

    monkeypatch.setattr(experts.body, "refine_landmarks", Counting())
    monkeypatch.setattr(experts.body, "detector_whole_image", False)
    monkeypatch.setattr(experts.body, "sources", (Source(kp),))
    bodies = experts.body.detect_landmarks(blank)
    assert calls == [] and len(bodies) == 1 and bodies[0].from_source     # the source's person, no heavy pass
    monkeypatch.setattr(experts.body, "sources", (Source(None),))         # the same region, box and points only
    assert experts.body.detect_landmarks(blank) == []
    assert len(calls) == 1        # one second opinion, refused (its presence too low for the mirrored pass)


_H36M_S1 = ("annotated", "mmpose", "h36m", "S1", "S1_Directions_1.54138969", "S1_Directions_1.54138969_000001.jpg")


def test_small_bodies_the_heavy_model_sees_nothing_in_are_dropped(experts, shared_data, monkeypatch):
    """Human3.6M's room (one actor): the full model fits 46-48 px people onto two of the cameras on
    the wall (presence 0.9 and 0.7), too small for the refining pass; ``refuted_small_score`` asks the
    heavy model, which sees none there (0.03, 0.06), and drops them. The actor stays."""
    from dope_core.image_io import read_image

    image = read_image(shared_data.joinpath(*_H36M_S1))
    cameras = [np.array([510.0, 200.0, 575.0, 265.0]), np.array([212.0, 200.0, 248.0, 265.0])]   # pixels

    def on_cameras(bodies):
        return [b for b in bodies if any(box_contains(c, box_centre(b.pose.box)) for c in cameras)]

    bodies = experts.body.detect_landmarks(image)
    assert on_cameras(bodies) == []
    assert sum(b.pose.box[3] - b.pose.box[1] > 300 for b in bodies) == 1                      # the actor, pixels
    monkeypatch.setattr(experts.body, "refuted_small_score", 0.0)
    kept = on_cameras(experts.body.detect_landmarks(image))
    assert len(kept) == 2 and all(b.pose.box[3] - b.pose.box[1] < experts.body.refine_min_height for b in kept)


def test_a_skeleton_fitted_on_a_persons_legs_is_part_of_that_person(experts, shared_data, monkeypatch):
    """The same room: a 1.0 skeleton 152 px tall with its shoulders on the actor's hips, wholly in the
    actor's 360-px box (0.42 of its size, over ``nested``'s 0.4), its head below her shoulders:
    :func:`on_body` makes it a part of the actor."""
    from dope_core.image_io import read_image

    image = read_image(shared_data.joinpath(*_H36M_S1))

    def actor_and_parts(bodies):
        actor = max(bodies, key=lambda b: b.pose.box[3] - b.pose.box[1])
        parts = [b for b in bodies if b is not actor and box_contains(actor.pose.box, box_centre(b.pose.box))
                 and b.pose.box[3] - b.pose.box[1] < 0.6 * (actor.pose.box[3] - actor.pose.box[1])]
        return actor, parts

    actor, parts = actor_and_parts(experts.body.detect_landmarks(image))
    assert actor.pose.score > 0.9 and parts == []
    monkeypatch.setattr(experts.body, "on_body_size_ratio", 0.0)
    _, parts = actor_and_parts(experts.body.detect_landmarks(image))
    assert len(parts) == 1 and parts[0].pose.score > 0.9


def _standing(x: float, top: float, height: float) -> PartPose:
    """A person standing upright at ``x``, head top at ``top`` (pixels, DOPE's 13 joints)."""
    rows = {"right_ankle": (-0.1, 1.0), "left_ankle": (0.1, 1.0), "right_knee": (-0.1, 0.75),
            "left_knee": (0.1, 0.75), "right_hip": (-0.1, 0.5), "left_hip": (0.1, 0.5),
            "right_wrist": (-0.25, 0.5), "left_wrist": (0.25, 0.5), "right_elbow": (-0.2, 0.35),
            "left_elbow": (0.2, 0.35), "right_shoulder": (-0.15, 0.2), "left_shoulder": (0.15, 0.2),
            "head_top": (0.0, 0.0)}
    kp = np.array([[x + dx * height, top + dy * height] for dx, dy in (rows[j] for j in BODY_JOINTS)])
    return _body(kp)


def test_a_skeleton_over_a_persons_legs_is_on_that_body_one_behind_them_is_not():
    person = _standing(200.0, 100.0, 400.0)                       # shoulders at y 180, hips at 300
    on_legs = _standing(200.0, 260.0, 230.0)                      # head top at 260: below the shoulders
    behind = _standing(215.0, 110.0, 230.0)                       # head top at 110: a person further back
    assert on_body(on_legs, person) and not on_body(person, on_legs)
    assert not on_body(behind, person)
    assert not on_body(on_legs, person, size_ratio=0.4)           # 0.575 of the person's size


def test_an_unsure_body_mostly_outside_the_image_needs_the_heavy_models_word(experts, shared_data, monkeypatch):
    """Human3.6M's room again (S7): the full model fits a 0.65 skeleton lying across the image's right
    edge, its box 0.41 inside the image; the heavy model does not find that body there, so
    ``unconfirmed_inside`` drops it. The actor stays."""
    from dope_core.image_io import read_image

    path = ("annotated", "mmpose", "h36m", "S7", "S7_Greeting.55011271", "S7_Greeting.55011271_000396.jpg")
    image = read_image(shared_data.joinpath(*path))
    width = image.shape[1]

    def across_the_right_edge(bodies):
        return [b for b in bodies if b.pose.box[2] > width + 50 and b.pose.score < 0.8]      # pixels

    bodies = experts.body.detect_landmarks(image)
    assert across_the_right_edge(bodies) == []
    assert sum(b.pose.box[3] - b.pose.box[1] > 300 and b.pose.score > 0.9 for b in bodies) == 1   # the actor
    monkeypatch.setattr(experts.body, "unconfirmed_inside", 0.0)
    assert len(across_the_right_edge(experts.body.detect_landmarks(image))) == 1
