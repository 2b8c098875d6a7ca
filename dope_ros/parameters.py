"""The node's parameters: names, defaults, descriptions and ranges, declared in one place.

``config/dope.yaml`` holds the same defaults (a test checks that they agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor


@dataclass(frozen=True)
class Param:
    """One parameter: default value, description, optional numeric range, read-only flag."""

    default: Any
    description: str
    range: tuple[float, float] | None = None
    read_only: bool = True


PARAMETERS: dict[str, Param] = {
    "image_topic": Param("", "Deprecated (remap 'image' instead, e.g. image:=/camera/image_raw). Non-empty: the "
                         "image topic, replacing the relative input 'image'; a warning says so at start-up."),
    "camera_info_topic": Param("", "Deprecated (remap 'camera_info' instead). Non-empty: the CameraInfo topic, "
                               "replacing the relative input 'camera_info'."),
    "image_transport": Param("raw", "'raw': sensor_msgs/Image on 'image'; 'compressed': "
                             "sensor_msgs/CompressedImage on '<image>/compressed' (as image_transport names it)."),
    "backend": Param("experts", "Estimator backend: 'experts' (frozen part experts, CPU) or 'network' "
                     "(DOPE network; needs checkpoint)."),
    "checkpoint": Param("", "Network checkpoint path (backend 'network'; the experts backend refuses one at "
                      "start-up, as it refuses fp16 and postprocess)."),
    "device": Param("auto", "'auto', 'cpu', 'cuda' or 'cuda:N'. The network backend honours it (CUDA absent: "
                    "CPU with a warning); the experts backend runs on the CPU only (LiteRT) and refuses "
                    "'cuda'/'cuda:N' at start-up."),
    "fp16": Param(False, "Run the network in half precision (CUDA only)."),
    "postprocess": Param("", "Network post-processing: 'ppi' (pose-proposal integration) or 'nms'; '' keeps "
                         "the checkpoint's choice."),
    "streaming": Param(True, "Experts backend: follow each person from frame to frame (this frame's landmarks give "
                       "the next frame's body, hand and face regions) and search the whole frame with the "
                       "detectors only on the schedule below and on scene cuts (a lost person: see "
                       "detect_on_loss); track ids then come from the regions. Off: every frame searched from "
                       "scratch (several times slower). "
                       "The network backend ignores it."),
    "detect_every_frames": Param(30, "Streaming: search the whole frame every this many frames (0: never by count); "
                                 "a person who enters waits at most this long.", (0, 100000)),
    "detect_every_s": Param(0.0, "Streaming: also search the whole frame when this many seconds passed since the "
                            "last search (0: never by time). Bounds a newcomer's wait on a slow machine, at the cost "
                            "of more searches there.", (0.0, 3600.0)),
    "scan_every_frames": Param(2, "Streaming: between searches, run BlazePose's person detector on one view of the "
                               "frame (the whole image, then each half-size tile, in turn; the ssd detector too on "
                               "the whole image's turn) every this many frames, so that a newcomer is followed "
                               "sooner than the next search (0: off).", (0, 1000)),
    "scan_sources_every": Param(2, "Streaming: the ssd person detector (people from the back, small people) also "
                                "scans the whole image every this many person scans, whichever view is BlazePose's "
                                "turn (0: only on the whole image's turn).", (0, 1000)),
    "detect_on_loss": Param("local", "Streaming: what a lost person triggers: 'local', the person detectors "
                            "around where it was lost, in the same frame (a few landmark passes; any lost "
                            "person); 'search', a whole-frame search on the next frame (a person followed for "
                            "3 frames or more; slower where people are lost often, e.g. a street)."),
    "detect_after_loss_frames": Param(10, "Streaming, with detect_on_loss 'local': a person lost and not found "
                                      "again around where it was lost brings the next whole-frame search forward "
                                      "to this many frames after the last one (0: off; small people of a street "
                                      "scene are found again sooner, at some frames per second).", (0, 100000)),
    "background_search": Param(True, "Streaming: the scheduled whole-frame searches (detect_every_frames, "
                               "detect_every_s, detect_after_loss_frames) run in a thread of their own beside the "
                               "stream, at a lower CPU priority, instead of holding up the frame they are due on (a "
                               "search takes several frames' time): an even frame time for teleoperation; a person "
                               "a search finds joins when it ends. The first frame and a scene cut still search at "
                               "once. false: every search in its frame (which frame a newcomer joins on does not "
                               "depend on the machine's speed)."),
    "second_opinion": Param(0.8, "Streaming: a followed body that BlazePose's full landmark model loses in its "
                            "region gets one pass of the heavy model (the experts' body_refine) there; a presence "
                            "of at least this, on a body at least 64 px tall, keeps the person (0: off; small "
                            "pedestrians of a street scene are kept through the frames the full model misses).",
                            (0.0, 1.0)),
    "num_threads": Param(2, "Experts backend: CPU threads (LiteRT threads of each model; in streaming, also the "
                         "landmark passes of a frame run at once).", (1, 64)),
    "max_image_pixels": Param(50_000_000, "Largest image processed, in pixels (width x height): raw images "
                              "declaring more, and compressed images whose header declares more, are skipped "
                              "(counted as bad_image/too_large) without being decoded.", (1, 2**31 - 1)),
    "max_image_side": Param(16384, "Longest image side processed, in pixels (same handling as max_image_pixels).",
                            (1, 2**31 - 1)),
    "parts": Param(["body", "hand", "face"], "Parts to estimate, any of 'body', 'hand', 'face'."),
    "experts_config": Param("", "Experts backend: YAML file whose 'experts' section chooses the person detectors "
                            "and part experts (config/experts.yaml), or a preset (default, thorough, legacy); "
                            "empty: the defaults."),
    "person_detectors": Param(["ssd", "blazepose", "faces"], "Experts backend: person proposal sources (ssd, "
                              "blazepose, faces; yolo with the opt-in AGPL-3.0 extra); overrides experts_config unless left "
                              "at this default; unknown or uninstalled ones stop the node with exit code 2."),
    "hand_expert": Param("", "Experts backend: the hand landmark model, 'mediapipe' (full) or 'mediapipe_lite' "
                         "(the same outputs, about half the CPU per hand; docs/accuracy.md measures both); empty: "
                         "experts_config's choice (full by default); an unknown one stops the node with exit code 2."),
    "body_score_threshold": Param(0.3, "Minimum body detection score to publish.", (0.0, 1.0), False),
    "hand_score_threshold": Param(0.2, "Minimum hand detection score to publish (the experts keep a hand at a "
                                  "confident body's wrist from 0.2, elsewhere from 0.5; the network's own final "
                                  "threshold is 0.3).", (0.0, 1.0), False),
    "face_score_threshold": Param(0.15, "Minimum face detection score to publish (the experts keep a face that a "
                                  "detector found at a confident body's head from 0.15, elsewhere from 0.5; the "
                                  "network's faces come at 0.5 or more).", (0.0, 1.0), False),
    "keypoint_confidence_threshold": Param(0.2, "Keypoints below this confidence are not drawn (markers, "
                                           "annotated image) nor used to place parts in 3D.", (0.0, 1.0), False),
    "publish_markers": Param(True, "Publish ~/markers (visualization_msgs/MarkerArray).", None, False),
    "publish_annotated_image": Param(True, "Publish ~/annotated_image (sensor_msgs/Image, rgb8).", None, False),
    "frame_id": Param("", "Frame id of every output; empty: the image's header.frame_id (an image with an empty "
                      "frame_id then gives no markers, which RViz would refuse).", None, False),
    "marker_lifetime_s": Param(1.0, "Lifetime of the RViz markers, seconds (a person who leaves, or a camera that "
                               "stops, leaves no skeleton behind); 0: until the next image.", (0.0, 3600.0), False),
    "mirrored": Param(False, "The images are mirrored (a selfie view): estimate on the flipped-back view so "
                      "hands, left/right joints and 3D are the person's real ones; 2D stays on the received "
                      "image."),
    "publish_hri": Param(True, "Publish ROS4HRI topics (/humans/bodies/tracked, /humans/bodies/<id>/skeleton2d "
                         "and roi) when hri_msgs is importable and track_people is on."),
    "lazy": Param(True, "Subscribe to the camera only while someone subscribes to an output (poses, markers, "
                  "annotated image...; /diagnostics does not count), as image_pipeline nodes do.", None, False),
    "track_people": Param(True, "Give every person a track_id that stays the same from frame to frame while "
                          "the person is seen (box-overlap tracking); off: track_id is TRACK_ID_NONE."),
    "track_iou_threshold": Param(0.3, "Smallest box overlap (IoU) with the previous frames for a person to keep "
                                 "its track id.", (0.0, 1.0)),
    "track_timeout_s": Param(1.0, "Seconds (image stamps) a track survives without its person before its id is "
                             "retired and listed in lost_track_ids.", (0.0, 3600.0)),
    "track_predict_s": Param(0.2, "Seconds (image stamps) an unseen track is still published, as a person with "
                             "track_state PREDICTED (last pose carried on at its velocity); 0: never.", (0.0, 3600.0)),
    # --- teleoperation outputs (dope_ros/teleop_outputs.py, docs/teleop.md) ---
    "smoothing.enabled": Param(True, "One Euro filtering of tracked people's keypoints, part roots and orientations, "
                               "timed by the image stamps; also gives part velocities. Needs track_people."),
    "smoothing.min_cutoff_hz": Param(0.5, "One Euro cutoff at rest, Hz: lower removes more jitter.", (0.01, 100.0)),
    "smoothing.d_cutoff_hz": Param(0.5, "Cutoff of the speed estimate and of the velocities, Hz.", (0.01, 100.0)),
    "smoothing.beta": Param(5.0, "Cutoff increase per part size per second of the part's image speed, Hz: higher "
                            "follows fast motion with less lag, lower removes more jitter.", (0.0, 1000.0)),
    "smoothing.depth_min_cutoff_hz": Param(0.2, "Cutoff at rest of a placed part root's distance from the camera "
                                           "(filtered as log-depth along the root's viewing ray), Hz: monocular depth "
                                           "jitters several times more than the image position; lower is steadier, "
                                           "but lags more on motion straight towards or away from the camera.",
                                           (0.01, 100.0)),
    "smoothing.max_gap_s": Param(0.5, "A part unseen for longer than this restarts its filters, seconds.",
                                 (0.0, 3600.0)),
    "grasp.close_below": Param(0.3, "Pinch starts when the thumb-index aperture divided by the hand size (wrist to "
                               "middle-finger base) drops under this.", (0.0, 10.0)),
    "grasp.open_above": Param(0.45, "Pinch ends when the normalised aperture rises above this (>= close_below).",
                              (0.0, 10.0)),
    "grasp.min_confidence": Param(0.2, "Finger tips less confident keep the previous pinch state.", (0.0, 1.0)),
    "operator.mode": Param("closest", "Whom ~/operator carries: 'largest' (box), 'closest' (placed root nearest the "
                           "camera), 'track_id' (operator.track_id), 'none'; the chosen person is kept while their "
                           "track lives."),
    "operator.track_id": Param(-1, "The track to follow with operator.mode 'track_id'.", (-1, 2**31 - 1)),
    "publish_tf": Param(False, "Broadcast a TF frame per placed, oriented part: {tf_prefix}body_<id>, "
                        "hand_left_<id>, hand_right_<id>, face_<id>, parented to the image's frame_id."),
    "tf_prefix": Param("", "Prefix of the TF frame names."),
    "diagnostics_period_s": Param(1.0, "Period of /diagnostics messages, seconds.", (0.1, 60.0)),
    "diagnostics_window": Param(5, "Diagnostics periods over which the processing rate and the recent bad-input "
                                "counts are measured (a WARN for bad input clears this long after it stops).",
                                (1, 1000)),
    "diagnostics_min_rate_hz": Param(1.0, "Lowest acceptable processing rate (frames/s); below it (less 10 %) "
                                     "diagnostics say WARN; no frame at all in the window: ERROR.", (0.0, 1000.0)),
    "diagnostics_max_rate_hz": Param(0.0, "Highest acceptable processing rate (frames/s), 0: no limit.",
                                     (0.0, 1000.0)),
    "input_stale_warn_s": Param(1.0, "Diagnostics say WARN when no image arrived for this many seconds.",
                                (0.05, 3600.0)),
    "input_stale_error_s": Param(3.0, "Diagnostics say ERROR when no image arrived for this many seconds "
                                 "(>= input_stale_warn_s).", (0.05, 3600.0)),
    # --- metric placement (dope_core.placement, dope_core.depth; docs/ros.md "Metric 3D") ---
    "rectified_images": Param(False, "The images are rectified (e.g. image_rect): place people with the CameraInfo's "
                              "P and R. False: raw images, placed with K after removing the distortion D."),
    "camera_info_sync_tolerance_s": Param(0.05, "An image is placed with the CameraInfo nearest in stamp within this "
                                          "many seconds (one stamped 0 matches any image); none: the poses go out "
                                          "part-relative and camera_info_unsynced is counted.", (0.0, 10.0), False),
    "depth_topic": Param("", "Depth image registered to the colour image (sensor_msgs/Image, 16UC1/mono16 in mm or "
                         "32FC1 in m), e.g. aligned_depth_to_color/image_raw: fixes each person's distance. "
                         "Empty: no depth."),
    "depth_sync_tolerance_s": Param(0.05, "Largest stamp difference, seconds, between an image and the depth image "
                                    "paired with it.", (0.0, 10.0), False),
    "depth_window_px": Param(2, "Half-side of the window of depth values (median) read at each hip and shoulder, "
                             "pixels.", (0, 50)),
    "scale_priors": Param(True, "Bring hands and faces (and bodies, with stretch_body_depth) to adult "
                          "proportions before placing them (dope_core.placement.AnthropometricPriors); false: "
                          "each expert's own scale."),
    "stretch_body_depth": Param(False, "With scale_priors, also stretch each body's depth axis until its bones fit "
                                "the priors: consistent bone lengths, but a worse 3D shape on the annotated 3D "
                                "samples (docs/ros.md); false: each body at its expert's own scale."),
    "prior_stature_m": Param(1.70, "Assumed standing height, metres (body bone priors are fractions of it).",
                             (0.5, 2.5)),
    "prior_hand_length_m": Param(0.18, "Assumed wrist-to-middle-fingertip length, metres.", (0.05, 0.3)),
    "prior_eye_corner_distance_m": Param(0.09, "Assumed distance between the outer eye corners, metres.",
                                         (0.03, 0.15)),
    "warning_period_s": Param(5.0, "Each kind of warning (bad input, dropped frames) is logged at most "
                              "once per this many seconds.", (0.0, 3600.0), False),
}


def descriptor(name: str) -> ParameterDescriptor:
    """The ROS descriptor of parameter ``name`` (description, range, read-only)."""
    p = PARAMETERS[name]
    d = ParameterDescriptor(name=name, description=p.description, read_only=p.read_only)
    if p.range is not None and isinstance(p.default, int) and not isinstance(p.default, bool):
        d.integer_range = [IntegerRange(from_value=int(p.range[0]), to_value=int(p.range[1]), step=1)]
    elif p.range is not None:
        d.floating_point_range = [FloatingPointRange(from_value=float(p.range[0]), to_value=float(p.range[1]),
                                                     step=0.0)]
    return d
