#!/usr/bin/env bash
# The test command: sets up the environment if needed, then runs the whole pytest
# suite, loopback only (scripts/ros_env.sh). Extra arguments go to pytest.
# Exit status: pytest's (0 only when tests ran and passed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup_env.sh"
# shellcheck source=scripts/ros_env.sh
source "$ROOT/scripts/ros_env.sh"
cd "$ROOT"
echo "test: ROS_DOMAIN_ID=$ROS_DOMAIN_ID, discovery $ROS_AUTOMATIC_DISCOVERY_RANGE"
run_isolated "$ROOT/.venv/bin/python" -m pytest -q "$@"
