"""Balanced positive/negative sampling of a whole batch at once, without waiting for the GPU.

torchvision's ``BalancedPositiveNegativeSampler`` draws, per image, at most
``positive_fraction * batch_size_per_image`` positives and fills the rest of
``batch_size_per_image`` with negatives, uniformly at random. It loops over the images
and asks the GPU for every image's index lists (two waits per image: 32 of a 16-image
training step on the RPN alone, 64 with the RoI heads, on the H200 of December 2026).
:class:`BatchedBalancedSampler` draws the same distribution for all images together:
each candidate gets a uniform random key, candidates are ranked by key within their
(image, positive or negative) group, and the first ranks of each group are taken. Its
output stays on the device (masks); nothing in it waits for the GPU.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor


def image_index(counts: Sequence[int], device: torch.device) -> Tensor:
    """``(sum(counts),)`` int64: the image of every row of a concatenation of per-image rows."""
    if not counts:
        return torch.zeros(0, dtype=torch.int64, device=device)
    if len(set(counts)) == 1:
        return torch.arange(len(counts), device=device).repeat_interleave(int(counts[0]))
    return torch.cat([torch.full((int(n),), i, dtype=torch.int64, device=device) for i, n in enumerate(counts)])


def group_sizes(group: Tensor, num_groups: int) -> Tensor:
    """``(num_groups,)`` int64: how many entries of ``group`` (int64 in ``[0, num_groups)``) hold each value.

    ``torch.bincount`` waits for the GPU (it reads the largest value to size its output);
    this does not (exact below 2**24 per group)."""
    ones = torch.ones(group.shape[0], dtype=torch.float32, device=group.device)
    return torch.zeros(num_groups, dtype=torch.float32, device=group.device).index_add_(0, group, ones).long()


class BatchedBalancedSampler:
    """Drop-in for torchvision's ``BalancedPositiveNegativeSampler`` (same arguments, same
    per-image distribution), sampling every image of the batch in one pass.

    Args:
        batch_size_per_image: candidates kept per image (at most).
        positive_fraction: largest share of positives among them.
    """

    def __init__(self, batch_size_per_image: int, positive_fraction: float) -> None:
        self.batch_size_per_image = int(batch_size_per_image)
        self.positive_fraction = float(positive_fraction)

    def __call__(self, matched_idxs: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """torchvision's interface: per-image labels (``>= 1`` positive, ``0`` negative, ``-1``
        ignored) in, per-image ``uint8`` masks of the sampled positives and negatives out."""
        if not matched_idxs:
            return [], []
        counts = [len(m) for m in matched_idxs]
        labels = torch.cat(matched_idxs)
        pos, neg = self.sample(labels, image_index(counts, labels.device), len(counts))
        return list(pos.to(torch.uint8).split(counts)), list(neg.to(torch.uint8).split(counts))

    def sample(self, labels: Tensor, image: Tensor, num_images: int) -> tuple[Tensor, Tensor]:
        """Boolean masks ``(N,)`` of the sampled positives and negatives of a flat batch.

        Args:
            labels: ``(N,)`` candidate labels (``>= 1`` positive, ``0`` negative, ``-1`` ignored).
            image: ``(N,)`` int64 image of each candidate, in ``[0, num_images)``.
            num_images: images in the batch.
        """
        dev = labels.device
        n = labels.numel()
        pos, neg = labels >= 1, labels == 0
        ignored = 2 * num_images
        group = torch.where(pos | neg, 2 * image + pos.long(), torch.full_like(image, ignored))
        # order by group, then by a uniform random key: a uniform random order inside each group
        key = group.double() + torch.rand(n, device=dev, dtype=torch.float64)
        order = torch.argsort(key)
        sizes = group_sizes(group, ignored + 1)
        starts = torch.cumsum(sizes, 0) - sizes
        rank = torch.empty_like(group)
        rank[order] = torch.arange(n, device=dev) - starts[group[order]]
        max_pos = int(self.batch_size_per_image * self.positive_fraction)
        num_pos = sizes[1:ignored:2].clamp(max=max_pos)                       # per image
        neg_quota = self.batch_size_per_image - num_pos
        return pos & (rank < max_pos), neg & (rank < neg_quota[image])
