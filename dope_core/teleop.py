"""What a teleoperation loop consumes from a stream of tracked poses, in one step per frame.

:class:`TeleopPipeline` takes the tracked (and, with a camera, placed) poses of a
frame and its stamp (seconds) and returns them with, in order:

1. every part's 6-DoF frame (:mod:`dope_core.part_frames`);
2. One Euro filtering of tracked people's keypoints, roots, frame origins and
   orientations, and the velocity of each part root (:mod:`dope_core.smoothing`),
   when ``smoothing`` is given;
3. every hand's grasp (:mod:`dope_core.grasp`), from the filtered 3D, with a pinch
   state kept per track and hand slot (hysteresis).

:class:`OperatorSelector` then picks the one person to follow.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

from dope_core.grasp import PinchThresholds, PinchTracker
from dope_core.part_frames import with_frames
from dope_core.smoothing import PoseSmoother, SmoothingConfig
from dope_core.structures import PartPose, Person, TrackState, WholeBodyPoses

OPERATOR_MODES = ("largest", "closest", "track_id", "none")


class TeleopPipeline:
    """Frames, smoothing, velocities and grasp for a stream (module docstring).

    Args:
        smoothing: One Euro parameters, or ``None`` for no filtering (nor velocities).
        pinch: hysteresis thresholds of the pinch.
        min_confidence: keypoints less confident do not orient a part.
    """

    def __init__(self, *, smoothing: Optional[SmoothingConfig] = SmoothingConfig(),
                 pinch: PinchThresholds = PinchThresholds(), min_confidence: float = 0.2) -> None:
        self.smoother = PoseSmoother(smoothing) if smoothing is not None else None
        self.pinch = PinchTracker(pinch)
        self.min_confidence = min_confidence
        self._t: Optional[float] = None

    def __call__(self, poses: WholeBodyPoses, stamp: float) -> WholeBodyPoses:
        """``poses`` of the frame taken at ``stamp`` (seconds), completed as in the module docstring.

        Raises:
            ValueError: ``stamp`` is not finite (nothing of the pipeline's state changes).
        """
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be finite seconds, got {stamp}")
        if self._t is not None and stamp < self._t:
            self.pinch.forget(set())
        self._t = stamp
        poses = with_frames(poses, min_confidence=self.min_confidence)
        if self.smoother is not None:
            poses = self.smoother.update(poses, stamp)
        people = []
        keys = set()
        for person in poses.people:
            changes = {}
            for slot in ("left_hand", "right_hand"):
                hand = getattr(person, slot)
                if hand is None:
                    continue
                key = None if person.track_id is None else (person.track_id, slot)
                keys.add(key)
                changes[slot] = dataclasses.replace(hand, grasp=self.pinch.measure(hand, key))
            people.append(dataclasses.replace(person, **changes) if changes else person)
        self.pinch.forget(keys)
        unassigned = [dataclasses.replace(p, grasp=self.pinch.measure(p)) if p.part.value == "hand" else p
                      for p in poses.unassigned]
        return dataclasses.replace(poses, people=people, unassigned=unassigned)


def _box(person: Person) -> Optional[np.ndarray]:
    for _, pose in person.parts():
        return pose.box
    return None


def _area(person: Person) -> float:
    box = _box(person)
    return 0.0 if box is None else float(max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1]))


def _distance(person: Person) -> float:
    """Distance (m) of the person's first placed part root from the camera; inf when unplaced."""
    roots = [pose.root_camera for _, pose in person.parts() if pose.root_camera is not None]
    return float(np.linalg.norm(roots[0])) if roots else float("inf")


class OperatorSelector:
    """Chooses the one tracked person to follow, and sticks to them while their track lives.

    Modes: ``largest`` (largest box: body, else face, else hand), ``closest`` (nearest
    placed part root to the camera; the largest when nobody is placed), ``track_id``
    (exactly that track), ``none`` (nobody). Once chosen, a person stays the operator
    while the track lives (new, tracked or predicted; unseen but not yet lost leaves the
    operator empty for that frame without switching); only when it is lost does
    ``largest`` or ``closest`` choose again. Untracked people are never chosen.

    Args:
        mode: one of :data:`OPERATOR_MODES`.
        track_id: the track to follow in mode ``track_id``.
    """

    def __init__(self, mode: str = "closest", *, track_id: int = -1) -> None:
        if mode not in OPERATOR_MODES:
            raise ValueError(f"operator mode must be one of {OPERATOR_MODES}, got {mode!r}")
        self.mode = mode
        self.track_id: Optional[int] = track_id if mode == "track_id" else None
        self.switches = 0

    def select(self, poses: WholeBodyPoses) -> Optional[Person]:
        """The operator in this frame, or ``None``."""
        if self.mode == "none":
            return None
        if self.mode != "track_id" and self.track_id is not None and self.track_id in poses.lost_track_ids:
            self.track_id = None
        tracked = [p for p in poses.people if p.track_id is not None and p.track_state is not TrackState.LOST]
        if self.track_id is not None:
            return next((p for p in tracked if p.track_id == self.track_id), None)
        if self.mode == "track_id" or not tracked:
            return None
        if self.mode == "closest" and any(np.isfinite(_distance(p)) for p in tracked):
            chosen = min(tracked, key=_distance)
        else:
            chosen = max(tracked, key=_area)
        self.track_id = chosen.track_id
        self.switches += 1
        return chosen

    def only(self, poses: WholeBodyPoses) -> WholeBodyPoses:
        """``poses`` holding only the operator (no unassigned parts), possibly nobody."""
        chosen = self.select(poses)
        return dataclasses.replace(poses, people=[] if chosen is None else [chosen], unassigned=[])


def camera_pose(part: PartPose) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """``(position (3,), quaternion (4,) x, y, z, w)`` of a placed, oriented part, else ``None``."""
    if part.root_camera is None or part.frame is None or part.frame.quaternion is None:
        return None
    return part.frame_position, part.frame.quaternion
