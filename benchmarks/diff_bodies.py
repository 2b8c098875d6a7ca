"""Which bodies one experts configuration finds and another does not, on every photo and sampled video frame.

A rule of the body expert is judged by what it adds and removes, each drawn and looked at: the
recall and PCK of the labelled samples count only the labelled people. This runs two configurations
(``--configs A B``: presets, YAML files or ``NAME+ATTR=VALUE``, as ``eval_accuracy.py`` reads them)
over the photos of ``DATA/images``, the annotated images of ``DATA/annotated/mmpose`` and every
``--frame-step``-th frame of each clip of ``DATA/video`` (at most ``--frames-per-clip`` per clip,
shrunk to at most 960 px), and lists, per item, the bodies of each that the other has no match for
(no body of the other is the same person by the body expert's :func:`one_person`). With ``--out``,
each such item is drawn there (JPEG): A's unmatched bodies red, B's green, boxes and joints. The last line gives the bodies of each over all items. Usage:
    .venv/bin/python benchmarks/diff_bodies.py --configs default default+weak_inside_passes=0 --out out/diff
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
for path in (REPO_ROOT, REPO_ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from dope_core.experts.body_rules import one_person  # noqa: E402
from dope_core.image_io import read_image  # noqa: E402
from dope_core.keypoints import Part  # noqa: E402
from dope_core.structures import PartPose  # noqa: E402
from dope_ros.video_source import video_frames  # noqa: E402
from eval_small_people import body_estimators  # noqa: E402

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
MAX_FRAME_SIDE = 960
"""Video frames are shrunk to at most this side (pixels), as the node's default ``max_width`` does."""


def unmatched(bodies: Sequence[PartPose], others: Sequence[PartPose]) -> list[PartPose]:
    """The bodies of ``bodies`` that no body of ``others`` is one person with (:func:`one_person`, the
    body expert's own test: the median joint distance under 0.1 of the taller box's height, or under
    0.15 when the boxes overlap by IoU 0.3)."""
    return [body for body in bodies if not any(one_person(body, other) for other in others)]


def items(data: Path, *, frame_step: int, frames_per_clip: int) -> Iterator[tuple[str, np.ndarray]]:
    """``(name, RGB uint8 image)``: the photos and annotated images under ``data``, then the sampled
    frames of its clips (names ``folder/file`` and ``clip#frame``). Unreadable files are skipped."""
    files = sorted(p for root in (data / "images", data / "annotated" / "mmpose") if root.is_dir()
                   for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    for path in files:
        try:
            yield f"{path.parent.name}/{path.name}", read_image(path)
        except (OSError, ValueError):
            continue
    clips = sorted(p for p in (data / "video").rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES) \
        if (data / "video").is_dir() else []
    for clip in clips:
        try:
            last = frame_step * (frames_per_clip - 1)   # the last frame sampled (negative: none)
            for index, frame in enumerate(video_frames(clip, max_frames=max(last + 1, 0))):
                if index % frame_step:
                    continue
                scale = MAX_FRAME_SIDE / max(frame.shape[:2])
                if scale < 1.0:
                    frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                yield f"{clip.relative_to(data / 'video')}#{index}", frame
        except (OSError, ValueError):
            continue


def add_item_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the scripts that read :func:`items`: ``--data``, ``--frame-step``,
    ``--frames-per-clip``, ``--limit``, ``--threads``."""
    p.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data",
                   help="folder holding images/, annotated/mmpose/ and video/")
    p.add_argument("--frame-step", type=int, default=45, help="every N-th frame of each clip")
    p.add_argument("--frames-per-clip", type=int, default=8, help="at most this many frames per clip")
    p.add_argument("--limit", type=int, default=None, help="at most this many items (a quick look)")
    p.add_argument("--threads", type=int, default=2)


def item_arguments_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the options :func:`add_item_arguments` adds (one line), or ``None``."""
    if not args.data.is_dir():
        return f"data folder {args.data} not found (give --data)"
    if args.frame_step < 1 or args.frames_per_clip < 0:
        return "--frame-step must be at least 1 and --frames-per-clip at least 0"
    return None


def drawing(image: np.ndarray, only_a: Sequence[PartPose], only_b: Sequence[PartPose]) -> np.ndarray:
    """``image`` (RGB) as BGR with ``only_a``'s boxes and joints in red, ``only_b``'s in green."""
    out = np.ascontiguousarray(image[:, :, ::-1]).copy()
    for bodies, colour in ((only_a, (0, 0, 255)), (only_b, (0, 255, 0))):
        for body in bodies:
            x1, y1, x2, y2 = (int(round(v)) for v in body.box[:4])
            cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2)
            for x, y in np.round(body.keypoints_2d).astype(int):
                cv2.circle(out, (int(x), int(y)), 3, colour, -1)
    return out


def _describe(bodies: Sequence[PartPose]) -> str:
    return ", ".join(f"{np.round(b.box).astype(int).tolist()} {b.score:.2f}" for b in bodies) or "-"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", nargs=2, required=True, metavar=("A", "B"),
                   help="two experts configurations (presets, YAML files, NAME+ATTR=VALUE)")
    add_item_arguments(p)
    p.add_argument("--out", type=Path, default=None, help="folder for the drawings of the items that differ")
    args = p.parse_args(argv)
    error = item_arguments_error(args)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    a, b = args.configs
    try:
        estimators = body_estimators([a, b], threads=args.threads)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    totals, seen, differ = {a: 0, b: 0}, 0, 0
    for name, image in items(args.data, frame_step=args.frame_step, frames_per_clip=args.frames_per_clip):
        if args.limit is not None and seen >= args.limit:
            break
        seen += 1
        found = {label: estimators[label](image).parts(Part.BODY) for label in (a, b)}
        for label in (a, b):
            totals[label] += len(found[label])
        only_a, only_b = unmatched(found[a], found[b]), unmatched(found[b], found[a])
        if not (only_a or only_b):
            continue
        differ += 1
        print(f"{name}: {len(found[a])} -> {len(found[b])} bodies; only {a}: {_describe(only_a)}; "
              f"only {b}: {_describe(only_b)}", flush=True)
        if args.out is not None:
            target = args.out / (name.replace("/", "_").replace("#", "_f") + ".jpg")
            cv2.imwrite(str(target), drawing(image, only_a, only_b))
    print(f"{seen} items, {differ} differ; bodies: {a} {totals[a]}, {b} {totals[b]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
