import numpy as np

from dope_core.experts.ssd import AnchorConfig, Detection, tile_views, weighted_nms


def test_anchor_counts_match_the_models():
    assert len(AnchorConfig(224, (8, 16, 32, 32, 32)).anchors()) == 2254   # BlazePose detector
    assert len(AnchorConfig(192, (8, 16, 16, 16)).anchors()) == 2016       # BlazePalm
    assert len(AnchorConfig(192, (4,), interpolated_scale=False).anchors()) == 2304  # BlazeFace full range
    assert len(AnchorConfig(128, (8, 16, 16, 16)).anchors()) == 896        # BlazeFace short range


def test_anchor_centres_hand_computed():
    a = AnchorConfig(16, (8,), interpolated_scale=False).anchors()
    np.testing.assert_allclose(a, [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]])
    b = AnchorConfig(16, (8, 16, 16)).anchors()
    # 2x2 grid with 2 anchors each, then 1x1 grid with 2 layers x 2 anchors.
    assert len(b) == 8 + 4 and np.allclose(b[8:], 0.5)


def test_weighted_nms_merges_overlaps_by_score():
    d1 = Detection(box=np.array([0, 0, 10, 10.0]), keypoints=np.zeros((1, 2)), score=0.9)
    d2 = Detection(box=np.array([1, 1, 11, 11.0]), keypoints=np.ones((1, 2)) * 3, score=0.3)
    d3 = Detection(box=np.array([50, 50, 60, 60.0]), keypoints=np.zeros((1, 2)), score=0.5)
    out = weighted_nms([d2, d3, d1], iou=0.3)
    assert [round(d.score, 2) for d in out] == [0.9, 0.5]
    np.testing.assert_allclose(out[0].box, [0.25, 0.25, 10.25, 10.25])
    np.testing.assert_allclose(out[0].keypoints, [[0.75, 0.75]])
    assert weighted_nms([], 0.3) == []


def test_tile_views_cover_the_image():
    views = tile_views(1000, 500, tile_fractions=(0.5,))
    assert np.array_equal(views[0], [0, 0, 1000, 500])
    tiles = np.stack(views[1:])
    assert tiles[:, 0].min() == 0 and tiles[:, 2].max() == 1000 and tiles[:, 3].max() == 500
    # 500-px tiles, at most 375 px apart: x starts 0, 250, 500 (evenly spread); y start 0.
    np.testing.assert_allclose(tiles[:, 0], [0, 250, 500])
    assert np.allclose(tiles[:, 2] - tiles[:, 0], 500)
    assert len(tile_views(1000, 500, tile_fractions=(1.0,))) == 1
    assert len(tile_views(1000, 500, tile_fractions=())) == 1
    assert len(tile_views(60, 40)) == 1  # tiles would be too small
    two_levels = tile_views(1000, 500, tile_fractions=(0.5, 0.3))
    assert len(two_levels) > len(views) and np.isclose(two_levels[-1][2] - two_levels[-1][0], 300)
