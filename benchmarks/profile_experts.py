"""Where the experts' time goes on a video frame, per-frame and streaming modes (no ROS).

Wraps the stages with timers and runs both modes over the same frames of a clip:
detector passes (letterbox warp + model + decoding, per detector), landmark passes
(region crop, model, mapping to DOPE's keypoints, per model), fusion into people, and
the rest (region propagation, deduplication, bookkeeping). In streaming mode the
landmark passes of a frame run in parallel threads, so stage times are summed over
threads and may exceed the wall time. The machine may be shared: the load average is
printed. Usage:
    .venv/bin/python benchmarks/profile_experts.py --video ../shared/data/video/sports2d_demo.mp4 --frames 30
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


class Timers:
    """Thread-safe accumulated seconds and calls per stage name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def wrap(self, owner, attr: str, name) -> None:
        """Time every call of ``owner.attr``; ``name(args)`` names the stage."""
        inner = getattr(owner, attr)

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                with self._lock:
                    key = name(args)
                    self.seconds[key] += time.perf_counter() - t
                    self.calls[key] += 1

        setattr(owner, attr, timed)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", type=Path, default=REPO.parent / "shared" / "data" / "video" / "sports2d_demo.mp4")
    p.add_argument("--frames", type=int, default=30)
    p.add_argument("--max-width", type=int, default=960)
    p.add_argument("--num-threads", type=int, default=2)
    args = p.parse_args()

    import dope_core.experts.streaming as streaming_module
    from dope_core.experts import body, face, hand, ssd
    from dope_core.experts.ensemble import ExpertsEstimator
    from dope_core.experts.streaming import DetectionSchedule, StreamingExpertsEstimator
    from dope_ros.video_source import video_frames

    timers = Timers()
    timers.wrap(ssd.SSDDetector, "detect_view", lambda a: f"detector pass: {a[0].model.name}")
    for cls, model in ((body.BodyExpert, "pose_landmark"), (hand.HandExpert, "hand_landmark"),
                       (face.FaceExpert, "face_landmark")):
        timers.wrap(cls, "landmarks_in", lambda a, m=model: f"landmark pass: {m}")
    for module in (streaming_module, sys.modules["dope_core.experts.ensemble"]):
        timers.wrap(module, "assemble", lambda a: "fusion (assemble)")

    frames = list(video_frames(args.video, max_frames=args.frames, max_width=args.max_width))
    experts = ExpertsEstimator(num_threads=args.num_threads)
    stream = StreamingExpertsEstimator(experts, schedule=DetectionSchedule(), num_threads=args.num_threads)
    experts(frames[0])
    print(f"{args.video.name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}; CPUs {os.cpu_count()}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for mode, estimator in (("per-frame", experts), ("streaming", stream)):
        timers.reset()
        t = time.perf_counter()
        for frame in frames:
            estimator(frame)
        wall = (time.perf_counter() - t) / len(frames)
        staged = sum(timers.seconds.values()) / len(frames)
        print(f"\n{mode}: {1000 * wall:.0f} ms per frame (wall)"
              + (f", {stream.searches} whole-frame searches" if mode == "streaming" else ""))
        print("| stage | ms per frame | calls per frame | ms per call |")
        print("|---|---|---|---|")
        for key in sorted(timers.seconds, key=lambda k: -timers.seconds[k]):
            s, n = timers.seconds[key], timers.calls[key]
            print(f"| {key} | {1000 * s / len(frames):.1f} | {n / len(frames):.1f} | {1000 * s / n:.1f} |")
        print(f"| rest (wall minus stages; negative: stages overlapped in threads) | {1000 * (wall - staged):.1f} | | |")
    stream.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
