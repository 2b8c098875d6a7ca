"""The part experts streamed across the frames of a video: detect once, then follow.

:class:`StreamingExpertsEstimator` is for streams (a camera topic, a video, a
webcam), where people are about where they were a frame ago. Each tracked person
carries the regions where the landmark models look in the next frame: the body's
from the pose model's auxiliary landmarks, each hand's and the face's from their
own landmarks, or, for a hand or face not tracked yet, from the body's landmarks
(:mod:`dope_core.experts.propagation`). A frame then costs one landmark pass per
region, the passes of one frame running in parallel threads (one LiteRT
interpreter per thread and model; LiteRT releases the GIL while it computes).

The full per-frame search of :class:`~dope_core.experts.ensemble.ExpertsEstimator`
(person, palm and face detectors on the image and its tiles, palm and face detectors also on
the zoomed-out view; without the heavy body model's
refining pass and second opinions, ``body_refine``, so that a track's joints come from one
landmark model, except on the frames its second opinion keeps a track, below) runs:

* on the first frame and after :meth:`StreamingExpertsEstimator.reset`;
* on a schedule (:class:`DetectionSchedule`: every N frames and/or every T seconds),
  which finds people who entered since the last search: a newcomer waits at most
  that long (with ``DetectionSchedule.background``, such a search runs in a thread of its
  own, on models of its own, while the frames go on being followed; the people it finds
  outside the followed bodies join on the first frame after it ends);
* with ``schedule.on_loss="search"``, on the frame after a confirmed person (one seen in
  at least ``confirm_frames`` frames) was lost; by default (``"local"``) the person
  detectors look for that person in the same frame only around where it was lost
  (:func:`loss_region`, a landmark pass for the nearest proposals), which costs a few
  passes instead of a whole search; every lost body is sought so, a newcomer lost on its
  second frame included (``confirm_frames``);
* (between searches, a light *person scan* runs BlazePose's person detector on one view of
  the frame, the whole image or one coarse tile in turn, every ``schedule.scan_every_frames``
  frames, and the other person detectors that can look in a region (the ``ssd`` one) on the
  whole image's turn: a person it finds outside the followed bodies is followed from then
  on, so a newcomer usually waits ``scan_every_frames`` x (1 + coarse tiles) frames, not a
  whole search period, and one that the ``ssd`` detector sees on the whole image (which it
  also scans every ``schedule.scan_sources_every`` scans) a few frames; the finer tiles, for
  small people, are left to the searches;)
* on a scene cut, which also ends every track: the frame's coarse grey thumbnail
  (32 x 18) correlates under ``cut_correlation`` with the previous frame's (measured on
  the real clips of ``../shared/data/video``: consecutive frames 0.89-1.0 except
  within edited clips, different videos down to -0.3), or the image size changed.

A region whose landmark model's presence score falls under the part's threshold
(``experts.scores``) is dropped at once, so a scene cut or a jump leaves no ghost (a
followed body first gets a second opinion of the experts' heavier ``body_refine`` model in the
same region, ``second_opinion``, which keeps the track when it is sure of a person there): a
lost body ends its track (and is sought where it was lost, or makes the next frame
search); a lost hand or face of a tracked body is sought again where the body puts it (a
face in the region of the short-range face detector's face around the head when it finds
one, ``face_detector_at_heads``; a face not found, turned away or too small, only every
``face_retry_frames`` frames until the track has had a face, then every frame); a hand or
face found without a body by the last search is followed until lost,
then waits for the next search. A tracked body's hand is sought in the next frame first where
it was found in this one (``adaptive_hand_regions``): in the region its own landmarks give
when that region found it, at the body's wrist when the wrist found it; the other region
comes second, only when the first finds nothing.

On a search frame the people found keep the ids of the tracks whose last body box
they overlap most (IoU at least ``match_iou``); a tracked person the search missed
gets its landmark passes too and stays if they find it. A person found again within
``resume_frames`` frames of losing the track, near where it was lost (:func:`resumes`: centre
within 0.75 of the body height, height within a factor 1.5), takes that track's id back
(behind a tree, a missed frame); a scene cut forgets the lost tracks. A person's ``track_id``
therefore comes from the region that follows it; ids come from a
:class:`~dope_core.tracking.TrackIdAllocator` (the node's and the ``dope`` command's
:class:`~dope_core.tracking.PersonTracker` shares its own, keeps these ids and adds the
track states), never reused. Fusion into people is the per-frame mode's
(:func:`dope_core.fusion.assemble`), so both modes give the same kind of result.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Optional, Sequence

import cv2
import numpy as np

from dope_core.boxes import box_centre, box_contains, box_iou
from dope_core.experts.body_landmarks import BodyLandmarks, body_landmarks_in
from dope_core.experts.body_rules import inside, needs_recrop
from dope_core.experts.common import check_image, dedupe
from dope_core.experts.ensemble import ExpertsEstimator, face_regions, knuckle_hand_roi
from dope_core.experts.proposals import Proposal, merge_proposals
from dope_core.experts.propagation import body_roi, face_roi, face_roi_from_body, hand_roi, in_image
from dope_core.experts.roi import RotatedRect
from dope_core.experts.tflite import TFLiteModel
from dope_core.fusion import EXPERTS_MAX_HAND_TO_BODY, assemble
from dope_core.keypoints import Part
from dope_core.structures import PartPose, WholeBodyPoses
from dope_core.tracking import TrackIdAllocator

log = logging.getLogger(__name__)

_WRIST_OF_SLOT = {"right_hand": 16, "left_hand": 15}
"""BlazePose wrist landmark of each hand slot of a person."""
_NOSE = 0
"""BlazePose's nose landmark (its visibility: whether the face is turned to the camera)."""


BACKGROUND_REASONS = ("every_frames", "every_s", "loss not recovered")
"""The search reasons that :attr:`DetectionSchedule.background` sends to the background."""

ON_LOSS = ("local", "search")
"""What a lost person triggers (:attr:`DetectionSchedule.on_loss`; who counts: ``confirm_frames``)."""


@dataclass(frozen=True)
class DetectionSchedule:
    """When the detectors search the whole frame while people are tracked.

    Attributes:
        every_frames: search every this many frames (0: never by count).
        every_s: search when this many seconds passed since the last search (0: never by
            time). A time bound keeps a newcomer's wait short on a slow machine but makes
            searches a larger share of the frames there (measured: every 2 s on a machine
            that ran at 1 frame/s made 23 of 60 frames searches), hence off by default.
        scan_every_frames: between searches, run the person detectors on one view of the
            frame (the whole image, then each half-size tile, in turn; see
            :meth:`StreamingExpertsEstimator._scan`) every this many frames, to pick up
            newcomers sooner (0: off): a newcomer of a 960x540 stream
            waits about ``scan_every_frames`` x 7 frames instead of a search period.
        on_loss: what a lost person triggers: ``"local"``, the person detectors in
            a region around where it was lost (:func:`loss_region`), in the same frame;
            ``"search"``, a search of the whole next frame (hands, faces and tiles included:
            in a street scene, where people are lost every few frames, it made most of the
            streaming time).
        after_loss_frames: with ``on_loss="local"``, a person lost and not found again around
            where it was lost makes a search of the whole frame once this many frames have passed
            since the last search, rather than waiting for ``every_frames`` (0: off). The small
            passers-by of a street clip are lost a few frames after each search and seldom found
            again locally: with 10, 60 frames of openpose_video follow 9.57 people a frame instead of
            8.28 (the per-frame search 9.85), at 6.4 instead of 8.4 times the per-frame rate; the
            demo clip's two people cost one more search (docs/ros.md).
        scan_sources_every: the other person detectors that can look in a region (the ``ssd`` one,
            which sees people from the back and small ones) run on the whole image every this many
            scans, whichever view is BlazePose's turn (0: only on the whole image's turn, every
            ``scan_every_frames`` x 7 frames). With 2 (every 4th frame), 60 frames of vtest follow
            4.6 people a frame instead of 3.7 (the per-frame search 4.8), for 4 % of the demo
            clip's rate (docs/ros.md).
        background: the searches of the schedule (``every_frames``, ``every_s``, ``after_loss_frames``)
            run in a thread of their own, on models of their own, while the stream goes on being
            followed, instead of holding up the frame they are due on (a search costs several
            frames' time); the people a search finds outside the followed bodies join on the
            first frame after it ends, sought again there in the regions it found them in. For
            live streams where an even frame time matters more than a newcomer's few frames
            of delay (teleoperation). The first frame, a scene cut and a stream with nobody
            followed still search at once. The CPU time is the same; the results depend on the
            machine's speed, so offline runs that must repeat exactly leave it off.
    """

    every_frames: int = 30
    every_s: float = 0.0
    scan_every_frames: int = 2
    on_loss: str = "local"
    after_loss_frames: int = 10
    scan_sources_every: int = 2
    background: bool = False

    def __post_init__(self) -> None:
        if self.every_frames < 0 or self.every_s < 0 or self.scan_every_frames < 0 or self.after_loss_frames < 0 \
                or self.scan_sources_every < 0:
            raise ValueError(f"detection schedule must be >= 0, got every_frames={self.every_frames}, "
                             f"every_s={self.every_s}, scan_every_frames={self.scan_every_frames}, "
                             f"after_loss_frames={self.after_loss_frames}, "
                             f"scan_sources_every={self.scan_sources_every}")
        if self.on_loss not in ON_LOSS:
            raise ValueError(f"on_loss must be one of {', '.join(ON_LOSS)}, got {self.on_loss!r}")


@dataclass
class FrameReport:
    """What one frame cost and why.

    Attributes:
        searched: the detectors searched the whole frame.
        reason: why they did (``"first frame"``, ``"scene cut"``, ``"region lost"``,
            ``"every_frames"``, ``"loss not recovered"``, ``"every_s"``), empty when they did not.
        landmark_passes: landmark-model passes on tracked or body-derived regions.
        regions_dropped: regions whose landmark model found no part.
        tracks: tracked people after the frame.
        relocated: lost people sought around where they were lost (``on_loss="local"``).
        background: the search due on this frame (``reason``) was started in the background
            (:attr:`DetectionSchedule.background`); ``searched`` is false, the frame was followed.
        adopted: people that a background search, ended since the previous frame, found outside
            the followed bodies and that this frame's landmark passes found again.
    """

    searched: bool
    reason: str
    landmark_passes: int = 0
    regions_dropped: int = 0
    tracks: int = 0
    relocated: int = 0
    background: bool = False
    adopted: int = 0


@dataclass
class _Track:
    """A tracked person: its id and where to look for its parts in the next frame (pixels)."""

    track_id: int
    body: RotatedRect
    box: np.ndarray
    frames: int = 1
    hands: dict[str, RotatedRect] = field(default_factory=dict)
    hands_at_wrist: set[str] = field(default_factory=set)   # slots sought first at the body's wrist, ``hands`` second
    face: Optional[RotatedRect] = None
    face_wait: int = 0          # frames before the face is sought again where the body puts it
    face_seen: bool = False     # the person's face was found in one of the frames of this track


class _Seed(NamedTuple):
    """A landmark pass in ``rect`` (pixels) where a followed body puts a part its tracked region did not give.

    Attributes:
        at_wrist: a hand region at the body's wrist and knuckles.
        later: the hand's own tracked region, tried when this one finds nothing.
        nose: for a face detector's region, the body's nose (pixels): a face whose box holds it
            needs only the face expert's head score.
    """

    part: Part
    rect: RotatedRect
    at_wrist: bool = False
    later: Optional[RotatedRect] = None
    nose: Optional[np.ndarray] = None


@dataclass
class _Found:
    """The parts of one frame before fusion, with the track each body continues (``None``: new)."""

    bodies: list[BodyLandmarks] = field(default_factory=list)
    owners: dict[int, int] = field(default_factory=dict)       # id(body) -> track id
    hands: list[PartPose] = field(default_factory=list)
    faces: list[PartPose] = field(default_factory=list)
    detected: set[int] = field(default_factory=set)            # ids of parts from detectors or part tracks
    passes: int = 0
    dropped: int = 0
    lost: list[np.ndarray] = field(default_factory=list)        # boxes of bodies lost and not sought yet
    relocated: int = 0
    unrecovered: bool = False                                   # some of the relocated were not found again
    face_sought: set[int] = field(default_factory=set)         # track ids whose face was sought where the body puts it
    from_wrist: set[int] = field(default_factory=set)          # ids of the keypoints_2d of hands found at a body's wrist
    adopted: int = 0                                            # bodies of a background search found again


def resumes(lost_box: np.ndarray, box: np.ndarray, *, distance: float = 0.75, size_ratio: float = 1.5) -> bool:
    """Whether a body with ``box`` can be the person whose track was lost with ``lost_box``
    (``x1, y1, x2, y2``, pixels): its centre within ``distance`` of the larger box height of
    the lost box's centre, and heights within a factor ``size_ratio`` of each other."""
    h_lost, h = float(lost_box[3] - lost_box[1]), float(box[3] - box[1])
    if h_lost <= 0 or h <= 0 or max(h_lost, h) > size_ratio * min(h_lost, h):
        return False
    return float(np.linalg.norm(box_centre(box) - box_centre(lost_box))) <= distance * max(h_lost, h)


def loss_region(box: np.ndarray, width: int, height: int, *, scale: float = 2.0, min_side: float = 168.0
                ) -> np.ndarray:
    """Where to look for a person lost with body ``box`` (``x1, y1, x2, y2`` pixels): a square about
    the box centre, side ``scale`` times the box's longer side (at least ``min_side``, 3/4 of
    BlazePose's detector input), clipped to the ``width`` x ``height`` image (pixels)."""
    cx, cy = box_centre(box)
    half = max(scale * float(max(box[2] - box[0], box[3] - box[1])), min_side) / 2
    return np.array([max(0.0, cx - half), max(0.0, cy - half), min(float(width), cx + half),
                     min(float(height), cy + half)])


BACKGROUND_NICE = 10
"""How much lower (``nice`` steps) the background search's thread runs than the stream's (Linux)."""


def _lower_priority() -> None:
    """Run the calling thread ``BACKGROUND_NICE`` steps nicer, so that the frames followed meanwhile keep
    the CPU first (Linux schedules threads apart; elsewhere nothing changes)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError):
        pass


def _centre_of(proposal: Proposal) -> np.ndarray:
    """A proposal's body centre (pixels): its hips when it has alignment points, else its box centre."""
    return proposal.alignment[0] if proposal.alignment is not None else box_centre(proposal.box)


def _in_any(point: np.ndarray, boxes: Sequence[np.ndarray]) -> bool:
    """Whether ``point`` ``(x, y)`` lies in any of ``boxes`` (``x1, y1, x2, y2``; pixels)."""
    return any(box_contains(box, point) for box in boxes)


def _thumbnail(image: np.ndarray) -> np.ndarray:
    """The image as a 32 x 18 grey thumbnail, zero-mean and unit-norm (for cut detection)."""
    grey = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (32, 18), interpolation=cv2.INTER_AREA)
    v = grey.astype(np.float64).ravel()
    v -= v.mean()
    return v / max(float(np.linalg.norm(v)), 1e-9)


class StreamingExpertsEstimator:
    """The part experts on a stream of frames (see the module docstring).

    Args:
        experts: the per-frame estimator whose models and search it uses (built with
            ``parts``, ``num_threads`` and ``tile_fractions`` when not given).
        schedule: when the detectors search the whole frame, and how often the person scan runs.
        num_threads: landmark passes of one frame run in this many threads (each with
            its own single-threaded LiteRT interpreters); the detectors and a lone pass
            use the experts' own interpreters.
        match_iou: smallest body-box IoU for a searched person to continue a track.
        confirm_frames: frames a person must have been seen in for its loss to be sought
            (``schedule.on_loss``); ``None``: 1 (every lost body) with ``"local"``, whose search
            costs a few passes, 3 with ``"search"``, where every lost newcomer would make the next
            frame a whole-frame search. A newcomer's first pass is often a partial fit whose next
            region misses: the demo clip's second player, found by the person scan on a 142-px part
            of his 196-px body, was lost the next frame and, with 3, found again six frames later.
            Measured over 60 frames of five clips, ``"local"`` with 1 against 3: more of the
            per-frame mode's people followed (demo clip 1.43 against 1.35 people per frame, a
            street crowd 7.60 against 6.38), a few more spurious bodies sought again on an
            arm-wrestling close-up, for 0-19 % more CPU per frame (docs/ros.md).
        cut_correlation: thumbnails of two consecutive frames correlating under this are
            a scene cut (-1: never).
        face_retry_frames: a tracked body whose face was sought where its landmarks put it and
            not found (turned away, too small) is sought there again only after this many frames
            (1: every frame). Measured on the demo clip: 5 % of such passes found a face. Once the
            track has had a face, the face detector at the head runs on every frame
            (``face_detector_at_heads``).
        resume_frames: a person found again within this many frames of losing its track (behind
            a tree, a missed frame), near where it was lost (:func:`resumes`), keeps its track id
            (0: never; a scene cut or :meth:`reset` forgets the lost tracks).
        relocate_passes: with ``schedule.on_loss="local"``, landmark passes (besides re-crops)
            per lost person on the proposals nearest to where it was lost.
        face_detector_at_heads: a followed body's face not found in its tracked region (or never
            tracked) is sought first where BlazeFace's short-range detector finds a face in the region
            around the body's head (the search's body-guided face detection; its face then needs
            only the face expert's ``head_score`` when its box holds the body's nose), else in the
            region the body's face landmarks give; the detector runs only for bodies whose nose is
            visible, on the frames the face is due (``face_retry_frames``) and, once the track has
            had a face, on every frame. Small faces move faster than their tracked regions follow,
            and the body's landmarks place a 16-px face too loosely: on the demo clip (90 frames)
            the stream kept 25 faces against 10 without it (the per-frame search 33), for 1.6-5 %
            more CPU per frame on four clips (docs/ros.md).
        adaptive_hand_regions: a tracked body's hand found at the body's wrist (its own region,
            from its landmarks of the frame before, having lost it) is sought at the wrist first in
            the next frame, its own region second; ``False``: its own region always first, then the
            wrist. Small hands swinging fast outrun their own regions: on the demo clip's 17-px
            hands of running people the own region found its hand in 37 % of the frames, the wrist
            in 69 %; on the larger hands of an arm-wrestling close-up the own region in 97 %, the
            wrist in 47 %. Measured over 90 frames of five clips (docs/ros.md): on the demo clip 10 %
            less CPU per frame and a hand agreement with the per-frame mode of 0.589 on 189 pairs
            against 0.568 on 182, the same number of hands; the other clips within the noise.
        second_opinion: a followed body whose landmark pass scores under the body threshold gets one
            pass of the experts' refining model (``body_refine``, BlazePose's heavy model, unmirrored)
            in the same region (centred in the image); a presence of at least this keeps the track,
            with that pass's landmarks for the frame, when its body is at least the body expert's
            ``refine_min_height`` (64 px) tall (0: off; experts without a refining model: off). The small
            pedestrians of a street clip drop under the full model's threshold for a frame or two
            while the heavy model still sees them: on vtest 14 of the 35 failed passes of 60 frames
            scored at least 0.5 there (docs/ros.md).
        ids: where ``Person.track_id`` comes from: share a :class:`~dope_core.tracking.PersonTracker`'s
            (``tracker.registry.ids``), which then keeps these ids and adds track states;
            ``None``: people get no ``track_id``.
        clock: seconds, monotonic (for the schedule; a parameter for tests).
        parts, tile_fractions: as :class:`ExpertsEstimator`, when ``experts`` is not given.
    """

    name = "experts"
    device = "cpu"
    tracks_people = True

    def __init__(self, experts: ExpertsEstimator | None = None, *, schedule: DetectionSchedule = DetectionSchedule(),
                 num_threads: int = 2, match_iou: float = 0.3, confirm_frames: Optional[int] = None,
                 cut_correlation: float = 0.5, face_retry_frames: int = 4, resume_frames: int = 30,
                 relocate_passes: int = 2, face_detector_at_heads: bool = True, adaptive_hand_regions: bool = True,
                 second_opinion: float = 0.8, ids: TrackIdAllocator | None = None,
                 clock: Callable[[], float] = time.monotonic, parts: Sequence[Part | str] = tuple(Part),
                 tile_fractions: Sequence[float] = (0.5,)) -> None:
        if num_threads < 1:
            raise ValueError(f"num_threads must be at least 1, got {num_threads}")
        if face_retry_frames < 1:
            raise ValueError(f"face_retry_frames must be at least 1, got {face_retry_frames}")
        if resume_frames < 0:
            raise ValueError(f"resume_frames must be >= 0, got {resume_frames}")
        if relocate_passes < 0:
            raise ValueError(f"relocate_passes must be >= 0, got {relocate_passes}")
        if not 0.0 <= second_opinion <= 1.0:
            raise ValueError(f"second_opinion must be in [0, 1], got {second_opinion}")
        if confirm_frames is None:
            confirm_frames = 1 if schedule.on_loss == "local" else 3
        if confirm_frames < 1:
            raise ValueError(f"confirm_frames must be at least 1, got {confirm_frames}")
        self.experts = experts or ExpertsEstimator(parts=parts, num_threads=num_threads, tile_fractions=tile_fractions)
        if self.experts.body is None:
            raise ValueError("streaming follows people by their bodies: the experts need a body expert")
        self.schedule = schedule
        self.num_threads = num_threads
        self.match_iou = match_iou
        self.confirm_frames = confirm_frames
        self.cut_correlation = cut_correlation
        self.face_retry_frames = face_retry_frames
        self.resume_frames = resume_frames
        self.relocate_passes = relocate_passes
        self.adaptive_hand_regions = adaptive_hand_regions
        self.face_detector_at_heads = face_detector_at_heads
        self.second_opinion = second_opinion
        self.ids = ids
        self._clock = clock
        self._closed = False
        self._pool = (ThreadPoolExecutor(max_workers=num_threads, thread_name_prefix="dope_landmarks")
                      if num_threads > 1 else None)
        self._searcher: ExpertsEstimator | None = None      # the background search's own body models
        self._search_pool = (ThreadPoolExecutor(max_workers=1, thread_name_prefix="dope_search",
                                                initializer=_lower_priority)
                             if schedule.background else None)
        self._background: tuple[Future, int] | None = None   # (the search, the generation it was started in)
        self._generation = 0                    # a background search started before a reset or cut is dropped
        self.adopted = 0
        self.background_failures = 0    # background searches that raised (logged; their people wait for the next)
        self._local = threading.local()
        self.searches = 0
        self.relocations = 0
        self.second_opinions = 0        # refining-model passes made for failing tracks (kept or not)
        self.second_opinions_kept = 0
        self.frames = 0
        self.last_frame: FrameReport | None = None
        self.reset()

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget every track and search the next frame (a new stream); ids are not reused."""
        self._tracks: list[_Track] = []
        self._part_tracks: list[tuple[Part, RotatedRect]] = []
        self._gone: list[tuple[int, np.ndarray, int]] = []     # (track id, last body box, frame number lost)
        self._started = 0
        self._last_search: tuple[int, float] | None = None      # (frame number, clock)
        self._unrecovered = False               # a person lost since the last search was not found again
        self._lost: list[np.ndarray] = []       # boxes of bodies lost (seen in confirm_frames), not sought yet
        self._thumbnail: np.ndarray | None = None
        self._scan_turn = 0
        self._scan_passes = 0
        self._size: tuple[int, ...] = ()
        self._forget_background()

    def _forget_background(self) -> None:
        """Drop what a background search started before now would bring (a new stream, a scene cut)."""
        self._generation += 1
        self._background = None
        self._adoptable: list[BodyLandmarks] = []

    @property
    def active_tracks(self) -> int:
        """People tracked now."""
        return len(self._tracks)

    @property
    def tracks_started(self) -> int:
        """Tracks started since construction or :meth:`reset`."""
        return self._started

    def close(self) -> None:
        """Stop the landmark threads; the estimator takes no frame after this."""
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._search_pool is not None:
            self._search_pool.shutdown(wait=True, cancel_futures=True)

    def _search_reason(self, image: np.ndarray, now: float) -> str:
        thumbnail, size = _thumbnail(image), image.shape
        cut = self._thumbnail is not None and (size != self._size
                                               or float(thumbnail @ self._thumbnail) < self.cut_correlation)
        self._thumbnail, self._size = thumbnail, size
        if cut:
            self._tracks, self._part_tracks, self._gone = [], [], []
            self._forget_background()
            return "scene cut"
        if self._last_search is None:
            return "first frame"
        if self._lost and self.schedule.on_loss == "search":
            return "region lost"
        frame, t = self._last_search
        if self.schedule.every_frames and self.frames - frame >= self.schedule.every_frames:
            return "every_frames"
        if self._unrecovered and self.schedule.after_loss_frames and self.frames - frame >= self.schedule.after_loss_frames:
            return "loss not recovered"
        if self.schedule.every_s and now - t >= self.schedule.every_s:
            return "every_s"
        return ""

    # ----------------------------------------------------------------- landmark passes
    def _twin(self, part: Part):
        """This thread's copy of the expert of ``part``, with its own single-threaded landmark interpreter."""
        twins = getattr(self._local, "twins", None)
        if twins is None:
            twins = self._local.twins = {}
        if part not in twins:
            expert = {Part.BODY: self.experts.body, Part.HAND: self.experts.hand, Part.FACE: self.experts.face}[part]
            twin = copy.copy(expert)
            twin.landmarks = TFLiteModel(expert.landmarks.name, num_threads=1)
            twins[part] = twin
        return twins[part]

    def _passes(self, image: np.ndarray, jobs: list[tuple[Part, RotatedRect]]) -> list:
        """Landmark passes ``(part, region)`` on ``image``, in parallel when there are several."""
        def one(job: tuple[Part, RotatedRect], twin: bool):
            part, rect = job
            expert = self._twin(part) if twin else {Part.BODY: self.experts.body, Part.HAND: self.experts.hand,
                                                   Part.FACE: self.experts.face}[part]
            return expert.landmarks_in(image, rect)

        if self._pool is None or len(jobs) < 2:
            return [one(j, False) for j in jobs]
        return list(self._pool.map(lambda j: one(j, True), jobs))

    # ----------------------------------------------------------------- one frame
    def __call__(self, image: np.ndarray) -> WholeBodyPoses:
        """The people in the next frame of the stream (RGB ``uint8`` ``(H, W, 3)``), with track ids.

        Raises:
            ValueError: not an RGB ``uint8`` image of at least 2x2 pixels.
            RuntimeError: the estimator was closed.
        """
        if self._closed:
            raise RuntimeError("this streaming estimator was closed: make a new one for another stream")
        check_image(image)
        now = self._clock()
        reason = self._search_reason(image, now)
        self._collect_background()
        background = bool(reason) and self._in_background(reason)
        if background and self._background is not None:
            reason = background = ""        # the last one is still running: this one waits for it
        if background:
            self._start_background(image)
        searched = bool(reason) and not background
        pending, self._lost = ([] if searched else self._lost), []
        found = (self._search(image) if searched
                 else self._follow(image, self._tracks, self._part_tracks, scan=True, lost=pending))
        if reason:
            self._last_search = (self.frames, now)
            self.searches += 1
            self._unrecovered = False
        self._unrecovered |= found.unrecovered
        self.frames += 1
        result = self._fuse(image, found)
        self._lost += found.lost
        self.relocations += found.relocated
        self.last_frame = FrameReport(searched=searched, reason=reason, landmark_passes=found.passes,
                                      regions_dropped=found.dropped, tracks=len(self._tracks),
                                      relocated=found.relocated, background=bool(background),
                                      adopted=found.adopted)
        return result

    # ----------------------------------------------------------------- background searches
    def _in_background(self, reason: str) -> bool:
        """Whether the search due for ``reason`` runs in the background: with ``schedule.background``,
        for the schedule's searches while people are followed (the first frame, a scene cut and
        an empty stream search at once: there is nobody to follow meanwhile)."""
        return self._search_pool is not None and bool(self._tracks) and reason in BACKGROUND_REASONS

    def _start_background(self, image: np.ndarray) -> None:
        """:meth:`_background_search` of ``image`` (a copy) in the search thread."""
        self._background = (self._search_pool.submit(self._background_search, image.copy()), self._generation)

    def _background_search(self, image: np.ndarray) -> list[BodyLandmarks]:
        """(In the search thread.) The body expert's search of ``image`` (person detectors on the image and
        its tiles, a landmark pass per proposal) on models of its own (the experts' configuration, one LiteRT
        thread), made in this thread on its first search so that loading them holds up no frame. Hands and
        faces are not searched here: the people it adds get theirs where their bodies put them, as a newcomer
        of the person scan does."""
        if self._searcher is None:
            self._searcher = ExpertsEstimator(parts=(Part.BODY,), scores=self.experts.scores, num_threads=1,
                                              config=self.experts.config)
        return self._searcher.body.detect_landmarks(image, min_score=self.experts.scores[Part.BODY], refine=False)

    def wait_for_search(self, timeout: Optional[float] = None) -> bool:
        """Wait at most ``timeout`` seconds (``None``: as long as it takes) for a background search now
        running to end; returns whether none is running. Its people join on the next frame."""
        if self._background is None:
            return True
        job = self._background[0]
        futures_wait([job], timeout=timeout)
        return job.done()

    def _collect_background(self) -> None:
        """The bodies of a background search that has ended, kept for :meth:`_follow` to adopt."""
        if self._background is None or not self._background[0].done():
            return
        (job, generation), self._background = self._background, None
        if generation != self._generation or job.cancelled():
            return
        try:
            bodies = job.result()
        except Exception as e:   # a failed search fails no frame: the people it would add wait for the next one
            self.background_failures += 1
            log.warning("background person search failed (%s: %s); the stream goes on, its people wait for the "
                        "next search", type(e).__name__, e)
            return
        self._adoptable = [b for b in bodies if b.pose.score >= self.experts.scores[Part.BODY]]

    def _adopt(self, image: np.ndarray, bodies: Sequence[BodyLandmarks]) -> tuple[list[BodyLandmarks], int]:
        """The bodies of an ended background search whose box centre lies in none of ``bodies``
        (people followed or found on this frame), sought again on this frame: a landmark pass in
        the region each one's landmarks gave on the searched frame, kept when it finds a body.
        Returns those bodies and the number of passes."""
        adoptable, self._adoptable = self._adoptable, []
        boxes = [b.pose.box for b in bodies]
        rects = [r for b in adoptable if not _in_any(box_centre(b.pose.box), boxes)
                 and (r := body_roi(b)) is not None and in_image(r, image.shape[1], image.shape[0])]
        rects = rects[: max(0, self.experts.body.max_people - len(bodies))]
        found = self._passes(image, [(Part.BODY, r) for r in rects])
        return [b for b in found if b is not None and b.pose.score >= self.experts.scores[Part.BODY]], len(rects)

    def _search(self, image: np.ndarray) -> _Found:
        """The per-frame search; searched people continue the tracks they overlap; missed tracks are followed."""
        bodies, hands, faces = self.experts.detect_landmarks(image, refine=False)
        found = _Found(bodies=list(bodies), hands=list(hands), faces=list(faces))
        found.detected = {id(p) for p in hands + faces}
        pairs = []
        if self._tracks and bodies:
            iou = box_iou(np.stack([t.box for t in self._tracks]), np.stack([b.pose.box for b in bodies]))
            pairs = sorted(((iou[t, b], t, b) for t in range(len(self._tracks)) for b in range(len(bodies))
                            if iou[t, b] >= self.match_iou), reverse=True)
        matched_tracks: set[int] = set()
        for _, t, b in pairs:
            if t not in matched_tracks and id(bodies[b]) not in found.owners:
                matched_tracks.add(t)
                found.owners[id(bodies[b])] = self._tracks[t].track_id
        missed = [track for t, track in enumerate(self._tracks) if t not in matched_tracks]
        if missed:
            more = self._follow(image, missed, [], relocate=False)
            found.passes, found.dropped, found.lost = more.passes, more.dropped, more.lost
            found.owners.update(more.owners)
            found.from_wrist |= more.from_wrist
            found.bodies += more.bodies
            found.hands += more.hands
            found.faces += more.faces
            self._dedupe(found)
        return found

    def _follow(self, image: np.ndarray, tracks: Sequence[_Track], part_tracks: Sequence[tuple[Part, RotatedRect]],
                *, scan: bool = False, lost: Sequence[np.ndarray] = (), relocate: bool = True) -> _Found:
        """Landmark passes in the regions of ``tracks`` (then where their bodies put missing hands and
        faces; a hand of ``_Track.hands_at_wrist`` at its body's wrist first, in its own region
        last, only when the wrist found nothing); with ``scan``, the frame's turn of the person
        scan (:meth:`_scan`) too. Bodies
        lost here (seen in at least ``confirm_frames`` frames) and the ``lost`` boxes of the
        previous frame are sought around where they were lost (:meth:`_relocate`) when
        ``relocate`` and ``schedule.on_loss`` is ``"local"``; else they are returned in
        ``_Found.lost``."""
        ex = self.experts
        thr = ex.scores
        # A body's own hands (its slots, or sought at its wrist) need only the hand expert's wrist score.
        wrist_thr = min(thr[Part.HAND], ex.hand.wrist_score) if ex.hand is not None else thr[Part.HAND]
        # ... and a body's own face (its slot) the face expert's head score.
        head_thr = min(thr[Part.FACE], ex.face.head_score) if ex.face is not None else thr[Part.FACE]
        jobs: list[tuple[Part, RotatedRect]] = []
        keys: list[tuple[str, int, str]] = []   # (kind, index, slot)
        for i, track in enumerate(tracks):
            jobs.append((Part.BODY, track.body))
            keys.append(("body", i, ""))
            if ex.hand is not None:
                for slot, rect in track.hands.items():
                    if slot not in track.hands_at_wrist:
                        jobs.append((Part.HAND, rect))
                        keys.append(("hand", i, slot))
            if ex.face is not None and track.face is not None:
                jobs.append((Part.FACE, track.face))
                keys.append(("face", i, ""))
        for j, (part, rect) in enumerate(part_tracks):
            if (ex.hand if part is Part.HAND else ex.face) is not None:
                jobs.append((part, rect))
                keys.append(("part", j, ""))
        results = self._passes(image, jobs)
        found = _Found(passes=len(jobs) + self._second_opinions(image, jobs, results))
        alive: dict[int, BodyLandmarks] = {}
        have: set[tuple[int, str]] = set()
        attached: list[PartPose] = []
        for (kind, i, slot), res in zip(keys, results):
            part = Part.BODY if kind == "body" else (res.part if res is not None else Part.FACE)
            score = (res.pose.score if kind == "body" else res.score) if res is not None else 0.0
            if score < {"hand": wrist_thr, "face": head_thr}.get(kind, thr[part]):
                found.dropped += 1
                if kind == "body" and tracks[i].frames >= self.confirm_frames:
                    found.lost.append(tracks[i].box)
                continue
            if kind == "body":
                alive[i] = res
            elif kind == "part":
                found.detected.add(id(res))
                (found.hands if res.part is Part.HAND else found.faces).append(res)
            else:
                have.add((i, slot if kind == "hand" else "face"))
                attached.append(res)
        newcomers = self._scan(image, list(alive.values())) if scan else []
        found.passes += self._scan_passes
        if self._adoptable:
            adopted, passes = self._adopt(image, [*alive.values(), *newcomers])
            newcomers += adopted
            found.passes += passes
            found.adopted = len(adopted)
            self.adopted += len(adopted)
        if relocate and self.schedule.on_loss == "local" and (found.lost or lost):
            boxes, found.lost = [*lost, *found.lost], []
            back, passes = self._relocate(image, [*alive.values(), *newcomers], boxes)
            newcomers += back
            found.passes += passes
            found.relocated = len(boxes)
            found.unrecovered = len(back) < len(boxes)
        # Parts of tracked bodies whose region was lost or never set: where the body puts them.
        seeds: list[_Seed] = []
        for i, body in [*alive.items(), *((None, b) for b in newcomers)]:
            if ex.hand is not None:
                for slot, wrist in _WRIST_OF_SLOT.items():
                    if (i, slot) not in have:
                        later = tracks[i].hands.get(slot) if i is not None and slot in tracks[i].hands_at_wrist else None
                        rect = knuckle_hand_roi(body.landmarks_2d, wrist)
                        if rect is not None and in_image(rect, image.shape[1], image.shape[0]):
                            seeds.append(_Seed(Part.HAND, rect, at_wrist=True, later=later))
                        elif later is not None:
                            seeds.append(_Seed(Part.HAND, later))
            due = i is None or tracks[i].face_wait <= 0
            if ex.face is not None and (i, "face") not in have and (due or tracks[i].face_seen):
                if i is not None and due:
                    found.face_sought.add(tracks[i].track_id)
                rect, nose = None, None
                if self.face_detector_at_heads and body.visibility[_NOSE] >= 0.5:
                    near = ex.face.regions_near(image, face_regions([body.pose]))
                    rect, nose = (near[0], body.nose) if near else (None, None)
                if rect is None and due:
                    rect = face_roi_from_body(body)
                if rect is not None and in_image(rect, image.shape[1], image.shape[0]):
                    seeds.append(_Seed(Part.FACE, rect, nose=nose))
        more = self._passes(image, [(seed.part, seed.rect) for seed in seeds])
        found.passes += len(seeds)
        retry: list[tuple[Part, RotatedRect]] = []
        for seed, res in zip(seeds, more):
            vouched = seed.nose is not None and res is not None and box_contains(res.box, seed.nose)
            need = wrist_thr if seed.part is Part.HAND else head_thr if vouched else thr[seed.part]
            if res is not None and res.score >= need:
                attached.append(res)
                if seed.at_wrist:
                    found.from_wrist.add(id(res.keypoints_2d))
            elif seed.later is not None:
                retry.append((Part.HAND, seed.later))
        for res in self._passes(image, retry):
            if res is not None and res.score >= wrist_thr:
                attached.append(res)
        found.passes += len(retry)
        for i, body in alive.items():
            found.bodies.append(body)
            found.owners[id(body)] = tracks[i].track_id
        found.bodies += newcomers
        for res in attached:
            (found.hands if res.part is Part.HAND else found.faces).append(res)
        self._dedupe(found)
        return found

    def _second_opinions(self, image: np.ndarray, jobs: Sequence[tuple[Part, RotatedRect]], results: list) -> int:
        """The refining model's pass in the region of each body pass of ``results`` scoring under the
        body threshold (``second_opinion``), unless the region is centred outside the image (as the
        per-frame second opinions: there the heavy model fits skeletons on a close-up hand). One
        scoring at least ``second_opinion`` whose body is at least the body expert's
        ``refine_min_height`` tall replaces it in ``results`` (on smaller bodies the heavy model fits
        skeletons to the blurred background of a street clip). Returns the number of passes made."""
        body = self.experts.body
        if not self.second_opinion or body.refine_model is None:
            return 0
        made, frame = 0, np.array([0, 0, image.shape[1], image.shape[0]])
        for k, ((part, rect), res) in enumerate(zip(jobs, results)):
            if part is not Part.BODY or not inside(rect, frame) \
                    or (res is not None and res.pose.score >= self.experts.scores[Part.BODY]):
                continue
            other = body_landmarks_in(body.refine_landmarks, image, rect)
            made += 1
            if other.pose.score >= self.second_opinion \
                    and other.pose.box[3] - other.pose.box[1] >= body.refine_min_height:
                results[k] = dataclasses.replace(other, refined=True)
                self.second_opinions_kept += 1
        self.second_opinions += made
        return made

    def _scan(self, image: np.ndarray, bodies: Sequence[BodyLandmarks]) -> list[BodyLandmarks]:
        """Newcomers between searches: every ``schedule.scan_every_frames`` frames, BlazePose's detector
        on one view of the frame (the whole image, then each coarse tile, in turn), with the other
        person detectors (:meth:`~dope_core.experts.body.BodyExpert.proposals_in`) on the whole
        image on its turn and every ``schedule.scan_sources_every`` scans; landmark passes as in
        :meth:`_newcomers`."""
        self._scan_passes = 0
        body = self.experts.body
        every = self.schedule.scan_every_frames
        if not every or self.frames % every:
            return []
        h, w = image.shape[:2]
        views = body.detector.coarse_views(w, h)
        scan, turn = self._scan_turn, self._scan_turn % len(views)
        self._scan_turn += 1
        sources = turn == 0 or bool(self.schedule.scan_sources_every and scan % self.schedule.scan_sources_every == 0)
        floor = min(body.detector_score, self.experts.scores[Part.BODY])
        proposals = body.proposals_in(image, [views[turn]], sources=turn == 0, min_score=floor)
        if sources and turn != 0:
            proposals = merge_proposals([*proposals, *body.proposals_in(image, [views[0]], min_score=floor,
                                                                         detector=False)],
                                        max_candidates=body.max_candidates)
        found, self._scan_passes = self._newcomers(image, proposals, bodies, body.max_people)
        return found

    def _relocate(self, image: np.ndarray, bodies: Sequence[BodyLandmarks], lost: Sequence[np.ndarray]
                  ) -> tuple[list[BodyLandmarks], int]:
        """People lost with body boxes ``lost``, sought by the person detectors in each one's
        :func:`loss_region` only: the ``relocate_passes`` proposals per lost person nearest to where
        one was lost get landmark passes as in :meth:`_newcomers`."""
        body = self.experts.body
        h, w = image.shape[:2]
        proposals = body.proposals_in(image, [loss_region(b, w, h) for b in lost],
                                      min_score=min(body.detector_score, self.experts.scores[Part.BODY]))
        centres = np.stack([box_centre(b) for b in lost])
        heights = np.array([max(float(b[3] - b[1]), 1.0) for b in lost])
        distance = [float(np.min(np.linalg.norm(centres - _centre_of(p), axis=1) / heights)) for p in proposals]
        nearest = [proposals[k] for k in np.argsort(distance, kind="stable")]
        return self._newcomers(image, nearest, bodies, self.relocate_passes * len(lost))

    def _newcomers(self, image: np.ndarray, proposals: Sequence[Proposal], bodies: Sequence[BodyLandmarks],
                   limit: int) -> tuple[list[BodyLandmarks], int]:
        """Landmark passes for the first ``limit`` of ``proposals`` whose body centre lies in no box of
        ``bodies`` (weak proposals are mostly parts of people already followed), within the body
        expert's ``max_people``; a second pass in the region its landmarks give for a box-only
        proposal (:func:`~dope_core.experts.body_rules.needs_recrop`). Returns the bodies scoring at least
        the body threshold that are no part of a body of ``bodies`` by the search's nested test
        (:meth:`~dope_core.experts.body.BodyExpert.nested_part`: a proposal's hips may lie below a followed
        person's box while its pass fits a narrow skeleton inside it), and the number of passes."""
        boxes = [b.pose.box for b in bodies]
        fresh = [p for p in proposals if not _in_any(_centre_of(p), boxes)]
        jobs = [(p, p.roi()) for p in fresh[: max(0, min(limit, self.experts.body.max_people - len(bodies)))]]
        jobs = [(p, r) for p, r in jobs if r is not None]
        found = self._passes(image, [(Part.BODY, r) for _, r in jobs])
        again = [(k, b.next_roi()) for k, (b, (p, _)) in enumerate(zip(found, jobs))
                 if p.alignment is None and needs_recrop(b)]
        again = [(k, r) for k, r in again if r is not None]
        for (k, _), b in zip(again, self._passes(image, [(Part.BODY, r) for _, r in again])):
            found[k] = b
        return ([b for (p, _), b in zip(jobs, found) if b.pose.score >= self.experts.scores[Part.BODY]
                 and not self.experts.body.nested_part(p, b, boxes)], len(jobs) + len(again))

    def _dedupe(self, found: _Found) -> None:
        """One body per person, one hand per hand, one face per face (the per-frame rules)."""
        found.bodies = self.experts.body.dedupe(found.bodies)
        if self.experts.hand is not None:
            found.hands = self.experts.hand.dedupe(found.hands)
        if self.experts.face is not None:
            found.faces = dedupe(found.faces, [p.box for p in found.faces], [p.score for p in found.faces],
                                 self.experts.face.dedupe_iou)

    def _resumed(self, box: np.ndarray) -> Optional[int]:
        """The id of the lost track that a new body with ``box`` resumes (the nearest that
        :func:`resumes` accepts, lost within ``resume_frames``), taken off the lost list; else ``None``."""
        if not self.resume_frames:
            return None
        near = [(float(np.linalg.norm(box_centre(box) - box_centre(g[1]))), k) for k, g in enumerate(self._gone)
                if resumes(g[1], box)]
        if not near:
            return None
        return self._gone.pop(min(near)[1])[0]

    def _fuse(self, image: np.ndarray, found: _Found) -> WholeBodyPoses:
        """People from the frame's parts; the tracks and regions of the next frame from them."""
        h, w = image.shape[:2]
        found.bodies = self.experts.without_skeletons_on_hands(found.bodies, found.hands, found.faces)
        found.hands = self.experts.without_hands_on_bodies(found.bodies, found.hands)
        everyone = assemble([b.pose for b in found.bodies], found.hands, found.faces, image_size=(w, h),
                            backend=self.name, face_points=[b.nose for b in found.bodies],
                            max_hand_to_body=EXPERTS_MAX_HAND_TO_BODY, body_reach=self.experts.config.hand_body_reach)
        landmarks = {id(b.pose): b for b in found.bodies}
        seen_in = {t.track_id: t.frames for t in self._tracks}
        face_wait = {t.track_id: t.face_wait for t in self._tracks}
        face_seen = {t.track_id for t in self._tracks if t.face_seen}
        tracks: list[_Track] = []
        people = []
        continued = {found.owners[id(b)] for b in found.bodies if id(b) in found.owners}
        self._gone = [g for g in self._gone if self.frames - g[2] <= self.resume_frames and g[0] not in continued]
        self._gone += [(t.track_id, t.box, self.frames) for t in self._tracks if t.track_id not in continued]
        for person in everyone.people:
            body = landmarks[id(person.body)]
            track_id = found.owners.get(id(body))
            if track_id is None:
                track_id = self._resumed(person.body.box)
            if track_id is None:
                track_id = self.ids.next() if self.ids is not None else -1 - self._started
                self._started += 1
            people.append(dataclasses.replace(person, track_id=track_id if self.ids is not None else None))
            rect = body_roi(body)
            frames = seen_in.get(track_id, 0) + 1
            if rect is None or not in_image(rect, w, h) or len(tracks) >= self.experts.body.max_people:
                if frames >= self.confirm_frames:
                    self._lost.append(person.body.box.copy())
                continue
            track = _Track(track_id=track_id, body=rect, box=person.body.box.copy(), frames=frames,
                           face_seen=person.face is not None or track_id in face_seen)
            for slot in ("left_hand", "right_hand"):
                hand = getattr(person, slot)
                hand_rect = hand_roi(hand) if hand is not None else None
                if hand_rect is not None and in_image(hand_rect, w, h):
                    track.hands[slot] = hand_rect
                    if self.adaptive_hand_regions and id(hand.keypoints_2d) in found.from_wrist:
                        track.hands_at_wrist.add(slot)
            face_rect = face_roi(person.face) if person.face is not None else None
            track.face = face_rect if face_rect is not None and in_image(face_rect, w, h) else None
            if person.face is None:   # sought in vain: wait; not sought: one frame less to wait
                track.face_wait = (self.face_retry_frames - 1 if track_id in found.face_sought
                                   else face_wait.get(track_id, 0) - 1)
            tracks.append(track)
        self._tracks = tracks
        self._part_tracks = []
        for part in everyone.unassigned:   # followed on their own: found so, or sure enough to be found so
            rect = hand_roi(part) if part.part is Part.HAND else face_roi(part)
            alone = id(part) in found.detected or part.score >= self.experts.scores[part.part]
            if alone and rect is not None and in_image(rect, w, h):
                self._part_tracks.append((part.part, rect))
        parts = self.experts.parts
        if Part.BODY in parts:
            return dataclasses.replace(everyone, people=people)
        return assemble([], found.hands, found.faces, image_size=(w, h), backend=self.name)
