"""The part-expert interface: an image in, detections of one part out."""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from dope_core.keypoints import Part
from dope_core.structures import PartPose


class PartExpert(Protocol):
    """A frozen detector of one part type.

    ``detect`` takes an RGB ``uint8`` image ``(H, W, 3)`` and optional regions of
    interest (``(R, 4)`` boxes ``x1, y1, x2, y2`` in pixels, e.g. around the wrists
    of detected bodies) where small instances should be searched too, and returns
    every detection scoring at least ``min_score``, each a :class:`PartPose` in the
    data model's units and frames.
    """

    part: Part

    def detect(
        self, image: np.ndarray, *, regions: Sequence[np.ndarray] = (), min_score: float = 0.5
    ) -> list[PartPose]: ...
