"""Checkpoints: the release structure loads strictly; unsafe, truncated and mismatched files are refused clearly."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from dope_core.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from dope_core.model import build_dope_mobilenetv2, build_dope_resnet50

RELEASE_PPI = {"K": 5, "score_th": None, "th_pose3D": 0.3, "th_iou": 0.2, "iou_func": "bbox",
               "min_mode_score": 0.05, "th_persondetect": np.float64(0.002)}


@pytest.fixture(scope="module")
def release_file(tmp_path_factory):
    """A file of the exact release structure: random weights, the release's keys (old RPN names), fp16."""
    torch.manual_seed(0)
    state = build_dope_resnet50().state_dict()
    state = {k.replace("rpn.head.conv.0.0.", "rpn.head.conv."): v.clone().half() for k, v in state.items()}
    for part, k, j in (("body", 20, 13), ("hand", 10, 21), ("face", 10, 84)):
        state[f"roi_heads.{part}_anchor_poses"] = torch.rand(k, j, 5).half()
    assert len(state) == 555
    ckpt = {"dope_kwargs": {"num_anchor_poses": {"body": 20, "hand": 10, "face": 10}, "min_size": (400,),
                            "max_size": np.int64(667), "rpn_post_nms_top_n_test": 50},
            "half": True, "state_dict": state, "body_ppi_kwargs": dict(RELEASE_PPI, K=10),
            "hand_ppi_kwargs": dict(RELEASE_PPI), "face_ppi_kwargs": dict(RELEASE_PPI, th_pose3D=0.1)}
    path = tmp_path_factory.mktemp("release") / "DOPErealtime_v1_0_0.pth.tgz"
    torch.save(ckpt, path)
    return path, state


def test_release_structure_loads_strictly(release_file):
    path, state = release_file
    loaded = load_checkpoint(path)
    assert loaded.kind == "release" and loaded.arch == "resnet50" and loaded.half
    assert loaded.num_anchor_poses == {"body": 20, "hand": 10, "face": 10}
    sd = loaded.model.state_dict()
    assert torch.equal(sd["rpn.head.conv.0.0.weight"], state["rpn.head.conv.weight"].float())
    assert torch.equal(sd["roi_heads.hand_anchor_poses"], state["roi_heads.hand_anchor_poses"].float())
    assert torch.equal(sd["roi_heads.dope_head.resnet_backbone.layer4.0.conv1.weight"],
                       state["backbone.resnet_backbone.layer4.0.conv1.weight"].float())
    post = loaded.postprocess
    assert post.method == "ppi" and post.conventions == "release" and post.wrist_from_hand and post.min_score == 0
    assert post.ppi["face"] == {"pose3d_threshold": 0.1, "iou_threshold": 0.2, "min_mode_score": 0.05,
                                "detection_threshold": 0.002}
    assert post.ppi["body"]["upper_body_from"] == 10 and "upper_body_from" not in post.ppi["hand"]
    assert post.right_hand_classes == 5
    assert not loaded.model.training


def test_release_files_run_as_the_release_runs_them(release_file):
    model = load_checkpoint(release_file[0]).model
    assert model.rpn._post_nms_top_n["testing"] == 1000            # forced, whatever the file stores (50)
    assert model.transform.min_size == 400 and model.transform.max_size == 667   # tuple min_size, numpy max_size
    bns = [m for m in model.modules() if type(m).__name__ == "FrozenBatchNorm2d"]
    assert bns and all(m.eps == 0.0 for m in bns)                     # the release's frozen BN had no epsilon
    assert build_dope_resnet50().backbone.resnet_backbone.bn1.eps == 1e-5


def test_release_ppi_settings_are_checked(release_file, tmp_path):
    ckpt = torch.load(release_file[0], weights_only=False)
    ckpt["body_ppi_kwargs"]["iou_func"] = "torsohead"
    bad = tmp_path / "bad.pth"
    torch.save(ckpt, bad)
    with pytest.raises(CheckpointError, match="iou_func='torsohead' is not supported"):
        load_checkpoint(bad)


def test_numpy_arrays_are_not_in_the_allow_list(tmp_path):
    path = tmp_path / "array.pth"
    torch.save({"format": "dope_ros/1", "meta": {"a": np.zeros(3)}}, path)
    with pytest.raises(CheckpointError, match="refused"):
        read_checkpoint(path)


def test_mismatched_state_dicts_name_the_problem(release_file, tmp_path):
    path, state = release_file
    ckpt = torch.load(path, weights_only=False)
    del ckpt["state_dict"]["roi_heads.dope_predictor.face_cls_score.bias"]
    ckpt["state_dict"]["roi_heads.dope_predictor.hand_cls_score.weight"] = torch.zeros(5, 2048)
    ckpt["state_dict"]["extra.weight"] = torch.zeros(1)
    bad = tmp_path / "bad.pth"
    torch.save(ckpt, bad)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(bad)
    msg = str(e.value)
    assert "face_cls_score.bias" in msg and "extra.weight" in msg and "hand_cls_score.weight (5, 2048)" in msg
    ckpt = torch.load(path, weights_only=False)
    del ckpt["hand_ppi_kwargs"]
    torch.save(ckpt, bad)
    with pytest.raises(CheckpointError, match="hand_ppi_kwargs"):
        load_checkpoint(bad)


def test_truncated_and_foreign_files_are_refused(release_file, tmp_path):
    path, _ = release_file
    cut = tmp_path / "cut.pth"
    cut.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        read_checkpoint(cut)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "absent.pth")
    other = tmp_path / "other.pth"
    torch.save({"weights": torch.zeros(1), "epoch": 3}, other)
    with pytest.raises(CheckpointError, match="neither a DOPE release"):
        load_checkpoint(other)


@pytest.mark.parametrize("content,why", [
    (b"hello\n", r"is not a torch file \(it starts with b'hello\\n'\)"),
    (b"<!DOCTYPE html><html>Sign in</html>", "HTML or XML page"),
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:", "Git LFS pointer"),
    (b"\x1f\x8b\x08\x00", "gzip archive"),
    (b"\xff\xd8\xff\xe0", "JPEG image"),
    (b"", "is empty"),
    (b"\x80\x02hello, not a pickle", r"corrupt or not a torch file \("),
])
def test_files_that_are_not_checkpoints_say_what_they_are(tmp_path, content, why):
    path = tmp_path / "model.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=why):
        read_checkpoint(path)


def test_an_unreadable_checkpoint_says_so(tmp_path, monkeypatch):
    import builtins

    path = tmp_path / "locked.pth"
    path.write_bytes(b"PK\x03\x04")
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: (_ for _ in ()).throw(PermissionError(13, "Permission denied"))
                        if str(f) == str(path) else real_open(f, *a, **k))
    with pytest.raises(CheckpointError, match=r"cannot be read \(Permission denied\)"):
        read_checkpoint(path)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "payload": _RunsCode(str(marker))}, evil)
    with pytest.raises(CheckpointError, match="refused") as e:
        load_checkpoint(evil)
    assert not marker.exists()
    assert "Unsupported global: io.open" in str(e.value) and "will likely succeed" not in str(e.value)


def test_project_format_round_trip(tmp_path):
    torch.manual_seed(0)
    kwargs = {"min_size": 128, "max_size": 192, "rpn_post_nms_top_n_test": 100}
    model = build_dope_mobilenetv2(pretrained_backbone=False, **kwargs).eval()
    path = tmp_path / "student.pth"
    save_checkpoint(path, model, arch="mobilenetv2", model_kwargs=kwargs,
                    meta={"epochs": 1})
    loaded = load_checkpoint(path)
    assert loaded.kind == "project" and loaded.arch == "mobilenetv2" and loaded.meta == {"epochs": 1}
    assert loaded.model.transform.min_size == 128
    image = [torch.rand(3, 96, 128)]
    with torch.no_grad():
        a, b = model(image)[0], loaded.model(image)[0]
    assert torch.equal(a["boxes"], b["boxes"]) and torch.allclose(a["hand_pose2d"], b["hand_pose2d"])
    with pytest.raises(ValueError, match="arch"):
        save_checkpoint(path, model, arch="vgg", model_kwargs={})


@pytest.fixture(scope="module")
def small_project(tmp_path_factory):
    """A small project checkpoint (random weights) and its raw dict."""
    torch.manual_seed(0)
    kwargs = {"min_size": 128, "max_size": 192, "rpn_post_nms_top_n_test": 100, "representation_size": 64}
    path = tmp_path_factory.mktemp("ckpt") / "small.pth"
    save_checkpoint(path, build_dope_mobilenetv2(pretrained_backbone=False, **kwargs), arch="mobilenetv2",
                    model_kwargs=kwargs)
    return path, torch.load(path, weights_only=False)


@pytest.mark.parametrize("change, why", [
    (lambda d: d.update(model_kwargs=[("min_size", 128)]), "model_kwargs must be a dict"),
    (lambda d: d["model_kwargs"].update(representation_size=40000), "representation_size'] = 40000 is not a int"),
    (lambda d: d["model_kwargs"].update(representation_size=2048),
     "does not match the network its model_kwargs describe; 10 with wrong shapes"),
    (lambda d: d["model_kwargs"].update(num_anchor_poses=[20, 10]), "must be 3 counts"),
    (lambda d: d["model_kwargs"].update(num_anchor_poses=[21, 10, 10]),
     "roi_heads.body_anchor_poses (20, 13, 5) (expected (21, 13, 5))"),
    (lambda d: d["model_kwargs"].update(min_size="big"), "min_size'] = 'big' is not a int"),
    (lambda d: d["model_kwargs"].update(max_size=float("nan")), "max_size'] = nan"),
    (lambda d: d["model_kwargs"].update(min_size=256, max_size=192), "larger than max_size"),
    (lambda d: d["model_kwargs"].update(image_std=[0.2, 0.0, 0.2]), "image_std"),
    (lambda d: d["model_kwargs"].update(evil_hook="os.system"), "unknown argument 'evil_hook'"),
    (lambda d: d.update(meta=[1, 2]), "meta must be a dict"),
    (lambda d: d["state_dict"].update({"roi_heads.body_anchor_poses": [1.0]}), "state_dict must map names to tensors"),
])
def test_project_metadata_is_checked_before_any_network_is_built(small_project, tmp_path, monkeypatch, change, why):
    import copy

    import dope_core.checkpoint as checkpoint

    path, raw = small_project
    data = copy.deepcopy(raw)
    change(data)
    bad = tmp_path / "bad.pth"
    torch.save(data, bad)
    built = []
    real = checkpoint.build_dope_mobilenetv2
    monkeypatch.setattr(checkpoint, "build_dope_mobilenetv2",
                        lambda **kw: built.append(torch.empty(0).device.type) or real(**kw))
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(bad)
    assert why in str(e.value) and str(bad) in str(e.value)
    assert set(built) <= {"meta"}      # only ever built on the meta device (shapes, no memory)
    built.clear()
    assert load_checkpoint(path).model.transform.max_size == 192 and "cpu" in built


def test_release_metadata_is_checked(release_file, tmp_path):
    path, _ = release_file
    for key, value, why in [("dope_kwargs", ["x"], "dope_kwargs must be a dict"), ("half", "yes", "half must be"),
                            ("hand_ppi_kwargs", [1], "hand_ppi_kwargs must be a dict")]:
        ckpt = torch.load(path, weights_only=False)
        ckpt[key] = value
        torch.save(ckpt, tmp_path / "bad.pth")
        with pytest.raises(CheckpointError, match=why):
            load_checkpoint(tmp_path / "bad.pth")


def test_project_files_record_fp16_weights_and_never_the_pretrained_flag(small_project: tuple, tmp_path: Path) -> None:
    """``half`` is true exactly when the stored weights are fp16; ``pretrained_backbone`` is not stored and still loads."""
    path, data = small_project
    assert load_checkpoint(path).half is False
    half_path = tmp_path / "half.pth"
    torch.save(dict(data, state_dict={k: v.half() if v.is_floating_point() else v
                                      for k, v in data["state_dict"].items()}), half_path)
    assert load_checkpoint(half_path).half is True
    kwargs = dict(data["model_kwargs"], pretrained_backbone=True)
    model = build_dope_mobilenetv2(pretrained_backbone=False, **data["model_kwargs"])
    flag_path = tmp_path / "flag.pth"
    save_checkpoint(flag_path, model, arch="mobilenetv2", model_kwargs=kwargs)
    assert "pretrained_backbone" not in read_checkpoint(flag_path)["model_kwargs"]
    assert load_checkpoint(flag_path).arch == "mobilenetv2"


@pytest.mark.parametrize("change, why", [
    (lambda p: p.update(min_score={"body": "x", "hand": 0.3, "face": 0.5}), "min_score['body'] = 'x' is not a number"),
    (lambda p: p.update(min_score={"body": 2.0}), "min_score must give a number for each of ['body', 'face', 'hand']: "
                                                  "missing ['face', 'hand']"),
    (lambda p: p.update(min_score=-1.0), "min_score = -1.0 is not a number of at least 0"),
    (lambda p: p["ppi"]["body"].update(bogus_kw=1), "ppi['body'] has an unknown setting 'bogus_kw'"),
    (lambda p: p.update(ppi="x"), "ppi must be {part: {setting: value}}, got 'x'"),
    (lambda p: p["ppi"].update(foot={}), "ppi has unknown parts ['foot']"),
    (lambda p: p["nms"]["body"].update(bogus=1), "nms['body'] has an unknown setting 'bogus'"),
    (lambda p: p["nms"]["hand"].update(iou_threshold="0.5"), "nms['hand']['iou_threshold'] = '0.5' is not a float"),
    (lambda p: p["ppi"]["body"].update(pose3d_threshold=-1), "ppi['body']['pose3d_threshold'] = -1 is not a float in"),
    (lambda p: p["ppi"]["face"].update(pose3d_threshold=float("nan")), "ppi['face']['pose3d_threshold'] = nan"),
    (lambda p: p["ppi"]["body"].update(upper_body_from=2.5), "ppi['body']['upper_body_from'] = 2.5 is not an int"),
])
def test_bad_postprocess_settings_are_refused_at_load(small_project, tmp_path, change, why):
    """Every setting the pipeline will use is checked at load (names, types, parts, finite numbers in range),
    not left to fail, or to find no one, on every image."""
    import copy

    path, raw = small_project
    data = copy.deepcopy(raw)
    change(data["postprocess"])
    bad = tmp_path / "bad.pth"
    torch.save(data, bad)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(bad)
    assert f"{bad}: bad postprocess settings: " in str(e.value) and why in str(e.value), str(e.value)
    good = copy.deepcopy(raw)
    good["postprocess"]["ppi"]["body"].update(score_threshold=None, detection_threshold=np.float64(0.002),
                                              lower_joints=[7, 8])
    good["postprocess"]["nms"]["hand"].update(min_score=0.4)
    torch.save(good, bad)
    assert load_checkpoint(bad).postprocess.ppi["body"]["score_threshold"] is None


def test_release_ppi_settings_out_of_range_are_refused(release_file, tmp_path):
    ckpt = torch.load(release_file[0], weights_only=False)
    ckpt["hand_ppi_kwargs"]["th_iou"] = np.float64("nan")
    torch.save(ckpt, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=r"bad PPI settings .*ppi\['hand'\]\['iou_threshold'\] = nan"):
        load_checkpoint(tmp_path / "bad.pth")


def test_weights_that_are_not_finite_are_refused_as_corrupt(small_project, tmp_path):
    path, raw = small_project
    state = dict(raw["state_dict"])
    names = [k for k, v in state.items() if v.is_floating_point()]
    state[names[3]] = state[names[3]].clone().fill_(float("nan"))
    state[names[-1]] = state[names[-1]].clone()
    state[names[-1]].view(-1)[0] = float("-inf")
    bad = tmp_path / "nan.pth"
    torch.save(dict(raw, state_dict=state), bad)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(bad)
    assert str(e.value) == (f"{bad}: corrupt weights: 2 tensor(s) hold NaN or infinite values (the first: "
                            f"{names[3]})")
    half = {k: v.half() if v.is_floating_point() else v for k, v in raw["state_dict"].items()}
    half[names[0]] = half[names[0]].clone().fill_(60000.0)    # large but finite fp16 values still load
    torch.save(dict(raw, state_dict=half), bad)
    assert load_checkpoint(bad).half


def test_a_bare_state_dict_is_one_short_line_naming_the_format_to_use(small_project, tmp_path):
    path, raw = small_project
    bare = tmp_path / "bare.pth"
    torch.save(raw["state_dict"], bare)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(bare)
    msg = str(e.value)
    assert f"... ({len(raw['state_dict'])} keys)" in msg and "save_checkpoint" in msg and "'dope_ros/1'" in msg
    assert len(msg) < 200 + len(str(bare)) and "\n" not in msg, msg


def test_a_folder_or_a_device_is_not_a_file(tmp_path):
    for path in (tmp_path, Path(os.devnull)):
        with pytest.raises(CheckpointError, match=f"checkpoint {path} is not a file"):
            read_checkpoint(path)


def test_a_truncated_file_is_one_short_line(release_file, tmp_path):
    path, _ = release_file
    cut = tmp_path / "cut.pth"
    for size in (1000, os.path.getsize(path) // 2, os.path.getsize(path) - 10):
        cut.write_bytes(path.read_bytes()[:size])
        with pytest.raises(CheckpointError) as e:
            read_checkpoint(cut)
        msg = str(e.value)
        assert "truncated or corrupt zip archive" in msg and len(msg) < 120 + len(str(cut)), msg
        assert "if you are seeing this" not in msg.lower()
