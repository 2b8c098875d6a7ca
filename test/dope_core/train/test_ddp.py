"""Data-parallel training with 2 gloo processes on the CPU, both variants, with a rank that
has nothing to train on for one step; and one training step under CPU bfloat16 autocast."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from dope_core.train.checkpointing import load_training_state
from dope_core.train.config import config_from_dict
from dope_core.train.dataset import PseudoLabelDataset, StepSampler, collate, load_records, split_records
from dope_core.train.trainer import _train_step, build_model, fit
from train_fixtures import TINY_MODEL, tiny_config

TINY_RESNET = {k: v for k, v in TINY_MODEL.items() if k != "pretrained_backbone"} | {"roi_batch_size_per_image": 8}


def _worker(rank: int, world: int, store: str, cfg: dict, out: str, max_seconds: tuple = (None, None)) -> None:
    # Loopback only: the ranks meet through a file store (no TCPStore server), gloo on the loopback interface.
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), GLOO_SOCKET_IFNAME="lo")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    result = fit(config_from_dict(cfg), device="cpu", show_progress=False, max_seconds=max_seconds[rank])
    torch.save({"end_step": result.end_step, "state": result.model.state_dict(), "losses": result.losses,
                "bad_steps": result.bad_steps, "skipped": result.skipped_samples}, Path(out) / f"rank{rank}.pt")


@pytest.mark.timeout(600)
def test_the_time_limit_stops_every_rank_at_rank_0s_step(tmp_path: Path, synthetic_cache) -> None:
    """Rank 0's clock decides: rank 1 (whose own limit is far away) stops at the same step,
    instead of waiting forever in the next all-reduce."""
    cfg = tiny_config(synthetic_cache.root, tmp_path / "run", steps=6, batch_size=1, checkpoint_every=4)
    torch.multiprocessing.spawn(_worker, args=(2, str(tmp_path / "store"), cfg, str(tmp_path), (1e-6, 3600.0)),
                                nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["end_step"] == r1["end_step"] == 1
    for k, v in r0["state"].items():
        torch.testing.assert_close(r1["state"][k], v, msg=f"ranks disagree on {k}")
    assert load_training_state(tmp_path / "run")["step"] == 1


@pytest.mark.timeout(900)
@pytest.mark.parametrize("variant", ["mobilenetv2", "resnet50"])
def test_two_ranks_stay_in_step_when_one_skips(tmp_path: Path, synthetic_cache, variant: str) -> None:
    cfg = tiny_config(synthetic_cache.root, tmp_path / "run", steps=2, batch_size=1, checkpoint_every=2)
    if variant == "resnet50":
        cfg["model"] = {"variant": "resnet50", "kwargs": dict(TINY_RESNET), "num_anchors": {"body": 2, "hand": 2, "face": 2}}
    # The image rank 1 draws at step 1 cannot be read: that rank has nothing to train on for one step.
    train, _ = split_records(load_records([synthetic_cache.root]), val_fraction=0.0, seed=0)
    index = list(StepSampler(len(train), batch_size=1, start_step=0, total_steps=2, seed=0, rank=1, world_size=2))[1][0]
    synthetic_cache.image_path(train[index][1]).unlink()
    torch.multiprocessing.spawn(_worker, args=(2, str(tmp_path / "store"), cfg, str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert len(r0["losses"]) == 2 and r0["bad_steps"] == 0
    assert len(r1["losses"]) == 1 and r1["bad_steps"] == 1 and r1["skipped"] == 1
    assert r0["losses"][0]["loss"] != r1["losses"][0]["loss"]             # each rank saw its own samples
    for k, v in r0["state"].items():
        torch.testing.assert_close(r1["state"][k], v, msg=f"ranks disagree on {k}")
    assert load_training_state(tmp_path / "run")["step"] == 2                # rank 0 wrote the checkpoint
    if variant == "resnet50":                                              # the unused classifier stays frozen
        assert not build_model(config_from_dict(cfg)).backbone.resnet_backbone.fc.weight.requires_grad


def test_a_training_step_under_cpu_bfloat16_autocast(synthetic_cache) -> None:
    cfg = config_from_dict(tiny_config(synthetic_cache.root, Path("unused"), steps=1, batch_size=2))
    torch.manual_seed(0)
    model = build_model(cfg).train()
    train, _ = split_records(load_records([synthetic_cache.root]), val_fraction=0.0, seed=0)
    ds = PseudoLabelDataset(train, max_size=128, scale_jitter=(1.0, 1.0), flip=False)
    images, targets, _, _ = collate([ds[0], ds[1]])
    seen = []
    conv = next(m for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    optimizer = torch.optim.SGD(params, lr=0.01)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    losses, contributors = _train_step(model, optimizer, scaler, cfg, images, targets, torch.device("cpu"), True)
    assert seen == [torch.bfloat16]                             # autocast was on (convolutions in bfloat16)
    assert contributors == 1 and math.isfinite(losses["loss"]) and losses["loss"] > 0
    assert all(math.isfinite(v) for v in losses.values())
    assert any(not torch.equal(a, p.detach()) for a, p in zip(before, params))   # the step updated the weights
    assert all(torch.isfinite(p).all() for p in params)
