"""Keep only parts whose detection score reaches a per-part threshold (pure, no ROS)."""

from __future__ import annotations

import dataclasses
from typing import Mapping

from dope_core.keypoints import Part
from dope_core.structures import WholeBodyPoses


def filter_by_score(poses: WholeBodyPoses, thresholds: Mapping[Part, float]) -> WholeBodyPoses:
    """A copy of ``poses`` without the parts scoring below ``thresholds[part]``.

    A person left with no part is dropped; the remaining people keep their ids (and track ids).
    """
    def keep(pose) -> bool:
        return pose.score >= thresholds.get(pose.part, 0.0)

    people = []
    for person in poses.people:
        dropped = {slot: None for slot, pose in person.parts() if not keep(pose)}
        if len(dropped) < len(list(person.parts())):
            people.append(dataclasses.replace(person, **dropped))
    return WholeBodyPoses(image_size=poses.image_size, people=people,
                          unassigned=[p for p in poses.unassigned if keep(p)], backend=poses.backend)
