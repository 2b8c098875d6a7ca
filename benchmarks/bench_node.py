"""Node rate and latency on the demo video (experts backend by default, or --backend network; CPU by default).

Runs of the demo pipeline (camera player -> node process -> recorder), for the experts
backend with streaming on (the default: people followed across frames, detectors on a
schedule) and off (every frame searched from scratch), one after the other:

* lock step: the next frame leaves when the node has answered the previous one:
  latency of one frame through the node, and the node's best sustained rate;
* real time: frames at the video's 30 fps, faster than inference: the node's rate,
  its latency and how many frames it drops.

and for one or both pipelines (``--pipelines``): ``demo``, the demo's recorder (it
subscribes to the poses, markers, TF and annotated image, records the frames and
outputs, and decodes the video as it plays), and ``teleop``, what a teleoperation loop
consumes (frames decoded beforehand, only the poses subscribed to, nothing recorded).

The experts column says whether the streaming node ran its scheduled searches in the background
(``background_search``, its default; read from its diagnostics). The node's CPU time per answered
frame comes from /proc. The machine may be shared: the
load average before each run is printed; compare the two modes' ratio.
Latency is measured in the player process from the image publication to the reception
of the pose array (transport both ways, decoding, inference, placement, publication).
Re-executes itself in the loopback-only ROS environment (scripts/ros_env.sh) when
started outside it. Usage:
    .venv/bin/python benchmarks/bench_node.py --video ~/.cache/dope_ros/sports2d_demo.mp4 --frames 60 \
        [--pipelines demo teleop] [--no-per-frame]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from isolation import reexec_isolated  # benchmarks/isolation.py (the script's folder is on sys.path)
from measure import load_avg

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", type=Path, default=Path.home() / ".cache" / "dope_ros" / "sports2d_demo.mp4")
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--max-width", type=int, default=960)
    p.add_argument("--out", type=Path, default=REPO / "out" / "bench_node")
    p.add_argument("--backend", default="experts", choices=("experts", "network"))
    p.add_argument("--checkpoint", default="", help="network checkpoint (default: the shipped student)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--no-per-frame", action="store_true",
                   help="experts backend: run the streaming node only (default: streaming and per-frame, side by side)")
    p.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE",
                   help="an extra node parameter for every run (repeatable), e.g. hand_expert:=mediapipe_lite")
    p.add_argument("--pipelines", nargs="+", choices=("demo", "teleop"), default=["demo"],
                   help="demo: the recorder of scripts/demo.sh; teleop: poses only, frames decoded beforehand")
    args = p.parse_args()
    extra = {}
    for item in args.param:
        name, sep, value = item.partition(":=")
        if not sep or not name:
            p.error(f"--param wants NAME:=VALUE, got {item!r}")
        extra[name] = value
    reexec_isolated(__file__)
    from dope_ros.demo import run

    streams = [True] if args.backend == "network" or args.no_per_frame else [True, False]
    results: dict = {"runs": []}
    print(f"CPUs: {os.cpu_count()}; load average (1, 5, 15 min) at start: {load_avg()}")
    runs = [(pipeline, streaming, mode) for pipeline in args.pipelines for streaming in streams
            for mode in ("lockstep", "realtime")]
    for pipeline, streaming, mode in runs:
        name = f"{pipeline}_{mode}_{'streaming' if streaming else 'per_frame'}"
        load = load_avg()
        s = run(args.video, args.out / name, frames=args.frames, max_width=args.max_width, hfov_deg=60.0,
                realtime=mode == "realtime", namespace=f"bench_{name}", backend=args.backend,
                checkpoint=args.checkpoint, device=args.device,
                parameters={**extra, "streaming": str(streaming).lower()}, record=pipeline == "demo")
        d = s["node_diagnostics"]
        r = {k: s[k] for k in ("frames_sent", "frames_answered", "rate_hz", "latency_ms_mean", "latency_ms_p50",
                               "latency_ms_p95", "latency_ms_max", "people_per_frame", "person_tracks", "person_tracks_10_frames",
                               "node_cpu_ms_per_frame")}
        r.update(pipeline=pipeline, mode=mode, streaming=args.backend == "experts" and streaming,
                 load_average_before=load,
                 node_inference_ms=float(d.get("inference_ms", "nan")),
                 node_frames_dropped=int(d.get("frames_dropped", "0")),
                 whole_frame_searches=d.get("whole_frame_searches", "-"),
                 background_search=d.get("background_search") == "true")
        results["runs"].append(r)
    results["machine"] = {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                          "video": str(args.video), "max_width": args.max_width, "backend": args.backend,
                          "checkpoint": args.checkpoint, "device": args.device, "node_parameters": extra,
                          "load_average_end": load_avg()}
    (args.out / "bench_node.json").write_text(json.dumps(results, indent=2))
    print(f"load average at end: {results['machine']['load_average_end']}")
    print("| pipeline | experts | mode | frames answered/sent | rate (frames/s) | latency mean / p50 / p95 / max (ms) | "
          "node inference (ms, mean of the last 5 s) | node CPU (ms/frame) | dropped | whole-frame searches | "
          "person tracks (10+ frames) | load avg before |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results["runs"]:
        kind = ("streaming" + (", searches in the background" if r["background_search"] else "") if r["streaming"]
                else ("per frame" if args.backend == "experts" else args.backend))
        print(f"| {r['pipeline']} | {kind} | {r['mode']} | {r['frames_answered']}/{r['frames_sent']} | {r['rate_hz']:.2f} | "
              f"{r['latency_ms_mean']:.0f} / {r['latency_ms_p50']:.0f} / {r['latency_ms_p95']:.0f} / "
              f"{r['latency_ms_max']:.0f} | "
              f"{r['node_inference_ms']:.0f} | {r['node_cpu_ms_per_frame']:.0f} | {r['node_frames_dropped']} | "
              f"{r['whole_frame_searches']} | {r['person_tracks']} ({r['person_tracks_10_frames']}) | "
              f"{r['load_average_before']} |")
    by = {(r["pipeline"], r["streaming"], r["mode"]): r for r in results["runs"]}
    for pipeline in args.pipelines:
        for mode in ("lockstep", "realtime"):
            a, b = by.get((pipeline, True, mode)), by.get((pipeline, False, mode))
            if a and b and b["rate_hz"] > 0:
                print(f"{pipeline} {mode}: streaming answers {a['rate_hz'] / b['rate_hz']:.1f}x the per-frame node's rate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
