"""Batched balanced sampling (RPN anchors, RoI proposals) and batched RoI labelling."""

import pytest
import torch
from torchvision.models.detection._utils import BalancedPositiveNegativeSampler

from dope_core.model import build_dope_mobilenetv2
from dope_core.model.sampling import BatchedBalancedSampler, image_index
from test_dope_rcnn import _targets


def _labels(g: torch.Generator, n: int, p_pos: float, p_ignored: float = 0.1) -> torch.Tensor:
    u = torch.rand(n, generator=g)
    return torch.where(u < p_pos, 1.0, torch.where(u < p_pos + p_ignored, -1.0, 0.0))


def test_image_index():
    assert image_index([2, 0, 3], torch.device("cpu")).tolist() == [0, 0, 2, 2, 2]
    assert image_index([2, 2], torch.device("cpu")).tolist() == [0, 0, 1, 1]
    assert image_index([], torch.device("cpu")).numel() == 0


@pytest.mark.parametrize("n_pos_share", [0.02, 0.3, 0.9])
def test_counts_per_image_are_torchvisions(n_pos_share):
    g = torch.Generator().manual_seed(1)
    labels = [_labels(g, n, n_pos_share) for n in (500, 37, 0, 260)]
    ours = BatchedBalancedSampler(64, 0.25)
    theirs = BalancedPositiveNegativeSampler(64, 0.25)
    pos, neg = ours(labels)
    ref_pos, ref_neg = theirs(labels)
    for lab, p, n, rp, rn in zip(labels, pos, neg, ref_pos, ref_neg):
        assert p.dtype == n.dtype == torch.uint8 and p.shape == n.shape == lab.shape
        assert int(p.sum()) == int(rp.sum()) and int(n.sum()) == int(rn.sum())
        assert bool((lab[p.bool()] >= 1).all()) and bool((lab[n.bool()] == 0).all())   # never an ignored one
        assert int(p.sum()) <= 16 and int(p.sum()) + int(n.sum()) <= 64


def test_draws_are_uniform_within_each_group():
    """Every positive (negative) of an image is drawn equally often: a random subset, not the first ones."""
    labels = torch.tensor([1.0] * 8 + [0.0] * 40 + [-1.0] * 5)
    sampler = BatchedBalancedSampler(16, 0.25)   # 4 of 8 positives, 12 of 40 negatives
    torch.manual_seed(0)
    pos_hits, neg_hits = torch.zeros(len(labels)), torch.zeros(len(labels))
    draws = 2000
    for _ in range(draws):
        pos, neg = sampler.sample(labels, torch.zeros(len(labels), dtype=torch.int64), 1)
        pos_hits += pos.float()
        neg_hits += neg.float()
    assert torch.allclose(pos_hits[:8] / draws, torch.full((8,), 0.5), atol=0.05)
    assert torch.allclose(neg_hits[8:48] / draws, torch.full((40,), 0.3), atol=0.06)
    assert pos_hits[8:].sum() == 0 and neg_hits[:8].sum() == 0 and (pos_hits + neg_hits)[48:].sum() == 0


def test_batched_roi_labelling_is_per_image_labelling(anchor_poses):
    """Labelling the batch at once gives every proposal the labels of its own image alone."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(3)
    heads = build_dope_mobilenetv2(pretrained_backbone=False, anchor_poses=anchor_poses).train().roi_heads
    sizes = [(160, 120), (180, 140)]
    targets = _targets(g, sizes)
    # image 1's proposals include image 0's body boxes: they must stay background there (image 1 has no body)
    proposals = [torch.rand(40, 4, generator=g) * 60 + torch.tensor([0.0, 0.0, 60.0, 60.0]),
                 torch.cat([targets[0]["body"]["boxes"], torch.rand(30, 4, generator=g) * 60 + 60])]
    props = [torch.cat([p] + [t[part]["boxes"] for part in heads.parts if part in t])
             for p, t in zip(proposals, targets)]
    image = image_index([len(p) for p in props], torch.device("cpu"))
    flat = torch.cat(props)
    for part in heads.parts:
        batched = heads._label_part(flat, image, [t.get(part) for t in targets], part)
        single = [heads._label_part(p, torch.zeros(len(p), dtype=torch.int64), [t.get(part)], part)
                  for p, t in zip(props, targets)]
        for got, want in zip(batched, zip(*single)):
            torch.testing.assert_close(got, torch.cat(want))
    body_classes = heads._label_part(flat, image, [t.get("body") for t in targets], "body")[0]
    assert int(body_classes[image == 0].gt(0).sum()) >= 2 and int(body_classes[image == 1].gt(0).sum()) == 0
    sampled, part_targets = heads.select_training_samples(proposals, targets)
    assert len(sampled) == 2 and all(len(s) <= heads.sampler.batch_size_per_image for s in sampled)
    assert len(part_targets["hand"]["classes"]) == sum(len(s) for s in sampled)
