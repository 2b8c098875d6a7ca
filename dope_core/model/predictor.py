"""Per-part classifiers (K + 1 classes, 0 = background) and anchor-pose regressors (K * J * 5)."""

from __future__ import annotations

from typing import Mapping

from torch import Tensor, nn


class DopePredictor(nn.Module):
    """For each part, ``{part}_cls_score = Linear(F, K + 1)`` and ``{part}_pose_pred = Linear(F, K * J * 5)``.

    Args:
        in_features: size ``F`` of the RoI feature vector.
        num_anchor_poses: ``{part: K}``.
        num_joints: ``{part: J}``.
    """

    def __init__(self, *, in_features: int, num_anchor_poses: Mapping[str, int], num_joints: Mapping[str, int]) -> None:
        super().__init__()
        self.parts = tuple(num_anchor_poses)
        for part in self.parts:
            k, j = num_anchor_poses[part], num_joints[part]
            setattr(self, f"{part}_cls_score", nn.Linear(in_features, k + 1))
            setattr(self, f"{part}_pose_pred", nn.Linear(in_features, k * j * 5))

    def forward(self, x: Tensor) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """``(N, F)`` features -> ``({part: (N, K + 1) logits}, {part: (N, K * J * 5) regression})``."""
        x = x.flatten(start_dim=1)
        logits = {p: getattr(self, f"{p}_cls_score")(x) for p in self.parts}
        regression = {p: getattr(self, f"{p}_pose_pred")(x) for p in self.parts}
        return logits, regression
