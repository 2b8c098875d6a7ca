"""Objectron's Open Images SSD as a person detector: anchor grid, box coder, real photos."""

import math

import numpy as np
import pytest

from dope_core.boxes import box_iou
from dope_core.experts.object_ssd import MultiScaleAnchors, ObjectSSD, decode_boxes


def test_the_anchor_grid_is_the_models_1917_anchors_in_output_order():
    anchors = MultiScaleAnchors().anchors()
    assert anchors.shape == (1917, 4)                 # 19x19x3 + 10x10x6 + 5x5x6 + 3x3x6 + 2x2x6 + 1x1x6
    first = anchors[:3]                               # lowest layer, top-left cell: 3 anchors only
    assert np.allclose(first[:, :2], 0.5 / 19)
    assert np.allclose(first[:, 2:], [[0.1, 0.1], [0.2 * math.sqrt(2), 0.2 / math.sqrt(2)],
                                      [0.2 / math.sqrt(2), 0.2 * math.sqrt(2)]])
    assert np.allclose(anchors[3, :2], [1.5 / 19, 0.5 / 19])   # then the next cell of the same row
    last = anchors[-6:]                               # 1x1 map, scale 0.95, and the interpolated one
    assert np.allclose(last[:, :2], 0.5)
    assert np.allclose(last[0, 2:], 0.95) and np.allclose(last[-1, 2:], math.sqrt(0.95))
    assert np.allclose(last[3, 2] / last[3, 3], 3.0)


def test_the_box_coder_inverts_the_anchor_offsets():
    anchors = np.array([[0.5, 0.5, 0.2, 0.4], [0.25, 0.75, 0.1, 0.1]])
    assert np.allclose(decode_boxes(np.zeros((2, 4)), anchors), [[0.4, 0.3, 0.6, 0.7], [0.2, 0.7, 0.3, 0.8]])
    # ty, tx in tenths of the anchor's size, th, tw as log-scales times 5
    raw = np.array([[10.0 * 0.5, 10.0 * 0.25, 5 * math.log(2.0), 0.0]])
    cx, cy, w, h = 0.5 + 0.25 * 0.2, 0.5 + 0.5 * 0.4, 0.2, 0.8
    assert np.allclose(decode_boxes(raw, anchors[:1]), [[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]])


@pytest.fixture(scope="module")
def ssd():
    return ObjectSSD()


def test_the_person_in_a_portrait_is_one_box_around_her(ssd, portrait):
    dets = ssd.detect(portrait, min_score=0.3)
    assert dets, "no person found in the Grace Hopper portrait"
    best = max(dets, key=lambda d: d.score)
    h, w = portrait.shape[:2]
    x1, y1, x2, y2 = best.box
    assert x2 - x1 > 0.5 * w and y2 - y1 > 0.5 * h          # she fills the frame
    assert sum(d.score >= 0.3 and box_iou(d.box[None], best.box[None])[0, 0] < 0.3 for d in dets) == 0


def test_a_person_that_blazeposes_detector_misses_is_proposed(shared_data):
    """COCO 196141: the person that the face-keyed detector missed (the default before this
    detector found 3 of 4) has an ssd box."""
    from dope_core.datasets.multi_person import load_multi_person
    from dope_core.experts.proposals import SSDPersonDetector
    from dope_core.image_io import read_image
    from dope_core.keypoints import Part

    sample = next(s for s in load_multi_person("coco", shared_data / "annotated") if s.image_path.name == "000000196141.jpg")
    people = np.stack([g.box for g in sample.of_part(Part.BODY)])
    proposals = SSDPersonDetector().propose(read_image(sample.image_path), min_score=0.5)
    assert all(p.source == "ssd" and p.alignment is None and p.score >= 0.3 for p in proposals)
    overlap = box_iou(people, np.stack([p.box for p in proposals]))
    assert (overlap.max(axis=1) >= 0.5).all(), overlap.max(axis=1)


def test_a_person_the_whole_image_pass_misses_is_proposed_in_a_tile(shared_data):
    """The basketball photo (799x533): the Lakers player on the right, bent forward, 100x210 px, has
    no box of 0.3 on the whole image and one in a tile of 0.7 of the longer side (the default)."""
    from dope_core.experts.proposals import SSDPersonDetector
    from dope_core.image_io import read_image

    image = read_image(shared_data / "images" / "multihmr" / "51960182045_d5d6407a3c_c.jpg")
    player = np.array([[680.0, 320.0, 780.0, 533.0]])                   # his box by eye, pixels

    def overlap(detector):
        boxes = [p.box for p in detector.propose(image, min_score=0.5)]
        return box_iou(player, np.stack(boxes))[0].max() if boxes else 0.0

    assert overlap(SSDPersonDetector()) < 0.3
    assert overlap(SSDPersonDetector(tile_fractions=(0.7,))) >= 0.5


def test_a_threshold_of_zero_stays_bounded(ssd):
    """Every anchor passes a zero threshold: the best ``max_per_view`` go to the merge."""
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    raw = ssd.detect_view(noise, np.array([0.0, 0, 640, 480]), 0.0)
    assert len(raw) == ssd.max_per_view == 200
    scores = [d.score for d in raw]
    assert scores == sorted(scores, reverse=True)
    assert len(ssd.detect(noise, min_score=0.0)) <= 200


def test_a_region_is_searched_alone(portrait):
    """``propose_in``: the person is found in a region around her, at image coordinates, and not
    in an empty region of the same image."""
    import cv2

    from dope_core.experts.proposals import SSDPersonDetector

    canvas = np.zeros((400, 1200, 3), np.uint8)
    canvas[100:, 700:956] = cv2.resize(portrait, (256, 300), interpolation=cv2.INTER_AREA)
    source = SSDPersonDetector()
    found = source.propose_in(canvas, [np.array([600.0, 0, 1100, 400])])
    assert found and all(p.source == "ssd" and p.alignment is None and p.score >= source.score for p in found)
    assert box_iou(found[0].box[None], np.array([[700.0, 100, 956, 400]]))[0, 0] >= 0.5
    assert source.propose_in(canvas, [np.array([0.0, 0, 500, 400])]) == []


def test_low_score_boxes_come_from_the_proposals_own_run(portrait):
    """``propose_with_support``: the proposals are ``propose``'s exactly (merged apart from the low
    boxes), the support holds the person's box (its best detection, averaged with the weaker ones it
    merges) and boxes under the proposal threshold, from one run of the detector per view; a support
    threshold at or above the proposal threshold gives the proposals' boxes of that score or more."""
    from dope_core.experts.proposals import SSDPersonDetector

    source = SSDPersonDetector(tile_fractions=(0.7,))
    calls = []
    detect_view = source.detector.detect_view
    source.detector.detect_view = lambda *a: calls.append(a[2]) or detect_view(*a)
    proposals, support = source.propose_with_support(portrait, min_score=0.5, support_score=0.02)
    assert calls and set(calls) == {0.02}
    plain = source.propose(portrait, min_score=0.5)
    assert [(p.box.tolist(), p.score) for p in proposals] == [(p.box.tolist(), p.score) for p in plain]
    assert any(d.score < source.score for d in support) and min(d.score for d in support) >= 0.02
    best = max(support, key=lambda d: d.score)          # the same top detection, its box merged with weaker ones
    assert best.score == proposals[0].score and box_iou(proposals[0].box[None], best.box[None])[0, 0] > 0.7
    for threshold in (source.score, 0.9):
        same, boxes = source.propose_with_support(portrait, min_score=0.5, support_score=threshold)
        assert [p.box.tolist() for p in same] == [p.box.tolist() for p in plain]
        assert [d.box.tolist() for d in boxes] == [p.box.tolist() for p in plain if p.score >= threshold]
