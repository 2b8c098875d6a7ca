"""Re-run a benchmark script on loopback only, as every process that starts ROS 2 must.

The scripts that spin up rclpy (``bench_node.py``, ``profile_node.py``, ``soak_node.py``)
call :func:`reexec_isolated` first: unless already isolated, the script runs again under
``scripts/ros_env.sh``'s ``run_isolated`` (``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``, a
run-specific ``ROS_DOMAIN_ID``, inside ``unshare -n`` where it can) and this process exits
with its status.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def reexec_isolated(script: str) -> None:
    """Return at once when isolated; otherwise run ``script`` with this process's arguments isolated and exit."""
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") == "LOCALHOST" and os.environ.get("DOPE_BENCH_ISOLATED"):
        return
    # The shell script is a constant; the paths and arguments travel as argv ("$@"), never inside its text.
    shell = 'source "$1" && shift && DOPE_BENCH_ISOLATED=1 run_isolated "$@"'
    sys.exit(subprocess.call(["bash", "-c", shell, Path(script).stem, str(REPO / "scripts" / "ros_env.sh"),
                              sys.executable, script, *sys.argv[1:]]))
