"""Shared test fixtures: the real-data folder and a loopback-only ROS 2 environment.

ROS 2 rule for every test process that calls ``rclpy.init()``: discovery stays on
loopback (``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``), the domain id is specific to
this run, and Fast DDS loads the large-image profile of ``config/``. The variables are
set here, at import time, before any test imports rclpy, so that subprocesses the
tests spawn inherit them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DOPE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))  # env: worktrees elsewhere


def _loopback_ros_env() -> None:
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.pop("ROS_STATIC_PEERS", None)
    # Run-specific domain id (1..101), unless the runner (scripts/test.sh) chose one.
    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 101))
    os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(REPO_ROOT / "config" / "fastdds_large_images.xml"))


_loopback_ros_env()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder ``../shared/data``; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT
