"""The hand expert on real close-ups (``../shared/data`` tier)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dope_core.image_io import read_image


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
