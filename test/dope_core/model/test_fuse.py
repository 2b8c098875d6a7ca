"""Folding the frozen batch norms: same outputs, no norm left, inference only."""

import pytest
import torch
from torchvision.ops.misc import FrozenBatchNorm2d

from dope_core.model import build_dope_mobilenetv2, build_dope_resnet50
from dope_core.model.fuse import fold_frozen_batchnorm


def _randomise_norms(model: torch.nn.Module) -> int:
    """Give every frozen norm non-trivial statistics (the default ones are the identity)."""
    g = torch.Generator().manual_seed(0)
    count = 0
    for m in model.modules():
        if isinstance(m, FrozenBatchNorm2d):
            n = m.weight.numel()
            m.weight.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            count += 1
    return count


@pytest.mark.parametrize("build", [
    lambda: build_dope_mobilenetv2(pretrained_backbone=False, representation_size=64, min_size=160, max_size=224),
    lambda: build_dope_resnet50(min_size=160, max_size=224),
], ids=["mobilenetv2", "resnet50"])
def test_folded_model_gives_the_same_outputs(build):
    torch.manual_seed(0)
    model = build().eval()
    norms = _randomise_norms(model)
    image = torch.rand(3, 150, 200)

    def outputs() -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Body features, then the heads' logits and regressions on fixed proposals."""
        with torch.no_grad():
            batch = model.transform([image])[0]
            features = model.backbone(batch.tensors)
            padded = [tuple(batch.tensors.shape[-2:])]
            logits, regression = model.roi_heads.predict(features, proposals, padded)
        return features["0"], logits, regression

    with torch.no_grad():
        batch = model.transform([image])[0]
        proposals, _ = model.rpn(batch, model.backbone(batch.tensors))
    before = outputs()
    assert fold_frozen_batchnorm(model) == norms
    assert not any(isinstance(m, FrozenBatchNorm2d) for m in model.modules())
    after = outputs()
    scale = float(before[0].abs().max())
    torch.testing.assert_close(after[0], before[0], atol=1e-5 * scale, rtol=0)
    for got, ref in zip(after[1:], before[1:]):
        for part in ref:
            torch.testing.assert_close(got[part], ref[part], atol=1e-4 * float(ref[part].abs().max()), rtol=0)


def test_folding_refuses_a_model_in_training():
    model = build_dope_mobilenetv2(pretrained_backbone=False, representation_size=16)
    with pytest.raises(ValueError, match="inference"):
        fold_frozen_batchnorm(model.train())


def test_fold_into_conv_scales_an_existing_bias() -> None:
    """A convolution with a bias folds to ``norm(conv(x))``: the bias is scaled by the norm, then shifted."""
    from dope_core.model.fuse import fold_into_conv
    g = torch.Generator().manual_seed(2)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1, bias=True)
    norm = FrozenBatchNorm2d(4)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(4, 3, 3, 3, generator=g))
        conv.bias.copy_(torch.randn(4, generator=g) * 3)
        norm.weight.copy_(torch.tensor([0.5, 2.0, 3.0, 0.25]))
        norm.bias.copy_(torch.randn(4, generator=g))
        norm.running_mean.copy_(torch.randn(4, generator=g))
        norm.running_var.copy_(torch.rand(4, generator=g) + 0.5)
        x = torch.randn(2, 3, 5, 5, generator=g)
        torch.testing.assert_close(fold_into_conv(conv, norm)(x), norm(conv(x)), atol=1e-5, rtol=1e-5)
