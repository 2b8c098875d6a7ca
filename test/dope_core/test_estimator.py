"""build_estimator: the experts backend honours only CPU devices and says so."""

from __future__ import annotations

import pytest

from dope_core.estimator import build_estimator


@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_experts_backend_refuses_a_gpu_device(device):
    with pytest.raises(ValueError, match=r"the experts backend runs on the CPU only \(LiteRT\)"):
        build_estimator("experts", device=device)
