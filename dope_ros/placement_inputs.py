"""The inputs that place people metrically: CameraInfo and depth, checked and paired with each image by stamp.

No ROS calls: messages are read through their fields, so the node stays thin and this
is tested without a running graph.

**CameraInfo** (``sensor_msgs/CameraInfo``) is used as ROS defines it
(:mod:`dope_core.camera`): ``K`` and ``D`` for raw images, ``P`` (and ``R``) when the node
is told its images are rectified; binning and ROI map the image to the calibrated sensor.
A message is checked when it arrives (:meth:`PlacementInputs.add_camera_info`: zero, NaN or
implausible matrices, an unknown distortion model, a wrong number of coefficients) and
against each image (:meth:`PlacementInputs.camera_for`): its stamp must be the nearest
within ``camera_tolerance_s`` of the image's (a CameraInfo stamped 0, as static publishers
send, matches any image), its size (after binning and ROI) the image's, and its
``frame_id`` should be the image's (only warned). A problem gives no camera: the poses go
out part-relative, never with a wrong metric placement. An invalid CameraInfo also
discards the earlier ones (the camera now says its calibration is not usable).

**Depth** (``sensor_msgs/Image``, 16UC1/mono16 mm or 32FC1 m, registered to the colour
image): the nearest in stamp within ``depth_tolerance_s`` (:meth:`PlacementInputs.depth_for`),
decoded by :func:`dope_core.depth.decode_depth`, the image's size required.

Problems come back as ``(category, message)`` pairs for the node to count and log:
``bad_camera_info``, ``camera_info_unsynced``, ``camera_info_mismatch``,
``camera_info_frame_mismatch``, ``bad_depth``, ``depth_unsynced``.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Generic, Optional, TypeVar

import numpy as np

from dope_core.camera import CameraModel, InvalidIntrinsicsError, camera_from_info
from dope_core.depth import DepthError, decode_depth

T = TypeVar("T")
Problem = tuple[str, str]


def stamp_seconds(header: Any) -> float:
    """A ``std_msgs/Header`` stamp in seconds."""
    return header.stamp.sec + 1e-9 * header.stamp.nanosec


NANOSEC_PER_SEC = 1_000_000_000
"""``builtin_interfaces/Time.nanosec`` is below this (the field is uint32: up to 4.29e9 fits in it)."""


def stamp_is_valid(header: Any) -> bool:
    """Whether a ``std_msgs/Header`` stamp is a time: ``nanosec`` below 1e9 (4e9 would move it 4 s on)."""
    return 0 <= header.stamp.nanosec < NANOSEC_PER_SEC


class StampedBuffer(Generic[T]):
    """The last ``size`` items with their stamps; :meth:`nearest` pairs an image with one (thread-safe)."""

    def __init__(self, size: int) -> None:
        self._items: deque[tuple[float, T]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, stamp_s: float, item: T) -> None:
        with self._lock:
            self._items.append((stamp_s, item))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def nearest(self, stamp_s: float, tolerance_s: float, *, zero_matches_any: bool = False) -> Optional[tuple[float, T]]:
        """``(stamp, item)`` nearest to ``stamp_s`` within ``tolerance_s`` (the newest on ties), else ``None``.

        With ``zero_matches_any``, an item stamped 0 matches any stamp (when nothing nearer does).
        """
        with self._lock:
            items = list(self._items)
        best = None
        for s, item in reversed(items):
            d = abs(s - stamp_s)
            if d <= tolerance_s and (best is None or d < best[0]):
                best = (d, s, item)
        if best is not None:
            return best[1], best[2]
        if zero_matches_any:
            for s, item in reversed(items):
                if s == 0.0:
                    return s, item
        return None


class PlacementInputs:
    """CameraInfo and depth buffers of one node (see the module docstring).

    Args:
        rectified: the images are rectified (use ``P``), else raw (``K`` and ``D``).
        camera_tolerance_s, depth_tolerance_s: largest stamp difference to an image, seconds.
        buffer_size: messages kept per input.
    """

    def __init__(self, *, rectified: bool = False, camera_tolerance_s: float = 0.05, depth_tolerance_s: float = 0.05,
                 buffer_size: int = 30) -> None:
        self.rectified = rectified
        self.camera_tolerance_s = camera_tolerance_s
        self.depth_tolerance_s = depth_tolerance_s
        self._cameras: StampedBuffer[tuple[CameraModel, str]] = StampedBuffer(buffer_size)
        self._depths: StampedBuffer[Any] = StampedBuffer(max(buffer_size // 5, 2))
        self.camera_status = "missing"
        """``missing``, ``invalid`` (the last CameraInfo refused), ``unsynced`` or ``size_mismatch`` (the last
        image had no usable CameraInfo), ``valid``."""

    # ------------------------------------------------------------------ arrivals
    def add_camera_info(self, msg: Any) -> Optional[Problem]:
        """Check and keep a CameraInfo; a ``bad_camera_info`` problem when it is refused."""
        try:
            model = camera_from_info(msg, rectified=self.rectified)
        except InvalidIntrinsicsError as e:
            self._cameras.clear()
            self.camera_status = "invalid"
            return (f"bad_camera_info/{e.reason}", f"ignoring CameraInfo on {msg.header.frame_id!r}: {e}; 3D poses "
                                                   "stay part-relative until a valid one arrives")
        self._cameras.add(stamp_seconds(msg.header), (model, msg.header.frame_id))
        self.camera_status = "valid"
        return None

    def add_depth(self, msg: Any) -> None:
        """Keep a depth image (decoded only when an image pairs with it)."""
        self._depths.add(stamp_seconds(msg.header), msg)

    # ------------------------------------------------------------------ pairing
    def camera_for(self, header: Any, width: int, height: int) -> tuple[Optional[CameraModel], list[Problem]]:
        """The camera model for an image (``None`` when there is none to trust) and the problems seen."""
        problems: list[Problem] = []
        stamp = stamp_seconds(header)
        found = self._cameras.nearest(stamp, self.camera_tolerance_s, zero_matches_any=True)
        if found is None:
            if len(self._cameras):
                self.camera_status = "unsynced"
                problems.append(("camera_info_unsynced", f"no CameraInfo within {self.camera_tolerance_s:g} s of the "
                                                         f"image stamped {stamp:.3f} s: poses sent part-relative"))
            return None, problems
        _, (model, frame_id) = found
        try:
            model.check_image_size(width, height)
        except InvalidIntrinsicsError as e:
            self.camera_status = "size_mismatch"
            problems.append(("camera_info_mismatch", f"CameraInfo does not fit the image: {e}; poses sent "
                                                     "part-relative"))
            return None, problems
        self.camera_status = "valid"
        if frame_id != header.frame_id:
            problems.append(("camera_info_frame_mismatch", f"CameraInfo frame {frame_id!r} is not the image's "
                                                           f"{header.frame_id!r}; placing in the image's frame"))
        return model, problems

    def depth_for(self, header: Any, width: int, height: int) -> tuple[Optional[np.ndarray], list[Problem]]:
        """The depth image (metres, NaN holes) paired with an image, or ``None``, and the problems seen."""
        stamp = stamp_seconds(header)
        found = self._depths.nearest(stamp, self.depth_tolerance_s)
        if found is None:
            return None, [("depth_unsynced", f"no depth image within {self.depth_tolerance_s:g} s of the image "
                                             f"stamped {stamp:.3f} s: placed without depth")]
        msg = found[1]
        try:
            depth = decode_depth(encoding=msg.encoding, height=msg.height, width=msg.width, step=msg.step,
                                 is_bigendian=bool(msg.is_bigendian), data=bytes(msg.data))
        except DepthError as e:
            return None, [(f"bad_depth/{e.reason}", f"depth image ignored: {e}")]
        if depth.shape != (height, width):
            return None, [("bad_depth/size", f"depth image ignored: it is {depth.shape[1]}x{depth.shape[0]}, the "
                                             f"colour image {width}x{height} (depth must be registered to it)")]
        return depth, []
