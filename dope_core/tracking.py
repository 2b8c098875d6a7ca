"""Stable person ids across the frames of one stream (video, camera topic).

:class:`PersonTracker` gives every person a ``track_id`` that stays the same from
frame to frame while the person is seen, by greedy matching of box overlap (IoU) with
the tracks of the previous frames: pairs are taken best IoU first, each track and
person at most once, pairs under ``iou_threshold`` are not matched. A person left
unmatched starts a new track; a track unmatched for more than ``max_missed``
consecutive frames ends. Ids are never reused within a tracker.

The box of a person is its body's when there is one, else its face's, else a hand's
(pixels, ``x1, y1, x2, y2``); a track compares with the box of the same kind seen
last, so a person whose body drops out for a frame can still be held by the face.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from dope_core.boxes import box_iou
from dope_core.structures import Person, WholeBodyPoses

_KINDS = ("body", "face", "left_hand", "right_hand")


def _boxes(person: Person) -> dict[str, np.ndarray]:
    """The person's part boxes by slot (pixels)."""
    return {slot: pose.box for slot, pose in person.parts()}


@dataclass
class _Track:
    track_id: int
    boxes: dict[str, np.ndarray]
    missed: int = 0


class PersonTracker:
    """Assigns ``Person.track_id`` over consecutive frames (see the module docstring).

    Args:
        iou_threshold: smallest box IoU in [0, 1] for a person to continue a track.
        max_missed: frames a track survives without a match.
    """

    def __init__(self, *, iou_threshold: float = 0.3, max_missed: int = 5) -> None:
        if not 0.0 <= iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
        if max_missed < 0:
            raise ValueError(f"max_missed must be >= 0, got {max_missed}")
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self._tracks: list[_Track] = []
        self._next_id = 0

    @property
    def active_tracks(self) -> int:
        """Tracks alive now (seen within the last ``max_missed`` frames)."""
        return len(self._tracks)

    @property
    def tracks_started(self) -> int:
        """Tracks started since construction or :meth:`reset`."""
        return self._next_id

    def reset(self) -> None:
        """Forget every track (a new stream)."""
        self._tracks.clear()
        self._next_id = 0

    def update(self, poses: WholeBodyPoses) -> WholeBodyPoses:
        """The same poses with every person's ``track_id`` set; advances the tracker by one frame."""
        current = [_boxes(p) for p in poses.people]
        pairs = []
        for t, track in enumerate(self._tracks):
            for p, boxes in enumerate(current):
                iou = self._similarity(track.boxes, boxes)
                if iou >= self.iou_threshold and iou > 0.0:
                    pairs.append((iou, t, p))
        track_of: dict[int, int] = {}
        used: set[int] = set()
        for _, t, p in sorted(pairs, reverse=True):
            if t not in used and p not in track_of:
                used.add(t)
                track_of[p] = t
        survivors = []
        for t, track in enumerate(self._tracks):
            if t not in used:
                track.missed += 1
            if track.missed <= self.max_missed:
                survivors.append(track)
        people = []
        for p, person in enumerate(poses.people):
            if p in track_of:
                match = self._tracks[track_of[p]]
            else:
                match = _Track(self._next_id, {})
                self._next_id += 1
                survivors.append(match)
            match.boxes.update(current[p])
            match.missed = 0
            people.append(dataclasses.replace(person, track_id=match.track_id))
        self._tracks = survivors
        return dataclasses.replace(poses, people=people)

    @staticmethod
    def _similarity(track: dict[str, np.ndarray], person: dict[str, np.ndarray]) -> float:
        """IoU of the first part kind both have (body, then face, then hands)."""
        for kind in _KINDS:
            if kind in track and kind in person:
                return float(box_iou(track[kind][None], person[kind][None])[0, 0])
        return 0.0
