"""A person proposal's own keypoints (a source such as YOLO's pose model) against landmark passes.

A proposal that comes with 13 joints (pixels, confidence) vouches for its person: the body
expert (:class:`~dope_core.experts.body.BodyExpert`) tells whether a landmark pass is that
person (:func:`source_distance`, :func:`source_agrees`), takes the joints the source places
better (:func:`with_source_joints`), makes a body from the source where the landmark model
finds none (:func:`body_from_source`), lets each such proposal claim its pass
(:func:`claim_unclaimed`) and tells apart two people whose passes the landmark model fitted to
one (:func:`split_shared_passes`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from dope_core.experts.body_landmarks import BodyLandmarks
from dope_core.experts.body_rules import one_person
from dope_core.experts.common import extent
from dope_core.experts.proposals import KEYPOINT_SCORE, Proposal
from dope_core.structures import PartPose

__all__ = ["body_from_source", "claim_unclaimed", "source_agrees", "source_distance", "split_shared_passes",
           "with_source_joints"]


def source_distance(pose: PartPose, keypoints: np.ndarray, *, min_confidence: float = KEYPOINT_SCORE) -> float:
    """How far a landmark pass's body ``pose`` lies from a proposal source's ``(13, 3)`` ``keypoints``
    (pixels, confidence): the median 2D distance over the joints the source is confident of (at
    least ``min_confidence``; at least 4 of them, else infinity), as a fraction of the larger side
    of those joints' extent (the source's size of the person: a scattered landmark pass has a large
    box of its own)."""
    sure = keypoints[:, 2] >= min_confidence
    if sure.sum() < 4:
        return math.inf
    lo, hi = keypoints[sure, :2].min(axis=0), keypoints[sure, :2].max(axis=0)
    size = max(float((hi - lo).max()), 1.0)
    return float(np.median(np.linalg.norm(pose.keypoints_2d[sure] - keypoints[sure, :2], axis=1))) / size


def source_agrees(pose: PartPose, keypoints: np.ndarray, *, min_confidence: float = KEYPOINT_SCORE,
                  fraction: float = 0.2) -> bool:
    """Whether a landmark pass's body ``pose`` and a proposal source's ``(13, 3)`` ``keypoints``
    (pixels, confidence) are one person: their :func:`source_distance` is under ``fraction``.
    A landmark pass that locked onto a neighbour does not agree."""
    return source_distance(pose, keypoints, min_confidence=min_confidence) < fraction


def with_source_joints(body: BodyLandmarks, keypoints: np.ndarray, joints: Sequence[int], *,
                       min_confidence: float = KEYPOINT_SCORE) -> BodyLandmarks:
    """``body`` with the 2D of ``joints`` (indices of :data:`~dope_core.keypoints.BODY_JOINTS`) taken
    from a proposal source's ``(13, 3)`` ``keypoints`` (pixels, confidence) where their confidence
    is at least ``min_confidence``; the 3D, the other joints and the native landmarks stay the
    landmark model's. Unchanged unless both are one person (:func:`source_agrees`)."""
    take = [j for j in joints if keypoints[j, 2] >= min_confidence]
    pose = body.pose
    if not take or not source_agrees(pose, keypoints, min_confidence=min_confidence):
        return body
    kp2d = pose.keypoints_2d.copy()
    kp2d[take] = keypoints[take, :2]
    confidence = pose.confidence.copy()
    confidence[take] = keypoints[take, 2]
    box = extent(np.concatenate([pose.box.reshape(2, 2), kp2d]))
    return dataclasses.replace(body, pose=dataclasses.replace(pose, keypoints_2d=kp2d, confidence=confidence, box=box))


def body_from_source(body: BodyLandmarks, proposal: Proposal) -> BodyLandmarks:
    """A person that a proposal source with keypoints found and the landmark pass ``body`` in its
    region did not (too low a presence, or locked onto someone else): the source's 2D joints and
    confidences (all 13) and score; the 3D (and the native landmarks that guide the hand search)
    stay those of the pass, the landmark model's guess for that region."""
    assert proposal.keypoints is not None
    kp = proposal.keypoints
    box = extent(np.concatenate([np.asarray(proposal.box, dtype=np.float64).reshape(2, 2), kp[:, :2]]))
    pose = dataclasses.replace(body.pose, score=proposal.score, box=box, keypoints_2d=kp[:, :2].copy(),
                               confidence=kp[:, 2].copy())
    return dataclasses.replace(body, pose=pose, from_source=True)


def claim_unclaimed(bodies: Sequence[BodyLandmarks], proposals: Sequence[Proposal], *,
                    source_joints: Sequence[int] = (), fraction: float = 0.2) -> list[BodyLandmarks]:
    """``bodies`` where each proposal with keypoints that no body is claimed by
    (:attr:`~dope_core.experts.body_landmarks.BodyLandmarks.claim`) claims the unclaimed body
    that agrees with it best: pairs (proposal, body) at a :func:`source_distance` under
    ``fraction``, closest first, one body per proposal and one proposal per body; the claimed
    body takes the proposal's ``source_joints`` (:func:`with_source_joints`). A claimed body
    outranks unclaimed ones in :meth:`~dope_core.experts.body.BodyExpert.dedupe` and stays apart
    from the other proposals' bodies unless the two are :func:`one_person`: a pass that a source
    vouches for is not removed by a higher-scoring unclaimed pass over it (PoseTrack: a landmark
    pass over two overlapping people)."""
    open_proposals = [i for i, p in enumerate(proposals)
                      if p.keypoints is not None and not any(b.claim == i for b in bodies)]
    pairs = sorted((source_distance(b.pose, proposals[i].keypoints), i, j)
                   for i in open_proposals for j, b in enumerate(bodies) if b.claim is None)
    out, taken = list(bodies), set()
    for distance, i, j in pairs:
        if distance >= fraction or i in taken or out[j].claim is not None:
            continue
        taken.add(i)
        out[j] = dataclasses.replace(with_source_joints(out[j], proposals[i].keypoints, source_joints), claim=i)
    return out


def split_shared_passes(bodies: Sequence[BodyLandmarks], proposals: Sequence[Proposal]) -> list[BodyLandmarks]:
    """``bodies`` where two claimed bodies that the landmark model fitted to one person (their poses
    :func:`one_person`) while their claiming proposals' keypoints are two people (not
    :func:`one_person`) are told apart again: the body whose pass agrees better with its own proposal
    (:func:`source_distance`) keeps the pass, the other becomes its proposal's person
    (:func:`body_from_source`). Two people overlapping almost wholly (PoseTrack's ballroom dancers)
    make the landmark model fit the same one in both regions; without this,
    :meth:`~dope_core.experts.body.BodyExpert.dedupe` kept one body for the two. Several partial
    boxes of one close-up person keep agreeing keypoints and stay one body."""
    out = list(bodies)
    claimed = [j for j, b in enumerate(out) if b.claim is not None]
    for a_pos, a in enumerate(claimed):
        for b in claimed[a_pos + 1:]:
            first, second = out[a], out[b]
            if first.from_source or second.from_source or first.claim == second.claim:
                continue
            pa, pb = proposals[first.claim], proposals[second.claim]
            if pa.keypoints is None or pb.keypoints is None or not one_person(first.pose, second.pose):
                continue
            if one_person(body_from_source(first, pa).pose, body_from_source(second, pb).pose):
                continue
            worse = b if source_distance(second.pose, pb.keypoints) >= source_distance(first.pose, pa.keypoints) else a
            out[worse] = body_from_source(out[worse], proposals[out[worse].claim])
    return out
