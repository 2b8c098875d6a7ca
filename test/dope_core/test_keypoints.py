from dope_core.keypoints import (BODY_FLIP, FACE_EDGES, FACE_FLIP, FACE_LANDMARKS, HAND_EDGES, HAND_JOINTS,
                                 IBUG68_TO_FACE84, KEYPOINT_NAMES, SKELETON_EDGES, Part)


def test_sizes_are_the_release_sets():
    assert [Part(p).num_keypoints for p in ("body", "hand", "face")] == [13, 21, 84]


def test_edges_are_valid_and_connect_every_keypoint():
    for part, edges in SKELETON_EDGES.items():
        n = len(KEYPOINT_NAMES[part])
        assert all(0 <= a < n and 0 <= b < n and a != b for a, b in edges)
        assert {i for e in edges for i in e} == set(range(n)), part


def test_hand_order_wrist_then_fingers_palm_outwards():
    assert HAND_JOINTS[0] == "wrist"
    assert HAND_JOINTS[1:5] == ("thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip")
    assert HAND_JOINTS[17:21] == ("little_mcp", "little_pip", "little_dip", "little_tip")
    assert len(HAND_EDGES) == 20


def test_ibug_mapping_uses_every_other_contour_point_then_inner_points():
    assert IBUG68_TO_FACE84[:17] == tuple(range(0, 33, 2))
    assert IBUG68_TO_FACE84[17] == 33 and IBUG68_TO_FACE84[67] == 83
    assert FACE_LANDMARKS[IBUG68_TO_FACE84[36]] == "right_eye_0"


def test_flips_are_involutions_swapping_sides():
    for flip in (BODY_FLIP, FACE_FLIP):
        assert sorted(flip) == list(range(len(flip)))
        assert all(flip[flip[i]] == i for i in range(len(flip)))
    assert BODY_FLIP[0] == 1 and BODY_FLIP[12] == 12
    # Right outer eye corner (iBUG 36) <-> left outer eye corner (iBUG 45).
    assert FACE_FLIP[IBUG68_TO_FACE84[36]] == IBUG68_TO_FACE84[45]
    # The chin (contour middle) maps to itself.
    assert FACE_FLIP[16] == 16
    assert len(FACE_EDGES) > 70
