"""``dope``: whole-body 2D/3D pose of every person in images, folders, videos or a webcam.

For each input it writes, into the output folder, the annotated image or video
(skeletons of body, hands and face, one colour per person), the poses as JSON
(one file per image; one JSON object per line and frame for videos, with track ids
that persist across frames) and, on request, a 3D view. With ``--camera FILE`` (a ROS
``camera_calibration`` YAML) or ``--hfov DEG`` each person is placed in the camera
optical frame (:mod:`dope_core.placement`: ``root_camera``, ``placement`` and
``placement_uncertainty`` per part in the JSON). Output names follow
:mod:`dope_core.output_names`: each input gets its own, and no input file, nor any file
of the output folder that ``dope`` did not write, is ever written to; a folder given as input leaves
out the files ``dope`` wrote there (its ``.dope-outputs`` list), so a rerun into it does not process
them. Every output is
written to a temporary file and renamed once complete (:mod:`dope_core.atomic_files`):
a failed write leaves the previous output as it was, and an annotated video is checked (it opens and
holds every frame written) before it replaces anything. Bad inputs (unreadable, over the
size limit, or anything that makes the estimator fail) are reported and counted, never
fatal; the exit status says whether any input failed. A camera file that cannot be
read, or an output folder that cannot be written, is one line and exit status 2; Ctrl-C
stops after the summary of what was done, exit status 130 (a video cut short keeps the
frames processed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence

import cv2
import numpy as np

from dope_core.atomic_files import atomic_path, atomic_write_text, remove_abandoned_temporaries
from dope_core.camera import CameraFileError, CameraModel, InvalidIntrinsicsError, load_camera_yaml
from dope_core.draw import draw_poses
from dope_core.estimator import BACKENDS, PoseEstimator, build_estimator, network_only_settings
from dope_core.experts.config import (BODY_EXPERTS, HAND_EXPERTS, PERSON_DETECTORS, ExpertsConfig, ExpertsConfigError,
                                      experts_config_from_dict, load_experts_config)
from dope_core.image_header import DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE, ImageLimits
from dope_core.image_io import ImageError, VideoReader, is_video, list_inputs, read_image, written_video_problem
from dope_core.output_names import MANIFEST, InputGuard, OutputFolder, OverwriteRefused, assign_names
from dope_core.keypoints import Part
from dope_core.placement import place_poses
from dope_core.recording import Recorder
from dope_core.smoothing import SmoothingConfig
from dope_core.structures import WholeBodyPoses
from dope_core.teleop import TeleopPipeline
from dope_core.tracking import PersonTracker


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dope",
        description="DOPE whole-body pose estimation (body 13 joints, hands 21, face 84; 2D pixels and 3D metres) "
                    "of every person in images, folders of images, videos or a webcam. "
                    "Not NVIDIA's Deep Object Pose Estimation.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image file, folder of images/videos (leaving out the files dope wrote there, listed in "
                        f"its {MANIFEST}), video file, or a webcam: its index such as 0, or its device such as "
                        "/dev/video0 (or a link to it, /dev/v4l/by-id/...)")
    p.add_argument("-o", "--output", type=Path, default=Path("dope_output"),
                   help="folder for the annotated images/videos, JSON and 3D views (created if missing)")
    p.add_argument("--backend", choices=BACKENDS, default="experts",
                   help="'experts': the three frozen part experts (CPU); 'network': the DOPE whole-body network")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="network checkpoint (release DOPE_v1_0_0 / DOPErealtime_v1_0_0 or this project's format); "
                        "default: the student shipped with the package")
    p.add_argument("--device", default="auto", help="network backend: auto, cpu, cuda or cuda:N")
    p.add_argument("--half", action="store_true", help="network backend: fp16 inference (CUDA only)")
    p.add_argument("--postprocess", choices=("ppi", "nms"), default=None,
                   help="network backend: 'ppi' (pose-proposal integration) or 'nms'; default: the checkpoint's")
    p.add_argument("--parts", nargs="+", choices=[q.value for q in Part], default=[q.value for q in Part],
                   help="which parts to estimate")
    p.add_argument("--thorough", action="store_true",
                   help="experts backend: the 'thorough' preset and finer hand/face tiles; finds smaller people, slower")
    p.add_argument("--experts-config", default=None, metavar="YAML_OR_PRESET",
                   help="experts backend: a YAML file whose 'experts' section chooses the person detectors and part "
                        "experts (docs/accuracy.md), or a preset: default, thorough, legacy")
    p.add_argument("--person-detectors", nargs="+", default=None, metavar="NAME",
                   help="experts backend: person proposal sources, overriding the configuration "
                        f"(available: {', '.join(PERSON_DETECTORS)})")
    p.add_argument("--hand-expert", choices=list(HAND_EXPERTS), default=None,
                   help="experts backend: the hand landmark model, overriding the configuration (mediapipe_lite: "
                        "about half the CPU per hand, docs/accuracy.md)")
    p.add_argument("--body-refine", choices=[*BODY_EXPERTS, "none"], default=None,
                   help="experts backend: the body model of the last pass per body found on images, overriding the "
                        "configuration (default blazepose_heavy; none: about 0.7 of the CPU per photo, less "
                        "accurate; docs/accuracy.md)")
    p.add_argument("--view-3d", action="store_true",
                   help="also write a 3D view (matplotlib) of the people: <name>_3d.png (for videos: of the last frame)")
    p.add_argument("--no-images", action="store_true", help="do not write annotated images/videos, only JSON")
    p.add_argument("--boxes", action="store_true", help="draw the part boxes too")
    p.add_argument("--no-tracking", action="store_true",
                   help="videos and webcams: do not give people track ids that persist across frames "
                        "(with tracking, a person keeps its id and colour while seen)")
    p.add_argument("--no-streaming", action="store_true",
                   help="experts backend, videos and webcams: search every frame from scratch (slower) instead of "
                        "following people from frame to frame with the detectors on a schedule")
    p.add_argument("--detect-every", type=int, default=30, metavar="N",
                   help="streaming: search the whole frame every N processed frames (0: never by count); "
                        "a person who enters waits at most that long")
    p.add_argument("--detect-every-s", type=float, default=0.0, metavar="S",
                   help="streaming: also search when S seconds passed since the last search (0: never by time; "
                        "bounds a newcomer's wait on a slow machine, at the cost of more searches)")
    p.add_argument("--detect-after-loss", type=int, default=10, metavar="N",
                   help="streaming: a person lost and not found again where it was lost brings the next search "
                        "forward to N frames after the last (0: off)")
    p.add_argument("--second-opinion", type=float, default=0.8, metavar="P",
                   help="streaming: a followed body the full landmark model loses gets a pass of the heavy model "
                        "in its region; a presence of at least P (body at least 64 px tall) keeps it (0: off)")
    p.add_argument("--scan-every", type=int, default=2, metavar="N",
                   help="streaming: between searches, BlazePose's person detector on one view of the frame (the "
                        "whole image, then each half-size tile; the ssd detector too on the whole image's turn) "
                        "every N frames, for newcomers (0: off)")
    p.add_argument("--scan-sources-every", type=int, default=2, metavar="N",
                   help="streaming: the ssd person detector also scans the whole image every N person scans, "
                        "whichever view is BlazePose's turn (0: only on the whole image's turn)")
    p.add_argument("--background-search", action=argparse.BooleanOptionalAction, default=None,
                   help="streaming: the scheduled searches run beside the stream instead of holding up a frame (an "
                        "even frame time; newcomers join when a search ends; results depend on the machine's "
                        "speed). Default: on for webcams, off for files (an offline run repeats exactly)")
    p.add_argument("--detect-on-loss", choices=("local", "search"), default="local",
                   help="streaming: a lost person is sought by the person detectors around where it was lost, in "
                        "the same frame ('local'), or by a whole-frame search on the next frame ('search')")
    p.add_argument("--num-threads", type=int, default=2,
                   help="experts backend: CPU threads (per model; in streaming, also landmark passes run at once)")
    p.add_argument("--stride", type=int, default=1, help="videos: process one frame in STRIDE")
    p.add_argument("--max-frames", type=int, default=None, help="videos and webcams: stop after this many processed frames")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help="images and video frames with more pixels (width x height, read from the file's header "
                        "before decoding) are skipped")
    p.add_argument("--max-side", type=int, default=DEFAULT_MAX_SIDE,
                   help="images and video frames with a longer side (pixels) are skipped")
    p.add_argument("--no-smoothing", action="store_true",
                   help="videos and webcams: no One Euro filtering of tracked people (part frames and grasp are "
                        "computed either way; docs/teleop.md)")
    p.add_argument("--record", type=Path, default=None, metavar="BAG",
                   help="one video or webcam: also write a ROS 2 bag (MCAP, rosbag2 folder BAG, must not exist) of the "
                        "compressed images, camera info, poses and TF on the frames' stamps; replay it with dope-replay")
    p.add_argument("--record-format", choices=("jpeg", "png"), default="jpeg",
                   help="image compression in the recording (png: lossless, re-estimation gives the same poses)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-input lines; only the summary")
    cam = p.add_mutually_exclusive_group()
    cam.add_argument("--camera", type=Path, default=None, metavar="FILE",
                     help="camera calibration (the YAML of ROS's camera_calibration): people are placed in the camera "
                          "frame (metres; each part's root_camera in the JSON), lens distortion removed; images of "
                          "another size with the same aspect ratio use the calibration scaled")
    cam.add_argument("--hfov", type=float, default=None, metavar="DEG",
                     help="no calibration at hand: assume a distortion-free camera with this horizontal field of view "
                          "(degrees) and the principal point at the image centre, and place people in its frame")
    p.add_argument("--rectified", action="store_true",
                   help="with --camera: the inputs are rectified images (use the projection matrix P, not K and D)")
    return p


OUTPUT_SUFFIXES = (".json", ".jpg", "_3d.png", ".jsonl", ".mp4")
"""Endings appended to an input's output name to make its output files."""


class Runner:
    """Runs one estimator over inputs, writes outputs and counts what happened."""

    def __init__(self, estimator: PoseEstimator, args: argparse.Namespace, guard: InputGuard,
                 camera: Optional[CameraModel] = None, folder: OutputFolder | None = None) -> None:
        self.estimator = estimator
        self.args = args
        self.guard = guard
        self.folder = folder or OutputFolder(args.output)
        self.limits = ImageLimits(max_pixels=args.max_pixels, max_side=args.max_side)
        self.camera = camera
        self.placed_parts = 0
        self.unplaced_images: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.failed_inputs: list[tuple[str, str]] = []
        self.done = 0
        self.totals: Counter[str] = Counter()
        self.seconds = 0.0
        self.frames = 0

    def estimate(self, image: np.ndarray, estimator: PoseEstimator | None = None) -> WholeBodyPoses:
        t = time.perf_counter()
        poses = (estimator or self.estimator)(image)
        self.seconds += time.perf_counter() - t
        self.frames += 1
        self.totals.update(poses.counts())
        return poses

    def place(self, poses: WholeBodyPoses, source: str) -> WholeBodyPoses:
        """Place the people in the camera frame (``--camera`` or ``--hfov``); unchanged without either."""
        try:
            camera = self.camera_for(poses.image_size)
        except InvalidIntrinsicsError as e:
            if not self.unplaced_images[str(e)] and not self.args.quiet:
                print(f"warning: {source}: {e}; its 3D stays part-relative", file=sys.stderr)
            self.unplaced_images[str(e)] += 1
            return poses
        if camera is None:
            return poses
        placed = place_poses(poses, camera)
        self.placed_parts += sum(p.root_camera is not None for p in placed.parts())
        return placed

    def camera_for(self, image_size: tuple[int, int]) -> Optional[CameraModel]:
        """The camera of ``--camera`` / ``--hfov`` for ``(width, height)`` images, ``None`` without either.

        Raises:
            InvalidIntrinsicsError: ``--camera`` does not fit this image size.
        """
        if self.camera is None and self.args.hfov is None:
            return None
        w, h = image_size
        return CameraModel.from_hfov(w, h, self.args.hfov) if self.camera is None else self.camera.resized(w, h)

    def _recorded_camera(self, image_size: tuple[int, int]) -> Optional[CameraModel]:
        """The camera a recording stores with its frames (``None`` when there is none that fits)."""
        try:
            return self.camera_for(image_size)
        except InvalidIntrinsicsError:
            return None

    def fail(self, source: str, message: str, reason: str | None = None) -> None:
        """Count an input as failed: ``message`` says what happened, ``reason`` is its kind (for the summary)."""
        self.failures[reason or message.split(":")[-1].strip()] += 1
        self.failed_inputs.append((source, message))
        if not self.args.quiet:
            print(f"skipped: {message}" if source in message else f"skipped {source}: {message}", file=sys.stderr)

    def run(self, source: Path | int, name: str) -> None:
        """Process one input (image, video or camera); any failure is counted, never raised."""
        try:
            if isinstance(source, Path) and not is_video(source):
                self.run_image(source, name)
            else:
                self.run_video(source, name)
        except ImageError as e:
            self.fail(str(source), str(e), e.reason)
        except OverwriteRefused as e:
            self.fail(str(source), str(e), "output would overwrite a file dope did not write")
        except Exception as e:  # one input's failure never ends the run
            self.fail(str(source), f"{type(e).__name__}: {e}", f"error while processing ({type(e).__name__})")

    def target(self, name: str, suffix: str) -> Path:
        """The output file ``<name><suffix>``, never an input file nor a file ``dope`` did not write,
        recorded in the output folder's list before it is written."""
        return self.folder.claim(self.guard.check(self.args.output / f"{name}{suffix}"))

    def run_image(self, path: Path, name: str) -> None:
        image = read_image(path, self.limits)
        t = time.perf_counter()
        poses = TeleopPipeline(smoothing=None)(self.place(self.estimate(image), str(path)), 0.0)   # frames, grasp
        dt = time.perf_counter() - t
        atomic_write_text(self.target(name, ".json"), poses.to_json())
        if not self.args.no_images:
            annotated = draw_poses(image, poses, boxes=self.args.boxes)
            target = self.target(name, ".jpg")
            with atomic_path(target, keep_suffix=True) as tmp:
                if not cv2.imwrite(str(tmp), cv2.cvtColor(annotated, cv2.COLOR_RGB2BGR)):
                    raise OSError(f"cannot write {target}")
        if self.args.view_3d:
            self.render_3d(poses, name, path.name)
        self.done += 1
        if not self.args.quiet:
            c = poses.counts()
            _say(f"{path.name}: {c['people']} people, {c['hands']} hands, {c['faces']} faces "
                  f"({len(poses.unassigned)} parts unassigned) in {dt * 1000:.0f} ms")

    def run_video(self, source: Path | int, name: str) -> None:
        reader = VideoReader(source, stride=self.args.stride, max_frames=self.args.max_frames, limits=self.limits)
        tracker = None if self.args.no_tracking else PersonTracker()
        stream = self.streaming(tracker, live=isinstance(source, int))
        teleop = TeleopPipeline(smoothing=None if self.args.no_smoothing or tracker is None else SmoothingConfig())
        last: tuple[np.ndarray, WholeBodyPoses] | None = None
        n = 0
        with ExitStack() as outputs:   # complete files replace earlier ones; Ctrl-C keeps the frames done
            jsonl_tmp = outputs.enter_context(_output_file(self.target(name, ".jsonl"), live=isinstance(source, int)))
            video_tmp = None if self.args.no_images else outputs.enter_context(
                atomic_path(self.target(name, ".mp4"), keep_suffix=True, keep_on_interrupt=True))
            try:
                recorder = outputs.enter_context(_recording(self.args.record, self.args.record_format))
                n, last = self._process_frames(reader, stream, tracker, teleop, recorder, source, name, jsonl_tmp,
                                               video_tmp)
            finally:
                if stream is not None:
                    stream.close()
            if n == 0:
                raise ImageError(f"{source}: no readable frame")
        if reader.ended_early:
            print(f"warning: {source}: video ended after {reader.frames_read} of {reader.announced_frames} "
                  "announced frames (truncated?); the frames read were processed", file=sys.stderr)
        if self.args.view_3d and last is not None:
            self.render_3d(last[1], name, f"{name}, last frame")
        self.done += 1
        if not self.args.quiet:
            people = "" if tracker is None else \
                f", {tracker.tracks_started} {'person' if tracker.tracks_started == 1 else 'people'} tracked"
            _say(f"{name}: {n} {'frame' if n == 1 else 'frames'}{people}")

    def _process_frames(self, reader: VideoReader, stream: PoseEstimator | None, tracker: PersonTracker | None,
                        teleop: TeleopPipeline, recorder: Recorder | None, source: Path | int, name: str,
                        jsonl_path: Path, video_path: Path | None) -> tuple[int, tuple[np.ndarray, WholeBodyPoses] | None]:
        """Estimate every frame of ``reader``, writing the JSON lines to ``jsonl_path`` (opened at the first
        frame's line: a camera that gives no frame leaves an earlier session's file as it was) and the annotated
        video to ``video_path`` (``None``: none; checked when closed, removed when not whole, so that it never
        replaces an earlier video); returns the number of frames and the last one with its poses.

        Raises:
            OSError: the annotated video did not come out whole (a full disk).
        """
        start_ns = time.time_ns()
        last: tuple[np.ndarray, WholeBodyPoses] | None = None
        n = written = 0
        writer = None
        try:
            with ExitStack() as files:
                jsonl = None
                for frame in _progress(reader, len(reader) or None, name, self.args.quiet):
                    stamp_ns = start_ns + round(frame.index / reader.fps * 1e9)
                    poses = self.place(self.estimate(frame.image, stream), str(source))
                    if tracker is not None:
                        poses = tracker.update(poses, stamp=frame.index / reader.fps)
                    poses = teleop(poses, frame.index / reader.fps)
                    if recorder is not None:
                        recorder.write(stamp_ns, frame.image, poses, camera=self._recorded_camera(poses.image_size))
                    line = {"frame": frame.index, "stamp_ns": stamp_ns, **poses.to_json_dict()}
                    if jsonl is None:   # line-buffered: a camera's file is followed live
                        jsonl = files.enter_context(open(jsonl_path, "w", buffering=1))
                    jsonl.write(json.dumps(line, allow_nan=False) + "\n")
                    if video_path is not None:
                        annotated = draw_poses(frame.image, poses, boxes=self.args.boxes)
                        if writer is None:
                            h, w = annotated.shape[:2]
                            writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"),
                                                     reader.fps / self.args.stride, (w, h))
                        writer.write(cv2.cvtColor(annotated, cv2.COLOR_RGB2BGR))
                        written += 1
                    last = (frame.image, poses)
                    n += 1
        except KeyboardInterrupt:   # the frames done are kept, the video only if it came out whole
            problem = _finish_video(writer, video_path, written)
            if problem is not None:
                print(f"warning: {source}: the annotated video was not kept: {problem}", file=sys.stderr)
            raise
        except BaseException:
            _finish_video(writer, video_path, written)
            raise
        problem = _finish_video(writer, video_path, written)
        if problem is not None:
            raise OSError(f"{self.args.output / (name + '.mp4')}: the annotated video did not come out whole "
                          f"({problem}; a full disk?); any earlier one is left as it was")
        return n, last

    def render_3d(self, poses: WholeBodyPoses, name: str, title: str) -> None:
        """Write ``<name>_3d.png``, the 3D view of ``poses``."""
        from dope_core.viz3d import render_3d

        with atomic_path(self.target(name, "_3d.png"), keep_suffix=True) as tmp:
            render_3d(poses, tmp, title=title)

    def streaming(self, tracker: PersonTracker | None, *, live: bool = False) -> PoseEstimator | None:
        """The streaming estimator for one video (experts backend, unless ``--no-streaming``); ``None``: per frame.
        ``live``: a webcam, whose scheduled searches run in the background unless ``--no-background-search``."""
        from dope_core.experts.ensemble import ExpertsEstimator

        if self.args.no_streaming or not isinstance(self.estimator, ExpertsEstimator):
            return None
        from dope_core.experts.streaming import DetectionSchedule, StreamingExpertsEstimator

        return StreamingExpertsEstimator(self.estimator, num_threads=self.args.num_threads,
                                         schedule=DetectionSchedule(self.args.detect_every, self.args.detect_every_s,
                                                                    self.args.scan_every, self.args.detect_on_loss,
                                                                    self.args.detect_after_loss,
                                                                    self.args.scan_sources_every,
                                                                    live if self.args.background_search is None
                                                                    else self.args.background_search),
                                         ids=tracker.registry.ids if tracker is not None else None,
                                         second_opinion=self.args.second_opinion)

    def summary(self) -> str:
        fps = self.frames / self.seconds if self.seconds > 0 else 0.0
        lines = [f"processed {self.done} input(s), {self.frames} image(s)/frame(s): "
                 f"{self.totals['people']} people, {self.totals['hands']} hands, {self.totals['faces']} faces; "
                 f"{1000 * self.seconds / max(self.frames, 1):.0f} ms per image on average ({fps:.1f} images/s), "
                 f"backend {self.estimator.name} on {self.estimator.device}; outputs in {self.args.output}"]
        if self.camera is not None or self.args.hfov is not None:
            lines.append(f"{self.placed_parts} parts placed in the camera frame"
                         + "".join(f"; {n} image(s)/frame(s) left part-relative: {why}"
                                   for why, n in self.unplaced_images.items()))
        if self.failed_inputs:
            lines.append(f"failed {len(self.failed_inputs)} input(s): "
                         + "; ".join(f"{n} x {reason}" for reason, n in self.failures.most_common()))
        return "\n".join(lines)


def _finish_video(writer: cv2.VideoWriter | None, path: Path | None, frames: int) -> str | None:
    """Close ``writer`` (``None``: no video was started) of the file ``path``, which got ``frames`` frames; when
    the file is not whole (:func:`~dope_core.image_io.written_video_problem`), remove it and say why."""
    if writer is None or path is None:
        return None
    writer.release()
    problem = written_video_problem(path, frames)
    if problem is not None:
        path.unlink(missing_ok=True)   # an absent temporary is never renamed over the earlier file, Ctrl-C included
    return problem


@contextmanager
def _recording(path: Path | None, image_format: str) -> Iterator[Recorder | None]:
    """The ``--record`` recording of a video (``None`` without ``--record``), closed on exit. A recording that
    got no frame (no readable frame, an error, Ctrl-C, even while it was being created) is removed, so that it
    does not block the next ``--record`` at that path; only a folder this call created is ever removed."""
    if path is None:
        yield None
        return
    try:
        recorder = Recorder(path, image_format=image_format)
    except FileExistsError:   # there before (made by another process since _main's check): not ours
        raise
    except BaseException:   # Ctrl-C or an error half-way: a bag without its metadata
        shutil.rmtree(path, ignore_errors=True)
        raise
    try:
        yield recorder
    finally:
        try:
            recorder.close()
        finally:
            if recorder.frames == 0:
                shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _output_file(path: Path, *, live: bool) -> Iterator[Path]:
    """Where to write the output ``path``: a temporary file renamed over it when complete (a video file), or,
    ``live``, ``path`` itself, line by line, for a camera that runs until Ctrl-C (so that it can be followed
    with ``tail -f``)."""
    if live:
        yield path
        return
    with atomic_path(path, keep_on_interrupt=True) as tmp:
        yield tmp


def _say(line: str) -> None:
    """Print a line without breaking an active progress bar."""
    from tqdm import tqdm

    tqdm.write(line)


def _progress(iterable, total: int | None, desc: str, quiet: bool):
    if quiet:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="frame", leave=False)


def experts_config_from_args(args: argparse.Namespace) -> ExpertsConfig:
    """The experts configuration of ``--experts-config``, ``--thorough``, ``--person-detectors``, ``--hand-expert``
    and ``--body-refine``.

    Raises:
        ExpertsConfigError: unreadable file, unknown or uninstalled expert.
    """
    config = load_experts_config(args.experts_config)
    if args.thorough:
        config = experts_config_from_dict({"preset": "thorough"}) if args.experts_config is None else config
    if args.person_detectors:
        config = config.replace(person_detectors=tuple(args.person_detectors))
    if args.hand_expert:
        config = config.replace(hand=args.hand_expert)
    if args.body_refine:
        config = config.replace(body_refine=None if args.body_refine == "none" else args.body_refine)
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``dope``.

    Returns:
        0 when every input was processed; 1 when at least one input failed or was
        skipped (the others were processed; the summary counts the failures by
        reason); 2 on usage errors, a backend that cannot be built or an output folder
        that cannot be written; 130 when interrupted (Ctrl-C).
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:   # before any input was processed (while the backend loads)
        print("dope: interrupted", file=sys.stderr)
        return 130


def network_only_flags(args: argparse.Namespace) -> list[str]:
    """The network backend's flags (``--checkpoint``, ``--half``, ``--postprocess``) given with another backend."""
    if args.backend == "network":
        return []
    return [f"--{name}" for name in network_only_settings(checkpoint=args.checkpoint, half=args.half,
                                                          postprocess=args.postprocess)]


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.stride < 1:
        parser.error("--stride must be at least 1")
    if args.max_frames is not None and args.max_frames < 1:
        parser.error("--max-frames must be at least 1")
    if args.detect_every < 0 or args.detect_every_s < 0 or args.scan_every < 0 or args.detect_after_loss < 0 \
            or args.scan_sources_every < 0:
        parser.error("--detect-every, --detect-every-s, --scan-every, --scan-sources-every and --detect-after-loss "
                     "must be >= 0")
    if not 0.0 <= args.second_opinion <= 1.0:
        parser.error("--second-opinion must be in [0, 1]")
    if args.num_threads < 1:
        parser.error("--num-threads must be at least 1")
    unused = network_only_flags(args)
    if unused:
        print(f"dope: {' and '.join(unused)} {'is' if len(unused) == 1 else 'are'} for --backend network",
              file=sys.stderr)
        return 2
    if args.hfov is not None and not 0.0 < args.hfov < 180.0:
        parser.error("--hfov must be between 0 and 180 degrees")
    if args.rectified and args.camera is None:
        parser.error("--rectified needs --camera")
    if args.record is not None and args.record.exists():
        parser.error(f"--record {args.record}: exists; a recording never overwrites")
    if args.record is not None:
        above = next(p for p in args.record.absolute().parents if p.exists())
        if not above.is_dir():
            parser.error(f"--record {args.record}: {above} is a file, not a folder")
    camera = None
    if args.camera is not None:
        try:
            camera = load_camera_yaml(args.camera, rectified=args.rectified)
        except CameraFileError as e:
            print(f"dope: {e}", file=sys.stderr)
            return 2
    if args.max_pixels < 1 or args.max_side < 1:
        parser.error("--max-pixels and --max-side must be at least 1")
    sources: list[Path | int] = []
    seen: set[Path] = set()
    missing: list[tuple[str, ImageError]] = []
    for item in args.inputs:
        index = camera_index(item)
        if index is not None:
            sources.append(index)
            continue
        try:
            files = input_files(item)
        except ImageError as e:
            missing.append((item, e))
            continue
        for p in files:
            if p.resolve() not in seen:   # the same file given twice is processed once
                seen.add(p.resolve())
                sources.append(p)
    problem = output_folder_problem(args.output)
    if problem:
        print(f"dope: {problem}", file=sys.stderr)
        return 2
    remove_abandoned_temporaries(args.output)
    guard = InputGuard(p for p in sources if isinstance(p, Path))
    folder = OutputFolder(args.output)
    names = assign_names([p if isinstance(p, Path) else Path(f"camera{p}") for p in sources],
                         out_dir=args.output, suffixes=OUTPUT_SUFFIXES, guard=guard, folder=folder)
    for source, name in zip(sources, names):
        if isinstance(source, Path) and name != source.stem:
            print(f"note: the outputs of {source} are named {name}.* (another input has the same name, or an "
                  "output would overwrite an input or a file dope did not write)", file=sys.stderr)
    try:
        experts_config = experts_config_from_args(args) if args.backend == "experts" else None
    except ExpertsConfigError as e:
        print(f"dope: {e}", file=sys.stderr)
        return 2
    try:
        estimator = build_estimator(args.backend, parts=args.parts, checkpoint=args.checkpoint,
                                    device=args.device, half=args.half, postprocess=args.postprocess,
                                    tile_fractions=(0.5, 0.3) if args.thorough else (0.5,),
                                    num_threads=args.num_threads, experts_config=experts_config)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"dope: cannot build the {args.backend} backend: {e}", file=sys.stderr)
        return 2
    runner = Runner(estimator, args, guard, camera, folder)
    for item, error in missing:
        runner.fail(item, str(error), error.reason)
    pairs = list(zip(sources, names))
    images = [s for s in pairs if isinstance(s[0], Path) and not is_video(s[0])]
    videos = [s for s in pairs if not (isinstance(s[0], Path) and not is_video(s[0]))]
    if args.record is not None and (len(videos) != 1 or images):
        parser.error("--record takes exactly one video or webcam input")
    try:
        for path, name in _progress(images, len(images), "images", args.quiet or len(images) < 2):
            runner.run(path, name)
        for source, name in videos:
            runner.run(source, name)
    except KeyboardInterrupt:
        print("dope: interrupted", file=sys.stderr)
        print(runner.summary())
        return 130
    print(runner.summary())
    return 0 if runner.done > 0 and not runner.failed_inputs else 1


_VIDEO_DEVICE = re.compile(r"/dev/video(\d+)")


def camera_index(item: str) -> int | None:
    """The webcam a command-line ``item`` names, as OpenCV's camera index, or ``None`` for a file or folder:
    digits that are no file's name (``0``), or a Linux video device (``/dev/video2``, or a link to one such as
    ``/dev/v4l/by-id/usb-...-video-index0``): OpenCV's index ``N`` opens ``/dev/videoN``."""
    if item.isdigit() and not Path(item).exists():
        return int(item)
    device = _VIDEO_DEVICE.fullmatch(os.path.realpath(item))
    return int(device.group(1)) if device else None


def input_files(item: str) -> list[Path]:
    """The input files of a command-line ``item`` (:func:`~dope_core.image_io.list_inputs`); a folder's leave
    out the files its :data:`~dope_core.output_names.MANIFEST` names as outputs of earlier runs, so that a run
    with ``-o`` equal to an input folder, repeated, processes the same inputs and writes the same names.

    Raises:
        ImageError: no such file or folder, a folder that cannot be read or holds no image or video but dope's.
    """
    files = list_inputs(item)
    if not Path(item).is_dir():
        return files
    folder = OutputFolder(Path(item))
    inputs = [p for p in files if not folder.wrote(p)]
    if not inputs:
        raise ImageError(f"{item}: folder holds no image or video file but outputs of dope (listed in {MANIFEST})",
                         reason="folder holds no image or video file")
    return inputs


def output_folder_problem(output: Path) -> str | None:
    """Why ``output`` cannot be the output folder (it is created when missing), or ``None``."""
    try:
        output.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"-o {output}: exists and is not a folder"
    except OSError as e:
        return f"-o {output}: cannot be created ({e.strerror or type(e).__name__})"
    if not os.access(output, os.W_OK | os.X_OK):
        return f"-o {output}: no permission to write in this folder"
    return None


if __name__ == "__main__":
    sys.exit(main())
