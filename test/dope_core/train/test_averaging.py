"""Weight-space interpolation of two students (``dope-train average``), on the shipped student's file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dope_core.checkpoint import CheckpointError, load_checkpoint, read_checkpoint
from dope_core.estimator import build_estimator
from dope_core.train.averaging import MODULE_GROUPS, average_checkpoints, group_of, interpolate_state
from dope_core.train.cli import main
from dope_core.train.export import DEFAULT_EXPORT


@pytest.fixture(scope="module")
def tuned(tmp_path_factory) -> Path:
    """The shipped student with every floating-point weight moved (a stand-in for a fine-tune of it)."""
    data = read_checkpoint(DEFAULT_EXPORT)
    g = torch.Generator().manual_seed(0)
    data["state_dict"] = {k: (v + 0.01 * torch.randn(v.shape, generator=g).to(v.dtype))
                          if v.is_floating_point() and group_of(k) is not None else v
                          for k, v in data["state_dict"].items()}
    data["meta"] = {**data["meta"], "trained_steps": 4000}
    path = tmp_path_factory.mktemp("tuned") / "tuned.pth"
    torch.save(data, path)
    return path


def test_every_weight_but_the_anchors_is_in_one_group() -> None:
    state = read_checkpoint(DEFAULT_EXPORT)["state_dict"]
    outside = [k for k in state if group_of(k) is None]
    assert outside and all(k.endswith("anchor_poses") for k in outside)
    assert {group_of(k) for k in state} - {None} == set(MODULE_GROUPS)


def test_group_weights_mix_each_group_alone(tmp_path: Path, tuned: Path) -> None:
    out = average_checkpoints(DEFAULT_EXPORT, tuned, tmp_path / "mix.pth", weight=0.5,
                              group_weights={"face_cls": 0.0, "body_pose": 1.0})
    base, fine, mix = (read_checkpoint(p)["state_dict"] for p in (DEFAULT_EXPORT, tuned, out))
    for key, value in mix.items():
        assert value.dtype == base[key].dtype and value.shape == base[key].shape
        group = group_of(key)
        if group == "face_cls" or group is None or not value.is_floating_point():
            assert torch.equal(value, base[key]), key
        elif group == "body_pose":
            assert torch.equal(value, fine[key]), key
        else:   # halfway, to fp16's rounding
            expected = (base[key].float() + fine[key].float()) / 2
            assert torch.allclose(value.float(), expected, atol=2e-3, rtol=1e-3), key
    meta = read_checkpoint(out)["meta"]
    assert meta["trained_steps"] == 4000 and meta["averaged"]["group_weights"]["face_cls"] == 0.0
    assert meta["averaged"]["group_weights"]["backbone"] == 0.5


def test_the_average_is_a_working_network_checkpoint(tmp_path: Path, tuned: Path) -> None:
    out = average_checkpoints(DEFAULT_EXPORT, tuned, tmp_path / "mix.pth", weight=0.3)
    loaded = load_checkpoint(out)
    assert loaded.arch == "mobilenetv2" and loaded.half and loaded.num_anchor_poses == {"body": 20, "hand": 10, "face": 10}
    poses = build_estimator("network", checkpoint=out, device="cpu")(
        np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8))
    assert poses.image_size == (160, 120)
    assert not list(tmp_path.glob(".*.tmp"))


def test_weight_zero_and_one_give_back_the_two_students() -> None:
    base, fine = {"backbone.w": torch.zeros(3), "rpn.n": torch.tensor(2)}, {"backbone.w": torch.ones(3),
                                                                            "rpn.n": torch.tensor(5)}
    assert torch.equal(interpolate_state(base, fine, {}, default=0.0)["backbone.w"], torch.zeros(3))
    one = interpolate_state(base, fine, {}, default=1.0)
    assert torch.equal(one["backbone.w"], torch.ones(3)) and int(one["rpn.n"]) == 2   # counters stay the base's


@pytest.mark.parametrize("weights, default, message", [
    ({"faces": 0.0}, 0.5, "unknown module group"),
    ({"face_cls": 1.5}, 0.5, "must lie in"),
    ({}, -0.1, "must lie in"),
])
def test_bad_weights_are_refused(weights, default, message) -> None:
    state = {"backbone.w": torch.zeros(2)}
    with pytest.raises(ValueError, match=message):
        interpolate_state(state, state, weights, default=default)


def test_two_different_networks_are_refused(tmp_path: Path) -> None:
    data = read_checkpoint(DEFAULT_EXPORT)
    key = next(k for k in data["state_dict"] if k.endswith("anchor_poses"))
    other_anchors = {**data, "state_dict": {**data["state_dict"], key: data["state_dict"][key] + 1}}
    torch.save(other_anchors, tmp_path / "anchors.pth")
    with pytest.raises(CheckpointError, match="anchor_poses"):
        average_checkpoints(DEFAULT_EXPORT, tmp_path / "anchors.pth", tmp_path / "out.pth")
    torch.save({**data, "model_kwargs": {**data["model_kwargs"], "representation_size": 1024}}, tmp_path / "kw.pth")
    with pytest.raises(CheckpointError, match="model_kwargs"):
        average_checkpoints(DEFAULT_EXPORT, tmp_path / "kw.pth", tmp_path / "out.pth")
    torch.save({"half": True, "dope_kwargs": {}}, tmp_path / "release.pth")
    with pytest.raises(CheckpointError, match="not a 'dope_ros"):
        average_checkpoints(tmp_path / "release.pth", DEFAULT_EXPORT, tmp_path / "out.pth")
    assert not (tmp_path / "out.pth").exists()


def test_cli_writes_the_average_and_reports_bad_input_in_one_line(tmp_path: Path, tuned: Path, capsys) -> None:
    out = tmp_path / "mix.pth"
    assert main(["average", "--base", str(DEFAULT_EXPORT), "--tuned", str(tuned), "--out", str(out),
                 "--weight", "0.4", "--group-weight", "face_cls=0", "face_pose=0"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert read_checkpoint(out)["meta"]["averaged"]["group_weights"]["face_pose"] == 0.0
    for bad in (["--group-weight", "face_cls"], ["--group-weight", "face_cls=x"], ["--group-weight", "faces=0"],
                ["--tuned", str(tmp_path / "missing.pth")]):
        args = ["average", "--base", str(DEFAULT_EXPORT), "--tuned", str(tuned), "--out", str(tmp_path / "x.pth"), *bad]
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("dope-train average: error:") and "\n" not in err


def test_the_output_is_never_an_input_nor_a_folder(tmp_path: Path, tuned: Path, capsys) -> None:
    copy = tmp_path / "tuned.pth"
    copy.write_bytes(tuned.read_bytes())
    (tmp_path / "link.pth").symlink_to(copy)
    before = copy.read_bytes()
    for out, why in ((copy, "is the tuned checkpoint"), (tmp_path / "link.pth", "is the tuned checkpoint"),
                     (tmp_path, "is a folder")):
        assert main(["average", "--base", str(DEFAULT_EXPORT), "--tuned", str(copy), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert why in err and "\n" not in err
    assert copy.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.pth", "tuned.pth"]   # no temporary file left
