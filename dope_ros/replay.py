"""``dope-replay``: play a recording back through a DOPE node, or re-run the estimator on it offline.

A recording is a rosbag2 MCAP folder holding ``sensor_msgs/CompressedImage`` frames
(and ``sensor_msgs/CameraInfo``), as ``dope --record`` and ``scripts/demo.sh`` write
them (:mod:`dope_core.recording`); a cut-off recording is played up to its last
complete frame.

* ``dope-replay BAG --namespace NS`` (default ``replay``; ``/`` or ``""``: the root
  namespace): publishes each frame's compressed image on ``/NS/camera/image_raw/compressed``
  and its camera info on ``/NS/camera/camera_info`` with the recorded headers (stamps and
  frame_id unchanged), for a node in namespace ``NS`` with ``image_transport: compressed``
  whose ``image`` and ``camera_info`` read ``camera/image_raw`` and ``camera/camera_info``
  (``ros2 launch dope_ros dope.launch.py namespace:=NS image_transport:=compressed``, the
  launch file's default remappings). By default in lock step (the
  next frame leaves when the node has published the poses of the previous one, so
  every frame is processed); ``--realtime`` keeps the recorded timing instead.
  Prints how many frames the node answered.
* ``dope-replay BAG --offline -o OUT.jsonl``: no ROS; the estimator runs on the
  recorded images in the process (tracking, placement with the recorded camera info,
  lens distortion included, ``--rectified`` as the node's parameter; frames, smoothing,
  grasp on the recorded stamps) and writes one JSON line per frame. A recorded image
  that is over the size limits or does not decode, or that the estimator fails on, is
  a counted skip (exit status 1), never the end of the replay. Each line is
  ``{"source": "dope-replay", "stamp_ns": ..., <the poses>}``. ``OUT.jsonl`` is written to a
  temporary file and renamed when complete (Ctrl-C keeps the frames done); it may replace an
  earlier replay's output (:func:`is_replay_output`), never another file nor anything inside the
  recording.

A recording that cannot be read, an output that cannot be written, or a namespace ROS would
refuse is one line and exit status 2; Ctrl-C or SIGTERM stops after the summary of what was
done, exit status 130.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

from dope_core.atomic_files import atomic_path
from dope_core.recording import (CAMERA_INFO_TOPIC, IMAGE_TOPIC, RecordingError, frames_by_stamp, open_recording,
                                 read_recording)

MAX_REALTIME_GAP_S = 5.0
"""``--realtime``: a longer gap between two recorded stamps (a pause, a stamp that jumps) is played as this."""

REPLAY_SOURCE = "dope-replay"
"""The ``source`` of every line an offline replay writes: what marks a file as this tool's output."""

UNMARKED_REPLAY_KEYS = (("stamp_ns", "image_size", "backend", "people", "unassigned"),
                        ("stamp_ns", "image_size", "backend", "people", "unassigned", "lost_track_ids"))
"""The keys, in order, of a line an offline replay wrote before :data:`REPLAY_SOURCE` marked them (the stamp,
then :meth:`~dope_core.structures.WholeBodyPoses.to_json_dict`); no other writer of the project has them
(``dope``'s per-video lines start with ``frame``)."""


def node_namespace(namespace: str) -> str:
    """``namespace`` as an absolute ROS namespace: ``/`` (the root) for ``""`` or ``"/"``, else ``/a/b`` with
    leading and trailing slashes dropped (``a/b``, ``/a/b/`` and ``//a/b`` are ``/a/b``).

    Raises:
        ValueError: (one line, rclpy's reason) for a namespace ROS refuses, or one whose topics it would
            refuse (too long).
    """
    from rclpy.exceptions import InvalidNamespaceException, InvalidTopicNameException
    from rclpy.validate_full_topic_name import validate_full_topic_name
    from rclpy.validate_namespace import validate_namespace

    ns = "/" + namespace.strip("/")
    try:
        validate_namespace(ns)
        validate_full_topic_name(ns.rstrip("/") + "/camera/image_raw/compressed")
    except (InvalidNamespaceException, InvalidTopicNameException) as e:
        raise ValueError(str(e).splitlines()[0].rstrip(":")) from None
    return ns


def replay_topics(namespace: str) -> tuple[str, str, str]:
    """``(image, camera info, poses)`` topics of the DOPE node in ``namespace`` (see :func:`node_namespace`;
    ``ValueError`` for an invalid one): ``/NS/camera/image_raw/compressed``, ``/NS/camera/camera_info``,
    ``/NS/dope/poses``, or ``/camera/image_raw/compressed``... in the root namespace."""
    base = node_namespace(namespace).rstrip("/")
    return f"{base}/camera/image_raw/compressed", f"{base}/camera/camera_info", f"{base}/dope/poses"


def recorded_frames(bag: Path) -> Iterator[tuple[int, Optional[bytes], bytes]]:
    """``(stamp ns, CameraInfo CDR or None, CompressedImage CDR)`` per recorded frame, in stamp order.

    Topics are recognised by their ending (``.../camera/image_raw/compressed``,
    ``.../camera/camera_info``), so namespaced recordings (the demo's) play too.
    """
    for stamp, got in frames_by_stamp(bag, (IMAGE_TOPIC, CAMERA_INFO_TOPIC)):
        yield stamp, got[CAMERA_INFO_TOPIC][0] if CAMERA_INFO_TOPIC in got else None, got[IMAGE_TOPIC][0]


class BagPlayer:
    """Publishes a recording's frames into a node's inputs from an existing rclpy node.

    Args:
        node: the rclpy node to publish from (and to hear the node's poses on).
        namespace: the DOPE node's namespace (its inputs are ``/NS/camera/...``; ``""`` or ``"/"``: the root
            namespace, ``/camera/...``); ``ValueError`` for an invalid one (:func:`node_namespace`).
        on_answer: called with ``(stamp ns, WholeBodyPoseArray)`` for each answer, on the executor's
            thread; the player itself keeps only the answered stamps (the poses of a long recording
            would be gigabytes).
    """

    def __init__(self, node, namespace: str, on_answer: Optional[Callable[[int, object], None]] = None) -> None:
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, CompressedImage

        from dope_ros.msg import WholeBodyPoseArray

        image_topic, info_topic, poses_topic = replay_topics(namespace)
        self._context = node.context
        self.image_pub = node.create_publisher(CompressedImage, image_topic, qos_profile_sensor_data)
        self.info_pub = node.create_publisher(CameraInfo, info_topic, qos_profile_sensor_data)
        self.answered: set[int] = set()
        self._on_answer = on_answer
        self._cond = threading.Condition()
        node.create_subscription(WholeBodyPoseArray, poses_topic, self._on_poses, 50)

    def _on_poses(self, msg) -> None:
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        if self._on_answer is not None:
            self._on_answer(stamp, msg)
        with self._cond:
            self.answered.add(stamp)
            self._cond.notify_all()

    def wait_for_node(self, timeout_s: float = 60.0) -> bool:
        """Wait until the node subscribes to the image topic (``False``: not within ``timeout_s``, or the
        publishing node's context was shut down)."""
        deadline = time.monotonic() + timeout_s
        while self.image_pub.get_subscription_count() == 0:
            if time.monotonic() > deadline or not self._context.ok():
                return False
            time.sleep(0.05)
        return True

    def _wait(self, stamp: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while stamp not in self.answered:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def play(self, bag: Path, *, realtime: bool = False, timeout_s: float = 60.0, answer_s: float = 10.0,
             sent: Optional[list[int]] = None) -> list[int]:
        """Publish every frame (serialized bytes as recorded); returns the stamps sent (also appended to
        ``sent`` as they go, for a caller stopped half-way).

        Lock step waits up to ``timeout_s`` for the node's first answer (it may still be loading its models),
        then up to ``answer_s`` a frame (a frame the node skips, undecodable say, gets no answer), resending
        the frame twice meanwhile. ``--realtime`` plays a gap between two stamps of more than
        :data:`MAX_REALTIME_GAP_S` as that long.
        """
        sent = [] if sent is None else sent
        clock = time.monotonic()
        last: Optional[int] = None
        for stamp, info, image in recorded_frames(bag):
            if realtime and last is not None:   # the recorded gap, on the wall clock
                gap = min(max(0.0, (stamp - last) / 1e9), MAX_REALTIME_GAP_S)
                time.sleep(max(0.0, gap - (time.monotonic() - clock)))
            clock, last = time.monotonic(), stamp
            if info is not None:
                self.info_pub.publish(info)
            self.image_pub.publish(image)
            sent.append(stamp)
            if not realtime:
                wait = answer_s if self.answered else timeout_s
                for _ in range(3):   # best-effort input: resend a frame that got no answer
                    if self._wait(stamp, wait / 3):
                        break
                    if info is not None:
                        self.info_pub.publish(info)
                    self.image_pub.publish(image)
        return sent


def _offline(bag: Path, out: Path, backend: str, device: str, rectified: bool, streaming: bool = True) -> int:
    """Re-estimate every recorded frame into ``out`` (JSON lines); 0 when all were, 1 when any was skipped.
    The experts follow people from frame to frame as ``dope`` does on a video (its default schedule, track
    ids from the regions), so that a lossless recording of ``dope`` re-estimates to its poses (to the pixel
    while the same people are followed; streaming is not repeatable to the pixel once people come and go); with
    ``streaming`` false every frame is searched from scratch (``dope --no-streaming``). Ctrl-C prints the
    summary of the frames done, which ``out`` keeps, and goes on as ``KeyboardInterrupt``."""
    from collections import Counter

    from dope_core.camera import InvalidIntrinsicsError
    from dope_core.estimator import build_estimator
    from dope_core.placement import place_poses
    from dope_core.teleop import TeleopPipeline
    from dope_core.tracking import PersonTracker

    from dope_core.experts.streaming import DetectionSchedule

    tracker, teleop = PersonTracker(), TeleopPipeline()
    estimator = build_estimator(backend, device=device,
                                streaming=DetectionSchedule() if streaming and backend == "experts" else None,
                                track_ids=tracker.registry.ids)
    skipped: Counter[str] = Counter()
    unplaced: Counter[str] = Counter()
    done = [0]

    def skip(stamp: int, reason: str, kind: str) -> None:
        skipped[kind] += 1
        print(f"dope-replay: skipped {reason}", file=sys.stderr)

    def summary() -> str:
        text = f"re-estimated {done[0]} recorded frames into {out}"
        if skipped:
            text += "; skipped " + ", ".join(f"{v} ({k})" for k, v in sorted(skipped.items()))
        if unplaced:
            text += f"; {sum(unplaced.values())} not placed (camera info refused)"
        return text

    try:
        with atomic_path(out, keep_on_interrupt=True) as tmp, open(tmp, "w") as f:
            for frame in read_recording(bag, on_skip=lambda stamp, reason: skip(stamp, reason, "unreadable")):
                t = frame.stamp_ns / 1e9
                try:
                    poses = estimator(frame.image)
                except Exception as e:   # one frame the estimator cannot take must not end the replay
                    skip(frame.stamp_ns, f"the frame stamped {frame.stamp_ns} ns: estimator failed: "
                                         f"{type(e).__name__}: {e}", "estimator_error")
                    continue
                poses = tracker.update(poses, t)
                try:
                    camera = frame.camera(rectified=rectified)
                    if camera is not None:
                        camera.check_image_size(frame.image.shape[1], frame.image.shape[0])
                        poses = place_poses(poses, camera)
                except InvalidIntrinsicsError as e:
                    if not unplaced[str(e)]:
                        print(f"dope-replay: recorded camera info refused ({e}): 3D stays part-relative",
                              file=sys.stderr)
                    unplaced[str(e)] += 1
                poses = teleop(poses, t)
                f.write(replay_line(frame.stamp_ns, poses) + "\n")
                done[0] += 1
    except KeyboardInterrupt:
        print(summary() + " (interrupted)")
        raise
    finally:
        if hasattr(estimator, "close"):   # the streaming experts' landmark threads
            estimator.close()
    print(summary())
    return 0 if done[0] and not skipped else 1


def replay_line(stamp_ns: int, poses) -> str:
    """One line of an offline replay's output (without its newline): the :data:`REPLAY_SOURCE` marker, the
    frame's stamp and its :class:`~dope_core.structures.WholeBodyPoses`, as strict JSON."""
    return json.dumps({"source": REPLAY_SOURCE, "stamp_ns": stamp_ns, **poses.to_json_dict()}, allow_nan=False)


def is_replay_output(first_line: str) -> bool:
    """Whether ``first_line`` (the first line of a file, ``""`` for an empty file) shows a file an offline
    replay wrote: a JSON object marked ``"source": "dope-replay"``, or one with exactly the keys of the replay's
    lines before the marker (:data:`UNMARKED_REPLAY_KEYS`) and an integer stamp. A JSON list or string, dope's
    per-video lines, another tool's objects with a ``stamp_ns`` are not."""
    if first_line == "":
        return True   # an earlier replay of a recording without frames (and nothing to lose)
    try:
        line = json.loads(first_line)
    except ValueError:
        return False
    if not isinstance(line, dict):
        return False
    if line.get("source") == REPLAY_SOURCE:
        return True
    stamp = line.get("stamp_ns")
    return tuple(line) in UNMARKED_REPLAY_KEYS and isinstance(stamp, int) and not isinstance(stamp, bool)


def output_problem(out: Path, bag: Path) -> Optional[str]:
    """Why ``--output`` cannot be written by an offline replay of ``bag``, or ``None``: inside the recording,
    a folder, under a missing folder or a file, or an existing file that is not an earlier replay's."""
    out, bag = out.absolute(), bag.absolute()
    recording = bag if bag.is_dir() or not (bag.parent / "metadata.yaml").exists() else bag.parent
    if out == bag or recording in out.parents or out == recording:
        return "would write into the recording"
    if out.is_dir():
        return "is a folder; name the JSON lines file to write"
    if not out.parent.is_dir():
        return f"its folder {out.parent} does not exist"
    if out.exists():
        try:
            with open(out) as f:
                earlier = is_replay_output(f.readline())
        except (OSError, ValueError):   # unreadable, not text
            earlier = False
        if not earlier:
            return (f"exists and is not an earlier replay's output (whose lines are marked \"source\": "
                    f"\"{REPLAY_SOURCE}\"): refusing to replace it")
    return None


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Optional[list[str]] = None) -> int:
    try:
        return _main(argv)
    except RecordingError as e:
        print(f"dope-replay: {e}", file=sys.stderr)
        return 2


def _main(argv: Optional[list[str]]) -> int:
    p = argparse.ArgumentParser(prog="dope-replay", description=__doc__.split("\n\n")[0])
    p.add_argument("bag", type=Path, help="recording (rosbag2 MCAP folder, or its .mcap file)")
    p.add_argument("--namespace", default="replay",
                   help="namespace of the DOPE node to play into (default: %(default)s; '/' or '': the root "
                        "namespace): publishes /NS/camera/image_raw/compressed and /NS/camera/camera_info")
    p.add_argument("--realtime", action="store_true", help="keep the recorded timing (default: lock step)")
    p.add_argument("--offline", action="store_true", help="no ROS: re-run the estimator on the recorded images")
    p.add_argument("-o", "--output", type=Path, default=Path("replay.jsonl"), help="--offline: JSON lines output")
    p.add_argument("--backend", default="experts", choices=("experts", "network"), help="--offline: estimator")
    p.add_argument("--device", default="auto", help="--offline: device of the network backend")
    p.add_argument("--no-streaming", action="store_true",
                   help="--offline, experts: search every frame from scratch, as 'dope --no-streaming' (default: "
                        "people followed from frame to frame as 'dope' does on a video, so that a png recording of "
                        "'dope' re-estimates to its poses)")
    p.add_argument("--rectified", action="store_true",
                   help="--offline: the recorded images are rectified (place with P), as the node's 'rectified_images'")
    args = p.parse_args(argv)
    if not args.offline:
        try:
            args.namespace = node_namespace(args.namespace)
        except ValueError as e:   # one line, before ROS starts (rclpy would raise on the topic names)
            print(f"dope-replay: --namespace {args.namespace!r}: {e}", file=sys.stderr)
            return 2
    if not args.bag.exists():
        p.error(f"{args.bag} does not exist")
    if args.offline:
        problem = output_problem(args.output, args.bag)
        if problem:
            p.error(f"--output {args.output}: {problem}")
    else:
        open_recording(args.bag)   # a bad recording is one line (RecordingError, exit 2) before a node is awaited
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)   # a job stopped with SIGTERM ends as with Ctrl-C
    try:
        if args.offline:
            return _offline(args.bag, args.output, args.backend, args.device, args.rectified,
                            streaming=not args.no_streaming)
        return _play(args)
    except KeyboardInterrupt:
        print("dope-replay: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def _play(args: argparse.Namespace) -> int:
    """Play the recording into the node of ``args.namespace``; 0 when it answered."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    rclpy.init()
    node = rclpy.create_node("dope_replay")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        player = BagPlayer(node, args.namespace)
        sent: list[int] = []
        playing = False
        try:
            if not player.wait_for_node():
                if rclpy.ok():
                    print(f"dope-replay: no node listens on {player.image_pub.topic_name}", file=sys.stderr)
                    return 1
                raise KeyboardInterrupt
            playing = True
            player.play(args.bag, realtime=args.realtime, sent=sent)
            time.sleep(1.0)
        except Exception:
            if rclpy.ok():
                raise
            raise KeyboardInterrupt from None   # rclpy's own Ctrl-C/SIGTERM handler shut the context down
        finally:   # also when interrupted: what was played
            if playing:
                print(f"played {len(sent)} frames into {args.namespace}; the node answered "
                      f"{sum(s in player.answered for s in sent)}")
        return 0 if any(s in player.answered for s in sent) else 1
    finally:
        executor.shutdown()
        spinner.join(timeout=5.0)   # out of rclpy's wait before the context goes (else a rare abort at exit)
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
