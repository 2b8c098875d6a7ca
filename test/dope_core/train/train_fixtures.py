"""Helpers of the trainer tests: a small synthetic pseudo-label cache and a tiny config.

The synthetic images show one bright "person" rectangle at a random place on a dark
background; its body, right hand and face labels lie inside it, so a network can
learn them in a few steps. No expert and no real data are needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from dope_core.fusion import assemble
from dope_core.keypoints import Part
from dope_core.pseudo_labels.cache import LabelCache, LabelRecord
from dope_core.structures import Handedness, PartPose

TINY_MODEL = {
    "pretrained_backbone": False, "min_size": 96, "max_size": 128,
    "rpn_pre_nms_top_n_train": 100, "rpn_post_nms_top_n_train": 50,
    "rpn_pre_nms_top_n_test": 100, "rpn_post_nms_top_n_test": 30, "roi_batch_size_per_image": 32,
}


def _pose(part: Part, box: np.ndarray, rng: np.random.Generator, score: float, handedness=None) -> PartPose:
    j = part.num_keypoints
    x1, y1, x2, y2 = box
    u = rng.uniform(0.1, 0.9, size=(j, 2))
    xy = np.stack([x1 + (x2 - x1) * u[:, 0], y1 + (y2 - y1) * u[:, 1]], 1)
    scale = 1.0 if part is Part.BODY else 0.1
    return PartPose(part=part, score=score, box=box, keypoints_2d=xy, keypoints_3d=(np.c_[u, u[:, :1]] - 0.5) * scale,
                    confidence=np.ones(j), handedness=handedness)


def make_synthetic_cache(root: Path, n: int = 6, seed: int = 0) -> LabelCache:
    rng = np.random.default_rng(seed)
    cache = LabelCache(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        h, w = 96, 128
        img = np.full((h, w, 3), 20, np.uint8)
        x1, y1 = int(rng.integers(0, 60)), int(rng.integers(0, 30))
        bw, bh = 50, 64
        img[y1:y1 + bh, x1:x1 + bw] = (200, 180, 160)
        body = _pose(Part.BODY, np.array([x1, y1, x1 + bw, y1 + bh], float), rng, 0.95)
        hand = _pose(Part.HAND, np.array([x1, y1 + 30, x1 + 16, y1 + 46], float), rng, 0.8, Handedness.RIGHT)
        face = _pose(Part.FACE, np.array([x1 + 15, y1, x1 + 35, y1 + 20], float), rng, 0.9)
        weak = _pose(Part.HAND, np.array([x1 + 34, y1 + 30, x1 + 50, y1 + 46], float), rng, 0.3, Handedness.LEFT)
        path = root / "images" / f"im{i}.png"
        cv2.imwrite(str(path), img[:, :, ::-1])
        cache.write(LabelRecord(
            key=f"im{i}", image=str(path.relative_to(root)), image_size=(w, h), status="ok",
            detections={Part.BODY: [body], Part.HAND: [hand, weak], Part.FACE: [face]},
            pseudo_gt=assemble([body], [hand], [face], image_size=(w, h), backend="experts")))
    return cache


def tiny_config(cache: Path, out: Path, **schedule: Any) -> dict[str, Any]:
    return {
        "data": {"caches": [str(cache)], "max_size": 128, "val_fraction": 0.0, "loader_workers": 0,
                 "scale_jitter": [1.0, 1.0], "flip": False},
        "model": {"variant": "mobilenetv2", "kwargs": dict(TINY_MODEL), "num_anchors": {"body": 2, "hand": 2, "face": 2}},
        "schedule": {"steps": 4, "batch_size": 2, "lr": 0.01, "warmup_steps": 0, "checkpoint_every": 2,
                     "log_every": 1, "amp": False, **schedule},
        "output_dir": str(out),
    }
