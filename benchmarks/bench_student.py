"""The student network against the experts, by number of people, side by side in one run (no ROS).

Every frame goes through three estimators in turn (same frames, same machine load):

* ``experts``: the per-frame experts (every frame searched from scratch, ``dope --no-streaming``);
* ``streaming``: the streaming experts (people followed from frame to frame, the default of
  ``dope`` on videos and of the node); on still photos there is nothing to follow, so they
  are not run there;
* ``network``: the whole-body network (``--checkpoint``, default the shipped student) on
  the CPU or ``--device``.

Frames come from video clips (``--frames`` each, the streaming estimator restarted per
clip) and from the multi-person photos. Each frame is put in a group by the number of
bodies the per-frame experts found there (1, 2-4, 5+; frames with none are counted
apart). Per group and estimator: frames, mean wall-clock ms per frame (time in the
estimator call) and mean CPU-ms (process CPU time, all threads), and the speed-up of the
network over each expert mode (ratio of mean wall times in the same run). The machine
may be shared: the load average is printed; compare the ratios.

Usage:
    .venv/bin/python benchmarks/bench_student.py [--checkpoint FILE] [--frames 30] [--photos DIR ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_CLIPS = ("pose2sim/SinglePerson/cam01.mp4", "sports2d_demo.mp4", "pose2sim/MultiPerson/cam01.mp4",
                 "openpose_video.avi", "vtest.avi", "mmaction2/demo_spatiotemporal_det.mp4")
DEFAULT_PHOTOS = ("images/multihmr", "images/alphapose", "images/coco_val2014")
MODES = ("experts", "streaming", "network")

sys.path.insert(0, str(REPO))

from measure import OwnClock, load_avg  # noqa: E402  (benchmarks/measure.py: the script's folder is on sys.path)


def group_of(people: int) -> str:
    """The people-count group of a frame, from the per-frame experts' body count."""
    if people <= 0:
        return "0"
    return "1" if people == 1 else ("2-4" if people <= 4 else "5+")




def _timed(estimator: Callable[[np.ndarray], object], image: np.ndarray) -> tuple[object, float, float]:
    c, t = time.process_time(), time.perf_counter()
    out = estimator(image)
    return out, time.perf_counter() - t, time.process_time() - c


def run_frames(frames: Iterable[np.ndarray], experts, network, streaming, clock: OwnClock | None, rows: list[dict],
               source: str) -> None:
    """Append one row per frame: experts' body count, and wall / CPU seconds of each estimator that ran."""
    for image in frames:
        row: dict = {"source": source}
        ref, row["experts_s"], row["experts_cpu_s"] = _timed(experts, image)
        row["people"] = sum(1 for p in ref.people if p.body is not None)
        if streaming is not None:
            _, dt, dc = _timed(streaming, image)
            clock.t += dt
            row["streaming_s"], row["streaming_cpu_s"] = dt, dc
        net, row["network_s"], row["network_cpu_s"] = _timed(network, image)
        row["network_people"] = sum(1 for p in net.people if p.body is not None)
        rows.append(row)


def summarise(rows: list[dict]) -> dict[str, dict]:
    """Per people-count group: frames, and per mode the mean wall / CPU ms over the frames it ran on."""
    out: dict[str, dict] = {}
    for group in ("1", "2-4", "5+", "0"):
        members = [r for r in rows if group_of(r["people"]) == group]
        if not members:
            continue
        g: dict = {"frames": len(members), "photos": sum(1 for r in members if "streaming_s" not in r)}
        for mode in MODES:
            ran = [r for r in members if f"{mode}_s" in r]
            if ran:
                g[mode] = {"frames": len(ran), "ms": 1e3 * float(np.mean([r[f"{mode}_s"] for r in ran])),
                           "cpu_ms": 1e3 * float(np.mean([r[f"{mode}_cpu_s"] for r in ran]))}
        # Speed-ups on the same frames only (streaming: the video frames of the group).
        for mode in ("experts", "streaming"):
            same = [r for r in members if f"{mode}_s" in r]
            if same:
                g[f"network_vs_{mode}"] = (sum(r[f"{mode}_s"] for r in same) / sum(r["network_s"] for r in same))
        out[group] = g
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, default=None, help="student checkpoint (default: the shipped student)")
    p.add_argument("--device", default="cpu", help="the network's device: cpu, cuda or auto")
    p.add_argument("--video", type=Path, action="append", default=None,
                   help="clip(s) (default: one-person, two-person and crowd clips of ../shared/data/video)")
    p.add_argument("--photos", type=Path, action="append", default=None,
                   help="folder(s) of still photos (default: the multi-person photos of ../shared/data/images)")
    p.add_argument("--frames", type=int, default=30, help="frames per clip")
    p.add_argument("--max-width", type=int, default=960, help="clip frames resized to at most this width (px)")
    p.add_argument("--num-threads", type=int, default=2, help="the experts' LiteRT threads")
    p.add_argument("--out", type=Path, default=REPO / "out" / "bench_student")
    args = p.parse_args(argv)

    from dope_core.experts.ensemble import ExpertsEstimator
    from dope_core.experts.streaming import DetectionSchedule, StreamingExpertsEstimator
    from dope_core.image_io import read_image
    from dope_core.model.inference import NetworkEstimator
    from dope_core.tracking import TrackIdAllocator
    from dope_ros.video_source import video_frames

    clips = args.video or [SHARED / "video" / c for c in DEFAULT_CLIPS if (SHARED / "video" / c).is_file()]
    photo_dirs = args.photos if args.photos is not None else [SHARED / d for d in DEFAULT_PHOTOS if (SHARED / d).is_dir()]
    photos = sorted(f for d in photo_dirs for f in d.iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not clips and not photos:
        p.error(f"no clip or photo given and none found under {SHARED}")
    experts = ExpertsEstimator(num_threads=args.num_threads)
    network = NetworkEstimator(checkpoint=args.checkpoint, device=args.device)
    machine = {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
               "load_average_start": load_avg(), "checkpoint": str(args.checkpoint or "shipped student"),
               "device": args.device, "num_threads": args.num_threads}
    print(f"CPUs: {os.cpu_count()}; load average (1, 5, 15 min) at start: {machine['load_average_start']}", flush=True)
    rows: list[dict] = []
    warm = next(iter(video_frames(clips[0], max_frames=1, max_width=args.max_width))) if clips else read_image(photos[0])
    experts(warm)
    network(warm)  # warm-ups, not timed
    for clip in clips:
        clock = OwnClock()
        streaming = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(30, 0.0), num_threads=args.num_threads,
                                              clock=clock, ids=TrackIdAllocator(0))
        run_frames(video_frames(clip, max_frames=args.frames, max_width=args.max_width), experts, network, streaming,
                   clock, rows, str(clip))
        streaming.close()
        print(f"  {clip.name}: done, load {load_avg()}", flush=True)
    run_frames((read_image(f) for f in photos), experts, network, None, None, rows, "photos")
    machine["load_average_end"] = load_avg()
    summary = summarise(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_student.json").write_text(json.dumps({"machine": machine, "groups": summary, "frames": rows},
                                                            indent=2))
    print(f"load average at end: {machine['load_average_end']}; {len(clips)} clips x {args.frames} frames, "
          f"{len(photos)} photos\n")
    print("| people (per-frame experts) | frames (photos) | per-frame experts ms (CPU-ms) | streaming experts ms "
          "(CPU-ms) | network ms (CPU-ms) | network speed-up vs per-frame / vs streaming |")
    print("|---|---|---|---|---|---|")
    for group, g in summary.items():
        def cell(mode: str) -> str:
            m = g.get(mode)
            return "-" if m is None else f"{m['ms']:.0f} ({m['cpu_ms']:.0f})"

        ratios = " / ".join("-" if f"network_vs_{m}" not in g else f"{g[f'network_vs_{m}']:.1f}x"
                            for m in ("experts", "streaming"))
        print(f"| {group} | {g['frames']} ({g['photos']}) | {cell('experts')} | {cell('streaming')} | "
              f"{cell('network')} | {ratios} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
