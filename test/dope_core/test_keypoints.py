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


def test_body_flip_swaps_each_joint_with_its_namesake() -> None:
    """``BODY_FLIP`` maps every ``left_*`` joint to ``right_*`` of the same name and back; head top to itself."""
    from dope_core.keypoints import BODY_JOINTS

    def mirrored(name: str) -> str:
        if name.startswith("left_"):
            return "right_" + name[5:]
        return "left_" + name[6:] if name.startswith("right_") else name

    assert [BODY_JOINTS[BODY_FLIP[i]] for i in range(len(BODY_JOINTS))] == [mirrored(n) for n in BODY_JOINTS]


def test_face_flip_follows_the_ibug68_mirror_pairs() -> None:
    """Mirror pairs of the iBUG-68 (300-W) annotation: brows, eye corners, nose wings, mouth and inner-lip points."""
    pairs = [(0, 16), (8, 8), (17, 26), (21, 22), (31, 35), (33, 33), (36, 45), (39, 42), (37, 44), (41, 46),
             (48, 54), (50, 52), (51, 51), (55, 59), (57, 57), (60, 64), (61, 63), (62, 62), (65, 67), (66, 66)]
    for a, b in pairs:
        assert FACE_FLIP[IBUG68_TO_FACE84[a]] == IBUG68_TO_FACE84[b], (a, b)
        assert FACE_FLIP[IBUG68_TO_FACE84[b]] == IBUG68_TO_FACE84[a], (a, b)
