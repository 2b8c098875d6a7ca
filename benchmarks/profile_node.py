"""Where the node's time goes per frame: cProfile of the worker's callback on video frames, in one process.

Builds the DOPE node (experts backend, streaming or per-frame) in this process, with a
listener subscribed to ``~/poses`` and, with ``--outputs all`` (the demo recorder's
case), to ``~/markers`` and ``~/annotated_image`` too, then feeds the frames of a clip
(rgb8 ``sensor_msgs/Image`` with a matching ``CameraInfo``) straight to the callback
that the node's worker thread runs (decode, estimator, tracking, placement, teleop
outputs, messages, markers, annotated image, publishing). No transport, no recorder:
what remains is the node's own cost. Prints wall and CPU ms per frame, the cost of each
stage (cumulative ms per frame) and the functions that take the most time themselves.
The machine may be shared: the load average is printed. Re-executes itself in the
loopback-only ROS environment (scripts/ros_env.sh) when started outside it. Usage:
    .venv/bin/python benchmarks/profile_node.py --frames 40 [--no-streaming] [--outputs poses]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import threading
import time
from pathlib import Path

from isolation import reexec_isolated  # benchmarks/isolation.py (the script's folder is on sys.path)

REPO = Path(__file__).resolve().parents[1]

STAGES = {
    "estimator": "estimator (experts)",
    "_decode": "image decoding",
    "tracking": "tracking",
    "place_poses": "placement in the camera frame",
    "process": "teleop outputs: part frames, smoothing, grasp",
    "poses_to_msg": "pose messages (~/poses, ~/operator)",
    "poses_to_markers": "markers",
    "draw_poses": "annotated image: drawing",
    "encode_raw": "annotated image: encoding",
    "publish": "publishing (serialization, all topics)",
}


def stage(path: str, name: str) -> str | None:
    """The :data:`STAGES` key of a profiled function, ``None`` for the others."""
    if name == "__call__" and path.endswith(("experts/ensemble.py", "experts/streaming.py")):
        return "estimator"
    if name == "publish" and path.endswith("rclpy/publisher.py"):
        return "publish"
    if name == "update" and path.endswith("dope_core/tracking.py"):
        return "tracking"
    if name == "process" and path.endswith("teleop_outputs.py"):
        return "process"
    if name in ("_decode", "place_poses", "poses_to_msg", "poses_to_markers", "draw_poses", "encode_raw"):
        return name
    return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", type=Path, default=REPO.parent / "shared" / "data" / "video" / "sports2d_demo.mp4")
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--max-width", type=int, default=960)
    p.add_argument("--no-streaming", action="store_true", help="every frame searched from scratch")
    p.add_argument("--outputs", choices=("all", "poses"), default="all",
                   help="subscribed outputs: all (poses, markers, annotated image) or poses only")
    args = p.parse_args()
    reexec_isolated(__file__)
    sys.path.insert(0, str(REPO))
    import rclpy
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image
    from visualization_msgs.msg import MarkerArray

    from dope_ros.demo import _image_msg, _info_msg
    from dope_ros.msg import WholeBodyPoseArray
    from dope_ros.node import DopeNode
    from dope_ros.video_source import intrinsics_from_fov, video_frames

    rclpy.init()
    node = DopeNode(parameter_overrides=[Parameter("streaming", value=not args.no_streaming)])
    listener = rclpy.create_node("profile_node_listener")
    listener.create_subscription(WholeBodyPoseArray, "/dope/poses", lambda m: None, 10)
    if args.outputs == "all":
        listener.create_subscription(MarkerArray, "/dope/markers", lambda m: None, 10)
        listener.create_subscription(Image, "/dope/annotated_image", lambda m: None, 10)
    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(listener)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (node._pose_pub.get_subscription_count() == 0 or (
            args.outputs == "all" and node._image_pub.get_subscription_count() == 0)):
        time.sleep(0.1)
    frames = list(video_frames(args.video, max_frames=args.frames + 1, max_width=args.max_width))
    msgs = []
    for i, frame in enumerate(frames):
        stamp = (1000 + i // 30, int((i % 30) * 1e9 / 30))
        h, w = frame.shape[:2]
        msgs.append((_image_msg(frame, stamp), _info_msg(intrinsics_from_fov(w, h, 60.0), w, h, stamp)))
    node._on_camera_info(msgs[0][1])
    node._process(msgs[0][0], time.monotonic())          # warm-up (XNNPACK set-up), not profiled
    profile = cProfile.Profile()
    cpu, wall = time.process_time(), time.perf_counter()
    for image, info in msgs[1:]:
        node._on_camera_info(info)
        profile.enable()
        node._process(image, time.monotonic())
        profile.disable()
    n = len(msgs) - 1
    wall, cpu = (time.perf_counter() - wall) / n * 1000, (time.process_time() - cpu) / n * 1000
    mode = "per-frame" if args.no_streaming else "streaming"
    print(f"{args.video.name}: {n} frames {frames[0].shape[1]}x{frames[0].shape[0]}, {mode}, outputs {args.outputs}; "
          f"CPUs {os.cpu_count()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"node callback: {wall:.0f} ms wall, {cpu:.0f} ms CPU (process, all threads) per frame")
    stats = pstats.Stats(profile)
    cumulative: dict[str, float] = {}
    for (path, _, name), (_, _, _, cum, _) in stats.stats.items():   # type: ignore[attr-defined]
        key = stage(path, name)
        if key is not None:
            cumulative[key] = cumulative.get(key, 0.0) + cum
    print("| stage | ms per frame (cumulative, wall) |\n|---|---|")
    for key, label in STAGES.items():
        if key in cumulative:
            print(f"| {label} | {1000 * cumulative[key] / n:.1f} |")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
    print(out.getvalue())
    executor.shutdown()
    spinner.join(timeout=5.0)   # out of rclpy's wait before the context goes (else a rare abort at exit)
    listener.destroy_node()
    node.shutdown()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
