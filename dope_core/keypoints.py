"""Keypoint sets of the three parts: names, order and skeleton edges, defined once.

The sets are those of DOPE (Weinzaepfel et al., ECCV 2020); the orders are the
project's public ones:

* body, 13 joints in LCR-Net order (``BODY_JOINTS``), as in the DOPE release; joint 12
  is the top of the head;
* hand, 21 joints: the wrist, then four joints per finger from the palm outwards,
  thumb, index, middle, ring, little (``HAND_JOINTS``): the common MediaPipe /
  OpenPose / FreiHAND order. The DOPE release orders its hand joints differently
  (the wrist, the five finger bases, then three joints per finger); release outputs
  are mapped into this order by :mod:`dope_core.codecs.release`;
* face, 84 landmarks: an iBUG-68 layout whose 17-point jaw contour is replaced by a
  denser 33-point contour (``FACE_LANDMARKS``). Contour point ``2 * i`` is iBUG point
  ``i`` (0..16); inner iBUG point ``i`` (17..67) is landmark ``i + 16`` (the release's
  order).

Every other module takes these names, orders and edges from here.
"""

from __future__ import annotations

from enum import Enum
from typing import Sequence


class Part(str, Enum):
    """A body part handled by DOPE: one detector class and one keypoint set."""

    BODY = "body"
    HAND = "hand"
    FACE = "face"

    @property
    def num_keypoints(self) -> int:
        """Number of keypoints of the part (13, 21 or 84)."""
        return len(KEYPOINT_NAMES[self])


BODY_JOINTS: tuple[str, ...] = (
    "right_ankle", "left_ankle", "right_knee", "left_knee", "right_hip", "left_hip",
    "right_wrist", "left_wrist", "right_elbow", "left_elbow", "right_shoulder",
    "left_shoulder", "head_top",
)

BODY_EDGES: tuple[tuple[int, int], ...] = (
    (0, 2), (2, 4), (1, 3), (3, 5), (4, 5),          # legs and pelvis
    (4, 10), (5, 11), (10, 11),                       # torso
    (10, 8), (8, 6), (11, 9), (9, 7),                 # arms
    (10, 12), (11, 12),                               # head
)

_FINGERS = ("thumb", "index", "middle", "ring", "little")
_FINGER_JOINTS = {
    "thumb": ("cmc", "mcp", "ip", "tip"),
    "index": ("mcp", "pip", "dip", "tip"),
    "middle": ("mcp", "pip", "dip", "tip"),
    "ring": ("mcp", "pip", "dip", "tip"),
    "little": ("mcp", "pip", "dip", "tip"),
}
HAND_JOINTS: tuple[str, ...] = ("wrist",) + tuple(
    f"{finger}_{joint}" for finger in _FINGERS for joint in _FINGER_JOINTS[finger]
)

HAND_EDGES: tuple[tuple[int, int], ...] = tuple(
    edge
    for f in range(5)
    for edge in ((0, 1 + 4 * f), (1 + 4 * f, 2 + 4 * f), (2 + 4 * f, 3 + 4 * f), (3 + 4 * f, 4 + 4 * f))
)

FACE_CONTOUR_POINTS = 33
"""Number of points of the face contour (indices 0..32, from the right ear to the left)."""

_FACE_INNER = (
    [f"right_brow_{i}" for i in range(5)] + [f"left_brow_{i}" for i in range(5)]
    + [f"nose_bridge_{i}" for i in range(4)] + [f"nose_base_{i}" for i in range(5)]
    + [f"right_eye_{i}" for i in range(6)] + [f"left_eye_{i}" for i in range(6)]
    + [f"outer_lip_{i}" for i in range(12)] + [f"inner_lip_{i}" for i in range(8)]
)
FACE_LANDMARKS: tuple[str, ...] = tuple(f"contour_{i}" for i in range(FACE_CONTOUR_POINTS)) + tuple(_FACE_INNER)


def _chain(start: int, stop: int, closed: bool = False) -> list[tuple[int, int]]:
    edges = [(i, i + 1) for i in range(start, stop - 1)]
    if closed:
        edges.append((stop - 1, start))
    return edges


def _ibug68_to_face84(i: int) -> int:
    return 2 * i if i < 17 else i + 16


FACE_EDGES: tuple[tuple[int, int], ...] = tuple(
    _chain(0, FACE_CONTOUR_POINTS)
    + [(_ibug68_to_face84(a), _ibug68_to_face84(b)) for a, b in (
        _chain(17, 22) + _chain(22, 27) + _chain(27, 31) + _chain(31, 36)
        + _chain(36, 42, closed=True) + _chain(42, 48, closed=True)
        + _chain(48, 60, closed=True) + _chain(60, 68, closed=True)
    )]
)

IBUG68_TO_FACE84: tuple[int, ...] = tuple(_ibug68_to_face84(i) for i in range(68))
"""Index in the 84-landmark set of each of the 68 iBUG landmarks."""

KEYPOINT_NAMES: dict[Part, tuple[str, ...]] = {
    Part.BODY: BODY_JOINTS,
    Part.HAND: HAND_JOINTS,
    Part.FACE: FACE_LANDMARKS,
}

SKELETON_EDGES: dict[Part, tuple[tuple[int, int], ...]] = {
    Part.BODY: BODY_EDGES,
    Part.HAND: HAND_EDGES,
    Part.FACE: FACE_EDGES,
}

BODY_HEAD = BODY_JOINTS.index("head_top")
BODY_RIGHT_WRIST = BODY_JOINTS.index("right_wrist")
BODY_LEFT_WRIST = BODY_JOINTS.index("left_wrist")
BODY_RIGHT_HIP = BODY_JOINTS.index("right_hip")
BODY_LEFT_HIP = BODY_JOINTS.index("left_hip")
BODY_HIPS = (BODY_RIGHT_HIP, BODY_LEFT_HIP)
BODY_SHOULDERS = (BODY_JOINTS.index("right_shoulder"), BODY_JOINTS.index("left_shoulder"))
HAND_WRIST = HAND_JOINTS.index("wrist")

# Left/right symmetry, for horizontal flips (training augmentation) and mirrored images.
BODY_FLIP: tuple[int, ...] = (1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12)


def _face_flip() -> tuple[int, ...]:
    ibug_flip = (
        list(range(16, -1, -1))
        + list(range(26, 16, -1))
        + [27, 28, 29, 30]
        + [35, 34, 33, 32, 31]
        + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
        + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]
        + [64, 63, 62, 61, 60, 67, 66, 65]
    )
    flip = list(range(FACE_CONTOUR_POINTS - 1, -1, -1)) + [0] * (len(FACE_LANDMARKS) - FACE_CONTOUR_POINTS)
    for i in range(17, 68):
        flip[_ibug68_to_face84(i)] = _ibug68_to_face84(ibug_flip[i])
    return tuple(flip)


FACE_FLIP: tuple[int, ...] = _face_flip()
HAND_FLIP: tuple[int, ...] = tuple(range(len(HAND_JOINTS)))

FLIP_PERMUTATION: dict[Part, tuple[int, ...]] = {
    Part.BODY: BODY_FLIP,
    Part.HAND: HAND_FLIP,
    Part.FACE: FACE_FLIP,
}


def edges_of(part: Part | str) -> Sequence[tuple[int, int]]:
    """Skeleton edges (pairs of keypoint indices) of ``part``."""
    return SKELETON_EDGES[Part(part)]
