"""A proposal source's own keypoints against landmark passes (dope_core/experts/source_joints.py), hand-computed."""

import numpy as np

from body_poses import ARMS, body_landmarks, body_pose
from dope_core.experts.body_landmarks import BodyLandmarks
from dope_core.experts.proposals import Proposal
from dope_core.experts.source_joints import (body_from_source, claim_unclaimed, source_agrees, split_shared_passes,
                                             with_source_joints)


def test_source_joints_replace_only_confident_joints_of_the_same_person():

    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]
    body = BodyLandmarks(pose=body_pose(kp), landmarks_2d=np.zeros((33, 2)), visibility=np.ones(33))
    source = np.c_[kp + [5, 0], np.full(13, 0.9)]                         # the same person, 5 px off
    source[ARMS[0], 2] = 0.2                                             # right wrist: not confident
    out = with_source_joints(body, source, ARMS)
    assert np.allclose(out.pose.keypoints_2d[ARMS[1:]], source[ARMS[1:], :2])
    assert np.allclose(out.pose.keypoints_2d[ARMS[0]], kp[ARMS[0]])      # kept: the source is unsure
    untouched = [j for j in range(13) if j not in ARMS[1:]]
    assert np.allclose(out.pose.keypoints_2d[untouched], kp[untouched]) and out.pose.keypoints_3d is body.pose.keypoints_3d
    assert np.isclose(out.pose.confidence[ARMS[1]], 0.9)
    neighbour = np.c_[kp + [60, 0], np.full(13, 0.9)]                    # 60 px > 0.2 * 200 px: someone else
    assert not source_agrees(body.pose, neighbour) and with_source_joints(body, neighbour, ARMS) is body
    assert not source_agrees(body.pose, np.c_[kp, np.full(13, 0.1)])      # nothing confident: no say


def test_a_body_made_from_a_source_has_its_2d_and_score_and_the_pass_3d():

    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]
    scattered = BodyLandmarks(pose=body_pose(kp * [3, 0.2]), landmarks_2d=np.zeros((33, 2)), visibility=np.ones(33))
    source = np.c_[kp, np.full(13, 0.8)]
    made = body_from_source(scattered, Proposal(np.array([90, -5, 110, 205.0]), 0.4, "yolo", keypoints=source))
    assert made.from_source and made.pose.score == 0.4 and np.allclose(made.pose.keypoints_2d, kp)
    assert np.allclose(made.pose.confidence, 0.8) and made.pose.keypoints_3d is scattered.pose.keypoints_3d
    assert np.allclose(made.pose.box, [90, -5, 110, 205])


def test_each_keypoint_proposal_claims_the_unclaimed_body_closest_to_it():
    """claim_unclaimed: pairs closest first, one body per proposal and one proposal per body."""

    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]               # 200 px tall
    near, far, elsewhere = body_pose(kp.copy()), body_pose(kp + [30, 0]), body_pose(kp + [400, 0])
    bodies = [body_landmarks(far, 0.9), body_landmarks(near, 0.9), body_landmarks(elsewhere, 0.9), body_landmarks(body_pose(kp.copy()), 0.9, 7)]

    def proposal(points: np.ndarray) -> Proposal:
        return Proposal(np.r_[points.min(axis=0), points.max(axis=0)], 0.8, "yolo", keypoints=np.c_[points, np.full(13, 0.9)])

    # proposal 0 lies 10 px from `near`, 20 px from `far`; proposal 1 on `near` itself; proposal 2 far from all
    proposals = [proposal(kp + [10, 0]), proposal(kp.copy()), proposal(kp + [900, 0])]
    out = claim_unclaimed(bodies, proposals)
    assert [b.claim for b in out] == [0, 1, None, 7]      # `near` goes to proposal 1 (0 px), `far` to proposal 0
    assert [b.claim for b in bodies] == [None, None, None, 7]    # the input is left as it was
    # only under `fraction` of the height (10 px = 0.05 of it here); a proposal that a body is claimed by claims no other
    assert [b.claim for b in claim_unclaimed(bodies, proposals[:1], fraction=0.04)] == [None, None, None, 7]
    assert [b.claim for b in claim_unclaimed(out[:3] + [body_landmarks(body_pose(kp + [5, 0]), 0.9)], proposals)][3] is None


def test_one_pass_fitted_to_two_source_people_is_split_back_into_two(experts):
    """split_shared_passes: two keypoint proposals that are two people, whose landmark passes fitted the
    same person, give that person (the pass that agrees better with its own proposal) and the other
    proposal's person from its keypoints; two proposals that are one person stay one body."""

    kp = np.c_[np.tile([60.0, 140.0], 7)[:13], np.linspace(0, 200, 13)]   # 80 x 200 px
    neighbour = kp + [40, 0]                                               # the other dancer, 40 px aside

    def proposal(points: np.ndarray) -> Proposal:
        return Proposal(np.r_[points.min(axis=0), points.max(axis=0)], 0.8, "yolo", keypoints=np.c_[points, np.full(13, 0.9)])

    proposals = [proposal(kp.copy()), proposal(neighbour)]
    # both passes fitted the first person (the second 3 px off it)
    bodies = [body_landmarks(body_pose(kp + [3, 0]), 0.9, claim=1), body_landmarks(body_pose(kp.copy()), 0.9, claim=0)]
    out = split_shared_passes(bodies, proposals)
    assert [b.from_source for b in out] == [True, False] and [b.claim for b in out] == [1, 0]
    assert np.allclose(out[0].pose.keypoints_2d, neighbour) and out[1] is bodies[1]
    assert [b.from_source for b in bodies] == [False, False]             # the input is left as it was
    assert sorted(b.claim for b in experts.body.dedupe(out)) == [0, 1]     # and the duplicate rule keeps both
    # two partial boxes of one person (keypoints that agree): nothing to split
    same = [proposal(kp.copy()), proposal(kp + [4, 0])]
    assert split_shared_passes(bodies, same) == bodies
    # passes that are two people already: nothing to split
    apart = [body_landmarks(body_pose(neighbour), 0.9, claim=1), bodies[1]]
    assert split_shared_passes(apart, proposals) == apart


def test_source_distance_needs_four_confident_joints() -> None:
    """source_distance: at least 4 joints at ``min_confidence`` or above, else infinity (a joint at
    exactly ``min_confidence`` counts)."""
    from dope_core.experts.source_joints import source_distance

    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]
    conf = np.zeros(13)
    conf[[0, 4, 8, 12]] = [0.9, 0.9, 0.9, 0.5]                          # 4 joints, the last at exactly 0.5
    source = np.c_[kp + [10, 0], conf]
    assert np.isclose(source_distance(body_pose(kp), source), 10 / 200)  # median 10 px over a 200-px extent
    conf[12] = 0.49
    assert source_distance(body_pose(kp), np.c_[kp + [10, 0], conf]) == np.inf


def test_source_joints_at_exactly_min_confidence_are_taken() -> None:
    """with_source_joints: a joint whose confidence is exactly ``min_confidence`` is taken from the source."""
    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]
    body = BodyLandmarks(pose=body_pose(kp), landmarks_2d=np.zeros((33, 2)), visibility=np.ones(33))
    source = np.c_[kp + [5, 0], np.full(13, 0.9)]
    source[ARMS[0], 2] = 0.5
    out = with_source_joints(body, source, ARMS[:1], min_confidence=0.5)
    assert np.allclose(out.pose.keypoints_2d[ARMS[0]], source[ARMS[0], :2])


def test_a_proposal_exactly_fraction_away_claims_nothing() -> None:
    """claim_unclaimed: a body at a source_distance of exactly ``fraction`` is not under it: unclaimed."""
    kp = np.c_[np.full(13, 100.0), np.linspace(0, 200, 13)]
    proposal = Proposal(np.array([140, 0, 140, 200.0]), 0.8, "yolo", keypoints=np.c_[kp + [40, 0], np.full(13, 0.9)])
    bodies = [body_landmarks(body_pose(kp.copy()), 0.9)]
    assert claim_unclaimed(bodies, [proposal], fraction=0.2)[0].claim is None     # 40 px / 200 px = 0.2
    assert claim_unclaimed(bodies, [proposal], fraction=0.21)[0].claim == 0
