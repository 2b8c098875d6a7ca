"""MPII Human Pose as stored by mmpose: a JSON list of one-person records, 2D.

Each record has ``image``, ``joints`` (16 x 2 pixels, used as written) and
``joints_vis`` (16 flags). The body is mapped to the 13 joints; the box is the
extent of the annotated joints. The fixture has no head boxes, so the PCKh
normaliser (officially 0.6 times the head box diagonal) is approximated by the
head segment, upper neck (joint 8) to head top (joint 9), in pixels.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from dope_core.datasets.files import read_json
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance, box_of
from dope_core.keypoints import Part
from dope_core.metrics.mappings import MPII16_TO_BODY13
from dope_core.metrics.pck import head_size

log = logging.getLogger(__name__)

MPII_UPPER_NECK = 8
MPII_HEAD_TOP = 9


def load_mpii(annotation_file: str | Path, image_dir: str | Path | None = None) -> list[AnnotatedSample]:
    """Samples of an mmpose MPII JSON file (images in ``image_dir``, default the file's folder)."""
    annotation_file = Path(annotation_file)
    image_dir = Path(image_dir) if image_dir is not None else annotation_file.parent
    records = read_json(annotation_file)
    if not isinstance(records, list):
        raise ValueError(f"{annotation_file} is not an MPII list of records")
    samples = []
    for i, rec in enumerate(records):
        try:
            joints = np.asarray(rec["joints"], dtype=np.float64).reshape(16, 2)
            vis = np.asarray(rec["joints_vis"], dtype=np.float64).reshape(16) > 0
            xy, visible = MPII16_TO_BODY13.apply(joints, vis)
            head = head_size(joints[MPII_HEAD_TOP], joints[MPII_UPPER_NECK]) \
                if vis[MPII_HEAD_TOP] and vis[MPII_UPPER_NECK] else None
            body = GroundTruthInstance(Part.BODY, xy, visible, box_of(xy, visible), head_size=head or None)
            samples.append(AnnotatedSample("mpii", image_dir / rec["image"], [body]))
        except (KeyError, ValueError, TypeError) as e:
            log.warning("%s: skipping record %d: %s", annotation_file, i, e)
    return samples
