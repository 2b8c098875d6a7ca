"""Feature bodies (image -> stride-16 map) and RoI heads (7x7 RoI features -> vector).

* ResNet-50 as in the DOPE release: the body runs conv1..layer3 (1024 channels,
  stride 16), the head runs layer4 + average pooling (2048-d). Body and head hold the
  *same* torchvision ResNet object under ``resnet_backbone``, so a release state dict
  (every ResNet weight under both prefixes) loads with ``strict=True``. Batch norm is
  frozen; its epsilon is a parameter (the release's frozen batch norm had none: 0). The
  ResNet's classification layer ``fc`` is unused and frozen.
* MobileNetV2 (light variant): the body runs ``features[:14]`` (96 channels, stride 16)
  with frozen batch norm; the head is torchvision's ``TwoMLPHead`` (two 1024-d fully
  connected layers on the flattened 96x7x7 RoI). Running MobileNetV2's own
  ``features[14:]`` per RoI instead cost 17x more on a 2-core CPU (300 RoIs: 1306 ms
  against 76 ms) and dominated the frame time.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
from torch import Tensor, nn
from torchvision.models import mobilenet_v2, resnet50
from torchvision.models.detection.faster_rcnn import TwoMLPHead
from torchvision.ops.misc import FrozenBatchNorm2d

MOBILENETV2_SPLIT = 14
"""Index of the first MobileNetV2 ``features`` block left out of the body (stride 32 onwards)."""


class ResNetC4Body(nn.Module):
    """ResNet conv1..layer3: ``(B, 3, H, W)`` -> ``{"0": (B, 1024, H/16, W/16)}``."""

    def __init__(self, resnet: nn.Module) -> None:
        super().__init__()
        self.resnet_backbone = resnet
        self.out_channels = 1024

    def forward(self, x: Tensor) -> "OrderedDict[str, Tensor]":
        r = self.resnet_backbone
        x = r.maxpool(r.relu(r.bn1(r.conv1(x))))
        x = r.layer3(r.layer2(r.layer1(x)))
        return OrderedDict([("0", x)])


class ResNetLayer4Head(nn.Module):
    """ResNet layer4 + average pooling: ``(N, 1024, 7, 7)`` -> ``(N, 2048)``."""

    def __init__(self, resnet: nn.Module) -> None:
        super().__init__()
        self.resnet_backbone = resnet
        self.out_features = 2048

    def forward(self, x: Tensor) -> Tensor:
        r = self.resnet_backbone
        return torch.flatten(r.avgpool(r.layer4(x)), 1)


def resnet50_c4(*, frozen_bn_eps: float = 1e-5) -> tuple[ResNetC4Body, ResNetLayer4Head]:
    """A randomly initialised frozen-BN ResNet-50 shared by a C4 body and a layer4 head.

    Args:
        frozen_bn_eps: epsilon added to the running variance (0 for the release's weights).
    """
    resnet = resnet50(weights=None, norm_layer=partial(FrozenBatchNorm2d, eps=frozen_bn_eps))
    # The ImageNet classifier is never run (body and head stop at layer4's pooling) but stays
    # in the state dict, which the release's files hold: frozen, so no optimizer or gradient
    # averaging expects a gradient for it.
    resnet.fc.requires_grad_(False)
    return ResNetC4Body(resnet), ResNetLayer4Head(resnet)


class MobileNetV2Body(nn.Module):
    """MobileNetV2 ``features[:14]``: ``(B, 3, H, W)`` -> ``{"0": (B, 96, H/16, W/16)}``."""

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        self.body = features
        self.out_channels = 96

    def forward(self, x: Tensor) -> "OrderedDict[str, Tensor]":
        return OrderedDict([("0", self.body(x))])

    def freeze_blocks(self, n: int) -> None:
        """Stop gradients at the first ``n`` blocks (``features[:n]``): their weights are
        no longer trained and the backward pass does not run through them."""
        if not 0 <= n <= len(self.body):
            raise ValueError(f"can freeze 0 to {len(self.body)} blocks, got {n}")
        self.body[:n].requires_grad_(False)


def mobilenetv2_mlp_head(*, in_channels: int = 96, output_size: int = 7, representation_size: int = 1024) -> TwoMLPHead:
    """RoI head of the light variant: ``(N, C, 7, 7)`` -> ``(N, representation_size)``."""
    head = TwoMLPHead(in_channels * output_size * output_size, representation_size)
    head.out_features = representation_size
    return head


def mobilenetv2_body(state_dict: dict[str, Tensor] | None = None) -> MobileNetV2Body:
    """A frozen-BN MobileNetV2 body (stride 16), with ImageNet weights when ``state_dict`` is given.

    Args:
        state_dict: a torchvision ``mobilenet_v2`` state dict (e.g. ``mobilenet_v2-b0353104.pth``).
    """
    net = mobilenet_v2(weights=None, norm_layer=FrozenBatchNorm2d)
    if state_dict is not None:
        net.load_state_dict(state_dict, strict=True)
    return MobileNetV2Body(net.features[:MOBILENETV2_SPLIT])
