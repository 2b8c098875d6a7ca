"""The whole-body pose data model shared by every backend (part experts, network).

Units and frames, for every backend:

* ``box`` and ``keypoints_2d`` are in pixels of the input image, x to the right,
  y down, origin at the top-left corner of the top-left pixel;
* ``keypoints_3d`` are in metres, **part-relative**: axes parallel to the camera
  optical frame (x right, y down, z forward, away from the camera), origin at the
  part's root (body: middle of the hips; hand: the wrist; face: the mean of its
  84 landmarks);
* ``root_camera``, when known, is the part root's position in the camera optical
  frame in metres, so ``keypoints_3d + root_camera`` places the part in the camera
  frame (set by :mod:`dope_core.placement` when intrinsics are given);
* ``confidence`` is a per-keypoint score in [0, 1];
* ``frame`` (:class:`PartFrame`, :mod:`dope_core.part_frames`) is the part's 6-DoF frame:
  an origin (part-relative, metres) and a rotation of the part's axes into the camera
  optical frame (quaternion x, y, z, w), or no rotation when too few keypoints are
  confident; ``grasp`` (:class:`Grasp`, hands, :mod:`dope_core.grasp`) is the
  thumb-index aperture; ``velocity`` (m/s, camera optical frame) and ``velocity_2d``
  (pixels/s) are the part root's, set by :mod:`dope_core.smoothing` on a stream.

A :class:`WholeBodyPoses` holds the people found in one image and the parts that
belong to nobody; it converts to JSON and back without loss (floats are written
with Python's shortest round-trip representation).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterator, Optional

import numpy as np

from dope_core.keypoints import Part


class TrackState(str, Enum):
    """Where a person's track stands at this frame (:mod:`dope_core.tracking`).

    ``NEW``: first frame of the track; ``TRACKED``: seen again; ``PREDICTED``: not seen
    in this frame, the pose is a prediction for a short gap; ``UNSEEN``: alive but
    unseen for longer than the prediction gap (never attached to a person);
    ``LOST``: the track ended (its id is listed in ``WholeBodyPoses.lost_track_ids``).
    """

    NEW = "new"
    TRACKED = "tracked"
    PREDICTED = "predicted"
    UNSEEN = "unseen"
    LOST = "lost"


@dataclass
class PartFrame:
    """The 6-DoF frame of a part (conventions in :mod:`dope_core.part_frames`).

    Attributes:
        origin: ``(3,)`` metres, the frame's origin relative to the part root (camera
            optical axes): zero for hands (wrist) and bodies (mid-hips), the point
            between the eyes for faces.
        quaternion: ``(4,)`` unit quaternion ``x, y, z, w`` rotating the part's axes into
            the camera optical frame's axes, or ``None`` when too few keypoints were
            confident to orient the part (then ``confidence`` is 0).
        confidence: orientation confidence in [0, 1].
    """

    origin: np.ndarray
    quaternion: Optional[np.ndarray] = None
    confidence: float = 0.0

    def __post_init__(self) -> None:
        self.origin = _as_array(self.origin, (3,), "origin")
        self.confidence = float(self.confidence)
        if self.quaternion is not None:
            q = _as_array(self.quaternion, (4,), "quaternion")
            norm = float(np.linalg.norm(q))
            if not np.isfinite(norm) or abs(norm - 1.0) > 1e-6:
                raise ValueError(f"quaternion must be a finite unit quaternion, got {q.tolist()}")
            self.quaternion = q
        elif self.confidence != 0.0:
            raise ValueError("a frame without orientation has confidence 0")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"origin": self.origin.tolist(), "confidence": self.confidence}
        if self.quaternion is not None:
            d["quaternion"] = self.quaternion.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PartFrame":
        return cls(origin=d["origin"], quaternion=d.get("quaternion"), confidence=d.get("confidence", 0.0))


@dataclass
class Grasp:
    """The grasp state of one hand (:mod:`dope_core.grasp`).

    Attributes:
        aperture_m: thumb-tip to index-tip distance in metres, from the hand's own 3D.
        aperture_normalised: ``aperture_m`` divided by the hand's size (wrist to
            middle-finger base), so comparable between hands and people.
        confidence: in [0, 1], the lower confidence of the two finger tips.
        pinch: thumb and index closed (with hysteresis on a stream).
    """

    aperture_m: float
    aperture_normalised: float
    confidence: float
    pinch: bool

    def __post_init__(self) -> None:
        self.aperture_m = float(self.aperture_m)
        self.aperture_normalised = float(self.aperture_normalised)
        self.confidence = float(self.confidence)
        self.pinch = bool(self.pinch)

    def to_dict(self) -> dict[str, Any]:
        return {"aperture_m": self.aperture_m, "aperture_normalised": self.aperture_normalised,
                "confidence": self.confidence, "pinch": self.pinch}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Grasp":
        return cls(**{k: d[k] for k in ("aperture_m", "aperture_normalised", "confidence", "pinch")})


class PlacementSource(str, Enum):
    """What fixed a part's position in the camera frame (:mod:`dope_core.placement`, :mod:`dope_core.depth`)."""

    NONE = "none"
    MONOCULAR = "monocular"
    BODY_ANCHORED = "body_anchored"
    DEPTH = "depth"


class Handedness(str, Enum):
    """Which hand a hand detection is (the person's own left or right)."""

    LEFT = "left"
    RIGHT = "right"


@dataclass
class PartPose:
    """One detected part (a body, a hand or a face) with its 2D and 3D keypoints.

    Attributes:
        part: which part this is.
        score: detection score in [0, 1].
        box: ``(4,)`` float array ``x1, y1, x2, y2`` in pixels.
        keypoints_2d: ``(J, 2)`` float array in pixels.
        keypoints_3d: ``(J, 3)`` float array in metres, part-relative (module docstring).
        confidence: ``(J,)`` float array in [0, 1].
        handedness: for hands, the person's left or right hand; ``None`` otherwise.
        root_camera: ``(3,)`` position in metres of the part root in the camera
            optical frame, or ``None`` when the camera is unknown.
        frame: the part's 6-DoF frame, or ``None`` when not computed.
        grasp: for hands, the grasp state, or ``None``.
        velocity: ``(3,)`` m/s of the part root in the camera optical frame (placed
            parts on a stream), or ``None``.
        velocity_2d: ``(2,)`` pixels/s of the part root's image position (on a
            stream), or ``None``.
        placement: what fixed ``root_camera`` (``NONE`` while it is ``None``).
        placement_uncertainty: one-sigma error of ``root_camera`` in metres, or ``None``.
    """

    part: Part
    score: float
    box: np.ndarray
    keypoints_2d: np.ndarray
    keypoints_3d: np.ndarray
    confidence: np.ndarray
    handedness: Optional[Handedness] = None
    root_camera: Optional[np.ndarray] = None
    frame: Optional[PartFrame] = None
    grasp: Optional[Grasp] = None
    velocity: Optional[np.ndarray] = None
    velocity_2d: Optional[np.ndarray] = None
    placement: PlacementSource = PlacementSource.NONE
    placement_uncertainty: Optional[float] = None

    def __post_init__(self) -> None:
        self.part = Part(self.part)
        self.placement = PlacementSource(self.placement)
        if self.placement_uncertainty is not None:
            self.placement_uncertainty = float(self.placement_uncertainty)
        if self.handedness is not None:
            self.handedness = Handedness(self.handedness)
        j = self.part.num_keypoints
        self.score = float(self.score)
        self.box = _as_array(self.box, (4,), "box")
        self.keypoints_2d = _as_array(self.keypoints_2d, (j, 2), "keypoints_2d")
        self.keypoints_3d = _as_array(self.keypoints_3d, (j, 3), "keypoints_3d")
        self.confidence = _as_array(self.confidence, (j,), "confidence")
        if self.root_camera is not None:
            self.root_camera = _as_array(self.root_camera, (3,), "root_camera")
        if self.handedness is not None and self.part is not Part.HAND:
            raise ValueError(f"handedness is only defined for hands, not for a {self.part.value}")
        if self.grasp is not None and self.part is not Part.HAND:
            raise ValueError(f"grasp is only defined for hands, not for a {self.part.value}")
        if self.velocity is not None:
            self.velocity = _as_array(self.velocity, (3,), "velocity")
        if self.velocity_2d is not None:
            self.velocity_2d = _as_array(self.velocity_2d, (2,), "velocity_2d")

    @property
    def keypoints_3d_camera(self) -> Optional[np.ndarray]:
        """``(J, 3)`` keypoints in the camera optical frame (metres), if placed."""
        if self.root_camera is None:
            return None
        return self.keypoints_3d + self.root_camera

    @property
    def frame_position(self) -> Optional[np.ndarray]:
        """``(3,)`` origin of :attr:`frame`: camera optical frame when placed, else part-relative."""
        if self.frame is None:
            return None
        return self.frame.origin if self.root_camera is None else self.frame.origin + self.root_camera

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists of floats)."""
        d: dict[str, Any] = {
            "part": self.part.value,
            "score": self.score,
            "box": self.box.tolist(),
            "keypoints_2d": self.keypoints_2d.tolist(),
            "keypoints_3d": self.keypoints_3d.tolist(),
            "confidence": self.confidence.tolist(),
        }
        if self.handedness is not None:
            d["handedness"] = self.handedness.value
        if self.root_camera is not None:
            d["root_camera"] = self.root_camera.tolist()
        if self.frame is not None:
            d["frame"] = self.frame.to_dict()
        if self.grasp is not None:
            d["grasp"] = self.grasp.to_dict()
        if self.velocity is not None:
            d["velocity"] = self.velocity.tolist()
        if self.velocity_2d is not None:
            d["velocity_2d"] = self.velocity_2d.tolist()
        if self.placement is not PlacementSource.NONE:
            d["placement"] = self.placement.value
        if self.placement_uncertainty is not None:
            d["placement_uncertainty"] = self.placement_uncertainty
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PartPose":
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on missing keys or bad shapes."""
        try:
            return cls(
                part=Part(d["part"]),
                score=d["score"],
                box=d["box"],
                keypoints_2d=d["keypoints_2d"],
                keypoints_3d=d["keypoints_3d"],
                confidence=d["confidence"],
                handedness=d.get("handedness"),
                root_camera=d.get("root_camera"),
                frame=PartFrame.from_dict(d["frame"]) if d.get("frame") is not None else None,
                grasp=Grasp.from_dict(d["grasp"]) if d.get("grasp") is not None else None,
                velocity=d.get("velocity"),
                velocity_2d=d.get("velocity_2d"),
                placement=d.get("placement", PlacementSource.NONE.value),
                placement_uncertainty=d.get("placement_uncertainty"),
            )
        except KeyError as e:
            raise ValueError(f"part pose is missing the key {e.args[0]!r}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartPose):
            return NotImplemented
        return self.to_dict() == other.to_dict()


@dataclass
class Person:
    """One person: a body and the hands and face assigned to it (any may be missing).

    Attributes:
        id: index of the person in the image's result.
        score: the person's score (the body's, or the best part's without a body).
        track_id: the person's id across the frames of a stream
            (:class:`dope_core.tracking.PersonTracker`), ``None`` when not tracked.
        track_state: the track's state at this frame, ``None`` when not tracked.
    """

    id: int
    score: float
    body: Optional[PartPose] = None
    left_hand: Optional[PartPose] = None
    right_hand: Optional[PartPose] = None
    face: Optional[PartPose] = None
    track_id: Optional[int] = None
    track_state: Optional[TrackState] = None

    def __post_init__(self) -> None:
        self.id = int(self.id)
        self.score = float(self.score)
        self.track_id = None if self.track_id is None else int(self.track_id)
        self.track_state = None if self.track_state is None else TrackState(self.track_state)
        for name, want in (("body", Part.BODY), ("left_hand", Part.HAND), ("right_hand", Part.HAND), ("face", Part.FACE)):
            pose = getattr(self, name)
            if pose is not None and pose.part is not want:
                raise ValueError(f"Person.{name} must be a {want.value}, got a {pose.part.value}")

    def parts(self) -> Iterator[tuple[str, PartPose]]:
        """Yield ``(slot name, pose)`` for each part present."""
        for name in ("body", "left_hand", "right_hand", "face"):
            pose = getattr(self, name)
            if pose is not None:
                yield name, pose

    @property
    def display_id(self) -> int:
        """The id to show and colour the person by: ``track_id`` when tracked, else ``id``."""
        return self.id if self.track_id is None else self.track_id

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "score": self.score}
        if self.track_id is not None:
            d["track_id"] = self.track_id
        if self.track_state is not None:
            d["track_state"] = self.track_state.value
        for name, pose in self.parts():
            d[name] = pose.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Person":
        slots = {k: PartPose.from_dict(d[k]) for k in ("body", "left_hand", "right_hand", "face") if d.get(k) is not None}
        return cls(id=d.get("id", 0), score=d.get("score", 0.0), track_id=d.get("track_id"),
                   track_state=d.get("track_state"), **slots)


@dataclass
class WholeBodyPoses:
    """Everything found in one image.

    Attributes:
        image_size: ``(width, height)`` of the input image in pixels.
        people: the people, each with its assigned parts.
        unassigned: parts that belong to no body (a hand or face without a visible body).
        backend: name of what produced the result (``"experts"``, ``"network"``, ...).
        lost_track_ids: track ids that ended at this frame (on a tracked stream).
    """

    image_size: tuple[int, int]
    people: list[Person] = field(default_factory=list)
    unassigned: list[PartPose] = field(default_factory=list)
    backend: str = ""
    lost_track_ids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        self.lost_track_ids = [int(i) for i in self.lost_track_ids]

    def parts(self, part: Part | str | None = None) -> list[PartPose]:
        """All part poses (assigned and not), optionally of one part type only."""
        out = [pose for person in self.people for _, pose in person.parts()] + list(self.unassigned)
        if part is not None:
            out = [p for p in out if p.part is Part(part)]
        return out

    def counts(self) -> dict[str, int]:
        """Number of people and of detected bodies, hands and faces (assigned or not)."""
        return {"people": len(self.people), **{p.value + "s" if p is not Part.BODY else "bodies": len(self.parts(p)) for p in Part}}

    def to_dict(self) -> dict[str, Any]:
        d = {
            "image_size": list(self.image_size),
            "backend": self.backend,
            "people": [p.to_dict() for p in self.people],
            "unassigned": [p.to_dict() for p in self.unassigned],
        }
        if self.lost_track_ids:
            d["lost_track_ids"] = list(self.lost_track_ids)
        return d

    def to_json_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` with every non-finite number (a joint without a value) as ``None``: strict JSON
        (``null``), which every parser reads (a bare ``NaN`` is not JSON); :meth:`from_dict` reads it back
        as NaN."""
        return _json_safe(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "WholeBodyPoses":
        """Inverse of :meth:`to_dict` (and of :meth:`to_json_dict`).

        Raises:
            ValueError: not the dict of whole-body poses (missing keys, wrong types or shapes).
        """
        if not isinstance(d, dict):
            raise ValueError(f"whole-body poses must be a JSON object, got {type(d).__name__}")
        if "image_size" not in d:
            raise ValueError("whole-body poses are missing the key 'image_size'")
        size = d["image_size"]
        if not (isinstance(size, (list, tuple)) and len(size) == 2
                and all(isinstance(v, (int, float, np.integer)) and not isinstance(v, bool) and v >= 0
                        and float(v).is_integer() for v in size)):
            raise ValueError(f"image_size must be [width, height] in whole pixels, got {size!r}")
        try:
            return cls(
                image_size=(int(size[0]), int(size[1])),
                people=[Person.from_dict(p) for p in d.get("people") or []],
                unassigned=[PartPose.from_dict(p) for p in d.get("unassigned") or []],
                backend=d.get("backend", ""),
                lost_track_ids=[int(i) for i in d.get("lost_track_ids") or []],
            )
        except (TypeError, AttributeError, IndexError, KeyError) as e:
            raise ValueError(f"not whole-body poses: {type(e).__name__}: {e}") from None

    def to_json(self, **kwargs: Any) -> str:
        """Strict JSON of :meth:`to_json_dict`."""
        return json.dumps(self.to_json_dict(), allow_nan=False, **kwargs)

    @classmethod
    def from_json(cls, text: str) -> "WholeBodyPoses":
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: not JSON, or not whole-body poses.
        """
        return cls.from_dict(json.loads(text))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WholeBodyPoses):
            return NotImplemented
        return self.to_dict() == other.to_dict()


def _json_safe(value: Any) -> Any:
    """``value`` (nested dicts and lists of numbers) with NaN and infinities as ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def _as_array(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr
