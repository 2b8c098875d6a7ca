"""Person proposals: regions of interest, merging across sources, the candidate cap."""

import logging
import math

import numpy as np
import pytest

from dope_core.experts.body_landmarks import BodyLandmarks
from dope_core.experts.body_rules import inside, needs_recrop, same_region
from dope_core.experts.proposals import Proposal, merge_proposals
from dope_core.experts.roi import RotatedRect


def test_roi_of_alignment_points_and_of_a_box():
    aligned = Proposal(np.array([0, 0, 10, 10.0]), 0.9, "a", np.array([[100.0, 200.0], [100.0, 120.0]]))
    roi = aligned.roi()
    # centred on the hips, side 2 * 80 * 1.25, hips-to-scale-point pointing up: no rotation
    assert (roi.cx, roi.cy) == (100.0, 200.0) and math.isclose(roi.side, 200.0) and abs(roi.rotation) < 1e-9
    boxed = Proposal(np.array([10, 20, 50, 180.0]), 0.9, "b").roi()
    assert (boxed.cx, boxed.cy, boxed.rotation) == (30.0, 100.0, 0.0) and math.isclose(boxed.side, 200.0)
    assert Proposal(np.array([0, 0, 2, 2.0]), 0.9, "b").roi() is None


def test_merge_keeps_one_per_place_preferring_alignment_points():
    box = np.array([0, 0, 100, 200.0])
    plain = Proposal(box, 0.9, "boxes")
    aligned = Proposal(box + 5, 0.6, "blazepose", np.array([[50.0, 100.0], [50.0, 20.0]]))
    other = Proposal(box + 300, 0.5, "boxes")
    merged = merge_proposals([aligned, other, plain])
    assert len(merged) == 2
    assert merged[0].alignment is not None and merged[0].score == 0.9 and merged[1] is other


def test_candidate_cap_is_logged(caplog):
    many = [Proposal(np.array([i * 50, 0, i * 50 + 40, 80.0]), 1 - i / 1000, "s") for i in range(300)]
    with caplog.at_level(logging.INFO, logger="dope_core.experts.proposals"):
        kept = merge_proposals(many, max_candidates=25)
    assert len(kept) == 25 and kept[0].score == 1.0
    assert "300 person proposals, keeping the best 25" in caplog.text


def test_recrop_when_the_model_moves_its_region():
    roi = RotatedRect(100, 100, 200, 0.0)               # = region_from_points((100, 100), (100, 20))

    def body(centre, scale_point):
        points = None if centre is None else np.array([centre, scale_point], dtype=float)
        return BodyLandmarks(pose=None, landmarks_2d=np.zeros((33, 2)), visibility=np.ones(33), roi_points=points,
                             roi=roi)

    assert body((100, 100), (100, 20)).next_roi() == roi
    assert not needs_recrop(body((105, 100), (108, 16)))
    assert needs_recrop(body((140, 100), (140, 20)))     # moved 0.2 sides
    assert needs_recrop(body((100, 100), (100, -20)))    # 1.5x larger
    assert needs_recrop(body((100, 100), (150, 30)))     # turned 35 degrees
    assert not needs_recrop(body(None, None))
    assert same_region(roi, RotatedRect(110, 100, 220)) and not same_region(roi, RotatedRect(100, 100, 400))
    assert inside(roi, np.array([50, 50, 150, 150.0])) and not inside(roi, np.array([101, 0, 200, 200.0]))


def test_finer_tiles_only_on_large_images():
    from dope_core.experts.proposals import BlazePoseDetector

    det = BlazePoseDetector(tile_fractions=(0.5, 0.3), min_tile_side=320)
    small, large = det.whole_image_views(500, 450), det.whole_image_views(1920, 1080)
    legacy = det.detector.whole_image_views(500, 450, (0.5,))
    assert len(small) == len(legacy) > 1               # the 250 px half tiles as before, no 150 px tiles
    assert all(np.array_equal(a, b) for a, b in zip(small, legacy))
    sides = {round(float(v[2] - v[0])) for v in large[1:]}
    assert sides == {960, 576}                        # half tiles and 0.3 tiles (576 px >= 320)
    coarse = det.coarse_views(1920, 1080)              # what the streaming person scan cycles through
    assert 1 < len(coarse) < len(large) and all(np.array_equal(a, b) for a, b in zip(coarse, large))
    assert {round(float(v[2] - v[0])) for v in coarse[1:]} == {960}


def test_a_crowd_is_capped_and_logged(caplog):
    """Twelve portraits in one image: at most max_people landmark passes, and a log line."""
    from matplotlib import cbook

    from dope_core.experts.body import BodyExpert
    from dope_core.image_io import read_image

    image = read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    crowd = np.tile(image[::2, ::2], (3, 4, 1)).copy()          # 12 portraits
    expert = BodyExpert(max_people=3)
    with caplog.at_level(logging.INFO, logger="dope_core.experts.body"):
        bodies = expert.detect(crowd)
    assert 1 <= len(bodies) <= 3
    assert "landmark passes capped at 3" in caplog.text


def test_merge_passes_a_sources_keypoints_to_the_kept_proposal():
    box = np.array([0, 0, 100, 200.0])
    keypoints = np.c_[np.full(13, 50.0), np.linspace(0, 200, 13), np.full(13, 0.9)]
    aligned = Proposal(box, 0.95, "blazepose", np.array([[50.0, 100.0], [50.0, 20.0]]))
    with_points = Proposal(box + 3, 0.7, "yolo", keypoints=keypoints)
    merged = merge_proposals([with_points, aligned])
    assert len(merged) == 1 and merged[0].source == "blazepose" and merged[0].keypoints is keypoints


def test_two_people_a_keypoint_source_told_apart_stay_two():
    box = np.array([0, 0, 100, 200.0])
    keypoints = np.c_[np.full(13, 50.0), np.linspace(0, 200, 13), np.full(13, 0.9)]
    front, behind = Proposal(box, 0.9, "yolo", keypoints=keypoints), Proposal(box + 10, 0.4, "yolo", keypoints=keypoints + 5)
    assert len(merge_proposals([front, behind])) == 2
    assert len(merge_proposals([Proposal(box, 0.9, "a"), Proposal(box + 10, 0.4, "a")])) == 1


def test_merge_drops_only_overlaps_above_iou() -> None:
    """merge_proposals: two boxes overlapping by exactly ``iou`` (not above it) are two places."""
    tall, half = Proposal(np.array([0, 0, 100, 200.0]), 0.9, "a"), Proposal(np.array([0, 0, 100, 100.0]), 0.8, "a")
    assert len(merge_proposals([tall, half], iou=0.5)) == 2              # IoU 10000 / 20000 = 0.5
    assert len(merge_proposals([tall, half], iou=0.49)) == 1


def test_merge_of_two_aligned_proposals_keeps_the_better_ones_points() -> None:
    """merge_proposals: of two proposals both with alignment points at one place, the best-scoring
    one is kept whole (its box, source and points); the other's points do not replace them."""
    box = np.array([0, 0, 100, 200.0])
    best = Proposal(box, 0.9, "blazepose", np.array([[50.0, 100.0], [50.0, 20.0]]))
    other = Proposal(box + 5, 0.6, "tiles", np.array([[55.0, 105.0], [55.0, 25.0]]))
    merged = merge_proposals([other, best])
    assert len(merged) == 1 and merged[0] is best


def test_exactly_max_candidates_are_kept_without_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """merge_proposals: the cap logs only when more than ``max_candidates`` proposals remain."""
    many = [Proposal(np.array([i * 50, 0, i * 50 + 40, 80.0]), 1 - i / 1000, "s") for i in range(25)]
    with caplog.at_level(logging.INFO, logger="dope_core.experts.proposals"):
        kept = merge_proposals(many, max_candidates=25)
    assert len(kept) == 25 and "person proposals" not in caplog.text
