"""The main job: play a video as a camera into the DOPE node (another process) and record what it publishes.

This process publishes each frame as ``sensor_msgs/Image`` (rgb8) with a
``sensor_msgs/CameraInfo`` (pinhole intrinsics from an assumed field of view), and
records the frames (compressed), their camera info and the node's ``~/poses``,
``~/markers`` and TF into an MCAP bag, all on the image stamps, and its
``~/annotated_image`` into a video. By default frames go in lock step (the next frame
leaves when the node has answered the previous one, so every frame is processed);
``--realtime`` plays at the video's frame rate instead, and the node drops what it
cannot keep up with. ``--poses-only`` is a teleoperation loop's pipeline instead: the
frames are decoded before they are played (as a camera driver in its own process would
have them ready), the client subscribes to ``~/poses`` only (so the node draws no
annotated image and builds no markers) and records nothing. Run it through
``scripts/demo.sh`` (loopback-only network).

The output folder is replaced as a whole: a run writes into a new hidden folder beside it, which
takes its place once the run is complete. A run that fails (or is killed) leaves the earlier
demo's outputs as they were; the folder never mixes two runs' outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from dope_core.atomic_files import abandon_folder, atomic_write_text, folder_beside, remove_abandoned_folders, \
    replace_folder
from dope_core.image_encoding import encode_raw
from dope_ros.bag_io import BagWriter
from dope_ros.msg import WholeBodyPoseArray
from dope_ros.video_source import intrinsics_from_fov, video_fps, video_frames

REPO = Path(__file__).resolve().parents[1]


def node_command(*, namespace: str, device: str = "cpu", backend: str = "experts", checkpoint: str = "",
                 extra_parameters: Optional[dict[str, str]] = None) -> list[str]:
    """Command line of a DOPE node reading ``/<namespace>/camera/{image_raw,camera_info}``."""
    installed = Path(sys.prefix) / "lib" / "dope_ros" / "dope_node"
    exe = installed if installed.exists() else REPO / "scripts" / "dope_node"
    params = {"backend": backend, "device": device, **({"checkpoint": checkpoint} if checkpoint else {}),
              **(extra_parameters or {})}
    cmd = [sys.executable, str(exe), "--ros-args", "-r", "__node:=dope", "-r", f"__ns:=/{namespace}",
           "-r", "image:=camera/image_raw", "-r", "camera_info:=camera/camera_info",
           "--params-file", str(REPO / "config" / "dope.yaml")]
    for k, v in params.items():
        cmd += ["-p", f"{k}:={v}"]
    return cmd


@dataclass(frozen=True)
class AnswerCounts:
    """What :func:`summarize` needs of one answer (the message itself is not kept).

    Attributes:
        parts: ``people``, ``bodies``, ``hands``, ``faces`` (unassigned parts included) and
            ``placed_parts`` (parts of people placed in the camera frame).
        track_ids: the track ids of the answer's people.
    """

    parts: dict[str, int]
    track_ids: tuple[int, ...]

    @classmethod
    def of(cls, msg: WholeBodyPoseArray) -> "AnswerCounts":
        parts = {"people": len(msg.people), "bodies": 0, "hands": 0, "faces": 0, "placed_parts": 0}
        for person in msg.people:
            for slot, key in (("body", "bodies"), ("left_hand", "hands"), ("right_hand", "hands"), ("face", "faces")):
                p = getattr(person, slot)
                if p.present:
                    parts[key] += 1
                    parts["placed_parts"] += int(p.frame_3d == p.FRAME_CAMERA)
        for p in msg.unassigned:
            parts["hands" if p.part == p.HAND else "faces" if p.part == p.FACE else "bodies"] += 1
        return cls(parts=parts, track_ids=tuple(p.track_id for p in msg.people if p.track_id != p.TRACK_ID_NONE))


class DemoClient(Node):
    """Camera player and recorder: publishes frames, collects the node's outputs by image stamp.

    With ``bag`` ``None`` it is a teleoperation loop's client instead: it subscribes to the
    poses (and diagnostics) only and records nothing.
    """

    def __init__(self, namespace: str, bag: Optional[BagWriter], video_path: Path, fps: float,
                 image_format: str = "jpeg") -> None:
        super().__init__("dope_demo_client")
        self.image_format = image_format
        self._bag = bag
        self._video_path = video_path
        self._fps = fps
        self._video: Optional[cv2.VideoWriter] = None
        self._lock = threading.Condition()
        self.answers: dict[tuple[int, int], tuple[float, AnswerCounts]] = {}   # counts, not messages: bounded
        self.annotated: set[tuple[int, int]] = set()
        self.diagnostics: dict[str, str] = {}
        self.image_pub = self.create_publisher(Image, f"/{namespace}/camera/image_raw", qos_profile_sensor_data)
        self.info_pub = self.create_publisher(CameraInfo, f"/{namespace}/camera/camera_info", qos_profile_sensor_data)
        self.poses_topic = f"/{namespace}/dope/poses"
        self.markers_topic = f"/{namespace}/dope/markers"
        self.camera_topics = {"image": f"/{namespace}/camera/image_raw/compressed",
                              "info": f"/{namespace}/camera/camera_info"}
        self.create_subscription(WholeBodyPoseArray, self.poses_topic, self._on_poses, 50, raw=True)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        if bag is not None:
            bag.add_topic(self.poses_topic, "dope_ros/msg/WholeBodyPoseArray")
            bag.add_topic(self.markers_topic, "visualization_msgs/msg/MarkerArray")
            bag.add_topic(self.camera_topics["image"], "sensor_msgs/msg/CompressedImage")
            bag.add_topic(self.camera_topics["info"], "sensor_msgs/msg/CameraInfo")
            bag.add_topic("/tf", "tf2_msgs/msg/TFMessage")
            self.create_subscription(MarkerArray, self.markers_topic, self._on_markers, 50, raw=True)
            self.create_subscription(TFMessage, "/tf", self._on_tf, 100, raw=True)
            self.create_subscription(Image, f"/{namespace}/dope/annotated_image", self._on_annotated, 50)

    def _on_poses(self, data: bytes) -> None:
        msg = deserialize_message(data, WholeBodyPoseArray)
        stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        if self._bag is not None:
            self._bag.write(self.poses_topic, stamp[0] * 1_000_000_000 + stamp[1], data)
        received = time.monotonic()
        counts = AnswerCounts.of(msg)
        with self._lock:
            self.answers[stamp] = (received, counts)
            self._lock.notify_all()

    def _on_markers(self, data: bytes) -> None:
        markers = deserialize_message(data, MarkerArray).markers
        if markers:   # one clock: the image stamp the markers carry
            self._bag.write(self.markers_topic, _ns(markers[0].header.stamp), data)

    def _on_tf(self, data: bytes) -> None:
        transforms = deserialize_message(data, TFMessage).transforms
        if transforms:
            self._bag.write("/tf", _ns(transforms[0].header.stamp), data)

    def record_camera(self, frame: np.ndarray, info: CameraInfo, stamp_ns: int) -> None:
        """Record the frame (compressed) and its camera info at the image stamp (nothing without a bag)."""
        if self._bag is None:
            return
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        ok, data = cv2.imencode(".png" if self.image_format == "png" else ".jpg", bgr)
        msg = CompressedImage(header=info.header, format=f"rgb8; {self.image_format} compressed bgr8",
                              data=data.tobytes())
        self._bag.write(self.camera_topics["image"], stamp_ns, serialize_message(msg))
        self._bag.write(self.camera_topics["info"], stamp_ns, serialize_message(info))

    def _on_annotated(self, msg: Image) -> None:
        image = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)[:, :3 * msg.width]
        bgr = cv2.cvtColor(image.reshape(msg.height, msg.width, 3), cv2.COLOR_RGB2BGR)
        if self._video is None:
            self._video = cv2.VideoWriter(str(self._video_path), cv2.VideoWriter_fourcc(*"mp4v"), self._fps,
                                          (msg.width, msg.height))
            self._video_frames = 0
        self._video.write(bgr)
        self._video_frames += 1
        with self._lock:
            self.annotated.add((msg.header.stamp.sec, msg.header.stamp.nanosec))
            self._lock.notify_all()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            if values.get("image_topic") == self.image_pub.topic_name:
                self.diagnostics = values

    def wait_for(self, stamp: tuple[int, int], timeout: float) -> bool:
        """Wait until the poses and (when recording) the annotated image of ``stamp`` have arrived."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not (stamp in self.answers and (self._bag is None or stamp in self.annotated)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(timeout=left)
        return True

    def close_video(self) -> None:
        """Close the annotated video; one that did not come out whole (a full disk) is removed, with a warning."""
        from dope_core.image_io import written_video_problem

        if self._video is not None:
            self._video.release()
            problem = written_video_problem(self._video_path, self._video_frames)
            if problem is not None:
                self._video_path.unlink(missing_ok=True)
                print(f"warning: {self._video_path} removed: it did not come out whole ({problem})", file=sys.stderr)


def _ns(stamp) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def _image_msg(frame: np.ndarray, stamp: tuple[int, int]) -> Image:
    h, w, step, data = encode_raw(frame)
    msg = Image(height=h, width=w, encoding="rgb8", is_bigendian=0, step=step, data=data)
    msg.header.stamp.sec, msg.header.stamp.nanosec = stamp
    msg.header.frame_id = "camera_optical_frame"
    return msg


def _info_msg(k: np.ndarray, width: int, height: int, stamp: tuple[int, int]) -> CameraInfo:
    msg = CameraInfo(width=width, height=height, distortion_model="plumb_bob")
    msg.k = k.reshape(-1).tolist()
    msg.p = np.hstack([k, np.zeros((3, 1))]).reshape(-1).tolist()
    msg.r = np.eye(3).reshape(-1).tolist()
    msg.d = [0.0] * 5
    msg.header.stamp.sec, msg.header.stamp.nanosec = stamp
    msg.header.frame_id = "camera_optical_frame"
    return msg


def _chain(*iterables):
    for it in iterables:
        yield from it


DEMO_OUTPUTS = ("poses_bag", "annotated.mp4", "node.log", "summary.json")
"""What the demo writes into its output folder."""


class RunFailed(RuntimeError):
    """A run that could not finish (the node did not come up, or exited); the message says what failed and
    where the run's log is. The output folder is as it was."""


def claim_outputs(out_dir: Path, names: tuple[str, ...]) -> None:
    """Record ``names`` in ``out_dir`` as the demo's (:class:`~dope_core.output_names.OutputFolder`), so that
    only files an earlier demo wrote are ever replaced. A folder an earlier version of the demo filled (its
    ``summary.json`` names its bag) is taken as the demo's.

    Raises:
        OverwriteRefused: ``out_dir`` holds one of ``names`` that the demo did not write, or is a folder a run
            must not replace as a whole (:func:`check_own_folder`).
    """
    from dope_core.output_names import OutputFolder

    check_own_folder(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    folder = OutputFolder(out_dir)
    try:
        earlier = json.loads((out_dir / "summary.json").read_text())
        adopted = isinstance(earlier, dict) and "bag" in earlier and "frames_answered" in earlier
    except (OSError, ValueError):
        adopted = False
    for name in names:
        path = out_dir / name
        if adopted and folder.is_foreign(path):
            folder.adopt(path)
        folder.claim(path)


def check_own_folder(out_dir: Path) -> None:
    """Check that ``out_dir`` can be replaced as a whole by a run (the other files in it are kept, linked).

    Raises:
        OverwriteRefused: it is a file, a mount point, the current folder or the home folder, or above one.
    """
    from dope_core.output_names import OverwriteRefused

    folder = out_dir.resolve()
    if folder.exists() and not folder.is_dir():
        raise OverwriteRefused(f"refused to write into {out_dir}: it is a file")
    try:
        around = (Path.cwd().resolve(), Path.home().resolve())
    except (OSError, RuntimeError):   # no current folder any more, no home
        around = ()
    if any(folder == p or folder in p.parents for p in around) or os.path.ismount(folder):
        raise OverwriteRefused(f"refused to use {out_dir}: a run replaces its output folder as a whole, and this is "
                               "the current or home folder, one above them, or a mount point")


def check_node_options(backend: str, checkpoint: str, device: str) -> None:
    """Check, before the node starts, what it would refuse at start-up.

    Raises:
        ValueError: a checkpoint for the experts backend, a device the backend cannot run on, or (network
            backend) a checkpoint, or the shipped default, that is missing or does not load
            (:class:`~dope_core.checkpoint.CheckpointError`, one line).
    """
    if backend == "experts":
        from dope_core.estimator import check_experts_options

        check_experts_options(device=device, checkpoint=checkpoint or None)
        return
    import warnings

    from dope_core.checkpoint import load_checkpoint
    from dope_core.model.inference import DEFAULT_CHECKPOINT, resolve_device

    with warnings.catch_warnings():   # CUDA asked for and absent: the node says so and runs on the CPU
        warnings.simplefilter("ignore")
        resolve_device(device)
    load_checkpoint(checkpoint or DEFAULT_CHECKPOINT)


PRELOAD_BYTES = 2 << 30
"""Most memory the frames a run without recording decodes before playing may take, bytes."""


def _preloaded(frames, video: Path) -> list[np.ndarray]:
    """Every frame of ``frames`` decoded now (a teleoperation loop's camera does not decode).

    Raises:
        ValueError: they would take more than :data:`PRELOAD_BYTES` (an hour of video is tens of GB).
    """
    kept: list[np.ndarray] = []
    size = 0
    for frame in frames:
        size += frame.nbytes
        if size > PRELOAD_BYTES:
            h, w = frame.shape[:2]
            raise ValueError(f"{video}: a run without recording decodes its frames before playing them, and "
                             f"more than {len(kept)} frames of {w}x{h} take over {PRELOAD_BYTES / 2**30:.3g} GiB; "
                             f"play at most {len(kept)} (--frames) or record (no --poses-only)")
        kept.append(frame)
    return kept


def run(video: Path, out_dir: Path, *, frames: int, max_width: int, hfov_deg: float, realtime: bool,
        device: str = "cpu", backend: str = "experts", checkpoint: str = "", timeout_s: float = 60.0,
        namespace: str = "demo", parameters: Optional[dict[str, str]] = None, image_format: str = "jpeg",
        record: bool = True) -> dict:
    """Play ``video`` into a node process and record its outputs in ``out_dir``; returns the summary.

    ``parameters`` are extra node parameters (``{"streaming": "false"}``...). The bag
    holds, on one clock (the image stamps), the frames as ``CompressedImage``
    (``image_format`` ``jpeg``, or ``png`` for a lossless recording that replays to the
    same poses), their ``CameraInfo``, the node's poses, markers and TF. With ``record``
    false (a teleoperation loop's pipeline), the frames are decoded before the first one
    is played, only the poses are subscribed to and nothing is recorded.

    The run writes into a new hidden folder beside ``out_dir``, which takes ``out_dir``'s place
    once the run is complete (with the files of ``out_dir`` the run does not write: a user's, an
    earlier recording when this run records nothing): ``out_dir`` holds the earlier demo's outputs
    or this run's, never a mix.

    Raises:
        FileNotFoundError, ValueError: the video is missing or has no readable frame, a bad
            argument, or a node option the node would refuse (a checkpoint that does not load...);
            checked before the node starts.
        OverwriteRefused: ``out_dir`` holds outputs the demo did not write, or must not be replaced whole.
        RunFailed: the node did not come up, or exited; ``out_dir`` is as it was.
    """
    if not 0.0 < hfov_deg < 180.0 or max_width < 16 or frames < 1:
        raise ValueError(f"hfov {hfov_deg} must lie in (0, 180) degrees, max_width {max_width} be at least 16 pixels "
                         f"and frames {frames} at least 1")
    check_node_options(backend, checkpoint, device)
    outputs = DEMO_OUTPUTS if record else ("node.log", "summary.json")
    claim_outputs(out_dir, outputs)
    fps = video_fps(video)
    source = video_frames(video, max_frames=frames, max_width=max_width)
    first = next(source, None)   # the video is read before the node starts
    if first is None:
        raise ValueError(f"{video}: no readable frame")
    source = _chain([first], source)
    if not record:
        source = iter(_preloaded(source, video))
    folder = out_dir.resolve()
    remove_abandoned_folders(folder)
    try:
        new = folder_beside(folder)
    except OSError as e:
        raise ValueError(f"--out {out_dir}: no folder can be made beside it ({e.strerror or e})") from None
    try:
        summary = _play(source, new, out_dir, fps=fps, hfov_deg=hfov_deg, realtime=realtime, device=device,
                        backend=backend, checkpoint=checkpoint, timeout_s=timeout_s, namespace=namespace,
                        parameters=parameters, image_format=image_format, record=record)
        atomic_write_text(new / "summary.json", json.dumps(summary, indent=2))
        try:
            replace_folder(new, folder, replaced=outputs)
        except OSError as e:
            raise RunFailed(f"this run's outputs could not take the place of {out_dir}'s ({e})") from None
    except BaseException as e:
        try:
            kept = abandon_folder(new, keep=("node.log",))
        except OSError:   # left for a later run to clean up; the error that matters is e
            kept = new
        if isinstance(e, RunFailed):
            log = f"its log: {kept / 'node.log'}; " if kept is not None else ""
            raise RunFailed(f"{e}; {log}{out_dir} is left as it was") from None
        raise
    return summary


def _play(source, folder: Path, out_dir: Path, *, fps: float, hfov_deg: float, realtime: bool, device: str,
          backend: str, checkpoint: str, timeout_s: float, namespace: str, parameters: Optional[dict[str, str]],
          image_format: str, record: bool) -> dict:
    """Play the frames of ``source`` into a node process, recording into ``folder`` (new and empty); the
    summary, which names the outputs as they will be in ``out_dir`` (see :func:`run`).

    Raises:
        RunFailed: the node did not come up, or exited.
    """
    bag_path = folder / "poses_bag"
    log_path = folder / "node.log"
    log = open(log_path, "w")
    node_proc = subprocess.Popen(node_command(namespace=namespace, device=device, backend=backend,
                                              checkpoint=checkpoint,
                                              extra_parameters={"publish_tf": "true", **(parameters or {})}),
                                 stdout=log,
                                 stderr=subprocess.STDOUT, cwd=REPO)
    rclpy.init()
    bag = BagWriter(bag_path) if record else None
    client = DemoClient(namespace, bag, folder / "annotated.mp4", fps, image_format)
    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(client)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    sent: dict[tuple[int, int], float] = {}
    cpu_s = [float("nan"), float("nan")]
    try:
        deadline = time.monotonic() + 120
        while client.image_pub.get_subscription_count() == 0 or client.count_publishers(client.poses_topic) == 0:
            if node_proc.poll() is not None or time.monotonic() > deadline:
                raise _node_failure("the node did not come up", node_proc, log_path)
            time.sleep(0.1)
        time.sleep(0.5)
        cpu_s[0] = _cpu_seconds(node_proc.pid)
        base_ns = time.time_ns()
        started = time.monotonic()
        for i, frame in enumerate(source):
            t_ns = base_ns + int(i * 1e9 / fps)
            stamp = (t_ns // 1_000_000_000, t_ns % 1_000_000_000)
            h, w = frame.shape[:2]
            image, info = _image_msg(frame, stamp), _info_msg(intrinsics_from_fov(w, h, hfov_deg), w, h, stamp)
            sent[stamp] = time.monotonic()
            client.record_camera(frame, info, t_ns)
            client.info_pub.publish(info)
            client.image_pub.publish(image)
            if realtime:
                time.sleep(max(0.0, started + (i + 1) / fps - time.monotonic()))
            elif not client.wait_for(stamp, timeout_s / 2):
                client.info_pub.publish(info)  # best effort: one resend
                client.image_pub.publish(image)
                client.wait_for(stamp, timeout_s / 2)
            if node_proc.poll() is not None:
                raise _node_failure("the node exited during the run", node_proc, log_path)
        if sent:
            client.wait_for(max(sent), 10.0)
        cpu_s[1] = _cpu_seconds(node_proc.pid)
        time.sleep(1.5)  # last diagnostics
    finally:
        executor.shutdown()
        spinner.join(timeout=5.0)   # out of rclpy's wait before the context goes (else a rare abort at exit)
        client.close_video()
        if bag is not None:
            bag.close()
        diagnostics = dict(client.diagnostics)
        client.destroy_node()
        rclpy.try_shutdown()
        node_proc.terminate()
        try:
            node_proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            node_proc.kill()
        log.close()
    return summarize(sent, client.answers, diagnostics, out_dir, bag.counts if bag is not None else None,
                     node_cpu_s=cpu_s[1] - cpu_s[0])


def _node_failure(what: str, node_proc: subprocess.Popen, log_path: Path) -> RunFailed:
    """The one-line error of a node that failed: what, and how (its exit status and the last line it logged);
    :func:`run` adds where the log is kept."""
    status = node_proc.poll()
    how = f"it exited with status {status}" if status is not None else "not within 120 s"
    said = _last_line(log_path)
    return RunFailed(f"{what} ({how}{': ' + said if said else ''})")


def _last_line(path: Path, limit: int = 300) -> str:
    """The last non-empty line of a text file (at most ``limit`` characters; ``""`` when none or unreadable)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip()[:limit] if lines else ""


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used, seconds; NaN where /proc is absent."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    import os

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarize(sent: dict, answers: dict, diagnostics: dict, out_dir: Path, bag_counts: Optional[dict],
              node_cpu_s: float = float("nan")) -> dict:
    """Counts, rate and latency of a run (latency: image publication to pose reception, ms; its maximum
    leaves out the first frame, a search of the whole frame in every mode, with nobody to follow yet);
    ``node_cpu_s``: CPU seconds the node used while the frames were played; ``bag_counts``
    ``None``: nothing was recorded. The outputs it names are in ``out_dir``; :func:`run` writes it there
    as ``summary.json``."""
    got = [(sent[s], answers[s][0], answers[s][1]) for s in sent if s in answers]
    latencies = np.array([1000.0 * (r - p) for p, r, _ in got]) if got else np.zeros(0)
    parts: Counter[str] = Counter()
    track_frames: Counter[int] = Counter()
    for _, _, counts in got:
        parts.update(counts.parts)
        track_frames.update(counts.track_ids)
    span = (max(r for _, r, _ in got) - min(p for p, _, _ in got)) if got else 0.0
    summary = {
        "frames_sent": len(sent),
        "frames_answered": len(got),
        **{k: parts[k] for k in ("people", "bodies", "hands", "faces")},
        "people_per_frame": parts["people"] / len(got) if got else 0.0,
        "person_tracks": len(track_frames),
        "person_tracks_10_frames": sum(n >= 10 for n in track_frames.values()),
        "parts_placed_in_camera_frame": parts["placed_parts"],
        "rate_hz": len(got) / span if span > 0 else 0.0,
        "latency_ms_mean": float(latencies.mean()) if len(latencies) else 0.0,
        "latency_ms_p50": float(np.percentile(latencies, 50)) if len(latencies) else 0.0,
        "latency_ms_p95": float(np.percentile(latencies, 95)) if len(latencies) else 0.0,
        "latency_ms_max": float(latencies[1:].max()) if len(latencies) > 1 else 0.0,   # after the first frame
        "node_cpu_ms_per_frame": 1000.0 * node_cpu_s / len(got) if got else float("nan"),
        "node_diagnostics": diagnostics,
        "bag": str(out_dir / "poses_bag") if bag_counts is not None else None,
        "bag_messages": bag_counts,
        "annotated_video": str(out_dir / "annotated.mp4") if bag_counts is not None else None,
    }
    return summary


def print_summary(s: dict) -> None:
    d = s["node_diagnostics"]
    print(f"frames: {s['frames_answered']}/{s['frames_sent']} answered; people: {s['people']} "
          f"({s['people_per_frame']:.2f}/frame) in {s['person_tracks']} tracks ({s['person_tracks_10_frames']} seen in "
          f"10+ frames), bodies {s['bodies']}, "
          f"hands {s['hands']}, faces {s['faces']}; {s['parts_placed_in_camera_frame']} parts placed in the camera frame")
    print(f"rate: {s['rate_hz']:.2f} frames/s; latency (publish -> poses): mean {s['latency_ms_mean']:.0f} ms, "
          f"p50 {s['latency_ms_p50']:.0f} ms, p95 {s['latency_ms_p95']:.0f} ms, max {s['latency_ms_max']:.0f} ms; node inference "
          f"{d.get('inference_ms', '?')} ms, CPU {s['node_cpu_ms_per_frame']:.0f} ms/frame, dropped "
          f"{d.get('frames_dropped', '?')}, backend {d.get('backend', '?')} on {d.get('device', '?')}"
          + (" (streaming)" if d.get("streaming") == "true" else " (per frame)" if d.get("streaming") else ""))
    if s["bag"] is not None:
        print(f"wrote {s['bag']} ({s['bag_messages']}) and {s['annotated_video']}")


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", type=Path, required=True, help="video file of people")
    p.add_argument("--out", type=Path, default=REPO / "out" / "demo",
                   help="output folder (default out/demo), the demo's own: a run that completes replaces the outputs "
                        "of the previous one there as a set; one that fails leaves them as they were")
    p.add_argument("--frames", type=int, default=60, help="number of frames to play (default 60)")
    p.add_argument("--max-width", type=int, default=960, help="downscale wider frames to this width, pixels")
    p.add_argument("--hfov", type=float, default=60.0, help="horizontal field of view for CameraInfo, degrees")
    p.add_argument("--realtime", action="store_true", help="play at the video's frame rate (the node drops frames)")
    p.add_argument("--device", default="cpu", help="device of the node (cpu, cuda, auto)")
    p.add_argument("--backend", default="experts", choices=("experts", "network"),
                   help="the node's estimator: the part experts, or the whole-body network (default: experts)")
    p.add_argument("--checkpoint", default="", help="network checkpoint for --backend network (default: the shipped student)")
    p.add_argument("--no-streaming", action="store_true",
                   help="experts backend: the node searches every frame from scratch instead of following people")
    p.add_argument("--image-format", choices=("jpeg", "png"), default="jpeg",
                   help="frames in the bag (png: lossless, dope-replay through a node gives the same poses)")
    p.add_argument("--poses-only", action="store_true",
                   help="a teleoperation loop's pipeline: frames decoded beforehand, only ~/poses subscribed, "
                        "nothing recorded")
    args = p.parse_args(argv)
    if args.frames <= 0:
        p.error("--frames must be positive")
    from dope_core.output_names import OverwriteRefused

    if not 0.0 < args.hfov < 180.0:
        p.error("--hfov must lie between 0 and 180 degrees")
    if args.max_width < 16:
        p.error("--max-width must be at least 16 pixels")
    try:
        claim_outputs(args.out, DEMO_OUTPUTS if not args.poses_only else ("node.log", "summary.json"))
    except OverwriteRefused as e:
        p.error(f"--out {args.out}: {e}; choose another output folder")
    except OSError as e:
        p.error(f"--out {args.out}: cannot be used ({e.strerror or e})")
    try:
        summary = run(args.video, args.out, frames=args.frames, max_width=args.max_width, hfov_deg=args.hfov,
                      realtime=args.realtime, device=args.device, backend=args.backend, checkpoint=args.checkpoint,
                      parameters={"streaming": "false"} if args.no_streaming else None,
                      image_format=args.image_format, record=not args.poses_only)
    except (FileNotFoundError, ValueError) as e:   # the video (missing, not a video, no frame), the node's options
        print(f"demo: {e}", file=sys.stderr)
        return 2
    except RunFailed as e:   # the node did not come up, or exited: what failed and where its log is
        print(f"demo: {e}", file=sys.stderr)
        return 1
    print_summary(summary)
    return 0 if summary["frames_answered"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
