"""Stable person ids across the frames of one stream (video, camera topic), timed in seconds.

Three pieces, usable apart:

* :class:`TrackIdAllocator` hands out ids that do not repeat across restarts: id =
  ``session * SESSION_BLOCK + n``, with ``session`` drawn at random (1 .. 21 473) when
  the allocator is made, unless given (``session=0`` gives 0, 1, 2... for tests and
  reproducible offline runs). Two runs share ids only if they draw the same session
  (odds 1 in 21 473); ids stay below 2**31.
* :class:`TrackRegistry` keeps the life of each track on the stream's clock (image
  stamps, seconds): a track is :attr:`~TrackState.NEW` on its first frame,
  :attr:`~TrackState.TRACKED` when seen again, :attr:`~TrackState.PREDICTED` while
  unseen for at most ``predict_s`` seconds, still matchable (but not reported) until
  ``timeout_s`` seconds, then :attr:`~TrackState.LOST` (reported once, then
  forgotten). A stamp that goes backwards (a bag that loops) forgets every track;
  ids keep counting up, so none is reused. Whatever matches detections to tracks
  (boxes here, image regions in a streaming estimator) can use it.
* :class:`PersonTracker` matches people to tracks by greedy box overlap (IoU): pairs
  are taken best IoU first, each track and person at most once, pairs under
  ``iou_threshold`` are not matched; an unmatched person starts a new track. A person
  that arrives with a ``track_id`` (from an estimator that follows people by their
  image regions, :class:`dope_core.experts.streaming.StreamingExpertsEstimator`) keeps
  it: that id's track continues (or starts) without box matching.

The box of a person is its body's when there is one, else its face's, else a hand's
(pixels, ``x1, y1, x2, y2``); a track compares with the box of the same kind seen
last, so a person whose body drops out for a frame can still be held by the face.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from dope_core.boxes import box_iou
from dope_core.structures import Person, TrackState, WholeBodyPoses

__all__ = ["PersonTracker", "TrackIdAllocator", "TrackRegistry", "TrackState"]

_KINDS = ("body", "face", "left_hand", "right_hand")

SESSION_BLOCK = 100_000
"""Ids of one session: ``session * SESSION_BLOCK`` .. ``+ SESSION_BLOCK - 1``."""
MAX_SESSION = 2**31 // SESSION_BLOCK - 1
"""Largest session number (ids stay below 2**31)."""


class TrackIdAllocator:
    """Track ids that do not repeat within a run nor, with a random session, across runs.

    Args:
        session: 0 .. :data:`MAX_SESSION`; ``None`` draws one at random in 1 .. MAX_SESSION.
    """

    def __init__(self, session: Optional[int] = None) -> None:
        if session is None:
            session = 1 + secrets.randbelow(MAX_SESSION)
        if not 0 <= session <= MAX_SESSION:
            raise ValueError(f"session must be in [0, {MAX_SESSION}], got {session}")
        self.session = int(session)
        self._next = self.session * SESSION_BLOCK

    @property
    def issued(self) -> int:
        """Ids handed out so far."""
        return self._next - self.session * SESSION_BLOCK

    def next(self) -> int:
        """A new id (ids past the session's block run into the next block's range)."""
        out = self._next
        self._next += 1
        return out


@dataclass
class _Life:
    first_seen: float
    last_seen: float
    frames_seen: int = 1


@dataclass
class TrackRegistry:
    """The time-based life of tracks (see the module docstring).

    Args:
        timeout_s: seconds a track survives unseen before it is lost.
        predict_s: seconds an unseen track is reported as predicted (<= ``timeout_s``).
        ids: where ids come from (default: a random session).
    """

    timeout_s: float = 1.0
    predict_s: float = 0.2
    ids: TrackIdAllocator = field(default_factory=TrackIdAllocator)

    def __post_init__(self) -> None:
        if not self.timeout_s >= 0.0:
            raise ValueError(f"timeout_s must be >= 0, got {self.timeout_s}")
        if not 0.0 <= self.predict_s <= self.timeout_s:
            raise ValueError(f"predict_s must be in [0, timeout_s={self.timeout_s}], got {self.predict_s}")
        self._lives: dict[int, _Life] = {}
        self._now: Optional[float] = None
        self.resets = 0

    @property
    def now(self) -> Optional[float]:
        """The latest stamp seen (seconds), ``None`` before the first."""
        return self._now

    @property
    def active(self) -> list[int]:
        """Ids of the tracks alive now (new, tracked, predicted or unseen within the timeout)."""
        return list(self._lives)

    def advance(self, stamp: float) -> list[int]:
        """Move the clock to ``stamp`` (seconds); returns the ids lost since the last call.

        A stamp earlier than the previous one forgets every track (returned as lost) and
        counts a reset.
        """
        stamp = float(stamp)
        if not np.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        if self._now is not None and stamp < self._now:
            lost = list(self._lives)
            self._lives.clear()
            self.resets += 1
        else:
            lost = [i for i, life in self._lives.items() if stamp - life.last_seen > self.timeout_s]
            for i in lost:
                del self._lives[i]
        self._now = stamp
        return lost

    def end(self, track_id: int) -> None:
        """Forget the track ``track_id`` now (its id is not reused)."""
        self._lives.pop(track_id, None)

    def start(self, track_id: Optional[int] = None) -> int:
        """A new track seen now; returns its id: ``track_id`` when given (an id that the
        caller drew from :attr:`ids`, e.g. a streaming estimator's), else a new one."""
        if self._now is None:
            raise RuntimeError("advance() the registry to a stamp first")
        track_id = self.ids.next() if track_id is None else int(track_id)
        self._lives[track_id] = _Life(self._now, self._now)
        return track_id

    def seen(self, track_id: int) -> None:
        """Track ``track_id`` was seen at the current stamp."""
        life = self._lives[track_id]
        if life.last_seen != self._now:
            life.frames_seen += 1
        life.last_seen = self._now

    def state(self, track_id: int) -> TrackState:
        """The state of a track at the current stamp (``LOST`` for an unknown id)."""
        life = self._lives.get(track_id)
        if life is None:
            return TrackState.LOST
        age = self._now - life.last_seen
        if age == 0.0:
            return TrackState.NEW if life.frames_seen == 1 else TrackState.TRACKED
        return TrackState.PREDICTED if age <= self.predict_s else TrackState.UNSEEN

    def unseen_for(self, track_id: int) -> float:
        """Seconds since the track was last seen."""
        return self._now - self._lives[track_id].last_seen

    def clear(self) -> None:
        """Forget every track (the id allocator keeps counting)."""
        self._lives.clear()
        self._now = None


@dataclass
class _Track:
    boxes: dict[str, np.ndarray]
    last: Person


def _boxes(person: Person) -> dict[str, np.ndarray]:
    """The person's part boxes by slot (pixels)."""
    return {slot: pose.box for slot, pose in person.parts()}


class PersonTracker:
    """Assigns ``Person.track_id`` and ``Person.track_state`` over a stream (module docstring).

    Args:
        iou_threshold: smallest box IoU in [0, 1] for a person to continue a track.
        timeout_s: seconds a track survives unseen before its id is retired.
        predict_s: seconds an unseen track is still reported, as a predicted person
            holding its last pose (``track_state = PREDICTED``); 0 reports none.
        session: id session (:class:`TrackIdAllocator`); ``None``: random.
    """

    def __init__(self, *, iou_threshold: float = 0.3, timeout_s: float = 1.0, predict_s: float = 0.0,
                 session: Optional[int] = None) -> None:
        if not 0.0 <= iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
        self.iou_threshold = iou_threshold
        self.registry = TrackRegistry(timeout_s=timeout_s, predict_s=predict_s, ids=TrackIdAllocator(session))
        self._tracks: dict[int, _Track] = {}
        self._frames = 0
        self._image_size: Optional[tuple[int, int]] = None

    @property
    def active_tracks(self) -> int:
        """Tracks alive now (seen within the last ``timeout_s`` seconds)."""
        return len(self._tracks)

    @property
    def tracks_started(self) -> int:
        """Tracks started since construction."""
        return self.registry.ids.issued

    @property
    def resets(self) -> int:
        """Times the stamps went backwards and the tracks were forgotten."""
        return self.registry.resets

    def reset(self) -> None:
        """Forget every track (a new stream); ids are not reused."""
        self._tracks.clear()
        self.registry.clear()

    def update(self, poses: WholeBodyPoses, stamp: Optional[float] = None) -> WholeBodyPoses:
        """The same poses with every person's ``track_id`` and ``track_state`` set.

        Args:
            poses: the people of one frame.
            stamp: the frame's time in seconds (image stamp); ``None`` counts frames at
                30 per second (for callers without a clock).

        Predicted people (tracks unseen for at most ``predict_s``) are appended after
        the people of the frame; ``lost_track_ids`` lists the tracks that ended now. A frame of
        another size than the last (a camera that changed its resolution) ends every track: their
        boxes are in the old frame's pixels, and would be matched, or reported as predicted people,
        outside the new image.
        """
        if stamp is None:
            stamp = self._frames / 30.0
        self._frames += 1
        lost = self.registry.advance(stamp)
        size = (int(poses.image_size[0]), int(poses.image_size[1]))
        if self._image_size is not None and size != self._image_size:
            for track_id in self._tracks:
                self.registry.end(track_id)
            lost = sorted(set(lost) | set(self._tracks))
            self._tracks.clear()
        self._image_size = size
        for track_id in lost:
            self._tracks.pop(track_id, None)
        current = [_boxes(p) for p in poses.people]
        given = {p: person.track_id for p, person in enumerate(poses.people) if person.track_id is not None}
        ids = [i for i in self._tracks if i not in set(given.values())]
        pairs = []
        for t, track_id in enumerate(ids):
            for p, boxes in enumerate(current):
                if p in given:
                    continue
                iou = self._similarity(self._tracks[track_id].boxes, boxes)
                if iou >= self.iou_threshold and iou > 0.0:
                    pairs.append((iou, t, p))
        track_of: dict[int, int] = dict(given)
        used: set[int] = set()
        for _, t, p in sorted(pairs, key=lambda pair: -pair[0]):
            if t not in used and p not in track_of:
                used.add(t)
                track_of[p] = ids[t]
        people = []
        for p, person in enumerate(poses.people):
            track_id = track_of.get(p)
            if track_id is None or track_id not in self._tracks:
                track_id = self.registry.start(track_id)
                self._tracks[track_id] = _Track({}, person)
            else:
                self.registry.seen(track_id)
            track = self._tracks[track_id]
            track.boxes.update(current[p])
            track.last = person
            people.append(dataclasses.replace(person, track_id=track_id,
                                              track_state=self.registry.state(track_id)))
        seen = set(track_of.values())
        for track_id, track in self._tracks.items():
            if track_id in seen or self.registry.state(track_id) is not TrackState.PREDICTED:
                continue
            people.append(dataclasses.replace(track.last, id=len(people), track_id=track_id,
                                              track_state=TrackState.PREDICTED))
        return dataclasses.replace(poses, people=people, lost_track_ids=sorted(lost))

    @staticmethod
    def _similarity(track: dict[str, np.ndarray], person: dict[str, np.ndarray]) -> float:
        """IoU of the first part kind both have (body, then face, then hands)."""
        for kind in _KINDS:
            if kind in track and kind in person:
                return float(box_iou(track[kind][None], person[kind][None])[0, 0])
        return 0.0
