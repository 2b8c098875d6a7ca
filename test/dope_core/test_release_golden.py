"""Golden test of the release-checkpoint path, against values worked out by hand.

A file in the release's format (the release's dict, fp16 weights, old RPN key names) is
made with the project's builder, with weights chosen so that the network's outputs are
known exactly on any image:

* the RPN scores every anchor alike and stretches every anchor box far beyond the
  image (box-regression bias 10, clamped by the box coder at log(1000/16), a factor
  62.5): clipped, every proposal is the whole image, and NMS leaves exactly one;
* every predictor weight is 0, so each part's class logits and pose regressions are
  their biases: logit 10 for one anchor class, 0 elsewhere (softmax e^10 / (e^10 + K)
  on it, about 4.5e-5 on each other class, under PPI's 0.1/K candidate threshold).

The photo is real (matplotlib's portrait of Grace Hopper, 512 x 600) and runs through
the whole network; the expected poses below follow only from the release's documented
conventions (docs/network.md, "The release's conventions"): decoding
``pose2d = (x1, y1) + (anchor2d + delta2d / 5) * (x2 - x1, y2 - y1)`` and
``pose3d = anchor3d + delta3d / 5``; body 3D with x and y of opposite sign to the
camera axes and an origin away from the mid-hips; hands ordered wrist, five finger
bases, then three joints per finger, image-aligned; faces image-aligned; hand classes
below the hand ``K`` are right hands; an assigned hand's wrist replaces the body's wrist.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from dope_core.estimator import build_estimator
from dope_core.keypoints import BODY_JOINTS, HAND_JOINTS
from dope_core.model import build_dope_resnet50
from dope_core.structures import Handedness

W, H = 512, 600                                    # the portrait's size in pixels
K = {"body": 20, "hand": 10, "face": 10}
J = {"body": 13, "hand": 21, "face": 84}
CLASS = {"body": 3, "hand": 7, "face": 2}          # the one confident anchor class per part
PPI = {"score_th": None, "th_pose3D": 0.3, "th_iou": 0.2, "iou_func": "bbox", "min_mode_score": 0.05,
       "th_persondetect": 0.002}

# Body anchor in the release's conventions (LCR-Net joint order; 3D with y up, the
# person's right side at +x, origin 0.25 m above the mid-hips). name: (u, v, x, y, z)
BODY = {
    "right_ankle": (0.42, 0.95, 0.10, -1.05, 0.0), "left_ankle": (0.58, 0.95, -0.10, -1.05, 0.0),
    "right_knee": (0.42, 0.78, 0.10, -0.70, 0.05), "left_knee": (0.58, 0.78, -0.10, -0.70, 0.05),
    "right_hip": (0.42, 0.60, 0.10, -0.25, 0.0), "left_hip": (0.58, 0.60, -0.10, -0.25, 0.0),
    "right_wrist": (0.30, 0.60, 0.25, -0.30, 0.10), "left_wrist": (0.70, 0.60, -0.25, -0.30, 0.10),
    "right_elbow": (0.30, 0.45, 0.25, -0.05, 0.05), "left_elbow": (0.70, 0.45, -0.25, -0.05, 0.05),
    "right_shoulder": (0.35, 0.30, 0.18, 0.20, 0.0), "left_shoulder": (0.65, 0.30, -0.18, 0.20, 0.0),
    "head_top": (0.50, 0.10, 0.0, 0.45, 0.0),
}
HEAD_DELTA_U, HEAD_DELTA_Z = 0.25, 0.5              # regression of the head joint: +0.05 box widths, +0.1 m


def _hand_anchor() -> np.ndarray:
    """The release's hand order: 0 wrist, 1-5 finger bases (thumb..little), then 3 joints per finger."""
    a = np.zeros((21, 5))
    a[0] = (0.705, 0.60, 0.0, 0.0, 0.0)
    for f in range(5):
        a[1 + f] = (0.68 + 0.01 * f, 0.63, -0.02 + 0.01 * f, 0.03, 0.0)
        for j in range(1, 4):
            a[5 + 3 * f + j] = (0.68 + 0.01 * f, 0.63 + 0.02 * j, -0.02 + 0.01 * f, 0.03 + 0.02 * j, 0.001 * f)
    return a


def _face_anchor() -> np.ndarray:
    t = 2 * np.pi * np.arange(84) / 84
    return np.stack([0.5 + 0.06 * np.cos(t), 0.16 + 0.06 * np.sin(t), 0.05 * np.cos(t), 0.05 * np.sin(t),
                     np.linspace(0.0, 0.01, 84)], axis=1)


@pytest.fixture(scope="module")
def release_file(tmp_path_factory):
    torch.manual_seed(0)
    anchors = {p: torch.rand(K[p], J[p], 5) for p in K}
    anchors["body"][CLASS["body"]] = torch.tensor([BODY[n] for n in BODY_JOINTS])
    anchors["hand"][CLASS["hand"]] = torch.from_numpy(_hand_anchor()).float()
    anchors["face"][CLASS["face"]] = torch.from_numpy(_face_anchor()).float()
    model = build_dope_resnet50(anchor_poses=anchors, min_size=64, max_size=107)
    state = model.state_dict()
    state["rpn.head.cls_logits.weight"].zero_()
    state["rpn.head.cls_logits.bias"].zero_()
    state["rpn.head.bbox_pred.weight"].zero_()
    state["rpn.head.bbox_pred.bias"].copy_(torch.tensor([0.0, 0.0, 10.0, 10.0]).repeat(15))
    for p in K:
        for kind in ("cls_score", "pose_pred"):
            state[f"roi_heads.dope_predictor.{p}_{kind}.weight"].zero_()
            state[f"roi_heads.dope_predictor.{p}_{kind}.bias"].zero_()
        state[f"roi_heads.dope_predictor.{p}_cls_score.bias"][1 + CLASS[p]] = 10.0
    reg = state["roi_heads.dope_predictor.body_pose_pred.bias"].view(K["body"], J["body"] * 5)
    head = BODY_JOINTS.index("head_top")
    reg[CLASS["body"], 2 * head] = HEAD_DELTA_U                    # [delta2d (J x 2) | delta3d (J x 3)]
    reg[CLASS["body"], 2 * J["body"] + 3 * head + 2] = HEAD_DELTA_Z
    state = {k.replace("rpn.head.conv.0.0.", "rpn.head.conv."): v.half() for k, v in state.items()}
    ckpt = {"dope_kwargs": {"num_anchor_poses": K, "min_size": 64, "max_size": 107,
                            "rpn_post_nms_top_n_test": 50},
            "half": True, "state_dict": state, "body_ppi_kwargs": dict(PPI, K=10),
            "hand_ppi_kwargs": dict(PPI, K=5, th_pose3D=0.05), "face_ppi_kwargs": dict(PPI, K=5, th_pose3D=0.05)}
    path = tmp_path_factory.mktemp("golden") / "DOPErealtime_v1_0_0.pth.tgz"
    torch.save(ckpt, path)
    return path


@pytest.fixture(scope="module")
def portrait():
    from matplotlib import cbook

    from dope_core.image_io import read_image

    image = read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    assert image.shape == (H, W, 3)
    return image


@pytest.fixture(scope="module")
def estimator(release_file):
    return build_estimator("network", checkpoint=release_file, device="cpu")


def _score(k: int) -> float:
    return math.exp(10) / (math.exp(10) + k)


@pytest.mark.parametrize("method", ["ppi", "nms"])
def test_release_file_gives_hand_derived_poses(estimator, portrait, method, monkeypatch):
    assert estimator.postprocess.method == "ppi"                     # the release's default
    monkeypatch.setattr(estimator, "postprocess", replace(estimator.postprocess, method=method))
    poses = estimator(portrait)
    assert poses.counts() == {"people": 1, "bodies": 1, "hands": 1, "faces": 1}
    person = poses.people[0]
    body, hand, face = person.body, person.left_hand, person.face
    assert person.right_hand is None and hand is not None and face is not None

    # Body. Scores: one confident class of 20 (PPI: the sum over one candidate).
    assert body.score == pytest.approx(_score(20), abs=1e-4)
    kp2d = {n: body.keypoints_2d[i] for i, n in enumerate(BODY_JOINTS)}
    kp3d = {n: body.keypoints_3d[i] for i, n in enumerate(BODY_JOINTS)}
    # 2D: the proposal is the whole image, (0, 0, 512, 600): (u, v) * (512, 600) pixels.
    np.testing.assert_allclose(kp2d["head_top"], [(0.50 + 0.25 / 5) * W, 0.10 * H], atol=0.2)   # 281.6, 60
    np.testing.assert_allclose(kp2d["right_ankle"], [0.42 * W, 0.95 * H], atol=0.2)            # 215.0, 570
    np.testing.assert_allclose(kp2d["right_shoulder"], [0.35 * W, 0.30 * H], atol=0.2)
    # The left wrist is the assigned hand's wrist (0.705 W, not the body's own 0.70 W); the right one is the body's.
    np.testing.assert_allclose(kp2d["left_wrist"], [0.705 * W, 0.60 * H], atol=0.2)            # 360.96, 360
    np.testing.assert_allclose(kp2d["right_wrist"], [0.30 * W, 0.60 * H], atol=0.2)
    # 3D: camera axes = release x and y negated; origin = mid-hips, release (0, -0.25, 0) -> camera (0, 0.25, 0).
    np.testing.assert_allclose(kp3d["head_top"], [0.0, -0.45 - 0.25, 0.0 + 0.5 / 5], atol=2e-3)  # (0, -0.70, 0.1)
    np.testing.assert_allclose(kp3d["right_ankle"], [-0.10, 1.05 - 0.25, 0.0], atol=2e-3)         # (-0.1, 0.80, 0)
    np.testing.assert_allclose(kp3d["left_shoulder"], [0.18, -0.20 - 0.25, 0.0], atol=2e-3)
    np.testing.assert_allclose((kp3d["right_hip"] + kp3d["left_hip"]) / 2, [0, 0, 0], atol=1e-6)
    # Upright, and the person's right side on the image's left in 2D and at -x in 3D.
    assert kp3d["head_top"][1] < kp3d["right_shoulder"][1] < kp3d["right_hip"][1] < kp3d["right_ankle"][1]
    assert kp2d["right_hip"][0] < kp2d["left_hip"][0] and kp3d["right_hip"][0] < kp3d["left_hip"][0]

    # Hand: class 7 >= hand K = 5 -> a left hand, at the body's left wrist.
    assert hand.handedness is Handedness.LEFT
    assert hand.score == pytest.approx(_score(10), abs=1e-4)
    hk2d = {n: hand.keypoints_2d[i] for i, n in enumerate(HAND_JOINTS)}
    hk3d = {n: hand.keypoints_3d[i] for i, n in enumerate(HAND_JOINTS)}
    # Public joint <- release joint: wrist 0; index_mcp 2 (index base); index_pip 9; little_tip 20; thumb_cmc 1.
    np.testing.assert_allclose(hk2d["wrist"], [0.705 * W, 0.60 * H], atol=0.2)
    np.testing.assert_allclose(hk2d["index_mcp"], [0.69 * W, 0.63 * H], atol=0.2)
    np.testing.assert_allclose(hk2d["index_pip"], [0.69 * W, 0.65 * H], atol=0.2)
    np.testing.assert_allclose(hk2d["little_tip"], [0.72 * W, 0.69 * H], atol=0.2)
    np.testing.assert_allclose(hk3d["thumb_cmc"], [-0.02, 0.03, 0.0], atol=1e-3)
    np.testing.assert_allclose(hk3d["little_tip"], [0.02, 0.09, 0.004], atol=1e-3)   # image-aligned: y down, kept
    np.testing.assert_allclose(hk3d["ring_dip"], [0.01, 0.07, 0.003], atol=1e-3)

    # Face: image-aligned, landmark order kept; landmark i at angle 2 pi i / 84.
    assert face.score == pytest.approx(_score(10), abs=1e-4)
    np.testing.assert_allclose(face.keypoints_2d[0], [0.56 * W, 0.16 * H], atol=0.2)
    np.testing.assert_allclose(face.keypoints_2d[21], [0.50 * W, 0.22 * H], atol=0.2)    # a quarter turn: below
    np.testing.assert_allclose(face.keypoints_3d[21], [0.0, 0.05, 0.0025], atol=1e-3)


def test_an_unassigned_hand_keeps_the_handedness_of_its_class(estimator, portrait, monkeypatch):
    monkeypatch.setattr(estimator, "parts", ("hand",))
    poses = estimator(portrait)
    assert [h.handedness for h in poses.unassigned] == [Handedness.LEFT]
