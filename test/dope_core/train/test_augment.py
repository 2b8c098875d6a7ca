"""Augmentations: a flip mirrors x and swaps left/right body joints and face landmarks; zoom keeps targets on the content."""

from __future__ import annotations

import numpy as np

from dope_core.keypoints import BODY_JOINTS, FACE_LANDMARKS, HAND_JOINTS, Part
from dope_core.train.augment import hflip, rescale, visible_boxes, zoom


def _targets(rng: np.random.Generator) -> dict:
    out = {}
    for part in Part:
        j = part.num_keypoints
        pose2d = rng.uniform(10, 50, (2, j, 2)).astype(np.float32)
        out[part] = {"boxes": np.concatenate([pose2d.min(1), pose2d.max(1)], 1), "pose2d": pose2d,
                     "pose3d": rng.normal(0, 0.2, (2, j, 3)).astype(np.float32),
                     "scores": np.array([0.9, 0.4], np.float32)}
    return out


def test_hflip_mirrors_and_swaps_left_and_right():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (40, 64, 3), dtype=np.uint8)
    t = _targets(rng)
    flipped, ft = hflip(image, t)
    np.testing.assert_array_equal(flipped[:, 0], image[:, -1])
    body, fbody = t[Part.BODY], ft[Part.BODY]
    r, l = BODY_JOINTS.index("right_wrist"), BODY_JOINTS.index("left_wrist")
    # the new right wrist is the old left wrist, mirrored: x -> W - x in 2D, x -> -x in 3D
    np.testing.assert_allclose(fbody["pose2d"][:, r, 0], 64 - body["pose2d"][:, l, 0])
    np.testing.assert_allclose(fbody["pose2d"][:, r, 1], body["pose2d"][:, l, 1])
    np.testing.assert_allclose(fbody["pose3d"][:, r], body["pose3d"][:, l] * [-1, 1, 1])
    head = BODY_JOINTS.index("head_top")
    np.testing.assert_allclose(fbody["pose2d"][:, head, 0], 64 - body["pose2d"][:, head, 0])
    # boxes: x1' = W - x2
    np.testing.assert_allclose(fbody["boxes"][:, [0, 2]], 64 - body["boxes"][:, [2, 0]])
    # face: the right eye's outer corner becomes the left eye's
    face, fface = t[Part.FACE], ft[Part.FACE]
    np.testing.assert_allclose(fface["pose2d"][:, FACE_LANDMARKS.index("right_eye_0"), 0],
                               64 - face["pose2d"][:, FACE_LANDMARKS.index("left_eye_3"), 0])
    # hand joints keep their names (a flipped right hand is a left hand, same joint order)
    hand, fhand = t[Part.HAND], ft[Part.HAND]
    i = HAND_JOINTS.index("thumb_tip")
    np.testing.assert_allclose(fhand["pose2d"][:, i, 0], 64 - hand["pose2d"][:, i, 0])
    np.testing.assert_allclose(fhand["scores"], hand["scores"])
    # twice is the identity
    back, bt = hflip(flipped, ft)
    np.testing.assert_array_equal(back, image)
    for part in Part:
        for key in ("boxes", "pose2d", "pose3d"):
            np.testing.assert_allclose(bt[part][key], t[part][key], atol=1e-5)


def test_rescale_scales_2d_only_and_zoom_keeps_the_canvas():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (40, 64, 3), dtype=np.uint8)
    t = _targets(rng)
    small, st = rescale(image, t, 0.5)
    assert small.shape == (20, 32, 3)
    np.testing.assert_allclose(st[Part.BODY]["pose2d"], t[Part.BODY]["pose2d"] * 0.5, rtol=1e-6)
    np.testing.assert_array_equal(st[Part.BODY]["pose3d"], t[Part.BODY]["pose3d"])
    out, zt = zoom(image, t, 0.5, np.random.default_rng(2))
    assert out.shape == image.shape
    # content scaled by 0.5 and shifted: each target keeps its relative layout
    d = zt[Part.BODY]["pose2d"] - zt[Part.BODY]["pose2d"][:, :1]
    np.testing.assert_allclose(d, (t[Part.BODY]["pose2d"] - t[Part.BODY]["pose2d"][:, :1]) * 0.5, atol=1e-4)
    big, bt = zoom(image, t, 3.0, np.random.default_rng(3))     # zoom in: instances mostly outside are dropped
    for part in Part:
        boxes = bt[part]["boxes"]
        assert len(boxes) <= 2 and len(bt[part]["pose2d"]) == len(bt[part]["scores"]) == len(boxes)


def _one_body(box: list[float]) -> dict:
    j = Part.BODY.num_keypoints
    x1, y1, x2, y2 = box
    pose2d = np.stack([np.linspace(x1, x2, j), np.linspace(y1, y2, j)], axis=1)[None].astype(np.float32)
    return {Part.BODY: {"boxes": np.array([box], np.float32), "pose2d": pose2d,
                        "pose3d": np.zeros((1, j, 3), np.float32), "scores": np.array([0.8], np.float32)}}


def test_zoom_keeps_a_person_cut_by_the_frame_by_its_visible_part():
    # a close-up: the face is in the image, the rest of the body (its box) far below it
    image = np.zeros((100, 100, 3), np.uint8)
    t = _one_body([20.0, 10.0, 80.0, 400.0])     # 90 of 390 rows inside: 23 % of the box
    for seed in range(5):
        _, zt = zoom(image, t, 0.9, np.random.default_rng(seed))   # zoom out: everything stays visible
        assert len(zt[Part.BODY]["boxes"]) == 1
    # zoom in 3x on a person whose visible part is a 10x10 square: kept only when half of it stays
    kept = []
    for seed in range(12):
        _, zt = zoom(image, _one_body([45.0, 45.0, 55.0, 55.0]), 3.0, np.random.default_rng(seed))
        ox, oy = np.random.default_rng(seed).integers(-200, 1, 2)     # the offset zoom draws
        inside = [max(0, min(165, 100 - o) - max(135, -o)) for o in (ox, oy)]   # scaled box 135..165
        assert len(zt[Part.BODY]["boxes"]) == int(inside[0] * inside[1] >= 0.5 * 30 * 30)
        kept.append(len(zt[Part.BODY]["boxes"]))
    assert 0 < sum(kept) < len(kept)


def test_visible_boxes_clips_boxes_and_keeps_the_outside_joints():
    t = _one_body([20.0, 10.0, 80.0, 400.0])
    out = visible_boxes(t, 100, 100)
    np.testing.assert_allclose(out[Part.BODY]["boxes"], [[20.0, 10.0, 80.0, 100.0]])
    np.testing.assert_array_equal(out[Part.BODY]["pose2d"], t[Part.BODY]["pose2d"])   # joints below the image stay
    assert out[Part.BODY]["pose2d"][0, :, 1].max() == 400.0
    # a box that leaves only a sliver (under 2 px) in the image is dropped with its pose and score
    sliver = visible_boxes(_one_body([99.0, 10.0, 300.0, 50.0]), 100, 100)
    assert len(sliver[Part.BODY]["boxes"]) == len(sliver[Part.BODY]["pose2d"]) == len(sliver[Part.BODY]["scores"]) == 0


def test_zoom_drops_an_instance_with_no_visible_part() -> None:
    """A box wholly outside the image has no visible area: zoom drops it (nothing of it can be matched)."""
    image = np.zeros((100, 100, 3), np.uint8)
    for seed in range(3):
        _, zt = zoom(image, _one_body([150.0, 10.0, 200.0, 60.0]), 0.8, np.random.default_rng(seed))
        assert len(zt[Part.BODY]["boxes"]) == len(zt[Part.BODY]["pose2d"]) == len(zt[Part.BODY]["scores"]) == 0


def test_rescale_uses_area_interpolation_to_shrink_and_linear_to_grow() -> None:
    """Shrinking resizes as cv2's INTER_AREA, growing as INTER_LINEAR (the documented choice)."""
    import cv2
    rng = np.random.default_rng(4)
    image = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    small, _ = rescale(image, {}, 0.3)           # 16 x 12 -> round(4.8) x round(3.6) = 5 x 4
    np.testing.assert_array_equal(small, cv2.resize(image, (5, 4), interpolation=cv2.INTER_AREA))
    assert not np.array_equal(small, cv2.resize(image, (5, 4), interpolation=cv2.INTER_LINEAR))
    big, _ = rescale(image, {}, 1.5)
    np.testing.assert_array_equal(big, cv2.resize(image, (24, 18), interpolation=cv2.INTER_LINEAR))


def test_visible_boxes_clip_y_to_the_height_and_drop_boxes_too_low() -> None:
    """In a wide image, y is clipped to the height (not the width); a box under ``min_side`` high is dropped."""
    out = visible_boxes(_one_body([10.0, 10.0, 60.0, 150.0]), 200, 100)
    np.testing.assert_allclose(out[Part.BODY]["boxes"], [[10.0, 10.0, 60.0, 100.0]])
    low = visible_boxes(_one_body([10.0, 98.5, 60.0, 300.0]), 200, 100)     # 1.5 px of it inside
    assert len(low[Part.BODY]["boxes"]) == len(low[Part.BODY]["pose2d"]) == len(low[Part.BODY]["scores"]) == 0


def test_zoom_by_one_is_the_identity_and_zoom_out_uses_every_offset() -> None:
    """Factor 1 leaves image and targets as they are; zooming out places the content at any offset, the last included."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)
    t = _one_body([5.0, 4.0, 15.0, 16.0])
    out, zt = zoom(image, t, 1.0, np.random.default_rng(0))
    np.testing.assert_array_equal(out, image)
    np.testing.assert_allclose(zt[Part.BODY]["boxes"], t[Part.BODY]["boxes"])
    shifts = set()
    for seed in range(40):                                  # 30 x 20 -> 27 x 18: x offsets 0..3, y offsets 0..2
        _, zt = zoom(image, t, 0.9, np.random.default_rng(seed))
        shifts.add(tuple(np.round(zt[Part.BODY]["boxes"][0, :2] - t[Part.BODY]["boxes"][0, :2] * 0.9, 3)))
    assert {x for x, _ in shifts} == {0, 1, 2, 3} and {y for _, y in shifts} == {0, 1, 2}
