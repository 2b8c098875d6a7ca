"""Human3.6M and MPI-INF-3DHP samples as stored by mmpose (one person per image, 2D + 3D).

Both come as ``.npz`` files with, per image, ``imgname``, ``part`` ``(17, 3)``
(pixels x, y and a visibility flag) and ``S`` ``(17, 4)`` (camera-frame x, y, z in
metres and a validity flag); joint orders in :mod:`dope_core.metrics.mappings`.
The 3D is made part-relative at the middle of the two hips (``root_camera`` keeps
the camera-frame position). Intrinsics come from the ``cameras*.pkl`` files, read
with :func:`dope_core.datasets.safe_pickle.load_camera_pickle` (numpy arrays only):

* Human3.6M: key ``(subject, camera id)`` parsed from ``S1_Directions_1.54138969_000001.jpg``
  (the files' lens distortion is ignored: the intrinsics are the pinhole part);
* MPI-INF-3DHP: ``TS1``... in ``cameras_test.pkl``, ``S4_Seq2_Cam0``... in ``cameras_train.pkl``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from dope_core.datasets.files import read_npz
from dope_core.datasets.safe_pickle import load_camera_pickle
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance, box_of, split_root
from dope_core.keypoints import Part
from dope_core.metrics.mappings import H36M17_TO_BODY13, MPI_INF_3DHP17_TO_BODY13, KeypointMapping

log = logging.getLogger(__name__)

_H36M_NAME = re.compile(r"^(S\d+)_.*\.(\d+)_\d+\.\w+$")
_3DHP_TRAIN_NAME = re.compile(r"^(S\d+_Seq\d+_Cam\d+)_\d+\.\w+$")
_3DHP_TEST_NAME = re.compile(r"^(TS\d+)_\d+\.\w+$")


def load_h36m(npz_file: str | Path, camera_file: str | Path | None = None, image_dir: str | Path | None = None) -> list[AnnotatedSample]:
    """Human3.6M samples (mmpose's ``test_h36m_body3d.npz``; ``imgname`` relative to ``image_dir``).

    Args:
        npz_file: the annotation file. camera_file: ``cameras.pkl`` (optional: no intrinsics without it).
        image_dir: root of the image paths (default: the npz file's folder).
    """
    cameras = load_camera_pickle(camera_file) if camera_file is not None else {}

    def camera_key(name: str) -> Optional[Any]:
        m = _H36M_NAME.match(Path(name).name)
        return (m.group(1), m.group(2)) if m else None

    return _load(npz_file, image_dir, "h36m", H36M17_TO_BODY13, cameras, camera_key)


def load_mpi_inf_3dhp(
    npz_file: str | Path, camera_file: str | Path | None = None, image_dir: str | Path | None = None
) -> list[AnnotatedSample]:
    """MPI-INF-3DHP samples (mmpose's ``test_3dhp_test.npz`` / ``test_3dhp_train.npz``)."""
    cameras = load_camera_pickle(camera_file) if camera_file is not None else {}

    def camera_key(name: str) -> Optional[Any]:
        base = Path(name).name
        m = _3DHP_TEST_NAME.match(base) or _3DHP_TRAIN_NAME.match(base)
        return m.group(1) if m else None

    return _load(npz_file, image_dir, "mpi_inf_3dhp", MPI_INF_3DHP17_TO_BODY13, cameras, camera_key)


def intrinsics_from_camera(camera: dict[str, Any]) -> np.ndarray:
    """``(3, 3)`` pinhole matrix from a camera dict with ``f`` and ``c`` (pixels)."""
    f = np.asarray(camera["f"], dtype=np.float64).reshape(2)
    c = np.asarray(camera["c"], dtype=np.float64).reshape(2)
    return np.array([[f[0], 0.0, c[0]], [0.0, f[1], c[1]], [0.0, 0.0, 1.0]])


def _load(
    npz_file: str | Path,
    image_dir: str | Path | None,
    dataset: str,
    mapping: KeypointMapping,
    cameras: Any,
    camera_key: Callable[[str], Optional[Any]],
) -> list[AnnotatedSample]:
    npz_file = Path(npz_file)
    image_dir = Path(image_dir) if image_dir is not None else npz_file.parent
    data = read_npz(npz_file, ("imgname", "part", "S"))
    n = len(data["imgname"])
    if data["part"].shape != (n, mapping.num_source, 3) or data["S"].shape != (n, mapping.num_source, 4):
        raise ValueError(f"{npz_file}: expected part (N, {mapping.num_source}, 3) and S (N, {mapping.num_source}, 4), "
                         f"got {data['part'].shape} and {data['S'].shape}")
    samples = []
    for name, part, s in zip(data["imgname"], data["part"], data["S"]):
        name = str(name)
        xy, visible = mapping.apply(part[:, :2], part[:, 2] > 0)
        xyz, valid3d = mapping.apply(s[:, :3], s[:, 3] > 0)
        try:
            rel, root = split_root(Part.BODY, xyz, valid3d)
            box = box_of(xy, visible)
        except ValueError as e:
            log.warning("%s: skipping %s: %s", npz_file, name, e)
            continue
        key = camera_key(name)
        camera = cameras.get(key) if isinstance(cameras, dict) and key is not None else None
        if cameras and camera is None:
            log.warning("%s: no camera %r for %s", npz_file, key, name)
        instance = GroundTruthInstance(Part.BODY, xy, visible, box, keypoints_3d=rel, valid_3d=valid3d, root_camera=root)
        samples.append(AnnotatedSample(dataset, image_dir / name, [instance],
                                       intrinsics_from_camera(camera) if camera is not None else None))
    return samples
