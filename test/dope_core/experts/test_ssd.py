import numpy as np

from dope_core.experts.ssd import AnchorConfig, Detection, letterbox, tile_views, weighted_nms, zoomed_out_view


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


def test_weighted_nms_keeps_empty_boxes_and_zero_scores():
    # A detector run at min_score 0 regresses empty boxes (IoU 0 even with themselves) and
    # sigmoid scores that underflow to 0: each still comes out once, none is lost or merged twice.
    empty = Detection(box=np.array([5, 5, 5, 9.0]), keypoints=np.full((1, 2), 5.0), score=0.0)
    zero = Detection(box=np.array([0, 0, 10, 10.0]), keypoints=np.zeros((1, 2)), score=0.0)
    zero2 = Detection(box=np.array([0, 0, 10, 12.0]), keypoints=np.full((1, 2), 2.0), score=0.0)
    out = weighted_nms([empty, zero, zero2], iou=0.3)
    assert len(out) == 2 and all(np.isfinite(d.box).all() and np.isfinite(d.keypoints).all() for d in out)
    merged = [d for d in out if d.box[3] > 9][0]
    np.testing.assert_allclose(merged.box, [0, 0, 10, 11])
    np.testing.assert_allclose(merged.keypoints, [[1, 1]])


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


def test_zoomed_out_view_shrinks_the_image_inside_a_centred_square():
    view = zoomed_out_view(200, 100, 1.5)
    np.testing.assert_allclose(view, [-50, -100, 250, 200])   # a 300-px square centred on (100, 50)
    image = np.full((100, 200, 3), 255, np.uint8)
    tensor, (ox, oy, side) = letterbox(image, view, 192)
    assert (ox, oy, side) == (-50, -100, 300)
    # the image fills the middle 2/3 of the input's width and 1/3 of its height, black around it
    rows, cols = np.nonzero(tensor[..., 0] > 128)
    assert abs(cols.min() - 32) <= 1 and abs(cols.max() - 159) <= 1
    assert abs(rows.min() - 64) <= 1 and abs(rows.max() - 127) <= 1
