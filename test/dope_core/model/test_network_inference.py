"""NetworkEstimator end to end with random-weight checkpoints of both variants."""

import warnings

import cv2
import numpy as np
import pytest
import torch

from dope_core.checkpoint import CheckpointError, save_checkpoint
from dope_core.estimator import build_estimator
from dope_core.model import build_dope_mobilenetv2, build_dope_resnet50
from dope_core.model import inference
from dope_core.model.inference import NetworkEstimator, resolve_device
from dope_core.postprocess.pipeline import PostprocessConfig
from dope_core.structures import WholeBodyPoses

from random_anchors import random_anchor_poses

SMALL = {"min_size": 256, "max_size": 384, "rpn_post_nms_top_n_test": 150}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Random-weight project checkpoints of both variants (small input size)."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("ckpt")
    post = PostprocessConfig(min_score=0.0)  # random weights: keep everything above the PPI thresholds
    out = {}
    for arch, build in (("mobilenetv2", build_dope_mobilenetv2), ("resnet50", build_dope_resnet50)):
        kwargs = dict(SMALL, anchor_poses=random_anchor_poses(1))
        if arch == "mobilenetv2":
            kwargs["pretrained_backbone"] = False
        path = folder / f"{arch}.pth"
        save_checkpoint(path, build(**kwargs), arch=arch, model_kwargs=SMALL, postprocess=post)
        out[arch] = path
    return out


def _check(result: WholeBodyPoses, width: int, height: int) -> None:
    assert isinstance(result, WholeBodyPoses)
    assert result.backend == "network" and result.image_size == (width, height)
    assert sum(result.counts()[k] for k in ("bodies", "hands", "faces")) > 0
    for pose in result.parts():
        assert np.isfinite(pose.keypoints_2d).all() and np.isfinite(pose.keypoints_3d).all()
        assert 0.0 <= pose.score <= 1.0
    WholeBodyPoses.from_json(result.to_json())


@pytest.mark.parametrize("arch", ["mobilenetv2", "resnet50"])
def test_synthetic_image_end_to_end(checkpoints, arch):
    est = build_estimator("network", checkpoint=checkpoints[arch], device="cpu")
    assert est.name == "network" and est.device == "cpu" and est.arch == arch
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (180, 240, 3), dtype=np.uint8)
    _check(est(image), 240, 180)
    batch = est.batch([image, image[:120]])
    assert [r.image_size for r in batch] == [(240, 180), (240, 120)]


@pytest.mark.parametrize("arch", ["mobilenetv2", "resnet50"])
def test_real_image_end_to_end(checkpoints, arch, shared_data):
    path = shared_data / "images" / "dope" / "015994080.jpg"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    est = NetworkEstimator(checkpoint=checkpoints[arch], parts=("body", "hand"), device="cpu")
    result = est(image)
    _check(result, image.shape[1], image.shape[0])
    assert result.counts()["faces"] == 0


def test_bad_images_are_refused_clearly(checkpoints):
    est = NetworkEstimator(checkpoint=checkpoints["mobilenetv2"], device="cpu")
    with pytest.raises(ValueError, match="RGB uint8"):
        est(np.zeros((10, 10), dtype=np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        est(np.zeros((10, 10, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="too small"):
        est(np.zeros((1, 10, 3), dtype=np.uint8))
    assert est.batch([]) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the CPU fallback of a machine without CUDA")
def test_cuda_absent_falls_back_to_cpu_with_a_warning(checkpoints):
    with pytest.warns(RuntimeWarning, match="CUDA is not available"):
        assert resolve_device("cuda:0") == torch.device("cpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = NetworkEstimator(checkpoint=checkpoints["mobilenetv2"], device="cuda", half=True)
    assert est.device == "cpu" and not est.half
    assert any("fp16" in str(w.message) for w in caught)
    assert resolve_device("auto") == torch.device("cpu")


def test_missing_default_checkpoint_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(inference, "DEFAULT_CHECKPOINT", tmp_path / "absent.pth")
    with pytest.raises(CheckpointError, match="--checkpoint"):
        NetworkEstimator(checkpoint=None)


def test_the_post_processing_can_be_chosen(checkpoints):
    image = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    ppi = build_estimator("network", checkpoint=checkpoints["mobilenetv2"], device="cpu")
    nms = build_estimator("network", checkpoint=checkpoints["mobilenetv2"], device="cpu", postprocess="nms")
    assert ppi.postprocess.method == "ppi" and nms.postprocess.method == "nms"
    assert nms.postprocess.min_score == ppi.postprocess.min_score       # only the method changes
    ppi(image), nms(image)
    with pytest.raises(ValueError, match="ppi, nms"):
        build_estimator("network", checkpoint=checkpoints["mobilenetv2"], device="cpu", postprocess="mean")


def test_extreme_aspect_ratios_run_and_large_images_shrink_before_float():
    """A 2x8000 image once failed in the resize, and as a first image it fixed a wrong RoI scale for good;
    a large image's boxes come back in its own pixels."""
    from matplotlib import cbook

    image = cv2.cvtColor(cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.COLOR_BGR2RGB)
    fresh = build_estimator("network")(image)
    est = build_estimator("network")
    for shape in [(2, 8000, 3), (8000, 2, 3), (40, 33000, 3)]:
        assert isinstance(est(np.full(shape, 128, np.uint8)), WholeBodyPoses)
    assert est(image).to_json() == fresh.to_json()
    small, ratio = est._shrink(np.ascontiguousarray(np.tile(image, (2, 2, 1))))
    assert small.dtype == np.uint8 and min(small.shape[:2]) == est.model.transform.min_size
    assert ratio == pytest.approx((1024 / small.shape[1], 1200 / small.shape[0]))
    base = est(image).people[0].body.box
    big = est(cv2.resize(image, None, fx=3, fy=3)).people[0].body.box
    np.testing.assert_allclose(big, 3 * base, rtol=0.05, atol=6)


@pytest.mark.parametrize("arch", ["mobilenetv2", "resnet50"])
def test_folded_channels_last_model_gives_the_loaded_networks_outputs(checkpoints, arch):
    """The estimator's speed-ups (norms folded, channels-last on the CPU) leave the outputs as they were."""
    from torchvision.ops.misc import FrozenBatchNorm2d

    from dope_core.checkpoint import load_checkpoint

    est = NetworkEstimator(checkpoint=checkpoints[arch], device="cpu")
    assert not any(isinstance(m, FrozenBatchNorm2d) for m in est.model.modules())
    conv = next(m for m in est.model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    plain = load_checkpoint(checkpoints[arch]).model
    assert any(isinstance(m, FrozenBatchNorm2d) for m in plain.modules())
    image = torch.rand(3, 200, 260)
    with torch.no_grad():
        got, ref = est.model([image])[0], plain([image])[0]
    torch.testing.assert_close(got["boxes"], ref["boxes"], atol=1e-2, rtol=1e-4)
    for key in ref:
        torch.testing.assert_close(got[key], ref[key], atol=1e-3 * max(1.0, float(ref[key].abs().max())), rtol=1e-4)


class _StubModel:
    """A network stand-in: a transform's sizes and fixed detections in the pixels of the image it gets."""

    def __init__(self, min_size: int, max_size: int) -> None:
        self.transform = type("T", (), {"min_size": min_size, "max_size": max_size})()
        self.seen: list[torch.Tensor] = []

    def __call__(self, tensors: list) -> list:
        self.seen.extend(tensors)
        w, h = tensors[0].shape[-1], tensors[0].shape[-2]
        return [{"boxes": torch.tensor([[0.0, 0.0, float(w), float(h)]]),
                 "body_pose2d": torch.tensor([[[[float(w), float(h)]]]])}]


def _stub_estimator(min_size: int, max_size: int) -> NetworkEstimator:
    est = NetworkEstimator.__new__(NetworkEstimator)
    est.model, est.half, est._torch_device = _StubModel(min_size, max_size), False, torch.device("cpu")
    est.parts, est.num_anchor_poses, est.postprocess = (), {}, PostprocessConfig()
    return est


def test_shrunk_outputs_scale_back_by_the_x_and_y_ratios(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 70x30 image shrunk to 23x10 comes back with x scaled by 70/23 and y by 30/10 (boxes and 2D poses)."""
    est = _stub_estimator(10, 100)
    small, ratio = est._shrink(np.zeros((30, 70, 3), np.uint8))
    assert small.shape == (10, 23, 3) and ratio == pytest.approx((70 / 23, 3.0))
    assert est._shrink(np.zeros((10, 20, 3), np.uint8))[1] is None        # already at the network's size
    monkeypatch.setattr(inference, "detections_to_poses", lambda out, **kwargs: out)
    out = est.batch([np.full((30, 70, 3), 255, np.uint8)])[0]
    torch.testing.assert_close(out["boxes"], torch.tensor([[0.0, 0.0, 70.0, 30.0]]))
    torch.testing.assert_close(out["body_pose2d"], torch.tensor([[[[70.0, 30.0]]]]))
    assert float(est.model.seen[0].max()) == 1.0                           # uint8 255 -> 1.0
