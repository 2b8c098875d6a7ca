"""How different the video frames kept for labelling are: fixed stride against a change threshold.

Decodes every frame of the videos (no experts), keeps a 64-pixel grey thumbnail of each
and applies :class:`dope_core.pseudo_labels.sources.FrameSelector`, the rule of
``dope-train label --stride N --min-change G --max-gap M``, for each setting. Per setting it prints
the frames kept (the labelling cost), how different consecutive kept frames are
(:func:`~dope_core.pseudo_labels.sources.frame_change`, mean absolute grey-level
difference of the most-changed tenth of the pixels: median and 10th percentile) and the share of near-duplicates (pairs under
``--duplicate`` grey levels), per video and in total. Usage::

    .venv/bin/python benchmarks/frame_diversity.py ../shared/data/video --settings 5:0:0 2:8:30 2:12:30
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dope_core.image_io import open_video  # noqa: E402
from dope_core.pseudo_labels.sources import FrameSelector, find_media, frame_change, thumbnail  # noqa: E402


def thumbnails_of(video: Path) -> list[np.ndarray]:
    cap = open_video(video)
    thumbs = []
    while True:
        ok, frame = cap.read()
        if not ok or frame is None:
            break
        thumbs.append(thumbnail(frame))
    cap.release()
    return thumbs


def kept_changes(thumbs: list[np.ndarray], stride: int, min_change: float, max_gap: int) -> list[float]:
    """Changes between consecutive kept frames under one setting (one entry fewer than kept frames)."""
    selector = FrameSelector(stride=stride, min_change=min_change, max_gap=max_gap)
    kept = [i for i in range(len(thumbs)) if selector.due(i) and selector.keep_thumbnail(i, thumbs[i])]
    return [frame_change(thumbs[a], thumbs[b]) for a, b in zip(kept, kept[1:])]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", help="video files or folders")
    p.add_argument("--settings", nargs="+", default=["5:0:0", "2:8:30", "2:12:30", "3:16:30"],
                   metavar="STRIDE:MIN_CHANGE:MAX_GAP")
    p.add_argument("--duplicate", type=float, default=2.0, help="a pair under this change is a near-duplicate")
    args = p.parse_args()
    settings = [(int(a), float(b), int(c)) for a, b, c in (s.split(":") for s in args.settings)]
    _, videos = find_media(args.inputs)
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), f"({os.cpu_count()} CPUs)")
    totals = {s: [0, []] for s in settings}
    header = "| video | frames | " + " | ".join(f"stride {st}, min change {mc:g}, max gap {mg}" for st, mc, mg in settings) + " |"
    print("\nper setting: frames kept; change between kept frames, median / 10th percentile (grey levels); "
          f"near-duplicates (< {args.duplicate:g})\n")
    print(header)
    print("|---|---:|" + "---|" * len(settings))
    for video in videos:
        thumbs = thumbnails_of(video)
        if not thumbs:
            continue
        cells = []
        for s in settings:
            changes = kept_changes(thumbs, *s)
            totals[s][0] += len(changes) + 1
            totals[s][1] += changes
            cells.append(_cell(len(changes) + 1, changes, args.duplicate))
        print(f"| {video.parent.name}/{video.name} | {len(thumbs)} | " + " | ".join(cells) + " |", flush=True)
    print("| **all** | | " + " | ".join(_cell(n, c, args.duplicate) for n, c in totals.values()) + " |")
    print("\n" + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


def _cell(kept: int, changes: list[float], duplicate: float) -> str:
    if not changes:
        return f"{kept}"
    c = np.asarray(changes)
    return f"{kept}; {np.median(c):.1f} / {np.percentile(c, 10):.1f}; {100 * np.mean(c < duplicate):.0f} %"


if __name__ == "__main__":
    sys.exit(main())
