"""Fixtures of the network tests: random anchor poses."""

import pytest

from random_anchors import random_anchor_poses


@pytest.fixture
def anchor_poses() -> dict:
    return random_anchor_poses()
