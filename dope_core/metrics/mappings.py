"""Index maps from the keypoint sets of public datasets to DOPE's 13/21/84 sets.

A :class:`KeypointMapping` holds, for each keypoint of a DOPE part (in the order of
:mod:`dope_core.keypoints`), the index of the same point in a source set, or ``-1``
when the source set has no counterpart (e.g. COCO has no head top). Applying a
mapping to a source array gives an array in the DOPE order plus a validity mask.

Source orders (as stored by the files in ``../shared/data/annotated``):

* ``COCO17``: nose, left/right eye, left/right ear, then left/right shoulder, elbow,
  wrist, hip, knee, ankle (left first). No head top.
* ``COCO_WHOLEBODY_HAND21`` and OneHand10K/FreiHAND/Panoptic: wrist, then per
  finger (thumb, index, middle, ring, little) four joints from the palm to the tip:
  the same order as DOPE's hand.
* ``RHD21`` (RenderedHand as stored by mmpose): wrist, then per finger four joints
  from the **tip** to the palm.
* ``H36M17``: pelvis, right hip, knee, foot(ankle), left hip, knee, foot, spine,
  thorax, neck/nose, head (top), left shoulder, elbow, wrist, right shoulder, elbow,
  wrist. (mmpose's ``h36m_coco.json`` names joint 1 "left_hip": the data show it is
  on the side of the right shoulder, joint 14; the Human3.6M order is the one above.)
* ``MPI_INF_3DHP17`` (the 17-joint test set as stored by mmpose): head top, neck,
  right shoulder, elbow, wrist, left shoulder, elbow, wrist, right hip, knee,
  ankle, left hip, knee, ankle, pelvis, spine, head.
* ``MPII16``: right ankle, knee, hip, left hip, knee, ankle, pelvis, thorax, upper
  neck, head top, right wrist, elbow, shoulder, left shoulder, elbow, wrist.
* ``IBUG68`` (300-W, Menpo, COCO-WholeBody face): 17-point jaw from the subject's
  right to left, brows, nose, eyes, mouth. DOPE's 84-point face has a 33-point
  contour whose even points ``2 * i`` are iBUG jaw points ``i``; its odd contour
  points have no iBUG counterpart.
* ``WFLW98``: 33-point contour (the same density as DOPE's), brows with lower
  edges, 9 nose points, 8 points per eye, 20 mouth points, 2 pupils. Its 68-point
  subset is the usual WFLW-to-iBUG map (:data:`WFLW98_TO_IBUG68`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dope_core.keypoints import FACE_CONTOUR_POINTS, IBUG68_TO_FACE84, KEYPOINT_NAMES, Part


@dataclass(frozen=True)
class KeypointMapping:
    """Where each keypoint of a DOPE part comes from in a source keypoint set.

    Attributes:
        name: name of the source set (``"coco17"``, ``"h36m17"``, ...).
        part: the DOPE part the mapping produces.
        num_source: number of keypoints of the source set.
        source_index: for each DOPE keypoint, its index in the source set or ``-1``.
    """

    name: str
    part: Part
    num_source: int
    source_index: tuple[int, ...]

    def __post_init__(self) -> None:
        want = self.part.num_keypoints
        if len(self.source_index) != want:
            raise ValueError(f"{self.name}: {len(self.source_index)} entries, the {self.part.value} has {want}")
        bad = [i for i in self.source_index if not -1 <= i < self.num_source]
        if bad:
            raise ValueError(f"{self.name}: source indices {bad} out of range 0..{self.num_source - 1}")
        used = [i for i in self.source_index if i >= 0]
        if len(set(used)) != len(used):
            raise ValueError(f"{self.name}: a source keypoint is used twice")

    @property
    def valid(self) -> np.ndarray:
        """``(J,)`` bool: which DOPE keypoints have a counterpart in the source set."""
        return np.asarray(self.source_index) >= 0

    def pairs(self) -> list[tuple[str, int]]:
        """``(DOPE keypoint name, source index)`` for each DOPE keypoint (``-1`` if none)."""
        return list(zip(KEYPOINT_NAMES[self.part], self.source_index))

    def apply(self, source: np.ndarray, source_valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Reorder ``source`` into the DOPE order.

        Args:
            source: ``(N, ...)`` array over the source keypoints (any unit, any trailing dims).
            source_valid: optional ``(N,)`` bool, which source keypoints are annotated.

        Returns:
            ``(values, valid)``: ``(J, ...)`` array (NaN where no counterpart) and ``(J,)`` bool.
        """
        source = np.asarray(source, dtype=np.float64)
        if source.shape[0] != self.num_source:
            raise ValueError(f"{self.name}: expected {self.num_source} source keypoints, got {source.shape[0]}")
        index = np.asarray(self.source_index)
        out = np.full((len(index),) + source.shape[1:], np.nan)
        valid = index >= 0
        out[valid] = source[index[valid]]
        if source_valid is not None:
            source_valid = np.asarray(source_valid, dtype=bool)
            if source_valid.shape != (self.num_source,):
                raise ValueError(f"{self.name}: source_valid must have shape ({self.num_source},)")
            valid = valid.copy()
            valid[valid] = source_valid[index[valid]]
        return out, valid


def _body(name: str, num_source: int, by_name: dict[str, int]) -> KeypointMapping:
    joints = KEYPOINT_NAMES[Part.BODY]
    unknown = set(by_name) - set(joints)
    if unknown:
        raise ValueError(f"{name}: unknown body joints {sorted(unknown)}")
    return KeypointMapping(name, Part.BODY, num_source, tuple(by_name.get(j, -1) for j in joints))


COCO17_TO_BODY13 = _body("coco17", 17, {
    "right_ankle": 16, "left_ankle": 15, "right_knee": 14, "left_knee": 13, "right_hip": 12, "left_hip": 11,
    "right_wrist": 10, "left_wrist": 9, "right_elbow": 8, "left_elbow": 7, "right_shoulder": 6, "left_shoulder": 5,
})
"""COCO-17 (and the first 17 of COCO-WholeBody-133) to the body: no head top."""

H36M17_TO_BODY13 = _body("h36m17", 17, {
    "right_ankle": 3, "left_ankle": 6, "right_knee": 2, "left_knee": 5, "right_hip": 1, "left_hip": 4,
    "right_wrist": 16, "left_wrist": 13, "right_elbow": 15, "left_elbow": 12, "right_shoulder": 14,
    "left_shoulder": 11, "head_top": 10,
})

MPI_INF_3DHP17_TO_BODY13 = _body("mpi_inf_3dhp17", 17, {
    "right_ankle": 10, "left_ankle": 13, "right_knee": 9, "left_knee": 12, "right_hip": 8, "left_hip": 11,
    "right_wrist": 4, "left_wrist": 7, "right_elbow": 3, "left_elbow": 6, "right_shoulder": 2,
    "left_shoulder": 5, "head_top": 0,
})

MPII16_TO_BODY13 = _body("mpii16", 16, {
    "right_ankle": 0, "left_ankle": 5, "right_knee": 1, "left_knee": 4, "right_hip": 2, "left_hip": 3,
    "right_wrist": 10, "left_wrist": 15, "right_elbow": 11, "left_elbow": 14, "right_shoulder": 12,
    "left_shoulder": 13, "head_top": 9,
})

HAND21_TO_HAND21 = KeypointMapping("hand21", Part.HAND, 21, tuple(range(21)))
"""COCO-WholeBody / OneHand10K / FreiHAND hands: already in DOPE's order."""

RHD21_TO_HAND21 = KeypointMapping(
    "rhd21", Part.HAND, 21, (0,) + tuple(1 + 4 * f + (3 - k) for f in range(5) for k in range(4))
)
"""RenderedHand: fingers run tip to palm in the source, palm to tip in DOPE's set."""

INTERHAND21_TO_HAND21 = KeypointMapping(
    "interhand21", Part.HAND, 21, (20,) + tuple(4 * f + (3 - k) for f in range(5) for k in range(4))
)
"""InterHand2.6M, one hand: fingers tip to base as in RHD, but the wrist last (index 20)."""


def _face84_from_ibug68() -> tuple[int, ...]:
    index = [-1] * Part.FACE.num_keypoints
    for i, j in enumerate(IBUG68_TO_FACE84):
        index[j] = i
    return tuple(index)


IBUG68_TO_FACE84_MAPPING = KeypointMapping("ibug68", Part.FACE, 68, _face84_from_ibug68())
"""iBUG-68 to the 84-point face: odd contour points (between iBUG jaw points) are missing."""

WFLW98_TO_IBUG68: tuple[int, ...] = (
    tuple(range(0, 33, 2))                      # jaw: every other contour point
    + (33, 34, 35, 36, 37, 42, 43, 44, 45, 46)  # upper edges of the brows
    + tuple(range(51, 60))                      # nose
    + (60, 61, 63, 64, 65, 67)                  # right eye (8 -> 6)
    + (68, 69, 71, 72, 73, 75)                  # left eye
    + tuple(range(76, 96))                      # mouth
)
"""For each iBUG-68 landmark, its index in WFLW-98."""


def _face84_from_wflw98() -> tuple[int, ...]:
    index = list(range(FACE_CONTOUR_POINTS))  # WFLW's 33-point contour is DOPE's contour
    for i in range(17, 68):
        index.append(WFLW98_TO_IBUG68[i])
    return tuple(index)


WFLW98_TO_FACE84 = KeypointMapping("wflw98", Part.FACE, 98, _face84_from_wflw98())
"""WFLW-98 to the 84-point face: all 33 contour points plus the iBUG-68 inner points."""

FACE84_OUTER_EYE_CORNERS: tuple[int, int] = (IBUG68_TO_FACE84[36], IBUG68_TO_FACE84[45])
"""Face landmarks of the outer eye corners (iBUG 36 and 45): the inter-ocular normaliser."""

BODY_MAPPINGS: dict[str, KeypointMapping] = {
    m.name: m for m in (COCO17_TO_BODY13, H36M17_TO_BODY13, MPI_INF_3DHP17_TO_BODY13, MPII16_TO_BODY13)
}
HAND_MAPPINGS: dict[str, KeypointMapping] = {m.name: m for m in (HAND21_TO_HAND21, RHD21_TO_HAND21,
                                                                 INTERHAND21_TO_HAND21)}
FACE_MAPPINGS: dict[str, KeypointMapping] = {m.name: m for m in (IBUG68_TO_FACE84_MAPPING, WFLW98_TO_FACE84)}
