# Sourced by scripts/test.sh, scripts/demo.sh and benchmarks: the loopback-only ROS 2
# environment. Every process that calls rclpy.init() runs with discovery restricted to
# this host, a run-specific domain id and the large-image Fast DDS profile; under
# `unshare -n` (a private network namespace with only `lo`) when permitted, so that no
# packet can leave loopback.
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
unset ROS_STATIC_PEERS ROS_LOCALHOST_ONLY
export ROS_DOMAIN_ID="${DOPE_ROS_DOMAIN_ID:-$(( 1 + ($$ + RANDOM) % 101 ))}"
export FASTDDS_DEFAULT_PROFILES_FILE="$ROOT/config/fastdds_large_images.xml"
export PYTHONUNBUFFERED=1

# run_isolated CMD...: run CMD in a private network namespace with loopback up, or
# directly (with a notice) where unshare is not permitted.
run_isolated() {
  if unshare -n true 2>/dev/null; then
    unshare -n bash -c 'ip link set lo up && exec "$@"' run_isolated "$@"
  else
    echo "notice: 'unshare -n' is not permitted here; running with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST only" >&2
    "$@"
  fi
}
