"""Anchor-pose codec: decoding against hand-computed anchors, exact inverse, nearest anchor."""

import pytest
import torch

from dope_core.codecs.anchor_pose import AnchorPoseCodec, nearest_anchor, normalise_in_box


def _one_joint_anchors() -> torch.Tensor:
    # K = 2 anchors, J = 1 joint: (x, y) normalised in the box, then (X, Y, Z) metres.
    return torch.tensor([[[0.5, 0.25, 0.1, 0.2, 0.3]], [[0.0, 1.0, -1.0, 0.0, 2.0]]])


def test_decode_matches_hand_computation():
    anchors = _one_joint_anchors()
    boxes = torch.tensor([[10.0, 20.0, 110.0, 220.0]])  # size (100, 200)
    # Regression layout per anchor: [dx, dy | dX, dY, dZ].
    reg = torch.tensor([[1.0, -0.5, 0.5, 0.0, -1.0, 0.0, 0.0, 2.5, 5.0, 0.0]])
    pose2d, pose3d = AnchorPoseCodec(weight_2d=5.0, weight_3d=5.0).decode(reg, boxes, anchors)
    assert pose2d.shape == (1, 2, 1, 2) and pose3d.shape == (1, 2, 1, 3)
    # anchor 0: x = 10 + (0.5 + 1/5) * 100 = 80, y = 20 + (0.25 - 0.5/5) * 200 = 50
    assert pose2d[0, 0, 0].tolist() == pytest.approx([80.0, 50.0])
    assert pose3d[0, 0, 0].tolist() == pytest.approx([0.2, 0.2, 0.1])
    # anchor 1: zero 2D deltas -> x = 10 + 0 * 100 = 10, y = 20 + 1 * 200 = 220;
    # 3D = (-1, 0, 2) + (2.5, 5, 0) / 5 = (-0.5, 1, 2)
    assert pose2d[0, 1, 0].tolist() == pytest.approx([10.0, 220.0])
    assert pose3d[0, 1, 0].tolist() == pytest.approx([-0.5, 1.0, 2.0])


def test_regression_weights_are_constructor_arguments():
    anchors = _one_joint_anchors()
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    reg = torch.ones((1, 10))
    p2_w5, p3_w5 = AnchorPoseCodec().decode(reg, boxes, anchors)
    p2_w1, p3_w1 = AnchorPoseCodec(weight_2d=1.0, weight_3d=2.0).decode(reg, boxes, anchors)
    assert p2_w1[0, 0, 0, 0] - p2_w5[0, 0, 0, 0] == pytest.approx(10.0 * (1.0 - 0.2))
    assert p3_w1[0, 0, 0, 0] - p3_w5[0, 0, 0, 0] == pytest.approx(0.5 - 0.2)
    with pytest.raises(ValueError):
        AnchorPoseCodec(weight_2d=0.0)


def test_encode_is_the_exact_inverse_of_decode():
    g = torch.Generator().manual_seed(0)
    k, j, n = 4, 13, 6
    anchors = torch.cat([torch.rand(k, j, 2, generator=g), torch.randn(k, j, 3, generator=g)], -1)
    xy = torch.rand(n, 2, generator=g) * 100
    boxes = torch.cat([xy, xy + 20 + torch.rand(n, 2, generator=g) * 80], 1)
    pose2d = xy[:, None] + torch.rand(n, j, 2, generator=g) * 100
    pose3d = torch.randn(n, j, 3, generator=g)
    classes = torch.tensor([0, 1, 2, 3, 1, 0])
    codec = AnchorPoseCodec(weight_2d=5.0, weight_3d=3.0)
    targets = codec.encode(pose2d, pose3d, boxes, anchors, classes)
    reg = torch.zeros(n, k, j * 5)
    reg[torch.arange(n), classes] = targets
    dec2d, dec3d = codec.decode(reg.reshape(n, -1), boxes, anchors)
    assert torch.allclose(dec2d[torch.arange(n), classes], pose2d, atol=1e-4)
    assert torch.allclose(dec3d[torch.arange(n), classes], pose3d, atol=1e-5)


def test_nearest_anchor_picks_closest_in_2d_and_3d():
    anchors = torch.zeros(3, 2, 5)
    anchors[1, :, 0:2] = 1.0  # far in 2D
    anchors[2, :, 2:5] = 1.0  # far in 3D
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 3)
    pose2d = torch.tensor([[[0.0, 0.0], [1.0, 1.0]], [[10.0, 10.0], [9.0, 9.0]], [[1.0, 0.0], [0.0, 1.0]]])
    pose3d = torch.tensor([[[0.1, 0.0, 0.0]] * 2, [[0.0, 0.0, 0.0]] * 2, [[0.9, 1.0, 1.0]] * 2])
    k = nearest_anchor(normalise_in_box(pose2d, boxes), pose3d, anchors)
    assert k.tolist() == [0, 1, 2]
    assert nearest_anchor(torch.zeros(0, 2, 2), torch.zeros(0, 2, 3), anchors).shape == (0,)


def test_normalise_in_box_maps_a_tall_box_onto_the_unit_square() -> None:
    """In a 100 x 400 px box the corners go to (0, 0) and (1, 1), and each axis is divided by its own side."""
    boxes = torch.tensor([[10.0, 20.0, 110.0, 420.0]])
    pose2d = torch.tensor([[[10.0, 20.0], [110.0, 420.0], [60.0, 120.0], [35.0, 320.0]]])
    expected = torch.tensor([[[0.0, 0.0], [1.0, 1.0], [0.5, 0.25], [0.25, 0.75]]])
    torch.testing.assert_close(normalise_in_box(pose2d, boxes), expected)
