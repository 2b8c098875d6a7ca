"""Streaming vs per-frame experts on the same clips, side by side in one run (no ROS).

For each clip, every frame goes through both modes in turn (same frames, same machine
load): the per-frame experts (every frame searched from scratch, ``dope --no-streaming``)
and the streaming experts (people followed from frame to frame, the detectors on a
schedule; the default of ``dope`` on videos and of the node). Reported per mode:
frames/s, latency mean / p95 (time in the estimator per frame, ms), CPU-ms per frame
(process CPU time, all threads), people per frame, whole-frame searches; and their
agreement: PCK@0.1 of the streaming parts against the per-frame parts on the same frame,
over the parts both found (pairs taken by decreasing box IoU, at least 0.3, each part
once; threshold 0.1 x the per-frame part's longer box side), and the bodies each mode
found that the other did not, and of those the ones where the other mode has no body at
all (a person it lost, or a false body of this mode), apart from second passes over a person
both found.

The streaming schedule runs on the streaming estimator's own processing time (as if it
ran alone). The machine may be shared: the load average is printed; compare ratios.
Usage:
    .venv/bin/python benchmarks/bench_streaming.py --frames 60 [--video CLIP ...] [--config YAML]
        [--alt-config YAML] [--alt-on-loss search] [--alt-detect-every N] [--alt-second-opinion 0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_VIDEO = REPO.parent / "shared" / "data" / "video"
DEFAULT_CLIPS = ("sports2d_demo.mp4", "openpose_video.avi", "vtest.avi", "pose2sim/MultiPerson/cam01.mp4")

sys.path.insert(0, str(REPO))

from dope_core.keypoints import Part  # noqa: E402
from dope_core.structures import WholeBodyPoses  # noqa: E402
from dope_core.boxes import box_iou  # noqa: E402
from measure import OwnClock, load_avg  # noqa: E402  (benchmarks/measure.py: the script's folder is on sys.path)



def parts_of(poses: WholeBodyPoses) -> dict[Part, list]:
    """Every body, hand and face of a result (assigned or not)."""
    out: dict[Part, list] = {p: [] for p in Part}
    for person in poses.people:
        for _, pose in person.parts():
            out[pose.part].append(pose)
    for pose in poses.unassigned:
        out[pose.part].append(pose)
    return out


def match(a: list, b: list, min_iou: float = 0.3) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of parts of ``a`` and ``b`` taken by decreasing box IoU, each part at most once."""
    if not a or not b:
        return []
    iou = box_iou(np.stack([p.box for p in a]), np.stack([p.box for p in b]))
    pairs, used_a, used_b = [], set(), set()
    for i, j in zip(*np.unravel_index(np.argsort(-iou, axis=None), iou.shape)):
        if iou[i, j] < min_iou:
            break
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((int(i), int(j)))
    return pairs



def nobody_there(bodies: list, others: list, unmatched: set[int], max_iou: float = 0.1) -> int:
    """How many of the ``unmatched`` bodies (indices into ``bodies``) overlap none of ``others``
    (box IoU under ``max_iou``): people the other mode has no body for at all, rather than a
    second pass over someone both found or a body placed differently."""
    if not unmatched:
        return 0
    if not others:
        return len(unmatched)
    iou = box_iou(np.stack([bodies[i].box for i in sorted(unmatched)]), np.stack([b.box for b in others]))
    return int((iou.max(axis=1) < max_iou).sum())


def _agreement_of(ref: dict[Part, list], got: dict[Part, list], acc: dict, only: dict, mode: str) -> None:
    """Add one frame's pairs of ``got`` (a streaming mode) against ``ref`` (per-frame) to ``acc`` and ``only``.

    ``only`` counts the bodies each mode found that the other did not (no pair), and among them
    (``<mode>_nobody_there``) those where the other mode has no body at all (:func:`nobody_there`):
    a body found only per frame that overlaps a paired one is mostly a second pass over that
    person or a skeleton fitted on something beside it (looked at on the demo clip), not a
    person that streaming lost.
    """
    for part in Part:
        a = acc[part]
        pairs = match(ref[part], got[part])
        for i, j in pairs:
            r, g = ref[part][i], got[part][j]
            size = max(r.box[2] - r.box[0], r.box[3] - r.box[1])
            a["correct"] += int((np.linalg.norm(g.keypoints_2d - r.keypoints_2d, axis=1) <= 0.1 * size).sum())
            a["keypoints"] += part.num_keypoints
        a["pairs"] += len(pairs)
        a["per_frame"] += len(ref[part])
        a["streaming"] += len(got[part])
        if part is Part.BODY:
            only["per_frame"] += len(ref[part]) - len(pairs)
            only[mode] += len(got[part]) - len(pairs)
            only["per_frame_nobody_there"] += nobody_there(ref[part], got[part],
                                                           set(range(len(ref[part]))) - {i for i, _ in pairs})
            only[f"{mode}_nobody_there"] += nobody_there(got[part], ref[part],
                                                         set(range(len(got[part]))) - {j for _, j in pairs})


def run_clip(path: Path, frames: int, max_width: int, schedule, num_threads: int, alt_config=None,
             alt_schedule=None, alt_kw: dict | None = None, config=None, stream_kw: dict | None = None) -> dict:
    """Both modes (and, with ``alt_config``, ``alt_schedule`` and/or ``alt_kw``, the streaming
    experts of that configuration, schedule and keyword arguments of
    :class:`~dope_core.experts.streaming.StreamingExpertsEstimator`) on the clip's frames;
    ``config``: the experts' configuration of both modes (default: the default one);
    ``stream_kw``: keyword arguments of the streaming mode (and of the alternative's, unless
    ``alt_kw`` sets them)."""
    from dope_core.experts.ensemble import ExpertsEstimator
    from dope_core.experts.streaming import StreamingExpertsEstimator
    from dope_core.tracking import TrackIdAllocator
    from dope_ros.video_source import video_frames

    images = list(video_frames(path, max_frames=frames, max_width=max_width))
    per_frame = ExpertsEstimator(num_threads=num_threads, **({"config": config} if config is not None else {}))
    clocks = {"streaming": OwnClock()}
    estimators = {"per_frame": per_frame,
                  "streaming": StreamingExpertsEstimator(per_frame, schedule=schedule, num_threads=num_threads,
                                                         clock=clocks["streaming"], ids=TrackIdAllocator(0),
                                                         **(stream_kw or {}))}
    per_frame(images[0])                       # warm-up (XNNPACK set-up), not timed
    if alt_config is not None or alt_schedule is not None or alt_kw:
        alt = per_frame
        if alt_config is not None:
            alt = ExpertsEstimator(num_threads=num_threads, config=alt_config)
            alt(images[0])
        clocks["streaming_alt"] = OwnClock()
        estimators["streaming_alt"] = StreamingExpertsEstimator(alt, schedule=alt_schedule or schedule,
                                                                num_threads=num_threads, clock=clocks["streaming_alt"],
                                                                ids=TrackIdAllocator(0),
                                                                **{**(stream_kw or {}), **(alt_kw or {})})
    streams = [m for m in estimators if m != "per_frame"]
    times: dict[str, list[float]] = {m: [] for m in estimators}
    cpu = {m: 0.0 for m in estimators}
    people = {m: 0 for m in estimators}
    agreement = {m: {p: {"correct": 0, "keypoints": 0, "pairs": 0, "per_frame": 0, "streaming": 0} for p in Part}
                 for m in streams}
    only = {m: {"per_frame": 0, m: 0, "per_frame_nobody_there": 0, f"{m}_nobody_there": 0} for m in streams}
    for image in images:
        results = {}
        for mode, estimator in estimators.items():
            c, t = time.process_time(), time.perf_counter()
            results[mode] = estimator(image)
            dt = time.perf_counter() - t
            cpu[mode] += time.process_time() - c
            times[mode].append(dt)
            people[mode] += len(results[mode].people)
            if mode in clocks:
                clocks[mode].t += dt
        ref = parts_of(results["per_frame"])
        for mode in streams:
            _agreement_of(ref, parts_of(results[mode]), agreement[mode], only[mode], mode)
    for mode in streams:
        estimators[mode].close()
    n = len(images)
    out = {"clip": str(path), "frames": n, "size": f"{images[0].shape[1]}x{images[0].shape[0]}",
           "searches": {m: estimators[m].searches for m in streams},
           "second_opinions_made_kept": {m: [estimators[m].second_opinions, estimators[m].second_opinions_kept]
                                         for m in streams},
           "modes": {}, "agreement": {},
           "bodies_only_found_by": only}
    for mode in times:
        t = np.array(times[mode])
        out["modes"][mode] = {"fps": n / t.sum(), "latency_ms_mean": 1000 * t.mean(),
                              "latency_ms_p95": 1000 * float(np.percentile(t, 95)),
                              "cpu_ms_per_frame": 1000 * cpu[mode] / n, "people_per_frame": people[mode] / n}
    for mode in streams:
        out["agreement"][mode] = {}
        for part, a in agreement[mode].items():
            both = a["correct"] / a["keypoints"] if a["keypoints"] else float("nan")
            out["agreement"][mode][part.value] = {"pck_both_found": both, "both_found": a["pairs"],
                                                  "per_frame_parts": a["per_frame"], "streaming_parts": a["streaming"]}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", type=Path, action="append", default=None,
                   help="clip(s) to run (default: the demo clip and multi-person clips of ../shared/data/video)")
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--max-width", type=int, default=960)
    p.add_argument("--detect-every", type=int, default=30, help="streaming: whole-frame search every N frames")
    p.add_argument("--detect-every-s", type=float, default=0.0, help="streaming: ... or every S seconds (0: never)")
    p.add_argument("--on-loss", choices=("local", "search"), default="local",
                   help="streaming: what a lost person triggers (DetectionSchedule.on_loss)")
    p.add_argument("--after-loss", type=int, default=10, metavar="N",
                   help="streaming: a loss not recovered locally makes a search N frames after the last one "
                        "(DetectionSchedule.after_loss_frames, default 10; 0: off)")
    p.add_argument("--num-threads", type=int, default=2)
    p.add_argument("--config", default=None, metavar="NAME_OR_YAML",
                   help="the experts' configuration of both modes (default: the default one), e.g. a YAML with "
                        "'experts: {body_refine: null}': per-frame bodies from the stream's landmark model")
    p.add_argument("--alt-config", default=None, metavar="NAME_OR_YAML",
                   help="also run the streaming experts of this configuration (a preset or a YAML file with an "
                        "'experts' section, e.g. the lite hand model) on the same frames, as mode streaming-alt")
    p.add_argument("--alt-on-loss", choices=("local", "search"), default=None,
                   help="streaming-alt (with --alt-config, or the default experts) uses this on_loss")
    p.add_argument("--alt-detect-every", type=int, default=None,
                   help="streaming-alt searches the whole frame every this many frames (default: --detect-every)")
    p.add_argument("--scan-sources-every", type=int, default=2, metavar="N",
                   help="the ssd detector also scans the whole image every N person scans (0: on its turn only)")
    p.add_argument("--alt-scan-sources-every", type=int, default=None, metavar="N",
                   help="streaming-alt uses this scan_sources_every (default: --scan-sources-every)")
    p.add_argument("--alt-after-loss", type=int, default=None, metavar="N",
                   help="streaming-alt uses this after_loss_frames (default: --after-loss)")
    p.add_argument("--alt-confirm-frames", type=int, default=None,
                   help="streaming-alt uses this confirm_frames (frames a person is seen in before its loss is "
                        "sought; default: the on_loss rule's)")
    p.add_argument("--second-opinion", type=float, default=None,
                   help="streaming: the refining model's presence that keeps a failing track "
                        "(StreamingExpertsEstimator.second_opinion; default its own, 0: off)")
    p.add_argument("--alt-second-opinion", type=float, default=None,
                   help="streaming-alt uses this second_opinion (default: --second-opinion)")
    p.add_argument("--out", type=Path, default=REPO / "out" / "bench_streaming")
    args = p.parse_args(argv)
    from dope_core.experts.config import load_experts_config
    from dope_core.experts.streaming import DetectionSchedule

    alt = load_experts_config(args.alt_config) if args.alt_config else None
    base = load_experts_config(args.config) if args.config else None

    clips = args.video or [SHARED_VIDEO / c for c in DEFAULT_CLIPS if (SHARED_VIDEO / c).is_file()]
    if not clips:
        p.error(f"no clip given and none found under {SHARED_VIDEO}")
    schedule = DetectionSchedule(args.detect_every, args.detect_every_s, on_loss=args.on_loss,
                                 after_loss_frames=args.after_loss, scan_sources_every=args.scan_sources_every)
    alt_schedule = (DetectionSchedule(args.detect_every if args.alt_detect_every is None else args.alt_detect_every,
                                      args.detect_every_s, on_loss=args.alt_on_loss or args.on_loss,
                                      after_loss_frames=args.after_loss if args.alt_after_loss is None
                                      else args.alt_after_loss,
                                      scan_sources_every=args.scan_sources_every if args.alt_scan_sources_every is None
                                      else args.alt_scan_sources_every)
                    if args.alt_on_loss or args.alt_detect_every is not None or args.alt_after_loss is not None
                    or args.alt_scan_sources_every is not None
                    else None)
    machine = {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
               "load_average_start": load_avg(), "num_threads": args.num_threads,
               "schedule": {"every_frames": args.detect_every, "every_s": args.detect_every_s,
                            "on_loss": args.on_loss, "after_loss_frames": args.after_loss,
                            "scan_sources_every": args.scan_sources_every},
               "config": base.to_dict() if base is not None else None,
               "alt_config": alt.to_dict() if alt is not None else None, "alt_on_loss": args.alt_on_loss,
               "alt_detect_every": args.alt_detect_every, "alt_after_loss": args.alt_after_loss,
               "alt_scan_sources_every": args.alt_scan_sources_every,
               "alt_confirm_frames": args.alt_confirm_frames, "second_opinion": args.second_opinion,
               "alt_second_opinion": args.alt_second_opinion}
    print(f"CPUs: {os.cpu_count()}; load average (1, 5, 15 min) at start: {machine['load_average_start']}")
    stream_kw = {} if args.second_opinion is None else {"second_opinion": args.second_opinion}
    alt_kw = {k: v for k, v in (("confirm_frames", args.alt_confirm_frames),
                                ("second_opinion", args.alt_second_opinion)) if v is not None}
    results = [run_clip(c, args.frames, args.max_width, schedule, args.num_threads, alt, alt_schedule,
                        alt_kw, base, stream_kw) for c in clips]
    machine["load_average_end"] = load_avg()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_streaming.json").write_text(json.dumps({"machine": machine, "clips": results}, indent=2))
    print(f"load average at end: {machine['load_average_end']}")
    print("| clip | size, frames | mode | frames/s | latency mean / p95 (ms) | CPU-ms/frame | people/frame | "
          "whole-frame searches |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        for mode, m in r["modes"].items():
            print(f"| {Path(r['clip']).name} | {r['size']}, {r['frames']} | {mode.replace('_', '-')} | {m['fps']:.2f} | "
                  f"{m['latency_ms_mean']:.0f} / {m['latency_ms_p95']:.0f} | {m['cpu_ms_per_frame']:.0f} | "
                  f"{m['people_per_frame']:.2f} | {r['searches'].get(mode, r['frames'])} |")
    print()
    print("| clip | mode | rate / per-frame rate | body PCK@0.1 (both found) | hand | face | "
          "bodies found only per-frame / only this mode | of which the other mode has nobody there |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        for mode, a in r["agreement"].items():
            ratio = r["modes"][mode]["fps"] / r["modes"]["per_frame"]["fps"]

            def cell(part: str) -> str:
                x = a[part]
                return "-" if not x["both_found"] else f"{x['pck_both_found']:.3f} ({x['both_found']})"

            only = r["bodies_only_found_by"][mode]
            print(f"| {Path(r['clip']).name} | {mode.replace('_', '-')} | {ratio:.1f}x | {cell('body')} | {cell('hand')} | "
                  f"{cell('face')} | {only['per_frame']} / {only[mode]} | "
                  f"{only['per_frame_nobody_there']} / {only[f'{mode}_nobody_there']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
