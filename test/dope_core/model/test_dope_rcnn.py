"""The two network variants: release layout, outputs of each stage, training losses."""

import pytest
import torch

from dope_core.model import build_dope_mobilenetv2, build_dope_resnet50
from dope_core.model.dope_rcnn import NUM_JOINTS, PARTS
from dope_core.model.pretrained import MOBILENET_V2_FILE, hub_checkpoint_dir, load_mobilenet_v2_imagenet
from dope_core.model.transform import DopeTransform

LOSS_NAMES = {"loss_objectness", "loss_rpn_box_reg"} | {f"loss_{p}_{k}" for p in PARTS for k in ("cls", "pose2d", "pose3d")}


@pytest.fixture(scope="module")
def resnet_model():
    torch.manual_seed(0)
    return build_dope_resnet50(min_size=224, max_size=320).eval()


def test_resnet50_has_the_release_state_dict_layout(resnet_model):
    sd = resnet_model.state_dict()
    assert len(sd) == 555
    assert sum(p.numel() for p in resnet_model.parameters()) == pytest.approx(48.5e6, rel=0.01)
    for k, v in sd.items():
        if k.startswith("backbone.resnet_backbone."):
            twin = "roi_heads.dope_head.resnet_backbone." + k[len("backbone.resnet_backbone."):]
            assert sd[twin].data_ptr() == v.data_ptr()  # one shared ResNet object
    assert resnet_model.backbone.resnet_backbone is resnet_model.roi_heads.dope_head.resnet_backbone
    for part, k in zip(PARTS, (20, 10, 10)):
        j = NUM_JOINTS[part]
        assert sd[f"roi_heads.{part}_anchor_poses"].shape == (k, j, 5)
        assert sd[f"roi_heads.dope_predictor.{part}_cls_score.weight"].shape == (k + 1, 2048)
        assert sd[f"roi_heads.dope_predictor.{part}_pose_pred.weight"].shape == (k * j * 5, 2048)
    assert sd["rpn.head.cls_logits.weight"].shape == (15, 1024, 1, 1)


def test_resnet50_eval_outputs_every_proposal_in_input_pixels(resnet_model, anchor_poses):
    image = torch.rand(3, 150, 200)
    with torch.no_grad():
        out = resnet_model([image])
    assert len(out) == 1
    det = out[0]
    n = det["boxes"].shape[0]
    assert n > 0
    assert det["boxes"][:, 2].max() <= 200 + 1e-3 and det["boxes"][:, 3].max() <= 150 + 1e-3
    for part, k in zip(PARTS, (20, 10, 10)):
        assert det[f"{part}_scores"].shape == (n, k + 1)
        assert torch.allclose(det[f"{part}_scores"].sum(-1), torch.ones(n), atol=1e-5)
        assert det[f"{part}_pose2d"].shape == (n, k, NUM_JOINTS[part], 2)
        assert det[f"{part}_pose3d"].shape == (n, k, NUM_JOINTS[part], 3)


def _targets(g, sizes):
    def part(n, j, w, h):
        xy = torch.rand(n, 2, generator=g) * torch.tensor([w / 2, h / 2])
        box = torch.cat([xy, xy + 30 + torch.rand(n, 2, generator=g) * 40], 1)
        return {"boxes": box, "pose2d": xy[:, None] + torch.rand(n, j, 2, generator=g) * 30,
                "pose3d": 0.1 * torch.randn(n, j, 3, generator=g), "scores": torch.rand(n, generator=g)}
    (w0, h0), (w1, h1) = sizes
    return [{"body": part(2, 13, w0, h0), "hand": part(1, 21, w0, h0), "face": part(0, 84, w0, h0)},
            {"hand": part(2, 21, w1, h1)}]


def test_mobilenetv2_training_forward_returns_the_named_losses(anchor_poses):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = build_dope_mobilenetv2(pretrained_backbone=False, anchor_poses=anchor_poses, min_size=160, max_size=256,
                                   rpn_post_nms_top_n_train=200, roi_batch_size_per_image=64).train()
    images = [torch.rand(3, 120, 160), torch.rand(3, 140, 180)]
    losses = model(images, _targets(g, [(160, 120), (180, 140)]))
    assert set(losses) == LOSS_NAMES
    values = {k: float(v.detach()) for k, v in losses.items()}
    assert all(torch.isfinite(torch.tensor(v)) for v in values.values())
    assert values["loss_body_pose2d"] > 0 and values["loss_hand_pose3d"] > 0
    assert values["loss_face_pose2d"] == 0.0  # no face anywhere: no positive
    sum(losses.values()).backward()
    assert model.roi_heads.dope_predictor.hand_pose_pred.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="targets are required"):
        model(images)
    with pytest.raises(ValueError, match="pose2d must have shape"):
        bad = _targets(g, [(160, 120), (180, 140)])
        bad[0]["body"]["pose2d"] = bad[0]["body"]["pose2d"][:, :5]
        model(images, bad)


def test_training_labels_a_ground_truth_box_with_its_nearest_anchor(anchor_poses):
    model = build_dope_mobilenetv2(pretrained_backbone=False, anchor_poses=anchor_poses).train()
    heads = model.roi_heads
    anchors = heads.anchors("hand")
    box = torch.tensor([[10.0, 20.0, 60.0, 120.0]])
    # A ground-truth pose equal to hand anchor 3 placed in the box.
    pose2d = box[:, None, :2] + anchors[3, None, :, :2] * (box[:, None, 2:] - box[:, None, :2])
    target = {"hand": {"boxes": box, "pose2d": pose2d, "pose3d": anchors[3, None, :, 2:], "scores": torch.tensor([0.8])}}
    far = torch.tensor([[300.0, 300.0, 340.0, 360.0]])
    props, t = heads.select_training_samples([far], [target])
    assert props[0].shape[0] == 2  # the far proposal and the added ground-truth box
    row = int((props[0] == box).all(dim=1).nonzero()[0])
    assert int(t["hand"]["classes"][row]) == 4  # anchor 3 -> class 4 (0 is background)
    assert float(t["hand"]["scores"][row]) == pytest.approx(0.8)
    assert torch.allclose(t["hand"]["reg_targets"][row], torch.zeros(21 * 5), atol=1e-5)
    assert int(t["hand"]["classes"][1 - row]) == 0 and int(t["body"]["classes"].max()) == 0


def test_transform_scales_targets_and_outputs_consistently():
    tr = DopeTransform(min_size=200, max_size=1000)
    image = torch.rand(3, 100, 150)
    target = {"body": {"boxes": torch.tensor([[10.0, 20.0, 30.0, 40.0]]), "pose2d": torch.ones(1, 13, 2) * 15,
                       "pose3d": torch.zeros(1, 13, 3), "scores": torch.ones(1)}}
    batch, targets = tr([image], [target])
    assert batch.image_sizes == [(200, 300)] and batch.tensors.shape == (1, 3, 224, 320)
    assert targets[0]["body"]["boxes"].tolist() == [[20.0, 40.0, 60.0, 80.0]]
    det = {"boxes": targets[0]["body"]["boxes"].clone(), "body_pose2d": torch.ones(1, 2, 13, 2) * 30}
    back = tr.postprocess([det], batch.image_sizes, [(100, 150)])[0]
    assert back["boxes"].tolist() == [[10.0, 20.0, 30.0, 40.0]]
    assert torch.allclose(back["body_pose2d"], torch.full((1, 2, 13, 2), 15.0))
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        tr([torch.rand(100, 150)])


def test_mobilenetv2_pretrained_backbone_from_file_or_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m dope_core.model.pretrained"):
        build_dope_mobilenetv2(pretrained_backbone=str(tmp_path / "absent.pth"))
    hub_file = hub_checkpoint_dir() / MOBILENET_V2_FILE
    if not hub_file.is_file():
        pytest.skip(f"ImageNet MobileNetV2 weights not installed at {hub_file} (python -m dope_core.model.pretrained)")
    state = load_mobilenet_v2_imagenet()
    model = build_dope_mobilenetv2(pretrained_backbone=True)
    assert torch.equal(model.backbone.body[0][0].weight, state["features.0.0.weight"])
    assert torch.equal(model.backbone.body[13].conv[2].weight, state["features.13.conv.2.weight"])
    assert model.backbone.out_channels == model.backbone.body[13].conv[2].weight.shape[0] == 96


def test_roi_align_runs_in_fp32_under_fp16():
    torch.manual_seed(0)
    heads = build_dope_mobilenetv2(pretrained_backbone=False, representation_size=32).roi_heads
    seen = []
    pool = heads.dope_roi_pool
    pool.register_forward_pre_hook(lambda m, args: seen.append((args[0]["0"].dtype, args[1][0].dtype)))
    features = {"0": torch.rand(1, 96, 8, 8)}
    boxes = [torch.tensor([[0.0, 0.0, 60.0, 60.0], [10.0, 20.0, 100.0, 90.0]])]
    ref = pool(features, boxes, [(128, 128)])
    seen.clear()
    heads.half()
    heads.dope_head = torch.nn.Identity()
    heads.dope_predictor = torch.nn.Identity()
    pooled = heads.predict({"0": features["0"].half()}, [boxes[0].half()], [(128, 128)])
    assert seen == [(torch.float32, torch.float32)] and pooled.dtype == torch.float16
    torch.testing.assert_close(pooled.float(), ref, atol=2e-3, rtol=0)   # fp16 features, fp32 sampling


def test_a_tuple_min_size_uses_its_last_value_at_test_time_and_any_in_training():
    t = DopeTransform(min_size=(200, 300), max_size=1000)
    assert t.min_size == 300
    batch, _ = t.eval()([torch.rand(3, 100, 150)])
    assert batch.image_sizes == [(300, 450)]
    t.train()
    torch.manual_seed(0)
    sizes = {t([torch.rand(3, 100, 150)])[0].image_sizes[0][0] for _ in range(20)}
    assert sizes == {200, 300}
    with pytest.raises(ValueError, match="min_size"):
        DopeTransform(min_size=())


def test_transform_scales_x_and_y_by_their_own_ratios() -> None:
    """Targets and outputs scale x by new/old width and y by new/old height (they differ after rounding)."""
    tr = DopeTransform(min_size=10, max_size=100)
    image = torch.rand(3, 3, 7)                   # factor 10/3: 3 -> 10 rows, 7 -> floor(23.3) = 23 columns
    target = {"body": {"boxes": torch.tensor([[0.0, 0.0, 7.0, 3.0]]), "pose2d": torch.tensor([[[7.0, 3.0]] * 13]),
                       "pose3d": torch.zeros(1, 13, 3), "scores": torch.ones(1)}}
    batch, targets = tr.eval()([image], [target])
    assert batch.image_sizes == [(10, 23)]
    torch.testing.assert_close(targets[0]["body"]["boxes"], torch.tensor([[0.0, 0.0, 23.0, 10.0]]))
    torch.testing.assert_close(targets[0]["body"]["pose2d"], torch.tensor([[[23.0, 10.0]] * 13]))
    det = {"boxes": torch.tensor([[0.0, 0.0, 23.0, 10.0]]), "body_pose2d": torch.tensor([[[[23.0, 10.0]] * 13]])}
    back = tr.postprocess([det], batch.image_sizes, [(3, 7)])[0]
    torch.testing.assert_close(back["boxes"], torch.tensor([[0.0, 0.0, 7.0, 3.0]]))
    torch.testing.assert_close(back["body_pose2d"], torch.tensor([[[[7.0, 3.0]] * 13]]))


def test_transform_normalises_with_the_imagenet_statistics_and_pads_to_the_multiple() -> None:
    """A pixel equal to mean + std becomes 1 in every channel; a size already a multiple of 32 gets no padding."""
    tr = DopeTransform(min_size=64, max_size=1000).eval()
    mean, std = torch.tensor(tr.image_mean), torch.tensor(tr.image_std)
    image = (mean + std)[:, None, None].expand(3, 64, 64).clone()
    batch, _ = tr([image])
    assert batch.tensors.shape == (1, 3, 64, 64)
    torch.testing.assert_close(batch.tensors, torch.ones(1, 3, 64, 64))
    batch, _ = tr([mean[:, None, None].expand(3, 64, 96).clone()])
    assert batch.tensors.shape == (1, 3, 64, 96)
    torch.testing.assert_close(batch.tensors, torch.zeros(1, 3, 64, 96))
    padded, _ = tr([torch.rand(3, 64, 70)])      # 70 columns -> padded to 96, zeros beyond the image
    assert padded.tensors.shape == (1, 3, 64, 96) and padded.tensors[..., 70:].abs().max() == 0
