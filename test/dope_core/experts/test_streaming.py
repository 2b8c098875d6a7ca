"""Streaming the experts across frames, on real frames.

Default tier: a camera pan over a real portrait (matplotlib's Grace Hopper), a jump of
the person across the image and a cut to a real photo without people. Real-data tier:
the sports2d clip (two people walking) cut into another real video.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from dope_core.boxes import box_iou
from dope_core.experts.streaming import DetectionSchedule, StreamingExpertsEstimator
from dope_core.image_io import read_image
from dope_core.keypoints import Part
from dope_core.tracking import TrackIdAllocator


@pytest.fixture(scope="module")
def no_people() -> np.ndarray:
    from matplotlib import cbook

    return read_image(cbook.get_sample_data("Minduka_Present_Blue_Pack.png", asfileobj=False))


def _pan(image: np.ndarray, n: int, *, step: int = 6, width: int = 440, height: int = 600) -> list[np.ndarray]:
    """``n`` frames of a camera panning right over ``image`` (``step`` pixels a frame)."""
    return [np.ascontiguousarray(image[:height, i * step:i * step + width]) for i in range(n)]


def _body_boxes(result) -> np.ndarray:
    """``(N, 4)`` boxes (pixels) of the bodies of a result."""
    return np.array([p.body.box for p in result.people if p.body is not None]).reshape(-1, 4)


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _head(person) -> np.ndarray:
    return person.body.keypoints_2d.mean(axis=0)


def test_a_panned_person_is_followed_without_searching(experts, portrait):
    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0), num_threads=2,
                                       ids=TrackIdAllocator(0))
    frames = _pan(portrait, 6)
    results = [stream(f) for f in frames]
    assert [r.people and True for r in results] == [True] * 6
    assert stream.last_frame is not None and stream.searches == 1            # only the first frame searched
    assert {p.track_id for r in results for p in r.people} == {0}            # one person, one id
    # The regions follow the pan: the face moves left by `step` pixels a frame.
    shift = (results[-1].people[0].face.keypoints_2d - results[0].people[0].face.keypoints_2d).mean(axis=0)
    assert -35 < shift[0] < -25 and abs(shift[1]) < 5
    # Followed frames agree with searching each frame from scratch (2D, pixels).
    for frame, got in zip(frames[1:], results[1:]):
        ref = experts.detect_parts(frame)
        person = got.people[0]
        body, face = ref[Part.BODY][0], ref[Part.FACE][0]       # per-frame fusion may leave the face unassigned
        size = np.ptp(body.keypoints_2d, axis=0).max()
        assert np.median(np.linalg.norm(person.body.keypoints_2d - body.keypoints_2d, axis=1)) < 0.05 * size
        assert person.face is not None
        assert np.median(np.linalg.norm(person.face.keypoints_2d - face.keypoints_2d, axis=1)) < 0.02 * size


def test_a_stream_follows_people_with_one_body_model(experts, portrait, monkeypatch):
    """The heavy model's refining pass (``body_refine``) is for single images: the searches of a
    stream ask for none (nor for its second opinions of proposals), so a track's joints come from
    one model while that model keeps finding the person."""
    heavy = experts.body.refine_landmarks
    assert heavy is not None                                                  # the default has one
    assert experts.body.detect_landmarks(portrait)[0].refined                 # and a single image gets it

    class Refuse:
        input_size = heavy.input_size

        def __call__(self, tensor):
            raise AssertionError("a stream ran the refining model")

    monkeypatch.setattr(experts.body, "refine_landmarks", Refuse())
    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0), num_threads=2,
                                       ids=TrackIdAllocator(0))
    results = [stream(f) for f in _pan(portrait, 3)]        # a search (the first frame), then followed
    assert stream.searches == 1 and all(len(r.people) == 1 for r in results)


def test_a_stream_never_loads_the_refining_model(portrait):
    """The heavy model is loaded on first use: a node or video that streams does not pay its
    start-up time or memory until it needs a second opinion on a body it lost."""
    from dope_core.experts.ensemble import ExpertsEstimator

    fresh = ExpertsEstimator()
    stream = StreamingExpertsEstimator(fresh, num_threads=2, ids=TrackIdAllocator(0))
    assert [len(stream(f).people) for f in _pan(portrait, 2)] == [1, 1]
    assert "refine_landmarks" not in vars(fresh.body)                        # never built
    assert fresh.body.refine_landmarks is not None and "refine_landmarks" in vars(fresh.body)


def _body_passes_failing(stream, monkeypatch, *, after_frames: int = 1) -> None:
    """The stream's own body model finds nobody (presence 0) in every region from frame ``after_frames`` on:
    the real passes run, their scores are zeroed."""
    run = stream._passes

    def passes(image, jobs):
        out = run(image, jobs)
        if stream.frames < after_frames:
            return out
        return [dataclasses.replace(r, pose=dataclasses.replace(r.pose, score=0.0)) if part is Part.BODY else r
                for (part, _), r in zip(jobs, out)]

    monkeypatch.setattr(stream, "_passes", passes)


def test_a_body_its_model_loses_is_kept_by_the_heavy_models_second_opinion(experts, portrait, no_people, monkeypatch):
    """A followed body whose own model fails in its region gets one pass of the heavy model there: sure
    of the person, it keeps the track (same id, its joints); on a region showing no one it refuses; a
    body under 64 px (``refine_min_height``), a region centred outside the image (the bare portrait:
    the body's centre lies below it) or ``second_opinion=0`` ends the track."""
    schedule = DetectionSchedule(every_frames=0, scan_every_frames=0, after_loss_frames=0)
    stream = StreamingExpertsEstimator(experts, schedule=schedule, num_threads=2, ids=TrackIdAllocator(0))
    _body_passes_failing(stream, monkeypatch)
    # Black below the portrait, so that the body's region (its centre at the hips, below the
    # shoulders) lies in the image: regions centred outside it get no second opinion.
    frames = [np.vstack([f, np.zeros((1200, f.shape[1], 3), np.uint8)]) for f in _pan(portrait, 3)]
    results = [stream(f) for f in frames]

    def tall(bodies):
        return max(bodies, key=lambda b: b.box[3] - b.box[1])

    # The search also fits a second, shorter skeleton on her torso: the heavy model refuses it.
    assert len(results[0].people) >= 1 and [len(r.people) for r in results[1:]] == [1, 1] and stream.searches == 1
    her = [next(p for p in r.people if p.body is tall([q.body for q in r.people])) for r in results]
    assert len({p.track_id for p in her}) == 1 and all(p.face is not None for p in her)
    assert stream.second_opinions_kept == 2
    # The kept joints are the heavy model's in that region: those of a single image's refined body.
    single = tall([b.pose for b in experts.body.detect_landmarks(frames[2])])
    size = np.ptp(single.keypoints_2d, axis=0).max()
    err = np.linalg.norm(her[2].body.keypoints_2d - single.keypoints_2d, axis=1)
    assert np.median(err) < 0.05 * size
    # The person gone (a cut to a photo of a present, the cut detector off): the heavy model refuses
    # too. (Stretched to her height, the present fools both models: a region is no proof of a person.)
    blind = StreamingExpertsEstimator(experts, schedule=schedule, num_threads=2, cut_correlation=-1)
    _body_passes_failing(blind, monkeypatch)
    blind(frames[0])
    followed = blind.active_tracks
    gone = np.zeros_like(frames[0])
    gone[:440] = _fit(no_people, 440, 440)
    assert blind(gone).people == [] and blind.active_tracks == 0
    assert followed >= 1 and blind.second_opinions == followed and blind.second_opinions_kept == 0
    # Off, or on a person under 64 px: the track ends where its own model lost it.
    off = StreamingExpertsEstimator(experts, schedule=schedule, num_threads=2, second_opinion=0.0)
    _body_passes_failing(off, monkeypatch)
    assert off(frames[0]).people and off(frames[1]).people == [] and off.second_opinions == 0
    cropped = StreamingExpertsEstimator(experts, schedule=schedule, num_threads=2)
    _body_passes_failing(cropped, monkeypatch)
    assert [len(cropped(f).people) for f in _pan(portrait, 2)] == [1, 0] and cropped.second_opinions == 0
    strict = copy.copy(experts)
    strict.body = copy.copy(experts.body)
    strict.body.refine_min_height = 1e6                      # every body "too small" for the heavy model
    small = StreamingExpertsEstimator(strict, schedule=schedule, num_threads=2)
    _body_passes_failing(small, monkeypatch)
    assert small(frames[0]).people and small(frames[1]).people == []
    assert small.second_opinions >= 1 and small.second_opinions_kept == 0


def test_search_runs_on_the_schedule(experts, portrait):
    clock = FakeClock()
    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=3, every_s=0), num_threads=1,
                                       clock=clock)
    searched = []
    for frame in _pan(portrait, 7):
        stream(frame)
        searched.append(stream.last_frame.searched)
    assert searched == [True, False, False, True, False, False, True]
    by_time = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=1.0),
                                        num_threads=1, clock=clock)
    reasons = []
    for i, frame in enumerate(_pan(portrait, 5)):
        clock.t = 0.4 * i                  # 2.5 frames/s: a search every 1 s
        by_time(frame)
        reasons.append(by_time.last_frame.reason)
    assert reasons == ["first frame", "", "", "every_s", ""]


def test_a_search_during_a_pan_adds_no_second_person(experts, portrait):
    """The pan searched every second frame: the search of the third frame (12 px into the pan)
    once added a small person fitted on the face as a second person (see test_body's
    close-up portrait)."""
    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=2, every_s=0), num_threads=2,
                                       ids=TrackIdAllocator(0))
    results = [stream(f) for f in _pan(portrait, 3)]
    assert stream.searches == 2
    assert [len(r.people) for r in results] == [1, 1, 1]
    assert {p.track_id for r in results for p in r.people} == {0}


@pytest.mark.parametrize("on_loss", ["search", "local"])
def test_a_jump_and_a_cut_leave_no_ghost(experts, portrait, no_people, on_loss):
    # The cut detector off: the landmark models alone must drop the regions.
    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0, on_loss=on_loss),
                                       num_threads=2, cut_correlation=-1)
    small = _fit(portrait, 256, 300)
    left, right = np.zeros((400, 1200, 3), np.uint8), np.zeros((400, 1200, 3), np.uint8)
    left[100:, :256] = small
    right[100:, 944:] = small
    for _ in range(3):                                   # seen in 3 frames: confirmed
        stream(left)
    assert stream.last_frame.searched is False and stream.active_tracks >= 1
    # The person jumps 944 px to the right: her regions now show black; they are dropped at once.
    jumped = stream(right)
    assert all(_head(p)[0] > 900 for p in jumped.people)                       # nobody at the old place
    assert stream.last_frame.regions_dropped >= 1
    if on_loss == "search":
        found = stream(right)                                                    # the loss triggers a search
        assert stream.last_frame.reason == "region lost"
    else:
        # Sought where she was lost, in the same frame (not there); the person scan finds her
        # within a turn of its views, without a search.
        assert stream.last_frame.relocated >= 1 and not stream.last_frame.searched
        for _ in range(8):
            found = stream(right)
            if found.people:
                break
        assert stream.searches == 1
    assert found.people and all(_head(p)[0] > 900 for p in found.people)
    stream(right)
    stream(right)
    # A cut to a photo without people: the tracked regions find nothing and are dropped.
    photo = _fit(no_people, 1200, 400)
    cut = stream(photo)
    assert cut.people == [] and stream.active_tracks == 0 and not stream.last_frame.searched
    again = stream(photo)
    assert again.people == []
    assert stream.last_frame.reason == ("region lost" if on_loss == "search" else "")
    quiet = stream(photo)
    assert stream.last_frame.searched is False and quiet.people == []         # nothing tracked, nothing lost
    # With the cut detector (the default), the cut itself ends the tracks and searches.
    guarded = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0), num_threads=2)
    guarded(left)
    guarded(left)
    assert guarded(photo).people == [] and guarded.last_frame.reason == "scene cut" and guarded.active_tracks == 0


def test_a_lost_person_is_sought_where_she_was_lost_in_the_same_frame(experts, portrait):
    """on_loss="local" (the default): a jump of about her width loses the followed region; the person
    detectors around where she was lost find her again in that frame, with no search (scan off)."""
    from dope_core.experts.streaming import loss_region

    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0,
                                                                           scan_every_frames=0),
                                       num_threads=2, cut_correlation=-1)
    small = _fit(portrait, 256, 300)

    def frame(x: int) -> np.ndarray:
        f = np.zeros((400, 1200, 3), np.uint8)
        f[100:, x:x + 256] = small
        return f

    for _ in range(3):
        assert stream(frame(100)).people
    moved = stream(frame(400))
    assert stream.last_frame.regions_dropped >= 1 and stream.last_frame.relocated == 1
    assert moved.people and all(400 < _head(p)[0] < 656 for p in moved.people)
    assert stream.searches == 1
    # Without the local search (no passes allowed) she is not found in that frame.
    blind = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0,
                                                                          scan_every_frames=0),
                                      num_threads=2, cut_correlation=-1, relocate_passes=0)
    for _ in range(3):
        blind(frame(100))
    assert blind(frame(400)).people == [] and blind.last_frame.relocated == 1
    # The region: a square twice the box's longer side about its centre, clipped to the image.
    np.testing.assert_allclose(loss_region(np.array([100.0, 100, 200, 300]), 1200, 400), [0, 0, 350, 400])
    np.testing.assert_allclose(loss_region(np.array([500.0, 200, 510, 210]), 1200, 400), [421, 121, 589, 289])


def test_a_loss_not_recovered_where_it_happened_brings_the_next_search_forward(experts, portrait):
    """after_loss_frames: she jumps out of her region and the local search may not look (no passes
    allowed): the frame ``after_loss_frames`` after the last search is a whole-frame search that finds
    her; with 0 nobody looks until ``every_frames``; found again locally, no search is brought forward."""
    small = _fit(portrait, 256, 300)

    def frame(x: int) -> np.ndarray:
        f = np.zeros((400, 1200, 3), np.uint8)
        f[100:, x:x + 256] = small
        return f

    def run(after_loss: int, relocate_passes: int) -> tuple[StreamingExpertsEstimator, list]:
        stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0,
                                                                               scan_every_frames=0,
                                                                               after_loss_frames=after_loss),
                                           num_threads=2, cut_correlation=-1, relocate_passes=relocate_passes)
        results = [stream(frame(100)) for _ in range(3)] + [stream(frame(400)) for _ in range(3)]
        return stream, results

    stream, results = run(after_loss=5, relocate_passes=0)
    assert all(r.people for r in results[:3]) and results[3].people == [] and results[4].people == []
    assert stream.last_frame.searched and stream.last_frame.reason == "loss not recovered"
    assert results[5].people and all(400 < _head(p)[0] < 656 for p in results[5].people) and stream.searches == 2
    stream, results = run(after_loss=0, relocate_passes=0)
    assert results[5].people == [] and stream.searches == 1
    stream, results = run(after_loss=5, relocate_passes=2)
    assert all(r.people for r in results) and stream.searches == 1


def test_a_person_hidden_for_a_few_frames_keeps_her_id_near_where_she_was_lost(experts, portrait):
    """resume_frames: hidden for two frames, back 40 px further on: the same id; a new id without
    resumption, or when she comes back far from where she was lost."""
    from dope_core.experts.streaming import resumes

    small = _fit(portrait, 256, 300)

    def frame(x: int | None) -> np.ndarray:
        canvas = np.zeros((400, 1200, 3), np.uint8)
        if x is not None:
            canvas[100:, x:x + 256] = small
        return canvas

    def ids_after_hiding(back_at: int, **kw) -> list[int]:
        stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0),
                                           num_threads=2, ids=TrackIdAllocator(0), cut_correlation=-1, **kw)
        seen = [p.track_id for f in (frame(100), frame(100), frame(100)) for p in stream(f).people]
        assert seen == [0, 0, 0]
        assert stream(frame(None)).people == [] and stream(frame(None)).people == []     # hidden: lost
        for _ in range(8):                                  # the person scan finds her again within a few frames
            people = stream(frame(back_at)).people
            if people:
                return [p.track_id for p in people]
        return []

    assert ids_after_hiding(140) == [0]
    assert ids_after_hiding(140, resume_frames=0) == [1]
    assert ids_after_hiding(900) == [1]                     # 800 px from where she was lost: someone else
    box = np.array([100.0, 100, 356, 400])
    assert resumes(box, box + [40, 0, 40, 0]) and not resumes(box, box + [400, 0, 400, 0])
    assert not resumes(box, np.array([200.0, 300, 260, 380]))    # a quarter of the height: not her


def test_the_person_scan_finds_a_newcomer_between_searches(experts, portrait, monkeypatch):
    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0), num_threads=2,
                                       ids=TrackIdAllocator(0), cut_correlation=-1)
    small = _fit(portrait, 256, 300)
    alone, both = np.zeros((400, 1200, 3), np.uint8), np.zeros((400, 1200, 3), np.uint8)
    alone[100:, :256] = small
    both[100:, :256] = small
    both[100:, 944:] = small                               # a second person steps in on the right
    for _ in range(3):
        stream(alone)
    first = {p.track_id for p in stream(alone).people}
    # The scan cycles through the coarse views only (the finer tiles are the searches'): 4 here.
    detector = experts.body.detector
    coarse = detector.coarse_views(1200, 400)
    assert len(coarse) == 4 < len(detector.whole_image_views(1200, 400))
    scanned, propose = [], detector.propose
    monkeypatch.setattr(detector, "propose", lambda image, **kw: scanned.extend(kw["regions"]) or propose(image, **kw))
    seen = []
    for _ in range(10):                                    # 4 views (image + 3 tiles), one every 2 frames
        out = stream(both)
        assert not stream.last_frame.searched
        seen.append([p for p in out.people if _head(p)[0] > 900])
    assert seen[-1] and all(p.track_id not in first for p in seen[-1])
    assert any(not s for s in seen[:1])                    # not there at once: found by the scan
    assert len(scanned) == 5 and all(any(np.array_equal(v, c) for c in coarse) for v in scanned)
    assert np.array_equal(scanned[4], scanned[0])          # after the 4 coarse views, round again
    # Scan off (scan_every_frames 0): the newcomer waits for the next search (none scheduled here).
    blind = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0,
                                                                         scan_every_frames=0), num_threads=2)
    for _ in range(4):
        blind(alone)
    assert all(not [p for p in blind(both).people if _head(p)[0] > 900] for _ in range(10))


def test_the_scan_runs_the_ssd_detector_on_the_whole_image_every_scan_sources_every_scans(experts, portrait,
                                                                                            monkeypatch):
    """Between searches the scan gives BlazePose's detector one view a turn; the ``ssd`` detector
    (people from the back, small ones) looks at the whole image on the whole image's turn and, with
    ``scan_sources_every=2``, on every other scan too: on the tile turns with BlazePose's detector
    left out there (``detector=False``), so no view is searched twice."""
    image = np.zeros((400, 1200, 3), np.uint8)
    image[100:, :256] = _fit(portrait, 256, 300)
    whole = np.array([0.0, 0.0, 1200.0, 400.0])
    calls, real = [], experts.body.proposals_in

    def spy(img, regions, *, min_score=0.5, sources=True, detector=True):
        calls.append((bool(np.array_equal(regions[0], whole)), sources, detector))
        return real(img, regions, min_score=min_score, sources=sources, detector=detector)

    monkeypatch.setattr(experts.body, "proposals_in", spy)
    for every, expected in ((2, [(True, True, True), (False, False, True), (False, False, True), (True, True, False),
                                 (False, False, True), (True, True, True)]),
                            (0, [(True, True, True), (False, False, True), (False, False, True),
                                 (False, False, True), (True, True, True)])):
        stream = StreamingExpertsEstimator(experts, num_threads=2, cut_correlation=-1,
                                           schedule=DetectionSchedule(every_frames=0, scan_every_frames=1,
                                                                      after_loss_frames=0, scan_sources_every=every))
        stream(image)                                      # the first frame: a search
        calls.clear()                                      # then 5 scans: the whole image and 3 tiles in turn
        for _ in range(5):
            assert len(stream(image).people) == 1 and not stream.last_frame.searched
        assert calls == expected, (every, calls)
    with pytest.raises(ValueError, match="scan_sources_every"):
        DetectionSchedule(scan_sources_every=-1)


def test_a_face_not_found_where_the_body_puts_it_is_sought_again_after_a_wait(experts, portrait):
    # The face landmark model finds nothing (as for a person turned away): counted passes, serial (1 thread).
    faceless = copy.copy(experts)
    faceless.face = copy.copy(experts.face)
    calls = []

    def no_face(image, rect):
        calls.append(rect)
        return dataclasses.replace(experts.face.landmarks_in(image, rect), score=0.0)

    faceless.face.landmarks_in = no_face
    frames = _pan(portrait, 9)
    counts = {}
    for retry in (1, 4):
        stream = StreamingExpertsEstimator(faceless, schedule=DetectionSchedule(every_frames=0, every_s=0),
                                           num_threads=1, face_retry_frames=retry)
        stream(frames[0])                                   # the search (its face passes not counted)
        calls.clear()
        out = [stream(f) for f in frames[1:]]
        assert all(r.people and r.people[0].face is None for r in out) and stream.searches == 1
        counts[retry] = len(calls)
    assert counts == {1: 8, 4: 2}                           # every frame, or frames 1 and 5 of the 8 followed
    with pytest.raises(ValueError, match="face_retry_frames"):
        StreamingExpertsEstimator(experts, face_retry_frames=0)


def test_reset_starts_a_new_stream(experts, portrait):
    stream = StreamingExpertsEstimator(experts, num_threads=1, ids=TrackIdAllocator(7))
    stream(portrait)
    assert stream(portrait).people[0].track_id == 700_000
    assert stream.tracks_started == 1 and stream.searches == 1
    stream.reset()
    out = stream(portrait)
    assert stream.last_frame.reason == "first frame" and out.people[0].track_id == 700_001   # never reused
    assert StreamingExpertsEstimator(experts, num_threads=1)(portrait).people[0].track_id is None


def test_bad_arguments_are_clear_errors(experts):
    with pytest.raises(ValueError, match="num_threads"):
        StreamingExpertsEstimator(experts, num_threads=0)
    with pytest.raises(ValueError, match="schedule"):
        DetectionSchedule(every_frames=-1)
    with pytest.raises(ValueError, match="scan_every_frames"):
        DetectionSchedule(scan_every_frames=-1)
    with pytest.raises(ValueError, match="on_loss"):
        DetectionSchedule(on_loss="everywhere")
    with pytest.raises(ValueError, match="after_loss_frames"):
        DetectionSchedule(after_loss_frames=-1)
    with pytest.raises(ValueError, match="relocate_passes"):
        StreamingExpertsEstimator(experts, relocate_passes=-1)
    with pytest.raises(ValueError, match="confirm_frames"):
        StreamingExpertsEstimator(experts, confirm_frames=0)
    with pytest.raises(ValueError, match="RGB uint8"):
        StreamingExpertsEstimator(experts, num_threads=1)(np.zeros((4, 4), np.float32))


@pytest.mark.timeout(300)
def test_a_cut_between_two_real_videos_leaves_no_ghost(experts, shared_data, monkeypatch):
    from dope_ros.video_source import video_frames

    first = list(video_frames(shared_data / "video" / "sports2d_demo.mp4", max_frames=6, max_width=960))
    second = list(video_frames(shared_data / "video" / "openpose_video.avi", max_frames=4, max_width=960))
    second = [_fit(f, 960, 540) for f in second]
    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=30, every_s=0), num_threads=2,
                                       ids=TrackIdAllocator(0))
    before = [stream(f) for f in first]
    old_ids = {p.track_id for r in before for p in r.people}
    assert old_ids
    after, reasons = [], []
    for frame in second:
        after.append(stream(frame))
        reasons.append(stream.last_frame.reason)
    new_ids = {p.track_id for r in after for p in r.people}
    assert not new_ids & old_ids                          # nobody of the first video survives the cut
    assert reasons[0] == "scene cut"                      # the cut ends the tracks and searches
    # Without the cut detector, the tracked regions still leave no one behind: a region
    # either finds a person of the new scene or is dropped, and the next search takes over.
    # A ghost would be a body where a person of the first video was that the per-frame mode does not
    # see on the new frame. The stream may follow a real pedestrian one frame longer than the per-frame
    # search finds him (openpose_video's street: 12 people followed, 9 found on its 4th frame, every
    # one of the 12 on a person; the per-frame mode's 10th body there was a second, 65-px skeleton on
    # the woman with the bag, gone since :func:`~dope_core.experts.body_rules.on_body`), hence the count's margin of 3.
    blind = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=2, every_s=0), num_threads=2,
                                      cut_correlation=-1)
    blind(first[-2])
    old_bodies = _body_boxes(blind(first[-1]))
    assert len(old_bodies)
    for frame in second:
        out = blind(frame)
        ref = _body_boxes(experts(frame))
        for box in _body_boxes(out):
            if box_iou(box[None], old_bodies).max() >= 0.3:
                assert len(ref) and box_iou(box[None], ref).max() >= 0.3, box
        assert len(out.people) <= len(ref) + 3
    # The search at the cut finds the per-frame mode's people on the same frame, but for the
    # small ones of the per-frame mode's last search (which a stream's searches do not make:
    # no refining pass guards it); the frames after it follow them (a weak one may be dropped
    # until the next search), never more.
    assert len(after[0].people) <= len(experts(second[0]).people)
    ssd = next(s for s in experts.body.sources if s.name == "ssd")
    monkeypatch.setattr(ssd, "fill_tile_fractions", ())
    assert abs(len(after[0].people) - len(experts(second[0]).people)) <= 1
    monkeypatch.undo()
    for frame, out in zip(second[1:], after[1:]):
        assert 0 < len(out.people) <= len(experts(frame).people) + 1



@pytest.mark.timeout(300)
def test_a_newcomer_lost_on_his_second_frame_is_sought_where_he_was(experts, shared_data):
    """The demo clip's second player enters on the right about 37 frames in; the person scan finds
    him on a partial fit, whose next region misses him. Sought where he was lost (the default,
    ``confirm_frames=1``), he is followed from then on; with ``confirm_frames=3`` (the rule before)
    he was gone until a later scan (frames 39-43 when written; compared without the heavy model's
    second opinion, which now keeps him through that frame either way)."""
    from dope_ros.video_source import video_frames

    frames = list(video_frames(shared_data / "video" / "sports2d_demo.mp4", max_frames=46, max_width=960))

    def right_player(confirm_frames: int, second_opinion: float = 0.0) -> list[bool]:
        stream = StreamingExpertsEstimator(experts, num_threads=2, ids=TrackIdAllocator(0),
                                           confirm_frames=confirm_frames, clock=FakeClock(),
                                           second_opinion=second_opinion)
        seen = [any(p.body is not None and p.body.box[0] > 600 for p in stream(f).people) for f in frames]
        stream.close()
        return seen

    now = right_player(1)
    first = now.index(True)
    assert 30 <= first <= 42 and all(now[first:])
    before = right_player(3)
    assert not all(before[before.index(True):])
    kept = right_player(3, 0.8)                              # the default second opinion
    assert all(kept[kept.index(True):])


@pytest.mark.timeout(300)
def test_followed_bodies_keep_the_faces_their_heads_vouch_for(shared_data):
    """A body's own face needs only the face expert's head score on followed frames, as in the
    search that found it: the photo of a basketball player's statue given three times, the statue's
    face (found by the search at 0.96; its tracked region, from its own landmarks, scores under 0.5)
    stays on the followed frames; with the head score raised to 0.5 after the search, it is dropped
    there, unless the face detector is run at the head (``face_detector_at_heads``), whose region
    finds it at 0.9 or more."""
    from dope_core.experts.ensemble import ExpertsEstimator

    image = read_image(shared_data / "images" / "multihmr" / "170149601_13aa4e4483_c.jpg")

    def faces_on_people(head_score_after_search: float, *, detector: bool = False) -> list[int]:
        experts = ExpertsEstimator()
        stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0),
                                           num_threads=2, ids=TrackIdAllocator(0), face_detector_at_heads=detector)
        counts = []
        for frame in range(3):
            out = stream(image)
            counts.append(sum(p.face is not None for p in out.people))
            assert not detector or all(p.face.score >= 0.9 for p in out.people if p.face is not None)
            experts.face.head_score = head_score_after_search
        assert stream.searches == 1
        return counts

    assert faces_on_people(0.15) == [1, 1, 1]
    assert faces_on_people(0.5) == [1, 0, 0]
    assert faces_on_people(0.5, detector=True) == [1, 1, 1]


@pytest.mark.timeout(300)
def test_a_face_its_region_loses_is_found_again_by_the_face_detector_at_the_head(experts, shared_data):
    """The demo clip's man jumping on the roof: his 16-px face moves faster than its tracked region
    follows, and the region his body's landmarks give scores 0.01-0.17 there. With the short-range
    face detector at the head (on a due frame, and on every frame once the track has had a face),
    the followed frames keep his face (10 of the first 15 followed frames when written, 1
    without), always on a person (no face left unassigned)."""
    from dope_ros.video_source import video_frames

    frames = list(video_frames(shared_data / "video" / "sports2d_demo.mp4", max_frames=16, max_width=960))

    def faces(detector: bool) -> list[int]:
        stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0),
                                           num_threads=1, face_detector_at_heads=detector)
        stream(frames[0])
        counts = []
        for f in frames[1:]:
            out = stream(f)
            counts.append(sum(p.face is not None for p in out.people))
            assert not out.unassigned or all(p.part is not Part.FACE for p in out.unassigned)
        assert stream.searches == 1
        return counts

    with_detector, without = faces(True), faces(False)
    assert sum(with_detector) >= 6 and sum(with_detector) >= sum(without) + 4


@pytest.mark.timeout(300)
def test_followed_bodies_keep_the_hands_their_wrists_vouch_for(shared_data):
    """A body's own hands (its hand slots, or sought at its wrists) need only the hand expert's
    wrist score on followed frames, as in the per-frame search: on the first 12 frames of the
    demo clip (hands of about 17 px) the followed frames keep more hands than with the wrist
    score at 0.5 (15 against 11 when written), where they kept the same before."""
    from dope_core.experts.config import PRESETS
    from dope_core.experts.ensemble import ExpertsEstimator
    from dope_ros.video_source import video_frames

    frames = list(video_frames(shared_data / "video" / "sports2d_demo.mp4", max_frames=12, max_width=960))

    def followed_hands(wrist_score: float) -> int:
        experts = ExpertsEstimator(config=PRESETS["default"].replace(hand_wrist_score=wrist_score))
        stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0),
                                           num_threads=2, ids=TrackIdAllocator(0))
        counts = [sum((p.left_hand is not None) + (p.right_hand is not None) for p in stream(f).people)
                  for f in frames]
        assert stream.searches == 1
        return sum(counts[1:])

    assert followed_hands(0.2) > followed_hands(0.5)



@pytest.mark.parametrize("name", ["784.jpg", "1402.jpg"])
def test_a_close_up_hand_is_followed_without_the_skeletons_on_it(experts, shared_data, name):
    """OneHand10K close-ups (a hand filling the image, as held up to a webcam), six frames and one
    search: the hand is in every frame, and from the third frame no skeleton is. The body model
    fits skeletons on such a hand, which the search keeps when most of their joints lie outside
    it (784) and which then hold the hand; followed, they collapse onto it and go
    (``body_on_hand_score``), or their region is lost (1402). The hand found at their wrist then
    stands alone and is followed on its own, being sure enough to be found so (before: 784 kept
    one to three skeletons in every frame; 1402 lost its hand on the fourth frame, with a skeleton
    back on it from the fifth, until the next search)."""
    image = read_image(shared_data / "annotated" / "mmpose" / "onehand10k" / name)
    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0), num_threads=2)
    results = [stream(image) for _ in range(6)]
    assert stream.searches == 1
    assert all(len(r.parts(Part.HAND)) == 1 and r.parts(Part.HAND)[0].score >= 0.9 for r in results)
    assert all(r.parts(Part.BODY) == [] for r in results[2:])


def test_a_hand_fitted_on_a_body_is_neither_kept_nor_followed(experts, walkers_frame, monkeypatch):
    """The streaming fusion drops a hand fitted on a body (``hands_on_bodies``), as the search does:
    the 211-px hand on the walking woman's clothes of the demo clip's frame 80 (full size), given to
    the fusion with her body, is in no person and not followed alone, where a hand no body holds
    and as sure (0.91) would be."""
    from dope_core.experts.streaming import _Found

    image = walkers_frame
    bodies, kept, _ = experts.detect_landmarks(image)
    with monkeypatch.context() as m:
        m.setattr(experts, "without_hands_on_bodies", lambda found, hands: list(hands))
        every = experts.detect_landmarks(image)[1]
    (giant,) = [h for h in every if h.box[3] - h.box[1] > 150]
    assert giant.score >= experts.scores[Part.HAND] and len(every) == len(kept) + 1

    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(), num_threads=2)
    res = stream._fuse(image, _Found(bodies=list(bodies), hands=list(every)))
    assert giant not in res.parts(Part.HAND) and len(res.parts(Part.HAND)) == len(kept)
    assert all(part is not Part.HAND or rect.side < 300 for part, rect in stream._part_tracks)


def _counting_hands(experts, fail=lambda rect: False):
    """A copy of ``experts`` whose hand expert logs every landmark region, and finds nothing in
    those ``fail`` picks (serial streams use it; parallel ones use their threads' twins)."""
    counted = copy.copy(experts)
    counted.hand = copy.copy(experts.hand)
    calls = []

    def landmarks_in(image, rect):
        calls.append(rect)
        res = experts.hand.landmarks_in(image, rect)
        return dataclasses.replace(res, score=0.0) if res is not None and fail(rect) else res

    counted.hand.landmarks_in = landmarks_in
    return counted, calls


@pytest.mark.timeout(300)
def test_a_hand_lost_by_its_region_and_found_at_the_wrist_is_sought_there_first(experts, shared_data):
    """On the demo clip the hands swing faster than their landmark regions follow (17-px hands
    of running and jumping people): a tracked hand region finds its hand in about 4 of 10
    frames, the region at the body's wrist in 7 of 10. A hand found at the wrist is sought there
    first in the next frame, its own region second (``adaptive_hand_regions``). On the first 24
    frames (one search, then followed; serial, so the hand passes are counted): the same hands in
    every frame, 49 hand passes instead of 81 when written."""
    from dope_ros.video_source import video_frames

    frames = list(video_frames(shared_data / "video" / "sports2d_demo.mp4", max_frames=24, max_width=960))
    counted, calls = _counting_hands(experts)
    hands, passes = {}, {}
    for adaptive in (False, True):
        stream = StreamingExpertsEstimator(counted, schedule=DetectionSchedule(every_frames=0, every_s=0),
                                           num_threads=1, adaptive_hand_regions=adaptive)
        stream(frames[0])
        calls.clear()
        hands[adaptive] = [sum((p.left_hand is not None) + (p.right_hand is not None) for p in stream(f).people)
                           for f in frames[1:]]
        passes[adaptive] = len(calls)
        assert stream.searches == 1
    assert hands[True] == hands[False] and sum(hands[True]) >= 40
    assert passes[True] < 0.8 * passes[False]


@pytest.mark.timeout(300)
def test_a_hand_sought_at_the_wrist_in_vain_is_sought_in_its_own_region_next(experts, shared_data):
    """The fallback: a hand marked to be sought at the body's wrist first keeps its own region; when
    nothing is found at the wrist, that region gets a pass after the wrist's in the same frame, and
    a hand found there is sought there first in the next frame. The hand model is made to find
    the hand (as it was last found) in its own region only."""
    from dope_ros.video_source import video_frames

    frames = list(video_frames(shared_data / "video" / "sports2d_demo.mp4", max_frames=16, max_width=960))
    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(every_frames=0, every_s=0), num_threads=1,
                                       ids=TrackIdAllocator(0))
    k, result = 0, None
    while not any(t.hands_at_wrist & t.hands.keys() for t in stream._tracks):
        result = stream(frames[k])
        k += 1
        assert k < len(frames), "no hand of the demo clip was found at a wrist after its region lost it"
    track = next(t for t in stream._tracks if t.hands_at_wrist & t.hands.keys())
    slot = sorted(track.hands_at_wrist & track.hands.keys())[0]
    own = track.hands[slot]
    (hand,) = [getattr(p, slot) for p in result.people if p.track_id == track.track_id]
    stream.experts = copy.copy(experts)
    stream.experts.hand = copy.copy(experts.hand)
    calls = []

    def own_region_only(image, rect):
        calls.append(rect)
        return dataclasses.replace(hand, score=0.95 if rect is own else 0.0)

    stream.experts.hand.landmarks_in = own_region_only
    out = stream(frames[k])
    assert calls.count(own) == 1 and calls[-1] is own and len(calls) > 1   # once, after every other hand pass
    (person,) = [p for p in out.people if p.track_id == track.track_id]
    assert getattr(person, slot) is not None
    after = next(t for t in stream._tracks if t.track_id == track.track_id)
    assert slot in after.hands and slot not in after.hands_at_wrist   # its own region first again


# ----------------------------------------------------------------- track bookkeeping, without the models
def _bookkeeping_stream(bodies: list | None = None, *, resume_frames: int = 30) -> StreamingExpertsEstimator:
    """A stream whose experts are stand-ins (no model runs): the search finds ``bodies`` (objects with a
    ``pose.box``), and fusion receives the parts unchanged."""
    from types import SimpleNamespace

    from dope_core.experts.config import PRESETS

    fake = SimpleNamespace(body=SimpleNamespace(max_people=5), hand=None, face=None, parts=tuple(Part), scores={},
                           config=PRESETS["default"],
                           detect_landmarks=lambda image, refine=False: (list(bodies or []), [], []),
                           without_skeletons_on_hands=lambda b, h, f: b, without_hands_on_bodies=lambda b, h: h)
    return StreamingExpertsEstimator(fake, num_threads=1, ids=TrackIdAllocator(0), resume_frames=resume_frames)


def _track(track_id: int, box: list[float]):
    """A followed person with body ``box`` (pixels)."""
    from dope_core.experts.roi import RotatedRect
    from dope_core.experts.streaming import _Track

    box = np.asarray(box, dtype=np.float64)
    return _Track(track_id=track_id, body=RotatedRect(float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2,
                                                      float(box[3] - box[1])), box=box)


def test_a_searched_body_continues_the_track_it_overlaps_most() -> None:
    """Two searched bodies overlap one track (IoU 1 and 0.43, both above match_iou): the track goes to the
    body it overlaps most, whichever is listed first, and the other body starts no claim on it."""
    from types import SimpleNamespace

    track = _track(7, [100, 100, 200, 300])
    same = SimpleNamespace(pose=SimpleNamespace(box=np.array([100.0, 100, 200, 300])))
    shifted = SimpleNamespace(pose=SimpleNamespace(box=np.array([140.0, 100, 240, 300])))
    assert box_iou(track.box[None], shifted.pose.box[None])[0, 0] == pytest.approx(12000 / 28000)
    for bodies in ([shifted, same], [same, shifted]):
        stream = _bookkeeping_stream(bodies)
        stream._tracks = [track]
        found = stream._search(np.zeros((400, 400, 3), np.uint8))
        assert found.owners == {id(same): 7}


def test_a_lost_track_can_be_resumed_for_resume_frames_frames_then_expires() -> None:
    """A track that nothing continues is remembered as lost at frame 0; a body near its box resumes it
    while the stream is at most resume_frames frames further on, and not after."""
    from dope_core.experts.streaming import _Found

    box = np.array([100.0, 100, 200, 300])
    image = np.zeros((400, 400, 3), np.uint8)
    for frames_later, resumed in ((2, 7), (3, 7), (4, None)):
        stream = _bookkeeping_stream(resume_frames=3)
        stream._tracks = [_track(7, box)]
        stream._fuse(image, _Found())          # frame 0: track 7 is not continued, so it is lost
        assert stream._tracks == [] and [g[0] for g in stream._gone] == [7]
        stream.frames = frames_later
        stream._fuse(image, _Found())
        assert stream._resumed(box + [10, 0, 10, 0]) == resumed


def test_a_new_body_resumes_the_nearest_of_the_lost_tracks_it_could_be() -> None:
    """Two lost tracks both near enough for :func:`resumes`: a new body takes the nearer one's id (listed
    first or second), which leaves the lost list; the other remains for someone else."""
    from dope_core.experts.streaming import resumes

    stream = _bookkeeping_stream()
    box = np.array([100.0, 100, 200, 300])
    near, far = box + [10, 0, 10, 0], box + [60, 0, 60, 0]
    assert resumes(near, box) and resumes(far, box)
    for gone in ([(1, far, 0), (2, near, 0)], [(2, near, 0), (1, far, 0)]):
        stream._gone = list(gone)
        assert stream._resumed(box) == 2
        assert [g[0] for g in stream._gone] == [1]


def _newcomer_frames(portrait: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A person alone on the left of a 1200x400 frame, and the same frame with a second one on the right."""
    small = _fit(portrait, 256, 300)
    alone, both = np.zeros((400, 1200, 3), np.uint8), np.zeros((400, 1200, 3), np.uint8)
    alone[100:, :256] = small
    both[100:, :256] = small
    both[100:, 944:] = small
    return alone, both


def test_a_background_search_finds_a_newcomer_without_holding_up_the_frames(experts, portrait):
    """With ``DetectionSchedule(background=True)`` a scheduled search runs beside the stream: the frame it is due on
    is followed, and a person it finds outside the followed bodies joins on the first frame after
    it ends (sought again there), with an id of its own. Without it, that frame is the search."""
    alone, both = _newcomer_frames(portrait)
    for background in (False, True):
        schedule = DetectionSchedule(every_frames=3, every_s=0, scan_every_frames=0, background=background)
        stream = StreamingExpertsEstimator(experts, schedule=schedule, num_threads=2, ids=TrackIdAllocator(0),
                                           cut_correlation=-1)
        first = {p.track_id for p in stream(alone).people}
        assert stream.last_frame.searched and stream.last_frame.reason == "first frame"   # nobody to follow yet
        assert len(first) == 1
        for _ in range(2):                    # no scan, no search: the newcomer is not seen
            assert len(stream(both).people) == 1
        out = stream(both)                    # the search is due
        assert stream.last_frame.reason == "every_frames"
        assert stream.last_frame.searched is not background and stream.last_frame.background is background
        if not background:
            assert len(out.people) == 2
            continue
        assert len(out.people) == 1 and stream.last_frame.landmark_passes > 0
        assert stream.wait_for_search(timeout=120)
        out = stream(both)
        assert stream.last_frame.adopted == 1 and stream.adopted == 1 and not stream.last_frame.searched
        right = [p for p in out.people if _head(p)[0] > 900]
        assert len(out.people) == 2 and len(right) == 1 and right[0].track_id not in first
        assert {p.track_id for p in out.people} >= first
        assert len(stream(both).people) == 2 and stream.last_frame.adopted == 0    # followed from then on
        stream.close()


def test_a_background_search_loads_its_models_in_its_thread_and_a_failed_one_fails_no_frame(experts, portrait,
                                                                                           monkeypatch, caplog):
    """The background search's own models are made in the search thread (loading them holds up no frame), and a
    search that raises is logged and counted: the frame that collects it and the stream go on, the people
    followed stay, and the next search runs."""
    import threading

    import dope_core.experts.streaming as streaming

    built_in: list[str] = []
    real = streaming.ExpertsEstimator

    class Failing:
        """The searcher's body expert: records the thread it was made in, then raises on the first search."""

        def __init__(self, **kwargs) -> None:
            built_in.append(threading.current_thread().name)
            self.searches = 0
            self.body = self

        def detect_landmarks(self, image, **kwargs):
            self.searches += 1
            if self.searches == 1:
                raise RuntimeError("out of memory")
            return []

    monkeypatch.setattr(streaming, "ExpertsEstimator", Failing)
    alone, both = _newcomer_frames(portrait)
    schedule = DetectionSchedule(every_frames=2, every_s=0, scan_every_frames=0, background=True)
    stream = StreamingExpertsEstimator(experts, schedule=schedule, num_threads=2, ids=TrackIdAllocator(0),
                                       cut_correlation=-1)
    assert isinstance(stream.experts, real)
    followed = {p.track_id for p in stream(alone).people}
    stream(alone)
    stream(both)
    assert stream.last_frame.background
    assert stream.wait_for_search(timeout=120)
    assert len(built_in) == 1 and built_in[0].startswith("dope_search")
    with caplog.at_level("WARNING", logger="dope_core.experts.streaming"):
        out = stream(both)
    assert stream.background_failures == 1 and "background person search failed" in caplog.text
    assert {p.track_id for p in out.people} == followed and not stream.last_frame.searched
    out = stream(both)                        # the next search is due: it runs (and finds nobody new)
    assert stream.last_frame.background and stream.wait_for_search(timeout=120)
    stream(both)
    assert stream.background_failures == 1 and stream._searcher.searches == 2 and len(built_in) == 1
    stream.close()


def test_the_person_scans_newcomers_obey_the_searchs_nested_test(experts, shared_data, monkeypatch):
    """The demo clip at 960x540, a search every 30 frames in the background: frame 30 is followed with the
    person scan, whose 0.57 BlazePose proposal over the man on the roof has its hips below his box, so it
    passes as a newcomer; its pass fits a narrow 0.69 skeleton inside him, which the search's nested test
    (:meth:`~dope_core.experts.body.BodyExpert.nested_part`) refuses as a part of him. With the weak-proposal
    bound at 0.5 it is followed as a second person."""
    from dope_ros.video_source import video_frames

    frames = list(video_frames(shared_data / "video" / "sports2d_demo.mp4", max_frames=31, max_width=960))
    for bound, people in ((0.7, 1), (0.5, 2)):
        monkeypatch.setattr(experts.body, "nested_proposal_score", bound)
        stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(background=True), num_threads=2)
        out = [stream(f) for f in frames][-1]
        assert stream.last_frame.background and not stream.last_frame.searched
        assert len(out.people) == people, bound
        stream.close()


def test_a_background_search_started_before_a_reset_or_a_cut_is_dropped(experts, portrait, no_people):
    alone, both = _newcomer_frames(portrait)
    schedule = DetectionSchedule(every_frames=2, every_s=0, scan_every_frames=0, background=True)
    stream = StreamingExpertsEstimator(experts, schedule=schedule, num_threads=2, ids=TrackIdAllocator(0),
                                       cut_correlation=-1)
    stream(alone)
    stream(alone)
    stream(both)
    assert stream.last_frame.background
    stream.reset()
    assert stream.wait_for_search(timeout=120)
    stream(alone)
    assert stream.last_frame.searched and stream.last_frame.reason == "first frame" and stream.adopted == 0
    # a scene cut (a frame unlike the last) forgets a search started before it
    cutting = StreamingExpertsEstimator(experts, schedule=schedule, num_threads=2, ids=TrackIdAllocator(0))
    cutting(alone)
    cutting(alone)
    cutting(both)
    assert cutting.last_frame.background
    cutting(_fit(no_people, 1200, 400))
    assert cutting.last_frame.reason == "scene cut"
    assert cutting.wait_for_search(timeout=120)
    out = cutting(_fit(no_people, 1200, 400))
    assert cutting.adopted == 0 and not out.people
    stream.close()
    cutting.close()
