"""dope_core.msg_fields: message fields of parts that are not placed or not oriented, and read-back of such messages."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from dope_core.keypoints import Part
from dope_core.msg_fields import PLACEMENT_CODES, part_fields, part_from_fields
from dope_core.recording import build_message
from dope_core.structures import PartFrame, PartPose, PlacementSource
from dope_ros.bag_io import dope_typestore


def _hand(**kwargs: Any) -> PartPose:
    return PartPose(part=Part.HAND, score=0.8, box=[1, 2, 30, 40], keypoints_2d=np.ones((21, 2)),
                    keypoints_3d=np.full((21, 3), 0.01), confidence=np.full(21, 0.9), handedness="left", **kwargs)


def _message(fields: dict) -> Any:
    return build_message(dope_typestore(), "dope_ros/msg/PartPose", fields)


def test_an_unplaced_part_has_no_placement_nor_uncertainty() -> None:
    """A part without root_camera is sent as placement NONE with a NaN uncertainty, whatever it carries."""
    fields = part_fields(_hand(placement_uncertainty=0.2))
    assert fields["placement"] == PLACEMENT_CODES[PlacementSource.NONE] and math.isnan(fields["placement_uncertainty"])
    back = part_from_fields(_message(fields))
    assert back.root_camera is None and back.placement is PlacementSource.NONE and back.placement_uncertainty is None
    placed = part_fields(_hand(root_camera=[0, 0, 2.0], placement=PlacementSource.DEPTH, placement_uncertainty=0.2))
    assert placed["placement_uncertainty"] == pytest.approx(0.2)
    back = part_from_fields(_message(placed))
    assert back.placement is PlacementSource.DEPTH and back.placement_uncertainty == pytest.approx(0.2)
    np.testing.assert_allclose(back.keypoints_3d, 0.01)                      # part-relative again
    unknown = part_from_fields(_message(part_fields(_hand(root_camera=[0, 0, 2.0], placement=PlacementSource.MONOCULAR))))
    assert unknown.placement is PlacementSource.MONOCULAR and unknown.placement_uncertainty is None   # NaN: none known


def test_a_frame_without_orientation_reads_back_with_confidence_zero() -> None:
    """A message frame with has_orientation False gives a frame without quaternion and confidence 0
    (PartFrame's convention), whatever orientation_confidence holds."""
    fields = part_fields(_hand(frame=PartFrame(origin=np.zeros(3))))
    assert fields["has_frame"] is True and fields["has_orientation"] is False
    fields["orientation_confidence"] = 0.7                                   # a foreign publisher's leftover
    back = part_from_fields(_message(fields))
    assert back.frame is not None and back.frame.quaternion is None and back.frame.confidence == 0.0


def test_unknown_codes_are_refused() -> None:
    """A part, handedness or placement code that msg/PartPose.msg does not define is a ValueError naming it."""
    for name, code in (("part", 9), ("handedness", 7), ("placement", 42)):
        fields = {**part_fields(_hand()), name: code}
        with pytest.raises(ValueError, match=f"unknown {name} code {code}"):
            part_from_fields(_message(fields))
    assert part_from_fields(_message({"present": False})) is None
