import numpy as np

from dope_core.experts.mapping import (BLAZEPOSE_MIRROR, BLAZEPOSE_TO_BODY13, HEAD_TOP_FACTOR, MESH_INNER, MESH_JAW,
                                       body_confidence_from_blazepose, body_from_blazepose, face_from_mesh,
                                       resample_polyline)
from dope_core.keypoints import BODY_JOINTS, IBUG68_TO_FACE84


def test_body_joints_come_from_the_matching_landmarks():
    pts = np.arange(33 * 2, dtype=float).reshape(33, 2)
    body = body_from_blazepose(pts)
    # BlazePose 16 is the right wrist, 13 the left elbow.
    np.testing.assert_array_equal(body[BODY_JOINTS.index("right_wrist")], pts[16])
    np.testing.assert_array_equal(body[BODY_JOINTS.index("left_elbow")], pts[13])
    assert len(set(BLAZEPOSE_TO_BODY13)) == 12


def test_the_mirror_swaps_left_and_right_landmarks_only():
    mirror = np.array(BLAZEPOSE_MIRROR)
    assert sorted(BLAZEPOSE_MIRROR) == list(range(33))
    np.testing.assert_array_equal(mirror[mirror], np.arange(33))        # twice is nothing
    assert mirror[0] == 0 and mirror[11] == 12 and mirror[2] == 5 and mirror[7] == 8 and mirror[31] == 32
    # The body joints of the mirrored landmarks are the body's joints with left and right swapped.
    pts = np.arange(33 * 2, dtype=float).reshape(33, 2)
    body, mirrored = body_from_blazepose(pts), body_from_blazepose(pts[mirror])
    for i, name in enumerate(BODY_JOINTS[:12]):
        other = name.replace("left", "LEFT").replace("right", "left").replace("LEFT", "right")
        np.testing.assert_array_equal(mirrored[i], body[BODY_JOINTS.index(other)])


def test_head_top_construction_hand_computed():
    pts = np.zeros((33, 3))
    pts[11], pts[12] = (0.2, 0.0, 0.0), (-0.2, 0.0, 0.0)      # shoulders at y=0
    pts[7], pts[8] = (0.08, -0.25, 0.0), (-0.08, -0.25, 0.0)  # ears 25 cm higher (y down)
    pts[0] = (0.0, -0.25, -0.1)                               # nose 10 cm in front
    head = body_from_blazepose(pts)[12]
    # up = (0, -1, 0); head size = max(0.16, 1.5 * 0.1) = 0.16.
    np.testing.assert_allclose(head, (0.0, -0.25 - HEAD_TOP_FACTOR * 0.16, 0.0))


def test_head_confidence_is_the_weaker_ear():
    vis = np.linspace(0, 1, 33)
    conf = body_confidence_from_blazepose(vis)
    assert conf.shape == (13,) and conf[12] == min(vis[7], vis[8])


def test_resample_polyline_equal_arc_length():
    line = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 3.0]])  # length 4
    out = resample_polyline(line, 5)
    np.testing.assert_allclose(out, [[0, 0], [1, 0], [1, 1], [1, 2], [1, 3]])


def test_face_mapping_inner_points_and_contour_ends():
    mesh = np.random.default_rng(0).normal(size=(478, 3))
    face = face_from_mesh(mesh)
    assert face.shape == (84, 3)
    np.testing.assert_array_equal(face[0], mesh[MESH_JAW[0]])
    np.testing.assert_array_equal(face[32], mesh[MESH_JAW[-1]])
    # iBUG 30 (nose tip) is mesh vertex 4; iBUG 48 (right mouth corner) is 61.
    np.testing.assert_array_equal(face[IBUG68_TO_FACE84[30]], mesh[4])
    np.testing.assert_array_equal(face[IBUG68_TO_FACE84[48]], mesh[61])
    assert len(MESH_INNER) == 51 and len(set(MESH_INNER)) == 51


def test_body_joints_from_coco_keypoints() -> None:
    """body_from_coco: COCO's 17 keypoints (right before left: ankles 16/15 ... shoulders 6/5) to the
    13 joints, the head top built from COCO's ears (3, 4), nose (0) and shoulders (5, 6)."""
    from dope_core.experts.mapping import body_from_coco

    pts = np.arange(17 * 2, dtype=float).reshape(17, 2)
    body = body_from_coco(pts)
    for name, coco in (("right_ankle", 16), ("left_ankle", 15), ("right_hip", 12), ("left_wrist", 9),
                       ("right_shoulder", 6), ("left_shoulder", 5)):
        np.testing.assert_array_equal(body[BODY_JOINTS.index(name)], pts[coco])
    pts = np.zeros((17, 2))
    pts[5], pts[6] = (20.0, 0.0), (-20.0, 0.0)                # shoulders at y 0
    pts[3], pts[4] = (8.0, -25.0), (-8.0, -25.0)              # ears 25 px higher (y down)
    pts[0] = (0.0, -25.0)                                     # nose between them (seen from the front)
    # up = (0, -1); head size = max(16, 1.5 * 0) = 16
    np.testing.assert_allclose(body_from_coco(pts)[12], (0.0, -25.0 - HEAD_TOP_FACTOR * 16))


def test_head_top_in_profile_uses_the_nose_distance() -> None:
    """head_top: with the ears together (a profile) the head size is 1.5 times nose to ear middle."""
    pts = np.zeros((33, 2))
    pts[11], pts[12] = (0.0, 0.0), (0.0, 0.0)                # shoulders seen side on
    pts[7] = pts[8] = (0.0, -25.0)                            # both ears at one place
    pts[0] = (10.0, -25.0)                                    # nose 10 px in front: head size 15
    np.testing.assert_allclose(body_from_blazepose(pts)[12], (0.0, -25.0 - HEAD_TOP_FACTOR * 15))
