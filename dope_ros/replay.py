"""``dope-replay``: play a recording back through a DOPE node, or re-run the estimator on it offline.

A recording is a rosbag2 MCAP folder holding ``sensor_msgs/CompressedImage`` frames
(and ``sensor_msgs/CameraInfo``), as ``dope --record`` and ``scripts/demo.sh`` write
them (:mod:`dope_core.recording`); a cut-off recording is played up to its last
complete frame.

* ``dope-replay BAG --namespace NS``: publishes each frame's compressed image on
  ``/NS/camera/image_raw/compressed`` and its camera info on ``/NS/camera/camera_info``
  with the recorded headers (stamps and frame_id unchanged), for a node started with
  ``image_transport: compressed`` in namespace ``NS``. By default in lock step (the
  next frame leaves when the node has published the poses of the previous one, so
  every frame is processed); ``--realtime`` keeps the recorded timing instead.
  Prints how many frames the node answered.
* ``dope-replay BAG --offline -o OUT.jsonl``: no ROS; the estimator runs on the
  recorded images in the process (tracking, placement with the recorded camera info,
  lens distortion included, ``--rectified`` as the node's parameter; frames, smoothing,
  grasp on the recorded stamps) and writes one JSON line per frame. A recorded image
  that is over the size limits or does not decode, or that the estimator fails on, is
  a counted skip (exit status 1), never the end of the replay.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

from dope_core.recording import CAMERA_INFO_TOPIC, IMAGE_TOPIC, frames_by_stamp, read_recording


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
        namespace: the DOPE node's namespace (its inputs are ``/NS/camera/...``).
    """

    def __init__(self, node, namespace: str) -> None:
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, CompressedImage

        from dope_ros.msg import WholeBodyPoseArray

        ns = "/" + namespace.strip("/")
        self.image_pub = node.create_publisher(CompressedImage, f"{ns}/camera/image_raw/compressed",
                                               qos_profile_sensor_data)
        self.info_pub = node.create_publisher(CameraInfo, f"{ns}/camera/camera_info", qos_profile_sensor_data)
        self.answers: dict[int, object] = {}
        self._cond = threading.Condition()
        node.create_subscription(WholeBodyPoseArray, f"{ns}/dope/poses", self._on_poses, 50)

    def _on_poses(self, msg) -> None:
        with self._cond:
            self.answers[msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec] = msg
            self._cond.notify_all()

    def wait_for_node(self, timeout_s: float = 60.0) -> bool:
        """Wait until the node subscribes to the image topic."""
        deadline = time.monotonic() + timeout_s
        while self.image_pub.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _wait(self, stamp: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while stamp not in self.answers:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def play(self, bag: Path, *, realtime: bool = False, timeout_s: float = 60.0) -> list[int]:
        """Publish every frame (serialized bytes as recorded); returns the stamps sent."""
        sent: list[int] = []
        started = time.monotonic()
        for stamp, info, image in recorded_frames(bag):
            if realtime and sent:   # the recorded time since the first frame, on the wall clock
                time.sleep(max(0.0, (stamp - sent[0]) / 1e9 - (time.monotonic() - started)))
            if info is not None:
                self.info_pub.publish(info)
            self.image_pub.publish(image)
            sent.append(stamp)
            if not realtime:
                for _ in range(3):   # best-effort input: resend a frame that got no answer
                    if self._wait(stamp, timeout_s / 3):
                        break
                    if info is not None:
                        self.info_pub.publish(info)
                    self.image_pub.publish(image)
        return sent


def _offline(bag: Path, out: Path, backend: str, device: str, rectified: bool) -> int:
    """Re-estimate every recorded frame into ``out`` (JSON lines); 0 when all were, 1 when any was skipped."""
    from collections import Counter

    from dope_core.camera import InvalidIntrinsicsError
    from dope_core.estimator import build_estimator
    from dope_core.placement import place_poses
    from dope_core.teleop import TeleopPipeline
    from dope_core.tracking import PersonTracker

    estimator = build_estimator(backend, device=device)
    tracker, teleop = PersonTracker(), TeleopPipeline()
    skipped: Counter[str] = Counter()
    unplaced: Counter[str] = Counter()

    def skip(stamp: int, reason: str, kind: str) -> None:
        skipped[kind] += 1
        print(f"dope-replay: skipped {reason}", file=sys.stderr)

    n = 0
    with open(out, "w") as f:
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
                    print(f"dope-replay: recorded camera info refused ({e}): 3D stays part-relative", file=sys.stderr)
                unplaced[str(e)] += 1
            poses = teleop(poses, t)
            f.write(json.dumps({"stamp_ns": frame.stamp_ns, **poses.to_dict()}) + "\n")
            n += 1
    summary = f"re-estimated {n} recorded frames into {out}"
    if skipped:
        summary += "; skipped " + ", ".join(f"{v} ({k})" for k, v in sorted(skipped.items()))
    if unplaced:
        summary += f"; {sum(unplaced.values())} not placed (camera info refused)"
    print(summary)
    return 0 if n and not skipped else 1


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="dope-replay", description=__doc__.split("\n\n")[0])
    p.add_argument("bag", type=Path, help="recording (rosbag2 MCAP folder, or its .mcap file)")
    p.add_argument("--namespace", default="replay", help="namespace of the DOPE node to play into")
    p.add_argument("--realtime", action="store_true", help="keep the recorded timing (default: lock step)")
    p.add_argument("--offline", action="store_true", help="no ROS: re-run the estimator on the recorded images")
    p.add_argument("-o", "--output", type=Path, default=Path("replay.jsonl"), help="--offline: JSON lines output")
    p.add_argument("--backend", default="experts", choices=("experts", "network"), help="--offline: estimator")
    p.add_argument("--device", default="auto", help="--offline: device of the network backend")
    p.add_argument("--rectified", action="store_true",
                   help="--offline: the recorded images are rectified (place with P), as the node's 'rectified_images'")
    args = p.parse_args(argv)
    if not args.bag.exists():
        p.error(f"{args.bag} does not exist")
    bag, out = args.bag.resolve(), args.output.resolve()
    if args.offline and (out == bag or bag in out.parents):
        p.error(f"--output {args.output} would write into the recording {args.bag}")
    if args.offline:
        return _offline(args.bag, args.output, args.backend, args.device, args.rectified)
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
        if not player.wait_for_node():
            print(f"dope-replay: no node listens on {player.image_pub.topic_name}", file=sys.stderr)
            return 1
        sent = player.play(args.bag, realtime=args.realtime)
        time.sleep(1.0)
        answered = sum(s in player.answers for s in sent)
        print(f"played {len(sent)} frames into /{args.namespace.strip('/')}; the node answered {answered}")
        return 0 if answered else 1
    finally:
        executor.shutdown()
        spinner.join(timeout=5.0)   # out of rclpy's wait before the context goes (else a rare abort at exit)
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
