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
