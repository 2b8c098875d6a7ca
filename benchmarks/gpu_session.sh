#!/usr/bin/env bash
# One GPU session in one command, for a GPU lent for a few minutes (docs/training.md, "A student trained on a
# GPU lease"): the network's CUDA fp32/fp16 check against the CPU and its speed (benchmarks/check_gpu.py,
# bench_network.py), then a student trained for the time left and exported, and the same check of it.
#
# Usage: benchmarks/gpu_session.sh DATA_TGZ CONFIG_YAML BUDGET_SECONDS [OUT_DIR]
#   DATA_TGZ  a tar.gz holding pack/ (made by `dope-train pack`) and mobilenet_v2_imagenet.pth (the ImageNet
#             MobileNetV2 state dict; its classifier may be zeroed to compress: it is not used)
#   CONFIG    the training config (data.caches, split, pretrained weights and output_dir are set here)
#   BUDGET    seconds from the start of this script to its end; OUT_DIR (default $OUT or /tmp/gpu_session/out)
#             receives the reports, the run's logs and TensorBoard files (run.tgz) and the exported student.
# Environment: PY (default python3), DEV (default cuda; cpu to try the script without a GPU), PROBE (seconds
# of the probe run, default 45), RESERVE (seconds kept for export and the last check, default 90), CHECKS
# (default 1; 0 skips the first checks of the shipped student and the network's speed, for a lease that
# only trains).
# The probe trains with the config's warm-up; the schedule is then sized by the probe's steady rate (its
# second half, start-up excluded), re-sized after 40 % of the time from the run's own steady rate, with lr
# drops at 75 % and 92 % of the steps; --max-time keeps it inside the budget whatever happens.
set -uo pipefail
[[ $# -ge 3 ]] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
DATA=$1; CONFIG=$2; BUDGET=$3; OUTDIR=${4:-${OUT:-/tmp/gpu_session/out}}
PY=${PY:-python3}; DEV=${DEV:-cuda}; PROBE=${PROBE:-45}; RESERVE=${RESERVE:-90}; CHECKS=${CHECKS:-1}
export PYTHONUNBUFFERED=1
T0=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
W=$(mktemp -d /tmp/gpu_session.XXXXXX); mkdir -p "$OUTDIR"
export TORCH_HOME=$W/torch   # nothing from a hub: the ImageNet weights come with the data
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
$PY -c "import torch, torchvision, cv2, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'torchvision', torchvision.__version__, 'opencv', cv2.__version__, 'numpy', numpy.__version__)"
tar xzf "$DATA" -C "$W" || { echo "gpu_session: cannot unpack $DATA"; exit 2; }
[[ -d $W/pack/items && -f $W/mobilenet_v2_imagenet.pth ]] || { echo "gpu_session: $DATA lacks pack/ or mobilenet_v2_imagenet.pth"; exit 2; }
echo "unpacked $(ls "$W/pack/items" | wc -l) records; $(left) s left"
quiet() { grep -v "^WARNING\|^INFO\|rationality\|UserWarning: This DataLoader"; }
if [[ $DEV == cuda && $CHECKS != 0 ]]; then
  timeout 120 $PY benchmarks/check_gpu.py --checkpoint dope_core/weights/dope_student_mobilenetv2.pth \
      --folders "$W/pack/images" --images 40 --iters 200 --json "$OUTDIR/check_shipped.json" 2>&1 | quiet
  timeout 40 $PY benchmarks/bench_network.py --device cuda --iters 20 --batch 8 2>&1 | quiet | tee "$OUTDIR/bench_network.md"
  timeout 40 $PY benchmarks/bench_network.py --device cuda --half --iters 20 --batch 8 2>&1 | quiet | tee -a "$OUTDIR/bench_network.md"
fi
echo "checks done; $(left) s left"
$PY - "$CONFIG" "$W" <<'PYEOF'
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1])); w = sys.argv[2]
cfg["data"].update(caches=[f"{w}/pack"], split="by_image", val_fraction=0.0, val_sources=[])
cfg["model"]["kwargs"]["pretrained_backbone"] = f"{w}/mobilenet_v2_imagenet.pth"
cfg["output_dir"] = f"{w}/run"
cfg["schedule"]["val_every"] = 0
cfg["schedule"].update(steps=10 ** 6, lr_milestones=[10 ** 6 - 1])   # the probe stops by time, in the warm-up
yaml.safe_dump(cfg, open(f"{w}/cfg.yaml", "w"))
PYEOF
$PY -m dope_core.train.cli fit --config "$W/cfg.yaml" --device "$DEV" --no-progress --max-time "$PROBE" > "$W/probe.json" 2> "$W/probe.err"
tail -n 2 "$W/probe.err"
# size SOURCE_JSON SECONDS LABEL: steps and lr drops of the config from a fit's steady rate (its second half)
size() {
$PY - "$W" "$1" "$2" "$3" <<'PYEOF'
import json, sys, yaml
w, source, seconds, label = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
text = open(source).read()
run = json.loads(text[text.index("{"):])
done = run["steps"][1]
rate = run["steady_steps_per_second"] or (done - run["steps"][0]) / run["seconds"]
steps = done + max(1, int(0.95 * rate * seconds))   # 5 % for the resume's start-up
cfg = yaml.safe_load(open(f"{w}/cfg.yaml"))
s = cfg["schedule"]
s.update(steps=steps, lr_milestones=[max(done + 1, int(0.75 * steps)), max(done + 2, int(0.92 * steps))])
s["warmup_steps"] = min(s.get("warmup_steps", 0), max(done, steps // 10))
yaml.safe_dump(cfg, open(f"{w}/cfg.yaml", "w"))
print(f"{label}: {done} steps, steady {rate:.2f} steps/s -> {steps} steps in {seconds:.0f} s, lr drops at {s['lr_milestones']}")
PYEOF
}
fit() { $PY -m dope_core.train.cli fit --config "$W/cfg.yaml" --device "$DEV" --no-progress --resume --max-time "$1" \
          > "$W/$2.json" 2> "$W/$2.err"; tail -n 2 "$W/$2.err"; grep -A2 '"steps"\|steady' "$W/$2.json"; }
# The probe's rate counts the loader's and the GPU's warming up (4.0 against a steady 6.0 steps/s on the first
# lease, 10.6 against 13.6 on the second): the run is sized from it, re-sized from its own steady rate after
# 40 % of the time (its lr drops are still ahead), and finished.
TRAIN=$(( $(left) - RESERVE ))
size "$W/probe.json" "$TRAIN" probe || { echo "gpu_session: the probe failed (see probe.err in run.tgz)"; tail -n 30 "$W/probe.err"; }
fit $(( TRAIN * 2 / 5 )) fit1
TRAIN=$(( $(left) - RESERVE ))
if grep -q "stopped at step" "$W/fit1.err" && [[ $TRAIN -gt 20 ]]; then
  size "$W/fit1.json" "$TRAIN" "run so far" && fit "$TRAIN" fit
else
  cp "$W/fit1.json" "$W/fit.json"; cp "$W/fit1.err" "$W/fit.err"
fi
$PY -m dope_core.train.cli export --run "$W/run" --out "$OUTDIR/student.pth"
cp "$W"/probe.json "$W"/probe.err "$W"/fit1.json "$W"/fit1.err "$W"/fit.json "$W"/fit.err "$W"/cfg.yaml "$W/run/" 2>/dev/null
tar czf "$OUTDIR/run.tgz" -C "$W/run" tb cfg.yaml probe.json probe.err fit1.json fit1.err fit.json fit.err
if [[ $DEV == cuda && -s $OUTDIR/student.pth && $(left) -gt 30 ]]; then
  timeout $(( $(left) - 10 )) $PY benchmarks/check_gpu.py --checkpoint "$OUTDIR/student.pth" \
      --folders "$W/pack/images" --images 40 --iters 200 --json "$OUTDIR/check_student.json" 2>&1 | quiet
fi
echo "gpu_session: done after $(( $(date +%s) - T0 )) s of $BUDGET"
