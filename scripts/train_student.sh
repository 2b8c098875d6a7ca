#!/usr/bin/env bash
# The whole DOPE distillation recipe in one command (docs/training.md):
#   1. the part experts pseudo-label the inputs into the cache the config names, as its
#      'labels' section says (frame choice, close-up crops);
#   2. the student trains with distillation (--config) and, for the paper's ablation,
#      without it (--ablation);
#   3. both are validated against the experts on held-out images and, when the
#      annotated samples are there, on real labels; a side-by-side table is printed
#      and written to <output_dir of --config>/comparison.md;
#   4. the distilled student is exported (fp16) as the network backend's checkpoint.
# Every stage resumes: after an interruption, run the same line again.
#
# Usage: scripts/train_student.sh [--input PATH ...] [--config CFG] [--ablation CFG|none]
#            [--stride N] [--workers N] [--gpus N] [--device auto|cpu|cuda]
#            [--annotated DIR|none] [--export FILE|none]
# Defaults: --input ../shared/data/video ../shared/data/images; --config
#   config/train/student_mobilenetv2.yaml; --ablation config/train/student_mobilenetv2_hard.yaml;
#   --stride: the config's labels.stride; --workers: the number of CPUs; --gpus 1 (more: DDP through torchrun);
#   --annotated ../shared/data/annotated when present; --export
#   dope_core/weights/dope_student_mobilenetv2.pth.
# Relative paths given here are taken from the directory the script is run in; the relative paths
#   inside a configuration (data.caches, output_dir, ...), as the defaults', from the repository root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INPUTS=()
CONFIG=config/train/student_mobilenetv2.yaml
ABLATION=config/train/student_mobilenetv2_hard.yaml
STRIDE=
WORKERS="$(nproc)"
GPUS=1
DEVICE=auto
ANNOTATED="$ROOT/../shared/data/annotated"
EXPORT=dope_core/weights/dope_student_mobilenetv2.pth
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
# from_here PATH: a path given by the user, absolute (relative ones from where the script was run); "none" and
# "" as they are.
from_here() { if [[ -z "$1" || "$1" == none || "$1" == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --input) shift; while [[ $# -gt 0 && "$1" != --* ]]; do INPUTS+=("$(from_here "$1")"); shift; done; continue ;;
    --config) CONFIG="$(from_here "${2:-}")" ;;
    --ablation) ABLATION="$(from_here "${2:-}")" ;;
    --stride) STRIDE="${2:-}" ;;
    --workers) WORKERS="${2:-}" ;;
    --gpus) GPUS="${2:-}" ;;
    --device) DEVICE="${2:-}" ;;
    --annotated) ANNOTATED="$(from_here "${2:-}")" ;;
    --export) EXPORT="$(from_here "${2:-}")" ;;
    -h|--help) usage 0 ;;
    *) echo "train_student: unknown option $1" >&2; usage 2 ;;
  esac
  shift 2 || { echo "train_student: $1 needs a value" >&2; exit 2; }
done
[[ ${#INPUTS[@]} -gt 0 ]] || INPUTS=("$ROOT/../shared/data/video" "$ROOT/../shared/data/images")

"$ROOT/scripts/setup_env.sh"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
TRAIN=("$PY" -m dope_core.train.cli)

# config_field CFG cache|output_dir: read from the checked configuration; a bad one is one line, exit 2.
config_field() {
  "$PY" -c 'import sys; from dope_core.train.config import ConfigError, load_config
try:
    c = load_config(sys.argv[1], check_files=False)
except ConfigError as e:
    sys.exit(f"train_student: error: {e}")
print(c.data.caches[0] if sys.argv[2] == "cache" else c.output_dir)' "$1" "$2" || exit 2
}
RUNS=("$CONFIG")
[[ "$ABLATION" == none ]] || RUNS+=("$ABLATION")
CACHE="$(config_field "$CONFIG" cache)"
for cfg in "${RUNS[@]}"; do
  cache="$(config_field "$cfg" cache)"
  [[ "$cache" == "$CACHE" ]] \
    || { echo "train_student: $cfg labels from another cache than $CONFIG ($CACHE)" >&2; exit 2; }
done

echo "train_student: 1/4 pseudo-labels of ${INPUTS[*]} -> $CACHE"
# exit 1 means that some inputs were skipped (the summary above says which and why):
# the recipe goes on with the others; any other failure stops it.
label_rc=0
label=(label --input "${INPUTS[@]}" --config "$CONFIG" --workers "$WORKERS")
[[ -z "$STRIDE" ]] || label+=(--stride "$STRIDE")
"${TRAIN[@]}" "${label[@]}" || label_rc=$?
if [[ "$label_rc" -eq 1 ]]; then
  echo "train_student: some inputs could not be labelled (skipped, counted above); training on the others" >&2
elif [[ "$label_rc" -ne 0 ]]; then
  exit "$label_rc"
fi

REPORTS=()
for cfg in "${RUNS[@]}"; do
  out="$(config_field "$cfg" output_dir)"
  echo "train_student: 2/4 training $cfg -> $out (resumes from $out/last.pth when there is one)"
  if [[ "$GPUS" -gt 1 ]]; then
    "$ROOT/.venv/bin/torchrun" --nproc_per_node "$GPUS" -m dope_core.train.cli fit --config "$cfg" --resume --device "$DEVICE"
  else
    "${TRAIN[@]}" fit --config "$cfg" --resume --device "$DEVICE"
  fi
  echo "train_student: 3/4 validating $out"
  val=(validate --run "$out" --out "$out/final_validation.json")
  [[ "$ANNOTATED" != none && -d "$ANNOTATED" ]] && val+=(--annotated "$ANNOTATED")
  "${TRAIN[@]}" "${val[@]}" >/dev/null
  REPORTS+=("$out/final_validation.json")
done
TABLE="$(config_field "$CONFIG" output_dir)/comparison.md"
"${TRAIN[@]}" compare "${REPORTS[@]}" | tee "$TABLE"

if [[ "$EXPORT" != none ]]; then
  echo "train_student: 4/4 exporting the distilled student -> $EXPORT"
  "${TRAIN[@]}" export --run "$(config_field "$CONFIG" output_dir)" --out "$EXPORT"
fi
echo "train_student: done; table in $TABLE"
