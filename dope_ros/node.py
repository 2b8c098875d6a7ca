"""The DOPE ROS 2 node: camera images in; whole-body poses, markers, annotated image and diagnostics out.

Topics (relative names resolve in the node's namespace; ``~`` is the node's private namespace):

* in: ``image`` (``sensor_msgs/Image``) or, with ``image_transport: compressed``,
  ``image/compressed`` (``sensor_msgs/CompressedImage``), and ``camera_info``
  (``sensor_msgs/CameraInfo``): relative names, moved by the namespace and by remappings
  as image_transport resolves them (:mod:`dope_ros.topics`); sensor-data QoS (best effort,
  depth 1), so best-effort and reliable cameras both match; optionally ``depth_topic``
  (an aligned depth image, :mod:`dope_ros.placement_inputs`);
* out: ``~/poses`` (``dope_ros/WholeBodyPoseArray``), ``~/markers``
  (``visualization_msgs/MarkerArray``), ``~/annotated_image`` (``sensor_msgs/Image``, rgb8),
  ``/diagnostics`` (``diagnostic_msgs/DiagnosticArray``, :mod:`dope_ros.health`), and the
  ROS4HRI ``/humans/bodies/...`` topics where ``hri_msgs`` imports (:mod:`dope_ros.hri_bridge`),
  ``~/operator`` (the one person followed) and, with ``publish_tf``, ``/tf``
  (:mod:`dope_ros.teleop_outputs`).

With ``lazy`` (default) the camera is subscribed only while an output has a subscriber;
with ``mirrored`` a selfie-view image is estimated on its flipped-back view and the 2D
mapped back (:mod:`dope_core.mirror`).

The subscription callbacks only keep the newest image (a replaced one counts as dropped);
a worker thread decodes it, runs the estimator (with the experts backend, streaming by
default: :mod:`dope_core.experts.streaming` follows people from frame to frame and runs
the detectors on a schedule), gives people track ids that persist
across frames (:class:`dope_core.tracking.PersonTracker`), adds part frames, smoothing
and grasp (:class:`dope_core.teleop.TeleopPipeline`) and publishes, so the node
keeps answering while inference runs. People are placed in the camera frame with the
CameraInfo paired with the image by stamp (and the paired depth image), or sent
part-relative when there is none to trust. Bad input (undecodable image, invalid or
mismatched CameraInfo, bad depth, estimator failure) is logged at a limited rate,
counted in ``/diagnostics``, and the next valid frame is served. All logic lives in ``dope_core`` and pure helper modules.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Optional

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from dope_core.camera import CameraModel
from dope_core.depth import DepthSettings, fix_distances
from dope_core.draw import draw_poses
from dope_core.estimator import build_estimator
from dope_core.experts.streaming import DetectionSchedule
from dope_core.experts.config import ExpertsConfig, load_experts_config
from dope_core.image_encoding import ImageDecodeError, decode_compressed, decode_raw, encode_raw
from dope_core.image_header import ImageLimits
from dope_core.keypoints import Part
from dope_core.mirror import mirror_poses_2d, unmirror_camera, unmirror_image
from dope_core.placement import AnthropometricPriors, PlacementSettings, place_poses
from dope_core.structures import WholeBodyPoses
from dope_core.tracking import PersonTracker
from dope_ros.conversions import poses_to_msg
from dope_ros.health import Check, FrequencyStatus, Level, StaleInput, merge
from dope_ros.hri_bridge import make_hri_bridge
from dope_ros.markers import poses_to_markers
from dope_ros.msg import WholeBodyPoseArray
from dope_ros.parameters import PARAMETERS, descriptor
from dope_ros.placement_inputs import PlacementInputs, stamp_is_valid, stamp_seconds
from dope_ros.score_filter import filter_by_score
from dope_ros.spinning import spin_until_shutdown
from dope_ros.stats import NodeStats
from dope_ros.teleop_outputs import TeleopOutputs
from dope_ros.tf_frames import tf2_frame
from dope_ros.throttle import WarningThrottle
from dope_ros.topics import input_topics

_LAZY_CHECK_PERIOD_S = 0.5
"""How often lazy mode looks for subscribers to the outputs, seconds."""
_WORKER_JOIN_S = 10.0
"""At shutdown, how long the worker thread is given to end the frame it is processing, seconds."""
_SENSOR_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT,
                         durability=qos_profile_sensor_data.durability)


class DopeNode(Node):
    """Whole-body pose estimation node (see the module docstring for topics).

    Args:
        node_name: ROS node name.
        kwargs: passed to :class:`rclpy.node.Node` (namespace, parameter_overrides...).
    """

    def __init__(self, node_name: str = "dope", **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        for name, p in PARAMETERS.items():
            self.declare_parameter(name, p.default, descriptor(name))
        get = lambda name: self.get_parameter(name).value  # noqa: E731
        self._transport = get("image_transport")
        topics = input_topics(self.resolve_topic_name, lambda name: self.resolve_topic_name(name, only_expand=True),
                              transport=self._transport, image_topic=get("image_topic"),
                              camera_info_topic=get("camera_info_topic"))
        parts = [Part(p) for p in get("parts")]
        experts = (experts_config(get("experts_config"), get("person_detectors"), get("hand_expert"))
                   if get("backend") == "experts" else None)
        self._tracker = (PersonTracker(iou_threshold=get("track_iou_threshold"), timeout_s=get("track_timeout_s"),
                                       predict_s=min(get("track_predict_s"), get("track_timeout_s")))
                         if get("track_people") else None)
        schedule = (DetectionSchedule(every_frames=get("detect_every_frames"), every_s=get("detect_every_s"),
                                      scan_every_frames=get("scan_every_frames"), on_loss=get("detect_on_loss"),
                                      after_loss_frames=get("detect_after_loss_frames"),
                                      scan_sources_every=get("scan_sources_every"),
                                      background=get("background_search"))
                    if get("streaming") else None)
        self._estimator = build_estimator(get("backend"), parts=parts, checkpoint=get("checkpoint") or None,
                                          device=get("device"), half=bool(get("fp16")),
                                          postprocess=get("postprocess") or None, streaming=schedule,
                                          num_threads=get("num_threads"), experts_config=experts,
                                          second_opinion=get("second_opinion"),
                                          track_ids=self._tracker.registry.ids if self._tracker else None)
        window = get("diagnostics_window")
        self._stats = NodeStats(window=window)
        self._rate = FrequencyStatus(min_hz=get("diagnostics_min_rate_hz"), max_hz=get("diagnostics_max_rate_hz"),
                                     window=window)
        self._stale = StaleInput(warn_after_s=get("input_stale_warn_s"),
                                 error_after_s=get("input_stale_error_s"))
        self._throttle = WarningThrottle(period_s=get("warning_period_s"))
        self._inputs = PlacementInputs(rectified=bool(get("rectified_images")),
                                       camera_tolerance_s=get("camera_info_sync_tolerance_s"),
                                       depth_tolerance_s=get("depth_sync_tolerance_s"))
        self._priors = (AnthropometricPriors(stature_m=get("prior_stature_m"), hand_length_m=get("prior_hand_length_m"),
                                             eye_corner_distance_m=get("prior_eye_corner_distance_m"))
                        if get("scale_priors") else None)
        self._stretch_body_depth = bool(get("stretch_body_depth"))
        self._depth = DepthSettings(window_px=get("depth_window_px")) if get("depth_topic") else None
        self._lock = threading.Condition()
        self._pending: Optional[tuple[object, float]] = None
        self._stop = False

        self._pose_pub = self.create_publisher(WholeBodyPoseArray, "~/poses", 10)
        self._marker_pub = self.create_publisher(MarkerArray, "~/markers", 10)
        self._image_pub = self.create_publisher(Image, "~/annotated_image", 1)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._hri = (make_hri_bridge(self, self.get_logger().info)
                     if get("publish_hri") and self._tracker is not None else None)
        self._teleop = TeleopOutputs(self, get, min_confidence=get("keypoint_confidence_threshold"))
        self._image_type = CompressedImage if self._transport == "compressed" else Image
        self._image_sub = None
        self.create_subscription(CameraInfo, topics.camera_info, self._on_camera_info, _SENSOR_QOS)
        if self._depth is not None:
            self.create_subscription(Image, get("depth_topic"), self._inputs.add_depth, _SENSOR_QOS)
        self._topics = topics
        self._mirrored = bool(get("mirrored"))
        self._limits = ImageLimits(max_pixels=get("max_image_pixels"), max_side=get("max_image_side"))
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._update_image_subscription()
        self.create_timer(_LAZY_CHECK_PERIOD_S, self._update_image_subscription)
        for name in ("image_topic", "camera_info_topic"):
            if get(name):
                self.get_logger().warning(f"parameter {name} is deprecated: remap "
                                          f"'{name.removesuffix('_topic')}' instead (e.g. "
                                          f"--ros-args -r {name.removesuffix('_topic')}:={get(name)})")
        self.create_timer(get("diagnostics_period_s"), self._publish_diagnostics)
        self._worker = threading.Thread(target=self._work, name="dope_inference", daemon=True)
        self._worker.start()
        self.get_logger().info(f"ready: backend {self._estimator.name} on {self._estimator.device}, "
                               f"images from {topics.image} ({self._transport}), camera info from {topics.camera_info}")

    # ----------------------------------------------------------------- subscriptions, parameters
    def _has_output_subscribers(self) -> bool:
        """Whether anyone subscribes to an output (any publisher of the node but /diagnostics, /parameter_events)."""
        for pub in list(self.publishers):
            try:
                if pub.topic_name not in ("/diagnostics", "/parameter_events") and pub.get_subscription_count() > 0:
                    return True
            except RuntimeError:  # destroyed meanwhile by the worker thread (ROS4HRI per-body publishers)
                continue
        return False

    def _update_image_subscription(self) -> None:
        """Lazy mode: subscribe to the camera only while an output has a subscriber (polled; all distros)."""
        want = not self.get_parameter("lazy").value or self._has_output_subscribers()
        if want and self._image_sub is None:
            self._image_sub = self.create_subscription(self._image_type, self._topics.image, self._on_image,
                                                       _SENSOR_QOS)
            self._rate.clear()
            self._stale.restart()
            self.get_logger().info(f"subscribed to {self._topics.image}")
        elif not want and self._image_sub is not None:
            self.destroy_subscription(self._image_sub)
            self._image_sub = None
            with self._lock:
                self._pending = None
            self.get_logger().info(f"lazy: nobody subscribes to an output, unsubscribed from {self._topics.image}")

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        """Runtime changes: ranges and read-only flags are checked by rclpy first; here what they cannot say."""
        for p in params:
            if p.name == "frame_id" and (p.value.startswith("/") or any(c.isspace() for c in p.value)):
                return SetParametersResult(successful=False,
                                           reason=f"frame_id {p.value!r}: no leading '/' nor spaces (tf2 frames)")
        for p in params:
            if p.name == "warning_period_s":
                self._throttle.period_s = float(p.value)
            elif p.name == "camera_info_sync_tolerance_s":
                self._inputs.camera_tolerance_s = float(p.value)
            elif p.name == "depth_sync_tolerance_s":
                self._inputs.depth_tolerance_s = float(p.value)
            elif p.name == "keypoint_confidence_threshold":   # placement and drawing read it per image
                self._teleop.pipeline.min_confidence = float(p.value)
        return SetParametersResult(successful=True)

    # ----------------------------------------------------------------- callbacks
    def _on_image(self, msg: object) -> None:
        self._stale.seen()
        with self._lock:
            self._stats.received += 1
            if self._pending is not None:
                self._stats.dropped += 1
                dropped = True
            else:
                dropped = False
            self._pending = (msg, time.monotonic())
            self._lock.notify()
        if dropped:
            self._warn("dropped", f"inference is slower than the camera: {self._stats.dropped} older frames "
                                  "dropped so far, the newest frame is always processed")

    def _on_camera_info(self, msg: CameraInfo) -> None:
        problem = self._inputs.add_camera_info(msg)
        if problem is not None:
            self._problem(*problem)

    # ----------------------------------------------------------------- worker
    def _work(self) -> None:
        while True:
            with self._lock:
                while self._pending is None and not self._stop:
                    self._lock.wait(timeout=0.5)
                if self._stop:
                    return
                msg, received = self._pending
                self._pending = None
            try:
                self._process(msg, received)
            except Exception as e:  # the node never dies on one frame
                if not self.context.ok():   # shut down while publishing it: the process is stopping
                    return
                self._stats.count_bad("processing_error")
                self._warn("processing_error", f"frame skipped: {type(e).__name__}: {e}")

    def _decode(self, msg: object) -> np.ndarray:
        if isinstance(msg, CompressedImage):
            return decode_compressed(bytes(msg.data), self._limits, image_format=msg.format)
        return decode_raw(encoding=msg.encoding, height=msg.height, width=msg.width, step=msg.step,
                          is_bigendian=bool(msg.is_bigendian), data=bytes(msg.data), limits=self._limits)

    def _process(self, msg: object, received: float) -> None:
        try:
            image = self._decode(msg)
        except ImageDecodeError as e:
            self._stats.count_bad("bad_image")
            self._warn(f"bad_image/{e.reason}", f"image skipped: {e}")
            return
        mirrored = self._mirrored
        start = time.monotonic()
        try:
            poses = self._estimator(unmirror_image(image) if mirrored else image)
        except Exception as e:
            self._stats.count_bad("inference_error")
            self._warn("inference_error", f"estimator failed, frame skipped: {type(e).__name__}: {e}")
            return
        inference_s = time.monotonic() - start
        thresholds = {part: self.get_parameter(f"{part.value}_score_threshold").value for part in Part}
        poses = filter_by_score(poses, thresholds)
        stamp_s = self._stream_stamp(msg.header, received)
        resets = self._stamp_resets()
        if self._tracker is not None:
            poses = self._tracker.update(poses, stamp_s)
        min_conf = self.get_parameter("keypoint_confidence_threshold").value
        settings = PlacementSettings(priors=self._priors, min_confidence=min_conf,
                                     stretch_body_depth=self._stretch_body_depth)
        camera = self._camera_for(msg.header, image.shape)
        if camera is not None:
            view = unmirror_camera(camera, image.shape[1]) if mirrored else camera
            poses = self._place_with_depth(place_poses(poses, view, settings), msg.header, min_conf, mirrored)
        if mirrored:
            poses = mirror_poses_2d(poses, image.shape[1])
        poses = self._teleop.process(poses, stamp_s)
        if self._stamp_resets() > resets:
            self._notice("stamp_resets", f"image stamp {stamp_s:.3f} s is earlier than the last one: person tracks "
                                         "and smoothing restarted (a looping bag, a camera clock reset, or images "
                                         "stamped 0 among stamped ones)")
        frame_id, problem = tf2_frame(self.get_parameter("frame_id").value or msg.header.frame_id)
        if problem:
            self._notice("bad_frame_id", f"the image's {problem}")
        header = Header(stamp=msg.header.stamp, frame_id=frame_id)
        self._pose_pub.publish(poses_to_msg(poses, header, camera_info_valid=camera is not None))
        if self._hri is not None:
            self._hri.publish(poses, header)
        self._teleop.publish(poses, header, camera_info_valid=camera is not None)
        if self.get_parameter("publish_markers").value and self._marker_pub.get_subscription_count() > 0:
            if header.frame_id:
                self._marker_pub.publish(poses_to_markers(
                    poses, header, camera_info_valid=camera is not None, min_confidence=min_conf,
                    lifetime_s=self.get_parameter("marker_lifetime_s").value))
            else:
                self._notice("empty_frame_id", "no markers: the image's header.frame_id is empty and the frame_id "
                                             "parameter is not set (RViz refuses markers without a frame)")
        if self.get_parameter("publish_annotated_image").value and self._image_pub.get_subscription_count() > 0:
            h, w, step, data = encode_raw(draw_poses(image, poses, min_confidence=min_conf))
            self._image_pub.publish(Image(header=header, height=h, width=w, encoding="rgb8", is_bigendian=0,
                                          step=step, data=data))
        self._stats.record_processed(time.monotonic() - received, inference_s)
        self._rate.tick()

    def _stream_stamp(self, header: Header, received: float) -> float:
        """The time, seconds, that tracking and smoothing take for this image: its stamp, or the arrival time
        ``received`` (monotonic seconds) when the stamp is 0 or invalid (noticed and counted)."""
        if not stamp_is_valid(header):
            self._notice("invalid_stamp", f"image stamp nanosec {header.stamp.nanosec} is not below 1e9: tracking "
                                          "and smoothing are timed by the arrival time; fix the camera's stamps")
            return received
        stamp_s = stamp_seconds(header)
        if stamp_s == 0.0:  # unstamped: at one stamp, tracks would never age and the filters never move
            self._notice("unstamped_image", "image stamped 0: tracking and smoothing are timed by the arrival "
                                          "time; stamp the images with the capture time")
            return received
        return stamp_s

    def _stamp_resets(self) -> int:
        """Times the tracker and the smoother restarted because a stamp went backwards (each counts its own)."""
        smoother = self._teleop.pipeline.smoother
        return (self._tracker.resets if self._tracker is not None else 0) + (smoother.resets if smoother else 0)

    def _camera_for(self, header: Header, shape: tuple[int, ...]) -> Optional[CameraModel]:
        """The camera model paired with this image, or ``None`` (problems counted and logged)."""
        camera, problems = self._inputs.camera_for(header, shape[1], shape[0])
        for category, text in problems:
            self._problem(category, text)
        return camera

    def _place_with_depth(self, poses: WholeBodyPoses, header: Header, min_conf: float,
                          mirrored: bool) -> WholeBodyPoses:
        """``poses`` (placed, in the true view) at the distances the paired depth image measures."""
        if self._depth is None:
            return poses
        depth, problems = self._inputs.depth_for(header, poses.image_size[0], poses.image_size[1])
        for category, text in problems:
            self._problem(category, text)
        if depth is None:
            return poses
        if mirrored:  # the depth image is registered to the received (mirrored) view
            depth = np.ascontiguousarray(depth[:, ::-1])
        poses, report = fix_distances(poses, depth, self._depth, min_confidence=min_conf)
        for _ in range(report.without_depth):
            self._stats.count_bad("depth_holes")
        if report.without_depth:
            self._warn("depth_holes", f"{report.without_depth} people without usable depth at their hips and "
                                      "shoulders (holes): placed from the image alone")
        return poses

    def _problem(self, category: str, text: str) -> None:
        """Count a placement-input problem (``category`` up to its first '/') and log it at a limited rate."""
        self._stats.count_bad(category.split("/")[0])
        self._warn(category, text)

    def _notice(self, category: str, text: str) -> None:
        """Count an input that was served but is worth a look (diagnostics values, not their level) and log it
        at a limited rate."""
        self._stats.count_notice(category)
        self._warn(category, text)

    # ----------------------------------------------------------------- reporting
    def _warn(self, category: str, text: str) -> None:
        if self._throttle.allow(category):
            skipped = self._throttle.take_suppressed(category)
            suffix = f" ({skipped} similar warnings suppressed)" if skipped else ""
            self.get_logger().warning(text + suffix)

    def diagnostic_status(self) -> DiagnosticStatus:
        """The node's health, as ``diagnostic_updater`` would report it (one update of every check).

        Named ``<fully qualified node name>: whole-body pose estimation``; the level is the
        worst of: processing rate, input staleness, bad input in the recent window, camera info.
        """
        s = self._stats
        status = self._inputs.camera_status
        info = Check(Level.OK if status == "valid" else Level.WARN, f"camera info {status}: 3D poses are part-relative")
        if self._image_sub is None:  # lazy and idle: nothing expected
            checks = [Check(Level.OK, "", {"rate_hz": "0.00", "image_age_s": "unsubscribed"})]
        else:
            stale = self._stale.update()
            if stale.level != Level.OK:
                self._warn("stale_input", f"{stale.message} on {self._topics.image}")
            checks = [self._rate.update(), stale]
        summary = merge(checks + [s.bad.update(), info])
        if self._image_sub is None:
            idle = "idle (lazy): no subscriber to any output, camera unsubscribed"
            summary.message = idle if summary.level == Level.OK else f"{idle}; {summary.message}"
        values = {
            "backend": self._estimator.name,
            "device": self._estimator.device,
            "streaming": str(hasattr(self._estimator, "searches")).lower(),
            "image_topic": self._topics.image,
            "camera_info_topic": self._topics.camera_info,
            "camera_info": status,
            "latency_ms": f"{s.mean_latency_ms():.1f}",
            "inference_ms": f"{s.mean_inference_ms():.1f}",
            "frames_received": str(s.received),
            "frames_processed": str(s.processed),
            "frames_dropped": str(s.dropped),
            **summary.values,
            **{category: str(n) for category, n in s.notice_counts().items()},
        }
        if hasattr(self._estimator, "searches"):
            values["whole_frame_searches"] = str(self._estimator.searches)
            values["background_search"] = str(self._estimator.schedule.background).lower()
            values["background_search_failures"] = str(self._estimator.background_failures)
            values["lost_people_sought_locally"] = str(self._estimator.relocations)
        if self._tracker is not None:
            values["tracks_active"] = str(self._tracker.active_tracks)
            values["tracks_started"] = str(self._tracker.tracks_started)
        return DiagnosticStatus(level=bytes([int(summary.level)]),
                                name=f"{self.get_fully_qualified_name()}: whole-body pose estimation",
                                message=summary.message,
                                hardware_id=f"{self._estimator.name}@{self._estimator.device}",
                                values=[KeyValue(key=k, value=v) for k, v in values.items()])

    def _publish_diagnostics(self) -> None:
        self._diag_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()),
                                               status=[self.diagnostic_status()]))

    def shutdown(self) -> None:
        """Stop the worker thread and destroy the node."""
        with self._lock:
            self._stop = True
            self._lock.notify()
        self._worker.join(timeout=_WORKER_JOIN_S)
        if hasattr(self._estimator, "close"):   # the streaming experts' landmark threads
            self._estimator.close()
        self.destroy_node()


def experts_config(path: str, person_detectors: list[str], hand_expert: str = "") -> ExpertsConfig:
    """The experts configuration of the parameters ``experts_config`` (a YAML file, empty for the
    defaults), ``person_detectors``, which overrides the file's unless left at its default, and
    ``hand_expert`` (empty: the file's)."""
    config = load_experts_config(path or None)
    if hand_expert:
        config = config.replace(hand=hand_expert)
    if path and list(person_detectors) == PARAMETERS["person_detectors"].default:
        return config
    return config.replace(person_detectors=tuple(person_detectors))


def _ignore_stop_signals() -> None:
    """From now on SIGINT and SIGTERM only say that the node is stopping already (the process is ending)."""
    def stopping(signum: int, _frame: object) -> None:   # os.write: no reentrant print into a running one
        os.write(2, f"dope_node: {signal.Signals(signum).name} ignored: stopping already (the worker thread is "
                    f"given up to {_WORKER_JOIN_S:g} s)\n".encode())

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stopping)


def main(args: Optional[list[str]] = None) -> int:
    """Run the node until shutdown (Ctrl-C or SIGTERM); returns the process exit status.

    The first Ctrl-C or SIGTERM stops it; further ones while it cleans up (the worker thread given up to
    ``_WORKER_JOIN_S`` seconds to end its frame, the estimator closed, the node destroyed, rclpy shut
    down) are only logged, so the cleanup is never cut short.
    """
    rclpy.init(args=args)
    node = None
    try:
        try:
            node = DopeNode()
        except Exception as e:  # bad parameters, missing checkpoint or model files
            print(f"dope_node: cannot start: {type(e).__name__}: {e}", file=sys.stderr)
            return 2
        spin_until_shutdown(node)
    except KeyboardInterrupt:  # a second Ctrl-C as the spin was ending (the first one ends the spin)
        pass
    finally:
        _ignore_stop_signals()
        if node is not None:
            node.shutdown()
        rclpy.try_shutdown()
        _ignore_stop_signals()  # try_shutdown put back the handlers of before rclpy.init (SIGTERM: the default)
    return 0


if __name__ == "__main__":
    sys.exit(main())
