"""Random anchor poses for the network tests (a module of its own: every test folder has a
``conftest``, so ``from conftest import ...`` would take whichever one was imported last)."""

import torch

from dope_core.model.dope_rcnn import NUM_JOINTS

COUNTS = {"body": 20, "hand": 10, "face": 10}


def random_anchor_poses(seed: int = 0, counts: dict = COUNTS) -> dict:
    """``{part: (K, J, 5)}``: 2D uniform in the box, 3D Gaussian (metres, 0.1 scale)."""
    g = torch.Generator().manual_seed(seed)
    return {p: torch.cat([0.1 + 0.8 * torch.rand(k, NUM_JOINTS[p], 2, generator=g),
                          0.1 * torch.randn(k, NUM_JOINTS[p], 3, generator=g)], -1) for p, k in counts.items()}
