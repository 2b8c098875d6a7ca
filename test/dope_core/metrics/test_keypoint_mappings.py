"""Keypoint mappings: hand-checked entries and consistency with real annotations."""

from __future__ import annotations

import numpy as np
import pytest

from dope_core.keypoints import BODY_JOINTS, FACE_LANDMARKS, HAND_JOINTS, IBUG68_TO_FACE84, Part
from dope_core.metrics.mappings import (
    COCO17_TO_BODY13,
    FACE84_OUTER_EYE_CORNERS,
    H36M17_TO_BODY13,
    IBUG68_TO_FACE84_MAPPING,
    MPI_INF_3DHP17_TO_BODY13,
    MPII16_TO_BODY13,
    RHD21_TO_HAND21,
    WFLW98_TO_FACE84,
    WFLW98_TO_IBUG68,
    KeypointMapping,
)


def test_coco_body_has_no_head_top_and_swaps_sides_to_right_first():
    pairs = dict(COCO17_TO_BODY13.pairs())
    assert pairs["head_top"] == -1
    assert pairs["right_ankle"] == 16 and pairs["left_ankle"] == 15
    assert pairs["right_shoulder"] == 6 and pairs["left_wrist"] == 9
    assert COCO17_TO_BODY13.valid.sum() == 12


@pytest.mark.parametrize("mapping, head_top, right_hip, left_wrist", [
    (H36M17_TO_BODY13, 10, 1, 13),
    (MPI_INF_3DHP17_TO_BODY13, 0, 8, 7),
    (MPII16_TO_BODY13, 9, 2, 15),
])
def test_body_mappings_hand_checked(mapping, head_top, right_hip, left_wrist):
    pairs = dict(mapping.pairs())
    assert (pairs["head_top"], pairs["right_hip"], pairs["left_wrist"]) == (head_top, right_hip, left_wrist)
    assert mapping.valid.all()


def test_rhd_fingers_reversed():
    # DOPE: wrist, thumb cmc..tip, index mcp..tip ...; RHD: wrist, thumb tip..base, ...
    assert RHD21_TO_HAND21.source_index[:9] == (0, 4, 3, 2, 1, 8, 7, 6, 5)
    assert RHD21_TO_HAND21.source_index[HAND_JOINTS.index("little_tip")] == 17
    assert sorted(RHD21_TO_HAND21.source_index) == list(range(21))


def test_ibug68_fills_even_contour_and_inner_points():
    m = IBUG68_TO_FACE84_MAPPING
    assert m.source_index[0] == 0 and m.source_index[1] == -1 and m.source_index[2] == 1
    assert m.source_index[32] == 16
    assert m.source_index[33] == 17  # first brow point
    assert m.valid.sum() == 68
    assert all(m.source_index[j] == i for i, j in enumerate(IBUG68_TO_FACE84))


def test_wflw_to_ibug68_eyes_and_contour():
    assert len(WFLW98_TO_IBUG68) == 68 and len(set(WFLW98_TO_IBUG68)) == 68
    assert WFLW98_TO_IBUG68[16] == 32            # last jaw point = last contour point
    assert WFLW98_TO_IBUG68[36] == 60 and WFLW98_TO_IBUG68[39] == 64  # right eye corners
    assert WFLW98_TO_IBUG68[45] == 72            # left outer eye corner
    assert WFLW98_TO_FACE84.source_index[:33] == tuple(range(33))
    assert WFLW98_TO_FACE84.valid.all()
    assert WFLW98_TO_FACE84.source_index[FACE84_OUTER_EYE_CORNERS[0]] == 60
    assert WFLW98_TO_FACE84.source_index[FACE84_OUTER_EYE_CORNERS[1]] == 72


def test_outer_eye_corners_are_named_eye_points():
    a, b = FACE84_OUTER_EYE_CORNERS
    assert FACE_LANDMARKS[a] == "right_eye_0" and FACE_LANDMARKS[b] == "left_eye_3"


def test_apply_reorders_and_masks():
    src = np.arange(17 * 2, dtype=float).reshape(17, 2)
    vis = np.ones(17, bool)
    vis[16] = False  # right ankle not annotated
    out, valid = COCO17_TO_BODY13.apply(src, vis)
    assert out.shape == (13, 2)
    np.testing.assert_array_equal(out[BODY_JOINTS.index("left_ankle")], src[15])
    assert np.isnan(out[BODY_JOINTS.index("head_top")]).all()
    assert not valid[BODY_JOINTS.index("head_top")] and not valid[BODY_JOINTS.index("right_ankle")]
    assert valid.sum() == 11


def test_apply_rejects_wrong_count():
    with pytest.raises(ValueError, match="expected 17"):
        COCO17_TO_BODY13.apply(np.zeros((16, 2)))


def test_mapping_validation():
    with pytest.raises(ValueError, match="has 13"):
        KeypointMapping("bad", Part.BODY, 17, (0,) * 12)
    with pytest.raises(ValueError, match="twice"):
        KeypointMapping("bad", Part.BODY, 17, (0,) * 13)


def _load_npz(path):
    with np.load(path, allow_pickle=False) as d:
        return d["S"][..., :3]


@pytest.mark.parametrize("rel, mapping", [
    ("annotated/mmpose/h36m/test_h36m_body3d.npz", H36M17_TO_BODY13),
    ("annotated/mmpose/mpi_inf_3dhp/test_3dhp_test.npz", MPI_INF_3DHP17_TO_BODY13),
    ("annotated/mmpose/mpi_inf_3dhp/test_3dhp_train.npz", MPI_INF_3DHP17_TO_BODY13),
])
def test_body_sides_on_real_3d(shared_data, rel, mapping):
    """The mapped right hip is nearer the right shoulder than the left one (same side),
    and the head top lies beyond the shoulders."""
    j = {n: i for i, n in enumerate(BODY_JOINTS)}
    for s in _load_npz(shared_data / rel):
        b, _ = mapping.apply(s)
        assert np.linalg.norm(b[j["right_hip"]] - b[j["right_shoulder"]]) < np.linalg.norm(b[j["right_hip"]] - b[j["left_shoulder"]])
        assert np.linalg.norm(b[j["left_hip"]] - b[j["left_shoulder"]]) < np.linalg.norm(b[j["left_hip"]] - b[j["right_shoulder"]])
        # Left-to-right vectors of shoulders and hips agree; the head top is farther from
        # the pelvis than the shoulders (not "higher": one MPI-INF-3DHP camera looks down).
        right_sh = b[j["right_shoulder"]] - b[j["left_shoulder"]]
        right_hip = b[j["right_hip"]] - b[j["left_hip"]]
        assert np.dot(right_sh, right_hip) > 0
        pelvis = (b[j["right_hip"]] + b[j["left_hip"]]) / 2
        dist = np.linalg.norm(b - pelvis, axis=1)
        assert dist[j["head_top"]] > max(dist[j["right_shoulder"]], dist[j["left_shoulder"]])


def test_rhd_reordered_fingers_run_palm_to_tip_on_real_3d(shared_data):
    import json
    d = json.loads((shared_data / "annotated/mmpose/rhd/test_rhd.json").read_text())
    for ann in d["annotations"]:
        hand, _ = RHD21_TO_HAND21.apply(np.asarray(ann["joint_cam"]))
        for f in range(5):
            base, second, third, tip = (hand[1 + 4 * f + k] for k in range(4))
            # Bone lengths do not depend on the pose: the proximal bone is longer than the distal one.
            assert np.linalg.norm(second - base) > np.linalg.norm(tip - third), f"finger {f} runs tip to palm"


def test_wflw_to_ibug68_brows_take_the_upper_edges_and_eyes_drop_the_mid_lid_points() -> None:
    """WFLW-98 layout: brows 33-37 / 42-46 upper edges (38-41, 47-50 lower); each eye 8 points from the outer
    corner (outer, 3 upper, inner, 3 lower), thinned to iBUG's 6 by dropping each lid's middle point."""
    assert WFLW98_TO_IBUG68[17:27] == tuple(range(33, 38)) + tuple(range(42, 47))
    for ibug_start, wflw_start in ((36, 60), (42, 68)):
        eye = [wflw_start + k for k in range(8) if k not in (2, 6)]   # drop the middle upper (2) and lower (6)
        assert WFLW98_TO_IBUG68[ibug_start:ibug_start + 6] == tuple(eye)
    assert WFLW98_TO_IBUG68[48:68] == tuple(range(76, 96))          # mouth: the same 20 points
