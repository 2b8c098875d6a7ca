"""Soak, flood and bad-input run of the DOPE node in another process, per backend, on the CPU.

For each backend (``--backends experts network``):

1. **soak**: ``--frames`` frames of a looped real video (lock step: each frame waits
   for its answer), the node's resident memory (RSS, the node's process and its
   children, from ``/proc``) sampled every ``--rss-period`` seconds; growth is the
   last tenth of the samples' median against the median of the samples of the first
   tenth of the frames after warm-up (``--warmup-frames``);
2. **flood**: ``--flood`` images published within ``--flood-seconds``, then a valid
   frame that must be answered;
3. **bad input**: the list of :func:`bad_inputs` (raw ``sensor_msgs/Image``) and
   :func:`bad_compressed` (``CompressedImage``, a second node with
   ``image_transport:=compressed``): bad encodings and sizes, declared sizes far larger
   than the data, random bytes, a 20000x20000 PNG of 1 MB, a 2x8000 and a 33000x40
   PNG... each followed by a valid frame that must be answered.

Prints one JSON summary (also written to ``--out``/soak_node.json) with the peak RSS.
Runs isolated like every ROS process here (``scripts/ros_env.sh``: loopback only).

    python benchmarks/soak_node.py --frames 10000                 # the full run (hours on 2 cores)
    python benchmarks/soak_node.py --frames 40 --flood 100        # minutes
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

from isolation import reexec_isolated  # benchmarks/isolation.py (the script's folder is on sys.path)

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, bytes (0 once it is gone)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


class RssSampler(threading.Thread):
    """Samples :func:`tree_rss_bytes` when started, every ``period`` seconds, and when stopped,
    with the progress counter given; :meth:`sample` adds one more at any moment."""

    def __init__(self, pid: int, period: float, progress: Callable[[], int]) -> None:
        super().__init__(daemon=True)
        self.pid, self.period, self.progress = pid, period, progress
        self.samples: list[tuple[float, int, int]] = []   # (seconds, frames done, bytes)
        self.peak = 0
        self._stop_event = threading.Event()
        self._t0 = time.monotonic()

    def sample(self) -> None:
        rss = tree_rss_bytes(self.pid)
        self.peak = max(self.peak, rss)
        self.samples.append((time.monotonic() - self._t0, self.progress(), rss))

    def run(self) -> None:
        self.sample()
        while not self._stop_event.wait(self.period):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()


def growth(samples: list[tuple[float, int, int]], warmup_frames: int, frames: int) -> dict:
    """RSS growth after warm-up: the median of the last tenth of the samples against the first tenth after warm-up."""
    after = [s for s in samples if s[1] >= warmup_frames]
    if len(after) < 4:
        return {"samples_after_warmup": len(after), "growth_percent": None}
    n = max(1, len(after) // 10)
    start = statistics.median(s[2] for s in after[:n])
    end = statistics.median(s[2] for s in after[-n:])
    return {"samples_after_warmup": len(after), "rss_after_warmup_mb": round(start / 2**20, 1),
            "rss_end_mb": round(end / 2**20, 1), "growth_percent": round(100.0 * (end - start) / start, 2)}


def looped_frames(video: Path, max_width: int) -> Iterator:
    from dope_ros.video_source import video_frames

    while True:
        n = 0
        for frame in video_frames(video, max_width=max_width):
            n += 1
            yield frame
        if n == 0:
            raise RuntimeError(f"{video} gives no frame")


def bad_inputs(valid) -> list[tuple[str, Callable]]:
    """Raw images a node must skip (or answer, when valid but odd), as ``(name, make)``; ``valid`` is an RGB frame."""
    import numpy as np
    from sensor_msgs.msg import Image

    rng = np.random.default_rng(0)
    h, w = valid.shape[:2]

    def raw(enc: str, height: int, width: int, step: int, data: bytes) -> Image:
        return Image(height=height, width=width, encoding=enc, step=step, data=data)

    return [
        ("unsupported encoding 8UC2", lambda: raw("8UC2", h, w, 2 * w, bytes(2 * w * h))),
        ("made-up encoding", lambda: raw("rgb9000", h, w, 3 * w, bytes(3 * w * h))),
        ("depth 16UC1", lambda: raw("16UC1", h, w, 2 * w, bytes(2 * w * h))),
        ("depth 32FC1", lambda: raw("32FC1", h, w, 4 * w, bytes(4 * w * h))),
        ("zero size", lambda: raw("rgb8", 0, 0, 0, b"")),
        ("data 5 bytes short", lambda: raw("rgb8", h, w, 3 * w, bytes(3 * w * h - 5))),
        ("step smaller than a row", lambda: raw("rgb8", h, w, w, bytes(w * h))),
        ("declares 20000x20000, holds 12 bytes", lambda: raw("rgb8", 20000, 20000, 60000, bytes(12))),
        ("declares 4000x4000 (in the limits), holds 12 bytes", lambda: raw("rgb8", 4000, 4000, 12000, bytes(12))),
        ("declares 2^31 x 2^31", lambda: raw("rgb8", 2**31 - 1, 2**31 - 1, 2**32 - 1, bytes(12))),
        ("odd width yuyv", lambda: raw("yuyv", h, w - 1, 2 * (w - 1), bytes(2 * (w - 1) * h))),
        ("random bytes as rgb8", lambda: raw("rgb8", h, w, 3 * w, rng.integers(0, 256, 3 * w * h, np.uint8).tobytes())),
        ("random bytes as bayer_rggb8", lambda: raw("bayer_rggb8", h, w, w, rng.integers(0, 256, w * h, np.uint8).tobytes())),
        ("33000x40 rgb8 (side over the limit)", lambda: raw("rgb8", 40, 33000, 99000, bytes(99000 * 40))),
        ("2x8000 rgb8", lambda: raw("rgb8", 2, 8000, 24000, bytes(48000))),
        ("3840x2160 rgb8 (4K, 24.9 MB)", lambda: raw("rgb8", 2160, 3840, 11520,
                                                      np.resize(valid, (2160, 3840, 3)).tobytes())),
        ("1x1 mono8", lambda: raw("mono8", 1, 1, 1, b"\x80")),
    ]


def bad_compressed(valid) -> list[tuple[str, Callable]]:
    """Compressed images a node must skip (or answer when valid but odd), as ``(name, make)``."""
    import cv2
    import numpy as np
    from sensor_msgs.msg import CompressedImage

    rng = np.random.default_rng(1)
    jpg = cv2.imencode(".jpg", valid[:, :, ::-1])[1].tobytes()
    png = bytearray(cv2.imencode(".png", valid[:, :, ::-1])[1].tobytes())
    huge_header = bytearray(png)
    huge_header[16:24] = struct.pack(">II", 20000, 20000)
    big_png = cv2.imencode(".png", np.zeros((20000, 20000), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].tobytes()
    sof = jpg.find(b"\xff\xc0")
    huge_jpg = bytearray(jpg)
    huge_jpg[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)

    def comp(fmt: str, data: bytes) -> CompressedImage:
        return CompressedImage(format=fmt, data=bytes(data))

    return [
        ("empty", lambda: comp("jpeg", b"")),
        ("random bytes", lambda: comp("jpeg", rng.integers(0, 256, 100_000, np.uint8).tobytes())),
        ("JPEG magic then garbage", lambda: comp("jpeg", b"\xff\xd8\xff\xe0 not a jpeg")),
        ("truncated JPEG (half)", lambda: comp("jpeg", jpg[:len(jpg) // 2])),
        ("PNG whose header declares 20000x20000", lambda: comp("png", huge_header)),
        (f"real 20000x20000 PNG ({len(big_png) / 1e6:.1f} MB)", lambda: comp("png", big_png)),
        ("JPEG whose header declares 65000x65000", lambda: comp("jpeg", huge_jpg)),
        ("33000x40 PNG (side over the limit)", lambda: comp("png", cv2.imencode(".png", np.zeros((40, 33000), np.uint8))[1])),
        ("2x8000 PNG", lambda: comp("png", cv2.imencode(".png", np.zeros((2, 8000), np.uint8))[1])),
        ("GIF-like unknown format", lambda: comp("gif", b"GIF89a" + bytes(100))),
    ]


class Client:
    """Publishes to one node and collects its answers (by image stamp) and diagnostics."""

    def __init__(self, namespace: str, compressed: bool) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        from dope_ros.msg import WholeBodyPoseArray

        self.node = rclpy.create_node(f"soak_client_{namespace}")
        topic = f"/{namespace}/camera/image_raw" + ("/compressed" if compressed else "")
        self.image_pub = self.node.create_publisher(CompressedImage if compressed else Image, topic,
                                                    qos_profile_sensor_data)
        self.info_pub = self.node.create_publisher(CameraInfo, f"/{namespace}/camera/camera_info",
                                                   qos_profile_sensor_data)
        self.poses_topic = f"/{namespace}/dope/poses"
        self.answers: set[tuple[int, int]] = set()
        self.diag: dict[str, str] = {}
        self.cond = threading.Condition()
        self.node.create_subscription(WholeBodyPoseArray, self.poses_topic, self._on_poses, 50)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        self._prefix = f"/{namespace}/"
        self.executor = rclpy.executors.SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.spinner = threading.Thread(target=self.executor.spin, daemon=True)
        self.spinner.start()
        self._next = 0

    def _on_poses(self, msg) -> None:
        with self.cond:
            self.answers.add((msg.header.stamp.sec, msg.header.stamp.nanosec))
            self.cond.notify_all()

    def _on_diag(self, msg) -> None:
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            if values.get("image_topic", "").startswith(self._prefix):
                with self.cond:
                    self.diag = values
                    self.cond.notify_all()

    def stamp(self) -> tuple[int, int]:
        self._next += 1
        return (1_000_000 + self._next, 0)

    def publish(self, msg, stamp: tuple[int, int]) -> None:
        msg.header.stamp.sec, msg.header.stamp.nanosec = stamp
        msg.header.frame_id = "camera_optical_frame"
        self.image_pub.publish(msg)

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(timeout=min(left, 0.5))
        return True

    def counter(self, key: str) -> int:
        return int(self.diag.get(key, "0"))

    def bad_total(self) -> int:
        return sum(int(v) for k, v in self.diag.items() if k in ("bad_image", "processing_error", "inference_error"))

    def send_and_wait(self, msg, timeout: float) -> bool:
        stamp = self.stamp()
        self.publish(msg, stamp)
        if not self.wait(lambda: stamp in self.answers, timeout):   # best effort: one resend
            self.publish(msg, stamp)
            return self.wait(lambda: stamp in self.answers, timeout)
        return True

    def close(self) -> None:
        self.executor.shutdown()
        self.spinner.join(timeout=5.0)   # out of rclpy's wait before the context goes
        self.node.destroy_node()


def start_node(namespace: str, backend: str, log: Path, compressed: bool) -> subprocess.Popen:
    from dope_ros.demo import node_command

    params = {"image_transport": "compressed"} if compressed else {}
    return subprocess.Popen(node_command(namespace=namespace, backend=backend, extra_parameters=params),
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=REPO)


def wait_up(client: Client, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 180
    while client.image_pub.get_subscription_count() == 0 or client.node.count_publishers(client.poses_topic) == 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the node did not come up; see {log}")
        time.sleep(0.1)
    time.sleep(0.5)


def stop_node(proc: subprocess.Popen) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@contextmanager
def running_node(namespace: str, backend: str, log: Path, *, compressed: bool, rss_period: float,
                 frames_done: Callable[[], int], out: dict, key: str) -> Iterator[tuple[subprocess.Popen, "Client", "RssSampler"]]:
    """A node in its own process with a client and an RSS sampler; on exit the node is stopped
    and ``out[key + "_node_exit"]`` and ``out[key + "_node_peak_rss_mb"]`` are filled in."""
    proc = start_node(namespace, backend, log, compressed=compressed)
    client = Client(namespace, compressed=compressed)
    sampler = None
    try:
        wait_up(client, proc, log)
        sampler = RssSampler(proc.pid, rss_period, frames_done)
        sampler.start()
        yield proc, client, sampler
    finally:
        if sampler is not None:
            sampler.stop()
        client.close()
        out[f"{key}_node_exit"] = stop_node(proc)
        out[f"{key}_node_peak_rss_mb"] = round(sampler.peak / 2**20, 1) if sampler else None


def run_backend(backend: str, args: argparse.Namespace) -> dict:
    import cv2
    from sensor_msgs.msg import CompressedImage

    from dope_core.image_encoding import encode_raw
    from sensor_msgs.msg import Image

    def image_msg(frame) -> Image:
        h, w, step, data = encode_raw(frame, "rgb8")
        return Image(height=h, width=w, encoding="rgb8", step=step, data=data)

    out: dict = {"backend": backend}
    frames = looped_frames(args.video, args.max_width)
    valid = next(frames)
    # --- raw node: soak, flood, bad raw inputs
    log = args.out / f"node_{backend}_raw.log"
    done = [0]
    with running_node(f"soak_{backend}", backend, log, compressed=False, rss_period=args.rss_period,
                      frames_done=lambda: done[0], out=out, key="raw") as (proc, client, sampler):
        answered, t0 = 0, time.monotonic()
        for i in range(args.frames):
            answered += client.send_and_wait(image_msg(next(frames)), args.timeout)
            done[0] = i + 1
            if proc.poll() is not None:
                raise RuntimeError(f"the node exited during the soak; see {log}")
            if args.progress and (i + 1) % args.progress == 0:
                print(f"[{backend}] {i + 1}/{args.frames} frames, {answered} answered, "
                      f"RSS {tree_rss_bytes(proc.pid) / 2**20:.0f} MB", file=sys.stderr, flush=True)
        soak_s = time.monotonic() - t0
        sampler.sample()   # the end of the soak, however short it was against the period
        out["soak"] = {"frames": args.frames, "answered": answered, "seconds": round(soak_s, 1),
                       "rate_hz": round(args.frames / soak_s, 2), "rss_samples": len(sampler.samples),
                       **growth(sampler.samples, args.warmup_frames, args.frames)}
        # flood
        before_received = client.counter("frames_received")
        flood_msg = image_msg(valid)
        t_flood = time.monotonic()
        for k in range(args.flood):
            client.publish(flood_msg, client.stamp())
            time.sleep(max(0.0, t_flood + (k + 1) * args.flood_seconds / args.flood - time.monotonic()))
        flood_s = time.monotonic() - t_flood
        ok = client.send_and_wait(image_msg(valid), args.timeout)
        client.wait(lambda: client.counter("frames_received") >= before_received + args.flood, 5)
        out["flood"] = {"images": args.flood, "seconds": round(flood_s, 2), "next_valid_answered": ok,
                        "node_frames_received": client.counter("frames_received") - before_received,
                        "node_frames_dropped": client.counter("frames_dropped")}
        out["bad_raw"] = probe(client, bad_inputs(valid), lambda: image_msg(valid), proc, args.timeout)
    if args.skip_compressed:
        return out
    # --- compressed node: bad compressed inputs
    log_c = args.out / f"node_{backend}_compressed.log"
    with running_node(f"soak_{backend}_c", backend, log_c, compressed=True, rss_period=1.0,
                      frames_done=lambda: 0, out=out, key="compressed") as (proc, client, _):
        good = lambda: CompressedImage(format="jpeg", data=cv2.imencode(".jpg", valid[:, :, ::-1])[1].tobytes())  # noqa: E731
        out["bad_compressed"] = probe(client, bad_compressed(valid), good, proc, args.timeout)
    return out


def probe(client: Client, cases: list, make_valid: Callable, proc: subprocess.Popen, timeout: float) -> dict:
    """Each case, then a valid frame that must be answered; the case itself is answered or counted as bad."""
    results = []
    for name, make in cases:
        bad_before = client.bad_total()
        stamp = client.stamp()
        client.publish(make(), stamp)
        handled = client.wait(lambda: stamp in client.answers or client.bad_total() > bad_before, timeout)
        outcome = "answered" if stamp in client.answers else "skipped (counted)" if handled else "no trace"
        after_ok = client.send_and_wait(make_valid(), timeout)
        results.append({"input": name, "outcome": outcome, "next_valid_answered": after_ok,
                        "node_alive": proc.poll() is None})
    return {"cases": results, "all_next_valid_answered": all(r["next_valid_answered"] for r in results),
            "node_alive": proc.poll() is None,
            "no_trace": [r["input"] for r in results if r["outcome"] == "no trace"]}


def main(argv: Optional[list[str]] = None) -> int:
    default_video = REPO.parent / "shared" / "data" / "video" / "sports2d_demo.mp4"
    if not default_video.is_file():
        default_video = Path.home() / ".cache" / "dope_ros" / "sports2d_demo.mp4"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", type=Path, default=default_video, help="looped real video")
    p.add_argument("--backends", nargs="+", default=["experts", "network"], choices=["experts", "network"])
    p.add_argument("--frames", type=int, default=10_000, help="soak frames per backend (lock step)")
    p.add_argument("--warmup-frames", type=int, default=None, help="default: a tenth of --frames")
    p.add_argument("--rss-period", type=float, default=10.0, help="seconds between RSS samples")
    p.add_argument("--flood", type=int, default=500, help="images of the flood")
    p.add_argument("--flood-seconds", type=float, default=2.0)
    p.add_argument("--max-width", type=int, default=640, help="frames are shrunk to this width (pixels)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for one answer")
    p.add_argument("--progress", type=int, default=500, help="print progress every N frames (0: never)")
    p.add_argument("--skip-compressed", action="store_true", help="no second node for the compressed bad inputs")
    p.add_argument("--out", type=Path, default=REPO / "out" / "soak_node")
    args = p.parse_args(argv)
    reexec_isolated(__file__)
    if args.warmup_frames is None:
        args.warmup_frames = args.frames // 10
    args.out.mkdir(parents=True, exist_ok=True)
    import rclpy

    rclpy.init()
    results = {"load_average_start": os.getloadavg(), "cpu_count": os.cpu_count(), "video": str(args.video),
               "max_width": args.max_width, "frames": args.frames, "backends": []}
    try:
        for backend in args.backends:
            results["backends"].append(run_backend(backend, args))
            results["load_average_end"] = os.getloadavg()
            (args.out / "soak_node.json").write_text(json.dumps(results, indent=1) + "\n")   # kept if a later one fails
    finally:
        rclpy.try_shutdown()
    text = json.dumps(results, indent=1)
    print(text)
    ok = all(b["bad_raw"]["all_next_valid_answered"] and b.get("bad_compressed", b["bad_raw"])["all_next_valid_answered"]
             and b["flood"]["next_valid_answered"] and b["soak"]["answered"] == b["soak"]["frames"]
             for b in results["backends"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
