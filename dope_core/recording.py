"""Demonstration recordings without ROS: one MCAP bag of images, camera info, poses and TF.

:class:`Recorder` writes, for every frame of a stream, on one time base (the image
stamp is both the header stamp and the bag's log time, nanoseconds):

* ``/camera/image_raw/compressed`` (``sensor_msgs/msg/CompressedImage``, JPEG, or PNG
  for lossless recordings whose re-estimation gives the same poses);
* ``/camera/camera_info`` (``sensor_msgs/msg/CameraInfo``: ``K``, lens distortion ``D``,
  ``R``, ``P``, binning and region of interest), when the camera is known;
* ``/dope/poses`` (``dope_ros/msg/WholeBodyPoseArray``), the message the node publishes
  for the same poses;
* ``/tf`` (``tf2_msgs/msg/TFMessage``), one transform per placed, oriented part, as the
  node's ``publish_tf`` sends them.

Messages are built with ``rosbags`` (pure Python) from the message definitions of
``msg/``; no ROS installation is needed to write or read. Every frame is flushed to
disk as one MCAP chunk, so a recording whose process was killed can still be read up
to its last complete frame (:func:`read_recording` then reads the ``.mcap`` file
itself, :mod:`dope_core.mcap_tail`, as ``metadata.yaml`` is missing).

:func:`read_recording` yields the frames back: image (RGB), stamp, camera info and poses.
Every recorded image is checked from its header (:mod:`dope_core.image_header`) before
it is decoded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import cv2
import numpy as np

from dope_core.camera import CameraModel, camera_from_info, camera_info_fields
from dope_core.image_header import ImageLimits, check_encoded
from dope_core.structures import WholeBodyPoses
from dope_core.mcap_tail import MAGIC as MCAP_MAGIC, complete_length, read_complete_messages
from dope_core.msg_fields import poses_fields, poses_from_fields, transforms_fields

IMAGE_TOPIC = "/camera/image_raw/compressed"
CAMERA_INFO_TOPIC = "/camera/camera_info"
POSES_TOPIC = "/dope/poses"
TF_TOPIC = "/tf"
FRAME_ID = "camera_optical_frame"

LOG = logging.getLogger(__name__)

_NUMPY = {"bool": np.bool_, "int8": np.int8, "uint8": np.uint8, "byte": np.uint8, "char": np.uint8,
          "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32, "int64": np.int64,
          "uint64": np.uint64, "float32": np.float32, "float64": np.float64}


_MSG_DEFAULTS = {"geometry_msgs/msg/Quaternion": {"w": 1.0}}
"""Default values declared in .msg files (rosbags' typestore does not carry them)."""


def build_message(store: Any, typename: str, values: Any = None) -> Any:
    """A rosbags message of ``typename`` from a nested dict of field values; missing fields get ROS defaults."""
    from rosbags.typesys.base import Nodetype

    if values is not None and not isinstance(values, dict):
        return values
    values = {**_MSG_DEFAULTS.get(typename, {}), **(values or {})}
    unknown = set(values) - {name for name, _ in store.fielddefs[typename][1]}
    if unknown:
        raise ValueError(f"{typename} has no field(s) {sorted(unknown)}")
    kwargs = {}
    for name, (kind, spec) in store.fielddefs[typename][1]:
        v = values.get(name)
        if kind == Nodetype.BASE:
            base = spec[0]
            kwargs[name] = ("" if v is None else str(v)) if base == "string" else (
                _NUMPY[base](0 if v is None else v).item() if base != "bool" else bool(v))
        elif kind == Nodetype.NAME:
            kwargs[name] = build_message(store, spec, v)
        else:
            (sub_kind, sub_spec), length = spec
            if sub_kind == Nodetype.BASE and sub_spec[0] != "string":
                arr = np.asarray([] if v is None else v, dtype=_NUMPY[sub_spec[0]])
                if kind == Nodetype.ARRAY and v is None:
                    arr = np.zeros(length, dtype=_NUMPY[sub_spec[0]])
                kwargs[name] = arr
            elif sub_kind == Nodetype.BASE:
                kwargs[name] = [str(s) for s in (v or [])]
            else:
                items = list(v or [])
                if kind == Nodetype.ARRAY and not items:
                    items = [None] * length
                kwargs[name] = [build_message(store, sub_spec, item) for item in items]
    return store.types[typename](**kwargs)


def _stamp(stamp_ns: int) -> dict:
    return {"sec": stamp_ns // 1_000_000_000, "nanosec": stamp_ns % 1_000_000_000}


@dataclass
class RecordedFrame:
    """One frame read back from a recording.

    Attributes:
        stamp_ns: the image's header stamp, nanoseconds.
        image: ``(H, W, 3)`` RGB uint8.
        camera_info: the ``sensor_msgs/CameraInfo`` of the same stamp (a rosbags message), or ``None``.
        poses: the poses recorded for the frame, or ``None``.
    """

    stamp_ns: int
    image: np.ndarray
    camera_info: Optional[Any]
    poses: Optional[WholeBodyPoses]

    @property
    def intrinsics(self) -> Optional[np.ndarray]:
        """``(3, 3)`` ``K`` of the recorded camera info (raw image, pixels), or ``None``."""
        return None if self.camera_info is None else np.asarray(self.camera_info.k, dtype=np.float64).reshape(3, 3)

    def camera(self, *, rectified: bool = False) -> Optional[CameraModel]:
        """The checked camera model of the recorded camera info (``None`` without one).

        Args:
            rectified: the recorded images are rectified (use ``P``), as the node's ``rectified``.

        Raises:
            InvalidIntrinsicsError: the recorded camera info is refused (one-line message).
        """
        return None if self.camera_info is None else camera_from_info(self.camera_info, rectified=rectified)


class Recorder:
    """Writes a recording (module docstring) frame by frame.

    Args:
        path: output folder (rosbag2 layout: ``metadata.yaml`` + ``.mcap``); must not exist.
        image_format: ``"jpeg"`` or ``"png"`` (lossless).
        jpeg_quality: JPEG quality of the recorded images, 1-100.
        tf_prefix: prefix of the TF frame names.
    """

    def __init__(self, path: str | Path, *, image_format: str = "jpeg", jpeg_quality: int = 90,
                 tf_prefix: str = "") -> None:
        if image_format not in ("jpeg", "png"):
            raise ValueError(f"image_format must be 'jpeg' or 'png', got {image_format!r}")
        self._format = image_format
        from dope_ros.bag_io import BagWriter, dope_typestore

        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"{self.path} exists; a recording never overwrites")
        self._store = dope_typestore()
        self._bag = BagWriter(self.path, typestore=self._store)
        for topic, msgtype in ((IMAGE_TOPIC, "sensor_msgs/msg/CompressedImage"),
                               (CAMERA_INFO_TOPIC, "sensor_msgs/msg/CameraInfo"),
                               (POSES_TOPIC, "dope_ros/msg/WholeBodyPoseArray"), (TF_TOPIC, "tf2_msgs/msg/TFMessage")):
            self._bag.add_topic(topic, msgtype)
        self._quality = int(jpeg_quality)
        self._prefix = tf_prefix
        self.frames = 0

    def _write(self, topic: str, msgtype: str, stamp_ns: int, fields: dict) -> None:
        msg = build_message(self._store, msgtype, fields)
        self._bag.write(topic, stamp_ns, bytes(self._store.serialize_cdr(msg, msgtype)))

    def write(self, stamp_ns: int, image: np.ndarray, poses: Optional[WholeBodyPoses], *,
              camera: CameraModel | np.ndarray | None = None, camera_info_valid: Optional[bool] = None) -> None:
        """Record one frame: ``image`` (RGB uint8), its stamp (ns), the poses found in it and its camera.

        Args:
            camera: the camera of ``image`` (a model, distortion included, or a ``(3, 3)`` pinhole
                ``K`` in pixels), written as its ``CameraInfo``; ``None``: no camera info.
            camera_info_valid: the poses' ``camera_info_valid`` (default: whether ``camera`` is given).

        Raises:
            InvalidIntrinsicsError: ``camera`` does not fit ``image`` (nothing of the frame is written).
        """
        model = None   # checked before anything of the frame is written
        if camera is not None:
            h, w = image.shape[:2]
            model = camera if isinstance(camera, CameraModel) else CameraModel.from_matrix(camera, w, h)
            model.check_image_size(w, h)
        header = {"stamp": _stamp(int(stamp_ns)), "frame_id": FRAME_ID}
        params = [cv2.IMWRITE_JPEG_QUALITY, self._quality] if self._format == "jpeg" else []
        ok, data = cv2.imencode(".jpg" if self._format == "jpeg" else ".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                                params)
        if not ok:
            raise ValueError(f"the image could not be {self._format}-encoded")
        self._write(IMAGE_TOPIC, "sensor_msgs/msg/CompressedImage", stamp_ns,
                    {"header": header, "format": f"rgb8; {self._format} compressed bgr8", "data": data.reshape(-1)})
        if model is not None:
            self._write(CAMERA_INFO_TOPIC, "sensor_msgs/msg/CameraInfo", stamp_ns,
                        {"header": header, **camera_info_fields(model)})
        if poses is not None:
            valid = camera is not None if camera_info_valid is None else camera_info_valid
            self._write(POSES_TOPIC, "dope_ros/msg/WholeBodyPoseArray", stamp_ns,
                        poses_fields(poses, header, camera_info_valid=valid))
            transforms = transforms_fields(poses, header, prefix=self._prefix)
            if transforms:
                self._write(TF_TOPIC, "tf2_msgs/msg/TFMessage", stamp_ns, {"transforms": transforms})
        self._bag.flush()
        self.frames += 1

    def close(self) -> None:
        self._bag.close()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordingError(ValueError):
    """A recording that cannot be read; the message (one line) says why."""


_KIND_TYPES = {IMAGE_TOPIC: "sensor_msgs/msg/CompressedImage", CAMERA_INFO_TOPIC: "sensor_msgs/msg/CameraInfo",
               POSES_TOPIC: "dope_ros/msg/WholeBodyPoseArray"}
"""The message type of each kind of topic (a recording whose image topic has another name is read by type)."""


@dataclass
class RecordingSource:
    """Where a recording's messages are read from, checked (:func:`open_recording`).

    Attributes:
        path: the bag read: a rosbag2 folder or file, or the ``.mcap`` file scanned itself.
        cut_off: the file is scanned up to its last complete message (its writer was killed).
    """

    path: Path
    cut_off: bool

    def messages(self, topics: Optional[set[str]] = None) -> Iterator[tuple[str, str, int, bytes]]:
        """``(topic, message type, log time ns, CDR bytes)`` of ``topics`` (``None``: all), in the bag's order.

        Raises:
            RecordingError: the bag cannot be read further (one line), after the messages before.
        """
        from dope_ros.bag_io import read_bag

        messages = read_complete_messages(self.path, topics) if self.cut_off else read_bag(self.path, topics)
        try:
            yield from messages
        except Exception as e:   # rosbags' and sqlite's errors mid-way: one line
            raise RecordingError(f"{self.path}: cannot be read further ({type(e).__name__}: {e})") from None


def open_recording(path: Path) -> RecordingSource:
    """The source of a recording's messages; each :meth:`RecordingSource.messages` call reads it anew.

    A folder is read with rosbags through its ``metadata.yaml``; when that file is missing (the
    recording process was killed), unreadable, or its bag refused (a cut ``.mcap``), the folder's
    ``.mcap`` file is read itself up to its last complete message (:mod:`dope_core.mcap_tail`); a
    warning says where it stops when bytes follow that are not a complete record (a partly
    written record, or a damaged length field: what follows it is not read).

    Raises:
        RecordingError: nothing of it can be read (no bag file, not a bag).
    """
    if path.is_dir():
        mcaps = sorted(path.glob("*.mcap"))
        if (path / "metadata.yaml").exists():
            try:
                return _probed(RecordingSource(path, cut_off=False))
            except Exception as e:
                if not mcaps:
                    raise RecordingError(_unreadable(path, e)) from None
                LOG.warning("%s: %s; reading %s up to its last complete message", path, e, mcaps[0].name)
        if not mcaps:
            raise RecordingError(f"{path} holds no .mcap file")
        path = mcaps[0]
    if not path.is_file():
        raise RecordingError(f"{path}: no such recording")
    if path.suffix == ".mcap":
        with open(path, "rb") as f:
            if f.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
                raise RecordingError(f"{path} is not an MCAP file")
        end, size = complete_length(path), path.stat().st_size
        if end < size:
            LOG.warning("%s: bytes %d to %d are not a complete record (cut off, or damaged there); "
                        "read up to byte %d", path, end, size, end)
        return RecordingSource(path, cut_off=True)
    try:
        return _probed(RecordingSource(path, cut_off=False))
    except Exception as e:
        raise RecordingError(_unreadable(path, e)) from None


def _probed(source: RecordingSource) -> RecordingSource:
    """``source``, once rosbags has opened it and read its first message (it refuses a bag then)."""
    from dope_ros.bag_io import read_bag

    messages = read_bag(source.path)
    try:
        next(messages, None)
    finally:
        messages.close()
    return source


def _unreadable(path: Path, error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{path}: not a readable bag ({type(error).__name__}: {text})"


def frames_by_stamp(path: str | Path, kinds: tuple[str, ...]) -> Iterator[tuple[int, dict[str, tuple[bytes, Any]]]]:
    """``(stamp ns, {kind: (CDR bytes, message)})`` per recorded frame holding an image, in stamp order.

    ``kinds`` are topic endings (:data:`IMAGE_TOPIC`, :data:`CAMERA_INFO_TOPIC`,
    :data:`POSES_TOPIC`): a topic is recognised by its ending, so namespaced recordings
    (the demo's) read too; a kind no topic ends with is read from the one topic of its message
    type (a camera recorded under its own name by ``launch/record.launch.py``). Messages are paired
    by their header stamps, not log times; frames that share a stamp (a camera that stamps 0) stay
    apart, paired in order. A message that does not deserialize is skipped with a warning, and so is
    the last frame of a cut-off recording that lacks what every other frame has (its camera info or
    poses were not written before the kill).

    The recording is read twice: once for the stamps (nothing kept but a plan of which message
    goes to which frame), then for the frames, each yielded as soon as its messages and those of
    every earlier frame are in, so memory holds a few frames, not the recording.

    Raises:
        RecordingError: the recording cannot be read, or several topics could be its images.
    """
    source = open_recording(Path(path))
    plan = _frame_plan(source, kinds)
    if not plan.frames:
        return
    messages = source.messages(plan.topics)
    got: list[dict[str, tuple[bytes, Any]]] = [{} for _ in plan.frames]
    missing = [len(needs) for needs in plan.frames]
    seen: dict[str, int] = {}
    next_out = 0
    try:
        for topic, msgtype, _, data in messages:
            key = (topic, seen.get(topic, 0))
            seen[topic] = key[1] + 1
            frame = plan.frame_of.get(key)
            if frame is None:
                continue
            kind = plan.frames[frame][key]
            try:
                got[frame][kind] = (data, plan.store.deserialize_cdr(data, msgtype))
            except Exception:   # it read in the first pass: the file changed since; the frame goes without it
                pass
            missing[frame] -= 1
            while next_out < len(got) and missing[next_out] == 0:
                if IMAGE_TOPIC in got[next_out]:
                    yield plan.stamps[next_out], got[next_out]
                got[next_out] = {}
                next_out += 1
            if next_out == len(got):
                return
    except RecordingError as e:   # where the first pass stopped, warned about there
        LOG.debug("%s", e)
    for frame in range(next_out, len(got)):   # what the second pass did not find again
        if IMAGE_TOPIC in got[frame]:
            yield plan.stamps[frame], got[frame]


@dataclass
class _FramePlan:
    """Which message goes into which frame (:func:`frames_by_stamp`); a message is named by its topic and
    its position among that topic's messages (``(topic, n)``, ``n`` from 0).

    Attributes:
        frames: per frame in output order, ``{message: kind}``.
        stamps: the frames' header stamps, nanoseconds.
        frame_of: the frame of each message used.
        topics: the topics the frames use.
        store: the typestore the messages deserialize with.
    """

    frames: list[dict[tuple[str, int], str]]
    stamps: list[int]
    frame_of: dict[tuple[str, int], int]
    topics: set[str]
    store: Any


def _frame_plan(source: RecordingSource, kinds: tuple[str, ...]) -> _FramePlan:
    """The first pass of :func:`frames_by_stamp`: every message's stamp, messages paired into frames."""
    from dope_ros.bag_io import dope_typestore

    store = dope_typestore()
    path, cut_off = source.path, source.cut_off
    messages = source.messages()
    by_suffix: dict[str, list[tuple[tuple[str, int], str, Optional[int]]]] = {k: [] for k in kinds}
    by_type: dict[str, dict[str, list[tuple[tuple[str, int], str, Optional[int]]]]] = {k: {} for k in kinds}
    unread: dict[tuple[str, str], list[Any]] = {}
    seen: dict[str, int] = {}
    read = 0
    try:
        for topic, msgtype, _, data in messages:
            read += 1
            key = (topic, seen.get(topic, 0))
            seen[topic] = key[1] + 1
            kind = next((k for k in kinds if topic.endswith(k)), None)
            typed = kind is None
            if typed:
                kind = next((k for k in kinds if _KIND_TYPES.get(k) == msgtype), None)
                if kind is None:
                    continue
            try:
                msg = store.deserialize_cdr(data, msgtype)
                stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            except Exception as e:   # a cut message, a type this store lacks, a type without a header
                stamp = None
                unread.setdefault((topic, msgtype), [0, f"{type(e).__name__}: {e}"])
            entry = (key, msgtype, stamp)
            if typed:
                by_type[kind].setdefault(topic, []).append(entry)
            else:
                by_suffix[kind].append(entry)
    except RecordingError as e:
        if not read:
            raise
        LOG.warning("%s; the %d messages before are read", e, read)
    slots_of: dict[int, list[dict[str, tuple[str, int]]]] = {}
    topics: set[str] = set()
    for kind in kinds:
        chosen = by_suffix[kind]
        if not chosen and len(by_type[kind]) == 1:
            chosen = next(iter(by_type[kind].values()))
        elif not chosen and len(by_type[kind]) > 1 and kind == IMAGE_TOPIC:
            raise RecordingError(f"{path}: several image topics ({', '.join(sorted(by_type[kind]))}) and none ends "
                                 f"with {IMAGE_TOPIC}: cannot tell which is the camera")
        for key, msgtype, stamp in chosen:
            if stamp is None:
                unread[(key[0], msgtype)][0] += 1
                continue
            topics.add(key[0])
            slots = slots_of.setdefault(stamp, [])
            slot = next((f for f in slots if kind not in f), None)
            if slot is None:
                slot = {}
                slots.append(slot)
            slot[kind] = key
    for (topic, msgtype), (n, why) in unread.items():
        if n:
            LOG.warning("%s: %d %s message(s) on %s do not read (%s); skipped", path, n, msgtype, topic, why)
    ordered = [(stamp, f) for stamp in sorted(slots_of) for f in slots_of[stamp] if IMAGE_TOPIC in f]
    if cut_off and len(ordered) > 1:
        usual = set.intersection(*(set(f) for _, f in ordered[:-1]))
        if not usual <= set(ordered[-1][1]):
            LOG.warning("%s: the last frame (stamped %d ns) lacks %s, cut off by the end of the recording; "
                        "skipped", path, ordered[-1][0], ", ".join(sorted(usual - set(ordered[-1][1]))))
            ordered.pop()
    frames = [{key: kind for kind, key in f.items()} for _, f in ordered]
    frame_of = {key: i for i, f in enumerate(frames) for key in f}
    return _FramePlan(frames=frames, stamps=[stamp for stamp, _ in ordered], frame_of=frame_of, topics=topics,
                      store=store)


def read_recording(path: str | Path, *, limits: ImageLimits = ImageLimits(),
                   on_skip: Optional[Callable[[int, str], None]] = None) -> Iterator[RecordedFrame]:
    """The frames of a recording in stamp order (image decoded to RGB, poses when recorded).

    Args:
        limits: largest recorded image decoded; its size is read from the header first.
        on_skip: called with ``(stamp ns, reason)`` for a recorded image that is over ``limits``
            or does not decode, which is then skipped; ``None``: such an image raises
            ``ValueError`` instead.

    Topics are recognised by their ending (``.../camera/image_raw/compressed``,
    ``.../camera/camera_info``, ``.../dope/poses``), so namespaced recordings (the
    demo's) read too.
    """
    for stamp, got in frames_by_stamp(path, (IMAGE_TOPIC, CAMERA_INFO_TOPIC, POSES_TOPIC)):
        data = np.frombuffer(bytes(got[IMAGE_TOPIC][1].data), np.uint8)
        try:
            check_encoded(data, limits)
            bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError("not an image that decodes")
        except ValueError as e:   # ImageHeaderError (over the limits, unknown format) included
            reason = f"the image stamped {stamp} ns: {e}"
            if on_skip is None:
                raise ValueError(f"{path}: {reason}") from None
            on_skip(stamp, reason)
            continue
        info = got[CAMERA_INFO_TOPIC][1] if CAMERA_INFO_TOPIC in got else None
        poses = None
        if POSES_TOPIC in got:
            try:
                poses = poses_from_fields(got[POSES_TOPIC][1])
            except (ValueError, KeyError, AttributeError, TypeError) as e:
                LOG.warning("%s: the poses stamped %d ns do not read (%s); the frame is kept without them",
                            path, stamp, e)
        yield RecordedFrame(stamp_ns=stamp, image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), camera_info=info, poses=poses)
