"""Inference-only folding of frozen batch norms into the convolutions before them.

The DOPE bodies (ResNet-50, MobileNetV2) normalise with torchvision's
``FrozenBatchNorm2d``: a fixed ``x * scale + shift`` per channel after each convolution,
two elementwise passes over every feature map. Folded into the convolution's weights and
bias (``W' = W * scale``, ``b' = b * scale + shift``), it costs nothing: on the CPU the
shipped student's forward loses about a fifth of its time, for the same outputs up to
float rounding. The folded model is for inference: its state dict no longer has the
norms' keys, so it is never saved or trained.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.ops.misc import FrozenBatchNorm2d

__all__ = ["fold_frozen_batchnorm", "fold_into_conv"]


@torch.no_grad()
def fold_into_conv(conv: nn.Conv2d, norm: FrozenBatchNorm2d) -> nn.Conv2d:
    """A new convolution computing ``norm(conv(x))``: weights scaled per output channel, bias shifted."""
    scale = norm.weight * (norm.running_var + norm.eps).rsqrt()
    shift = norm.bias - norm.running_mean * scale
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                      padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True,
                      padding_mode=conv.padding_mode, device=conv.weight.device, dtype=conv.weight.dtype)
    fused.weight.copy_(conv.weight * scale.to(conv.weight.dtype).reshape(-1, 1, 1, 1))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
    fused.bias.copy_(bias * scale + shift)
    fused.requires_grad_(False)
    return fused


def fold_frozen_batchnorm(model: nn.Module) -> int:
    """Fold, in place, every ``FrozenBatchNorm2d`` that directly follows a ``Conv2d``: in an
    ``nn.Sequential`` (MobileNetV2 blocks, ResNet downsampling) or as ``conv<k>`` / ``bn<k>``
    attributes of one module (ResNet stem and bottlenecks). Each folded norm becomes an
    ``nn.Identity``.

    Returns:
        the number of norms folded.

    Raises:
        ValueError: ``model`` is in training mode (a folded model is for inference only).
    """
    if model.training:
        raise ValueError("fold_frozen_batchnorm is for inference: call model.eval() first")
    folded = 0
    for module in list(model.modules()):
        if isinstance(module, nn.Sequential):
            names = list(module._modules)
            for a, b in zip(names, names[1:]):
                conv, norm = module._modules[a], module._modules[b]
                if isinstance(conv, nn.Conv2d) and isinstance(norm, FrozenBatchNorm2d):
                    module._modules[a], module._modules[b] = fold_into_conv(conv, norm), nn.Identity()
                    folded += 1
        for name, conv in list(module._modules.items()):
            if not (name.startswith("conv") and isinstance(conv, nn.Conv2d)):
                continue
            norm_name = "bn" + name[len("conv"):]
            if isinstance(module._modules.get(norm_name), FrozenBatchNorm2d):
                setattr(module, name, fold_into_conv(conv, module._modules[norm_name]))
                setattr(module, norm_name, nn.Identity())
                folded += 1
    return folded
