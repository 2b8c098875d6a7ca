"""InterHand2.6M as stored by mmpose: one hand or two interacting hands per image, in 3D.

Three JSON files: ``*_data.json`` (COCO-style ``images``, each with ``capture``,
``camera`` and ``frame_idx``; one annotation per image with ``hand_type``),
``*_camera.json`` (per capture: ``campos`` in millimetres, ``camrot``, ``focal`` and
``princpt`` in pixels, per camera) and ``*_joint_3d.json`` (per capture and frame:
``world_coord``, 42 x 3 millimetres, and ``joint_valid``). The 42 joints are the right
hand's 21 then the left hand's, each finger from tip to base and the wrist last; they are
reordered to DOPE's hand (wrist, then each finger from base to tip). The camera-frame 3D
is ``camrot @ (world - campos)``, in metres and made wrist-relative (``root_camera`` = the
wrist in the camera); the 2D labels are its pinhole projection (the images are undistorted).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dope_core.datasets.files import read_json
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance, box_of, split_root
from dope_core.keypoints import HAND_WRIST, Part
from dope_core.metrics.mappings import INTERHAND21_TO_HAND21

MM_TO_M = 1e-3
_SIDES = (("right", 0), ("left", 21))


def load_interhand(data_file: str | Path, camera_file: str | Path, joint_file: str | Path,
                   image_dir: str | Path | None = None) -> list[AnnotatedSample]:
    """Samples of mmpose's InterHand2.6M test files (images in ``image_dir``, default the data file's folder).

    Every hand with at least one valid joint in front of the camera is an instance, with its side
    as ``handedness`` (and without 3D when its wrist is not valid).

    Raises:
        ValueError: a missing or malformed file, or an image whose capture, camera or frame the
            camera and joint files lack.
    """
    data_file = Path(data_file)
    image_dir = Path(image_dir) if image_dir is not None else data_file.parent
    data, cameras, joints = read_json(data_file), read_json(camera_file), read_json(joint_file)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ValueError(f"{data_file} is not a COCO-style InterHand2.6M data file (no 'images' list)")
    samples = []
    for image in data["images"]:
        try:
            capture, camera, frame = str(image["capture"]), str(image["camera"]), str(image["frame_idx"])
            cam = cameras[capture]
            rotation = np.asarray(cam["camrot"][camera], dtype=np.float64).reshape(3, 3)
            position = np.asarray(cam["campos"][camera], dtype=np.float64).reshape(3)
            (fx, fy), (cx, cy) = cam["focal"][camera], cam["princpt"][camera]
            record = joints[capture][frame]
            world = np.asarray(record["world_coord"], dtype=np.float64).reshape(42, 3)
            valid = np.asarray(record["joint_valid"], dtype=np.float64).reshape(42) > 0
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{data_file}: image {image.get('file_name', image.get('id'))!r} has no usable "
                             f"camera or joints in the InterHand2.6M files ({type(e).__name__}: {e})") from None
        intrinsics = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)
        camera_xyz = (world - position) @ rotation.T * MM_TO_M
        instances = []
        for side, start in _SIDES:
            if valid[start:start + 21].any():
                try:
                    instances.append(_hand(camera_xyz[start:start + 21], valid[start:start + 21], intrinsics, side))
                except ValueError as e:
                    raise ValueError(f"{data_file}: image {image.get('file_name')!r}: {e}") from None
        samples.append(AnnotatedSample("interhand2.6m", image_dir / str(image["file_name"]), instances,
                                       intrinsics=intrinsics))
    return samples


def _hand(xyz: np.ndarray, valid: np.ndarray, intrinsics: np.ndarray, side: str) -> GroundTruthInstance:
    xyz, valid3d = INTERHAND21_TO_HAND21.apply(np.where(valid[:, None], xyz, np.nan), valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        xy = xyz[:, :2] / xyz[:, 2:] * np.diag(intrinsics)[:2] + intrinsics[:2, 2]
    visible = valid3d & np.isfinite(xy).all(axis=1) & (np.nan_to_num(xyz[:, 2]) > 0)
    if not visible.any():
        raise ValueError(f"the {side} hand has no valid joint in front of the camera")
    if not valid3d[HAND_WRIST]:   # no root: 2D only
        return GroundTruthInstance(Part.HAND, xy, visible, box_of(xy, visible), handedness=side)
    rel, root = split_root(Part.HAND, xyz, valid3d)
    return GroundTruthInstance(Part.HAND, xy, visible, box_of(xy, visible), keypoints_3d=rel, valid_3d=valid3d,
                               root_camera=root, handedness=side)
