"""How many of the hands the experts find a body holds, with the fusion's hand reach at several values.

The fusion (:func:`dope_core.fusion.assign_hands`) gives a hand to a body when their wrists are
mutual nearest neighbours within the hand's box, or, with ``body_reach``, within that fraction of
the body box's longer side when that is more. This runs the experts once per item (the photos of
``DATA/images``, the annotated images of ``DATA/annotated/mmpose`` and every ``--frame-step``-th
frame of each clip of ``DATA/video``, as ``diff_bodies.py`` reads them), fuses the same bodies and
hands with the release's limit alone and with each ``--reach``, and prints per group of items the
hands found and the hands on people. Every hand a reach gives to a body that the release's limit
leaves alone (or gives elsewhere) is listed; with ``--out`` it is drawn there (JPEG: the body in
red, the hand in green, a line from the body's wrist to the hand's). Usage:
    .venv/bin/python benchmarks/eval_hand_assignment.py --reach 0.1 0.15 --out out/reach
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Collection, Optional, Sequence

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
for path in (REPO_ROOT, REPO_ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from diff_bodies import add_item_arguments, item_arguments_error, items  # noqa: E402
from dope_core.boxes import box_side  # noqa: E402
from dope_core.draw import draw_part  # noqa: E402
from dope_core.fusion import EXPERTS_MAX_HAND_TO_BODY, assign_hands  # noqa: E402
from dope_core.keypoints import BODY_LEFT_WRIST, BODY_RIGHT_WRIST, HAND_WRIST, Part  # noqa: E402
from dope_core.structures import Handedness, PartPose  # noqa: E402

GROUPS = ("photos", "annotated", "frames")


def group_of(name: str, photo_folders: Collection[str]) -> str:
    """The group of an item named as :func:`diff_bodies.items` names it: ``frames`` (``clip#frame``),
    ``photos`` (in one of ``photo_folders``, the folders of ``DATA/images``) or ``annotated``."""
    if "#" in name:
        return "frames"
    return "photos" if name.split("/")[0] in photo_folders else "annotated"


def held(bodies: Sequence[PartPose], hands: Sequence[PartPose], reach: Optional[float]
         ) -> dict[int, tuple[int, Handedness]]:
    """The experts' hand assignment (:func:`assign_hands` with their ``max_hand_to_body``) at ``reach``
    (``None``: the release's limit alone)."""
    return assign_hands(bodies, hands, max_hand_to_body=EXPERTS_MAX_HAND_TO_BODY, body_reach=reach)


def drawing(image: np.ndarray, body: PartPose, hand: PartPose, side: Handedness, *, size: int = 400) -> np.ndarray:
    """BGR crop of ``image`` (RGB) around ``body``'s wrist on ``side`` and ``hand``: the body in red,
    the hand in green, a cyan line between the two wrists; its longer side ``size`` pixels."""
    out = np.ascontiguousarray(image[:, :, ::-1]).copy()
    draw_part(out, body, (0, 0, 255))
    draw_part(out, hand, (0, 255, 0))
    wrist = body.keypoints_2d[BODY_RIGHT_WRIST if side is Handedness.RIGHT else BODY_LEFT_WRIST]
    a = tuple(int(round(v)) for v in wrist)
    b = tuple(int(round(v)) for v in hand.keypoints_2d[HAND_WRIST])
    cv2.line(out, a, b, (255, 255, 0), 2)
    cx, cy = (np.asarray(a) + np.asarray(b)) // 2
    r = int(max(80.0, 0.35 * box_side(body.box)))
    crop = out[max(0, cy - r):cy + r, max(0, cx - r):cx + r]
    scale = size / max(crop.shape[:2])
    return cv2.resize(crop, None, fx=scale, fy=scale)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reach", type=float, nargs="+", default=[0.1, 0.15],
                   help="body_reach values to compare with the release's limit (fractions of the body box's longer side)")
    p.add_argument("--config", default="default", help="experts preset or YAML file (as eval_accuracy.py reads it)")
    add_item_arguments(p)
    p.add_argument("--out", type=Path, default=None, help="folder for the drawings of the changed assignments")
    args = p.parse_args(argv)
    error = item_arguments_error(args) or (None if all(0 < r < 1 for r in args.reach)
                                           else "each --reach must lie in (0, 1)")
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from eval_accuracy import experts_config, experts_estimator
    from dope_core.experts.config import ExpertsConfigError

    try:
        config = experts_config(args.config)
        if isinstance(config, int):
            raise ExpertsConfigError("the YOLO detector alone finds no hands")
        estimator = experts_estimator(args.config, config, num_threads=args.threads)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    images = args.data / "images"
    photo_folders = {d.name for d in images.iterdir() if d.is_dir()} if images.is_dir() else set()
    reaches: list[Optional[float]] = [None, *args.reach]
    counts = {g: {"items": 0, "hands": 0, **{r: 0 for r in reaches}} for g in GROUPS}
    changed = 0
    for seen, (name, image) in enumerate(items(args.data, frame_step=args.frame_step,
                                               frames_per_clip=args.frames_per_clip)):
        if args.limit is not None and seen >= args.limit:
            break
        parts = estimator.requested_parts(*estimator.detect_landmarks(image))   # what the estimator fuses
        bodies, hands = parts.get(Part.BODY, []), parts.get(Part.HAND, [])
        row = counts[group_of(name, photo_folders)]
        row["items"] += 1
        row["hands"] += len(hands)
        release = held(bodies, hands, None)
        row[None] += len(release)
        for reach in args.reach:
            got = held(bodies, hands, reach)
            row[reach] += len(got)
            for h, (b, side) in sorted(got.items()):
                if release.get(h) == (b, side):
                    continue
                changed += 1
                hand, body = hands[h], bodies[b]
                wrist = body.keypoints_2d[BODY_RIGHT_WRIST if side is Handedness.RIGHT else BODY_LEFT_WRIST]
                gap = float(np.linalg.norm(hand.keypoints_2d[HAND_WRIST] - wrist))
                print(f"{changed} reach {reach:g} {name}: hand {np.round(hand.box).astype(int).tolist()} "
                      f"({box_side(hand.box):.0f} px, presence {hand.score:.2f}, its own side {hand.handedness.value}) "
                      f"-> body {b} {side.value} wrist, {gap:.0f} px = {gap / box_side(body.box):.3f} of the body, "
                      f"{gap / max(box_side(hand.box), 1e-6):.2f} hand boxes; release: {release.get(h)}", flush=True)
                if args.out is not None:
                    target = args.out / f"{changed:03d}_{name.replace('/', '_').replace('#', '_f')}.jpg"
                    cv2.imwrite(str(target), drawing(image, body, hand, side))
    print("| items | hands | on people, release's limit | " + " | ".join(f"reach {r:g}" for r in args.reach) + " |")
    print("|---|---|---|" + "---|" * len(args.reach))
    for group in GROUPS:
        row = counts[group]
        if row["items"]:
            print(f"| {row['items']} {group} | {row['hands']} | {row[None]} | "
                  + " | ".join(str(row[r]) for r in args.reach) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
