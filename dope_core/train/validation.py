"""Validation during training: the student's agreement with the experts on held-out images.

Each held-out image is run through the network at its original resolution (the
network's own transform resizes it and maps outputs back to the image's pixels);
its outputs are post-processed (:mod:`dope_core.postprocess`) into part poses and
compared with the experts' pseudo ground truth of the record
(:class:`~dope_core.train.agreement.Agreement`).
"""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import torch
from torch import nn

from dope_core.keypoints import Part
from dope_core.postprocess import PostprocessConfig
from dope_core.postprocess.pipeline import part_detections, to_part_poses
from dope_core.pseudo_labels.cache import LabelCache, LabelRecord
from dope_core.train.agreement import Agreement
from dope_core.train.config import TrainConfig


@torch.no_grad()
def validate(model: nn.Module, records: Sequence[tuple[LabelCache, LabelRecord]], cfg: TrainConfig,
             *, postprocess: PostprocessConfig | None = None) -> dict[str, Any]:
    """Agreement (PCK, recall, precision, 3D error) of ``model`` with the records' pseudo ground truth.

    Returns:
        ``{"images": n, "agreement": {part: {...}}}``; unreadable images are counted in
        ``"skipped"``.
    """
    postprocess = postprocess or PostprocessConfig()
    device = next(model.parameters()).device
    parts = [Part(p) for p in cfg.data.parts]
    counts = {p: int(model.roi_heads.anchors(p.value).shape[0]) for p in parts}
    agreement = Agreement(alpha=cfg.validation.pck_alpha)
    model.eval()
    used = skipped = 0
    for cache, record in list(records)[: cfg.validation.max_images]:
        bgr = cv2.imread(str(cache.image_path(record)), cv2.IMREAD_COLOR)
        if bgr is None or record.pseudo_gt is None:
            skipped += 1
            continue
        image = torch.from_numpy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).float().div_(255.0)
        det = model([image.to(device)])[0]
        for part in parts:
            student = to_part_poses(part, part_detections(part.value, det, postprocess),
                                    num_anchor_poses=counts[part], config=postprocess)
            teacher = [p for p in record.pseudo_gt.parts(part) if p.score >= cfg.data.hard_threshold]
            agreement.add(part, student, teacher)
        used += 1
    return {"images": used, "skipped": skipped, "alpha": agreement.alpha,
            "agreement": {k: v for k, v in agreement.to_dict().items() if Part(k) in parts}}
