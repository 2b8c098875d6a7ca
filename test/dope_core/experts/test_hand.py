"""The hand expert on real close-ups (``../shared/data`` tier)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dope_core.experts.hand import HandExpert
from dope_core.image_io import read_image
from dope_core.keypoints import Part
from dope_core.structures import PartPose


@pytest.fixture(scope="module")
def hand_experts():
    """The hand expert without and with the zoomed-out palm view (real models, CPU)."""
    from dope_core.experts.hand import HandExpert

    return HandExpert(zoom_out=0.0), HandExpert(zoom_out=1.5)


def test_a_close_up_hand_is_found_in_the_zoomed_out_view(hand_experts, shared_data):
    """FreiHAND 00065475: a 224x224 crop that the hand fills. The palm detector scores it under
    its threshold on the image itself (the palm is larger than its anchors) and at 0.95 on the
    image shrunk inside a 1.5x black square; the landmarks then place most labelled joints within
    the evaluation's PCK@0.2 (0.2 of the labelled box's size)."""
    from dope_core.metrics.pck import bbox_size, pck_correct

    folder = shared_data / "annotated" / "mmpose" / "freihand"
    image = read_image(folder / "00065475.jpg")
    plain, zoomed = hand_experts
    assert plain.detect(image) == []
    hands = zoomed.detect(image)
    assert len(hands) == 1 and hands[0].score > 0.9
    labels = json.loads((folder / "test_freihand.json").read_text())
    image_id = next(i["id"] for i in labels["images"] if i["file_name"].endswith("00065475.jpg"))
    label = next(a for a in labels["annotations"] if a["image_id"] == image_id)
    gt = np.array(label["keypoints"], dtype=float).reshape(21, 3)
    x, y, w, h = label["bbox"]
    correct = pck_correct(hands[0].keypoints_2d, gt[:, :2], gt[:, 2] > 0, bbox_size(np.array([x, y, x + w, y + h])), 0.2)
    assert correct.mean() >= 0.75   # 17 of 21 joints here


def test_the_zoomed_out_view_keeps_the_hands_found_without_it(hand_experts, shared_data):
    """The other FreiHAND close-ups found without the view are found with it too (one hand each)."""
    folder = shared_data / "annotated" / "mmpose" / "freihand"
    plain, zoomed = hand_experts
    for name in ("00000355.jpg", "00032915.jpg", "00082740.jpg", "00115300.jpg"):
        image = read_image(folder / name)
        assert len(plain.detect(image)) == len(zoomed.detect(image)) == 1, name


def test_a_pass_collapsed_inside_a_surer_hand_is_that_hand():
    """A less sure hand mostly inside a surer one's box and under 0.65 of its size is a second pass
    over it; one of about its size (the other of two folded hands) stays."""
    expert = HandExpert.__new__(HandExpert)
    expert.nested, expert.nested_size_ratio, expert.dedupe_iou = 0.75, 0.65, 0.3

    def hand(box, score):
        return PartPose(part=Part.HAND, score=score, box=np.array(box, float), keypoints_2d=np.zeros((21, 2)),
                        keypoints_3d=np.zeros((21, 3)), confidence=np.ones(21))

    big = hand((0, 0, 100, 100), 0.99)
    on_thumb = hand((10, 10, 40, 40), 0.4)           # a third of its size, inside: a duplicate
    folded = hand((25, 40, 95, 65), 0.7)              # 0.7 of its size, inside (IoU 0.18): the other hand
    half_out = hand((80, 80, 120, 120), 0.5)         # 16 % inside: another hand
    assert expert.dedupe([big, on_thumb, folded, half_out]) == [big, folded, half_out]
    assert expert.same_hand(on_thumb, big) and not expert.same_hand(folded, big)


def test_folded_hands_both_stay(shared_data):
    """alphapose/2.jpg: a child's hands folded in her lap, a 13-px hand inside the other's 17-px box
    (0.78 of it): both stay, one at each of her wrists."""
    from dope_core.experts.ensemble import ExpertsEstimator

    res = ExpertsEstimator(parts=[Part.BODY, Part.HAND])(read_image(shared_data / "images" / "alphapose" / "2.jpg"))
    lap = np.array([370.0, 195.0, 400.0, 215.0])
    child = [p for p in res.people if any(h is not None and lap[0] <= h.box[0] and h.box[2] <= lap[2]
                                          and lap[1] <= h.box[1] and h.box[3] <= lap[3]
                                          for h in (p.left_hand, p.right_hand))]
    assert len(child) == 1 and child[0].left_hand is not None and child[0].right_hand is not None


def test_a_low_min_score_searches_the_same_palms(hand_experts, shared_data):
    """WFLW's cheering crowd (``7_Cheering_Cheering_7_16.jpg``): with the pseudo-labeller's
    ``min_score`` of 0.05 the sure hands (presence 0.5 or more) are the six found at 0.5. A palm
    threshold lowered with it had added eleven, on raised hands the detector scores under 0.5 but
    also on arms, faces and clothes."""
    _, zoomed = hand_experts
    image = read_image(shared_data / "annotated" / "mmpose" / "wflw" / "7_Cheering_Cheering_7_16.jpg")
    found = zoomed.detect(image)
    sure = [h for h in zoomed.detect(image, min_score=0.05) if h.score >= 0.5]
    assert len(found) == 6
    assert sorted(np.round(h.box).tolist() for h in sure) == sorted(np.round(h.box).tolist() for h in found)


@pytest.fixture(scope="module")
def weak_palm_expert():
    """The hand expert of the default configuration: zoomed-out view and weak palms down to 0.15."""
    from dope_core.experts.config import PRESETS

    return HandExpert(zoom_out=1.5, weak_palm_score=PRESETS["default"].hand_weak_palm_score)


def test_weak_palms_leave_the_strong_ones_as_they_were(hand_experts, weak_palm_expert, shared_data):
    """The palms of the detector's threshold are merged from its boxes of 0.5 or more alone, as a run
    at 0.5 gives them; the weaker groups come apart, each under 0.5 and at least the weak score."""
    _, zoomed = hand_experts
    image = read_image(shared_data / "annotated" / "mmpose" / "wflw" / "7_Cheering_Cheering_7_16.jpg")
    h, w = image.shape[:2]
    views = zoomed.detector.whole_image_views(w, h, zoomed.tile_fractions, zoom_out=zoomed.zoom_out)
    plain = zoomed.detector.detect(image, views, zoomed.detector_score)
    strong, weak = weak_palm_expert.palms(image, views)
    assert len(strong) == len(plain) > 0
    for a, b in zip(strong, plain):
        np.testing.assert_array_equal(a.box, b.box)
        assert a.score == b.score
    assert weak and all(weak_palm_expert.weak_palm_score <= d.score < 0.5 for d in weak)
    assert zoomed.palms(image, views)[1] == []


def test_weak_palms_add_the_fists_of_a_cheering_crowd(hand_experts, weak_palm_expert, shared_data):
    """WFLW's cheering crowd: the six hands of strong palms stay as they were, and three raised
    fists seen from the back, which the palm detector scores 0.33-0.46, are added: the landmark
    model is sure of each (0.98-1.0) in the palm's region and again in the region its landmarks
    give. No other weak palm of the image passes both."""
    _, zoomed = hand_experts
    image = read_image(shared_data / "annotated" / "mmpose" / "wflw" / "7_Cheering_Cheering_7_16.jpg")
    before = zoomed.detect(image)
    after = weak_palm_expert.detect(image)
    assert len(before) == 6 and len(after) == 9
    for a, b in zip(after, before):
        np.testing.assert_array_equal(a.keypoints_2d, b.keypoints_2d)
    assert all(h.score >= weak_palm_expert.weak_palm_presence for h in after[6:])


def test_a_hand_under_studio_lights_is_found_from_a_weak_palm(hand_experts, weak_palm_expert, shared_data):
    """InterHand2.6M 69148: two hands lit by point lights before a black wall. The palm detector
    scores one of them 0.16; from it the landmarks place every labelled joint of that hand within
    PCK@0.2, where without weak palms no hand is found on it."""
    from dope_core.datasets import load_annotated
    from dope_core.metrics.pck import bbox_size, pck_correct

    sample = next(s for s in load_annotated("interhand2.6m", shared_data / "annotated")
                  if s.image_path.name == "image69148.jpg")
    image = read_image(sample.image_path)

    def best_pck(hands):
        return max((float(pck_correct(h.keypoints_2d, g.keypoints_2d, g.visible, bbox_size(g.box), 0.2).mean())
                    for g in sample.of_part(Part.HAND) for h in hands), default=0.0)

    _, zoomed = hand_experts
    assert best_pck(zoomed.detect(image)) < 0.5
    assert best_pck(weak_palm_expert.detect(image)) >= 0.9
