"""Shared test fixtures: the real-data folder and a loopback-only ROS 2 environment.

ROS 2 rule for every test process that calls ``rclpy.init()``: discovery stays on
loopback (``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``), the domain id is specific to
this run, and Fast DDS loads the large-image profile of ``config/``. The variables are
set here, at import time, before any test imports rclpy, so that subprocesses the
tests spawn inherit them. The domain id is drawn afresh for every run, whatever
``ROS_DOMAIN_ID`` the environment holds (a bare ``pytest`` never joins the user's
domain); ``DOPE_ROS_DOMAIN_ID`` sets it explicitly.

Network guard: ``test/netguard`` is put first on ``PYTHONPATH`` and loaded here, so
that this process and every Python subprocess refuse and record any socket use or
name lookup beyond loopback (:mod:`dope_netguard`); the run fails if anything was
recorded.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DOPE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))  # env: worktrees elsewhere


def _loopback_ros_env() -> None:
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.pop("ROS_STATIC_PEERS", None)
    # A fresh domain id (1..101) for this run whatever the environment says, unless given explicitly.
    os.environ["ROS_DOMAIN_ID"] = os.environ.get("DOPE_ROS_DOMAIN_ID") or str(random.SystemRandom().randint(1, 101))
    os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(REPO_ROOT / "config" / "fastdds_large_images.xml"))


_loopback_ros_env()

NETGUARD_DIR = REPO_ROOT / "test" / "netguard"
os.environ["PYTHONPATH"] = os.pathsep.join([str(NETGUARD_DIR), *filter(None, [os.environ.get("PYTHONPATH")])])
if "DOPE_NETGUARD_LOG" not in os.environ:
    _fd, _log = tempfile.mkstemp(prefix="dope_netguard_", suffix=".log")
    os.close(_fd)
    os.environ["DOPE_NETGUARD_LOG"] = _log
sys.path.insert(0, str(NETGUARD_DIR))
import dope_netguard  # noqa: E402  (installs the guard in this process)

sys.path.remove(str(NETGUARD_DIR))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any test process reached beyond loopback."""
    log = Path(os.environ["DOPE_NETGUARD_LOG"])
    attempts = log.read_text().splitlines() if log.is_file() else []
    if attempts:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"network guard: {len(attempts)} attempt(s) to reach beyond loopback ({log}):", *attempts[:20]]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True)
        else:
            print("\n".join(lines), file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
