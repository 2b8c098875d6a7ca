"""Augmentations: a flip mirrors x and swaps left/right body joints and face landmarks; zoom keeps targets on the content."""

from __future__ import annotations

import numpy as np

from dope_core.keypoints import BODY_JOINTS, FACE_LANDMARKS, HAND_JOINTS, Part
from dope_core.train.augment import hflip, rescale, zoom


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
