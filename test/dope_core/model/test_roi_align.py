"""The separable RoIAlign against torchvision's kernel: values, gradients, batches, chunks."""

import pytest
import torch
from torchvision.ops import MultiScaleRoIAlign, roi_align

from dope_core.model.roi_align import RoIAlignPooler, axis_weights, separable_roi_align


def _rois(n: int, height: int, width: int, *, batch: int = 1, seed: int = 0) -> torch.Tensor:
    """Boxes in input pixels (stride 16) of every kind: inside, across the borders, outside, tiny, huge."""
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * torch.tensor([16.0 * width, 16.0 * height]) * 1.3 - 40
    wh = torch.rand(n, 2, generator=g) * 400 + 0.2
    boxes = torch.cat([xy, xy + wh], dim=1)
    boxes[0] = torch.tensor([-200.0, -200.0, -100.0, -120.0])                   # wholly outside (zeros)
    boxes[1] = torch.tensor([10.0, 10.0, 10.5, 10.2])                           # smaller than a feature pixel
    boxes[2] = torch.tensor([-30.0, -30.0, 16.0 * width + 30, 16.0 * height + 30])  # larger than the map
    index = torch.randint(0, batch, (n, 1), generator=g).float()
    return torch.cat([index, boxes], dim=1)


@pytest.mark.parametrize("output_size,sampling_ratio", [(7, 2), (14, 2), (7, 1), (5, 3)])
def test_matches_torchvision(output_size, sampling_ratio):
    torch.manual_seed(0)
    features = torch.randn(2, 8, 11, 17)
    rois = _rois(60, 11, 17, batch=2)
    ref = roi_align(features, rois, output_size, spatial_scale=1 / 16, sampling_ratio=sampling_ratio, aligned=False)
    got = separable_roi_align(features, rois, output_size, 1 / 16, sampling_ratio)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)
    assert got[0].abs().max() == 0   # a region outside the map pools zeros, as torchvision's


def test_chunks_and_order_do_not_change_the_result():
    torch.manual_seed(1)
    features = torch.randn(2, 4, 9, 13)
    rois = _rois(37, 9, 13, batch=2, seed=3)
    whole = separable_roi_align(features, rois, 7, 1 / 16, 2)
    chunked = separable_roi_align(features, rois, 7, 1 / 16, 2, max_chunk_elements=1)   # one region per chunk
    # The same sums in matrix products of other shapes: equal up to float rounding (BLAS may block
    # them differently; one CI run gave differences of 1.2e-7 on values of order 1).
    torch.testing.assert_close(chunked, whole, atol=1e-6, rtol=1e-5)


def test_gradients_match_torchvision():
    torch.manual_seed(2)
    base = torch.randn(1, 6, 10, 12)
    rois = _rois(25, 10, 12, seed=5)
    weights = torch.randn(25, 6, 7, 7)
    grads = []
    for fn in (lambda f: roi_align(f, rois, 7, spatial_scale=1 / 16, sampling_ratio=2, aligned=False),
               lambda f: separable_roi_align(f, rois, 7, 1 / 16, 2)):
        f = base.clone().requires_grad_(True)
        (fn(f) * weights).sum().backward()
        grads.append(f.grad)
    torch.testing.assert_close(grads[1], grads[0], atol=1e-4, rtol=1e-4)


def test_axis_weights_are_bin_averages_of_bilinear_weights():
    w = axis_weights(torch.tensor([0.25]), torch.tensor([2.0]), 2, 2, 4)
    # bin 0 samples 0.5 and 1.0, bin 1 samples 1.5 and 2.0 (feature pixels)
    expected = torch.tensor([[[0.25, 0.75, 0.0, 0.0], [0.0, 0.25, 0.75, 0.0]]])
    torch.testing.assert_close(w, expected)
    assert float(axis_weights(torch.tensor([-5.0]), torch.tensor([2.0]), 2, 2, 4).abs().sum()) == 0   # outside


def test_a_non_finite_region_pools_zeros():
    features = torch.randn(1, 3, 6, 6)
    rois = torch.tensor([[0.0, float("nan"), 0.0, 40.0, 40.0], [0.0, 0.0, 0.0, float("inf"), 40.0],
                         [0.0, 8.0, 8.0, 60.0, 60.0]])
    out = separable_roi_align(features, rois, 7, 1 / 16, 2)
    assert out[:2].abs().sum() == 0 and torch.isfinite(out).all()
    torch.testing.assert_close(out[2], roi_align(features, rois[2:], 7, spatial_scale=1 / 16, sampling_ratio=2)[0])


def test_no_regions_and_bad_sampling_ratio():
    features = torch.randn(1, 3, 5, 5)
    assert separable_roi_align(features, torch.zeros(0, 5), 7, 1 / 16, 2).shape == (0, 3, 7, 7)
    with pytest.raises(ValueError, match="sampling_ratio"):
        separable_roi_align(features, torch.zeros(1, 5), 7, 1 / 16, 0)


@pytest.mark.parametrize("sampling_ratio", [2, -1])
def test_pooler_matches_torchvision_pooler(sampling_ratio):
    torch.manual_seed(4)
    features = {"0": torch.randn(2, 5, 8, 12)}
    boxes = [_rois(10, 8, 12, seed=6)[:, 1:], _rois(7, 8, 12, seed=7)[:, 1:]]
    shapes = [(128, 192)] * 2
    ref = MultiScaleRoIAlign(featmap_names=["0"], output_size=7, sampling_ratio=sampling_ratio)(features, boxes, shapes)
    pooler = RoIAlignPooler(output_size=7, sampling_ratio=sampling_ratio)
    torch.testing.assert_close(pooler(features, boxes, shapes), ref, atol=1e-5, rtol=1e-5)
    assert pooler.spatial_scale(features["0"], [(120, 180), (128, 190)]) == 1 / 16


def test_a_sample_at_exactly_the_far_border_counts_as_torchvision() -> None:
    """A sampling point at exactly ``size`` (the far border) is inside: it takes the last row/column, not zero."""
    features = torch.arange(1.0, 1.0 + 4 * 5).reshape(1, 1, 4, 5)
    rois = torch.tensor([[0.0, 4.0, 3.0, 6.0, 5.0]])    # one bin, one sample: x = 4 + 1 = 5 = W, y = 3 + 1 = 4 = H
    ref = roi_align(features, rois, 1, spatial_scale=1.0, sampling_ratio=1, aligned=False)
    got = separable_roi_align(features, rois, 1, 1.0, 1)
    assert float(ref) == 20.0                             # the bottom-right value
    torch.testing.assert_close(got, ref)


def test_pooler_scale_rounds_the_log2_ratio() -> None:
    """The scale is ``2 ** round(log2(feature height / padded height))``, the padded height being the largest
    image's: 12 / 128 rounds to 1/8 (not 1/16, nor 12 / 40 -> 1/4 of the smaller image), 9 / 128 to 1/16."""
    assert RoIAlignPooler.spatial_scale(torch.zeros(1, 1, 12, 5), [(40, 80), (128, 70)]) == 1 / 8
    assert RoIAlignPooler.spatial_scale(torch.zeros(1, 1, 9, 5), [(128, 70)]) == 1 / 16
