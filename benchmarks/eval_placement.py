#!/usr/bin/env python3
"""How well people are placed in the camera frame: before and after per-person placement.

Runs the estimator once per image, then places the same detections with several
settings of :mod:`dope_core.placement` and prints tables:

1. **Human3.6M and MPI-INF-3DHP samples** (intrinsics and camera-frame ground truth,
   ``../shared/data/annotated/mmpose``): MRPE, the error of the body root (middle of
   the hips) in the camera frame, mm; the mean per-joint error in the camera frame
   (no alignment, mm); the reported one-sigma uncertainty next to them; the body's shape
   alone: root-relative MPJPE and PA-MPJPE of its part-relative 3D keypoints (mm).
2. **Group photos** (``../shared/data/images/multihmr`` and ``alphapose``, focal
   length = image width, principal point at the centre, no ground truth):
   the wrist gap (an assigned hand's wrist to its body's wrist, cm), the face gap
   (the face's ear-level point to its body's ear level, cm), the face centre to the
   body's head top (cm; anatomically about 10-15 cm), and the reprojection error of the
   attached parts (pixels, how much the attachment costs in the image).
3. **Bone lengths** of the placed parts against the priors: forearm, upper arm, thigh,
   shank (bodies), hand length (wrist to middle fingertip), eye corner distance (faces).

Settings compared: ``per part, expert scale`` (the placement before this work: each
part alone, at the scale its expert gave), ``per part + priors``, ``per person,
expert scale``, ``per person + priors`` (the default: hands and faces brought to the
priors, bodies at their expert's scale) and the same with each body's depth stretched
until its bones fit the priors (``stretch_body_depth``, the default until 2026-12-06).

Examples::

    .venv/bin/python benchmarks/eval_placement.py
    .venv/bin/python benchmarks/eval_placement.py --json out/placement.json --cache out/placement_dets.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from dope_core.camera import CameraModel  # noqa: E402
from dope_core.datasets import load_annotated  # noqa: E402
from dope_core.datasets.sample import ROOT_JOINTS  # noqa: E402
from dope_core.image_io import list_inputs, read_image  # noqa: E402
from dope_core.keypoints import BODY_HEAD, BODY_LEFT_WRIST, BODY_RIGHT_WRIST, HAND_WRIST, Part  # noqa: E402
from dope_core.metrics.matching import match_instances  # noqa: E402
from dope_core.metrics.pck import bbox_size  # noqa: E402
from dope_core.metrics.pose3d import joint_errors_mm  # noqa: E402
from dope_core.placement import (AnthropometricPriors, PlacementSettings, body_face_anchor, face_anchor,  # noqa: E402
                                 measure_part, place_poses)
from dope_core.structures import PartPose, WholeBodyPoses  # noqa: E402

SHARED = REPO_ROOT.parent / "shared" / "data"
SETTINGS: dict[str, PlacementSettings] = {
    "per part, expert scale (before)": PlacementSettings(priors=None, attach=False),
    "per part + priors": PlacementSettings(attach=False),
    "per person, expert scale": PlacementSettings(priors=None),
    "per person + priors (default)": PlacementSettings(),
    "per person + priors, body depth stretched (before)": PlacementSettings(stretch_body_depth=True),
}
PRIORS = AnthropometricPriors()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", type=Path, default=SHARED, help="the shared data folder (annotated/, images/)")
    p.add_argument("--photos", nargs="+", default=["multihmr", "alphapose"], help="folders of images/ for the gaps")
    p.add_argument("--backend", default="experts", help="estimator backend")
    p.add_argument("--cache", type=Path, default=None,
                   help="JSON file of the estimator's detections: read when present, written otherwise")
    p.add_argument("--json", type=Path, default=None, help="also write every number as JSON")
    p.add_argument("--figure", type=Path, default=None,
                   help="also write a 3D view (PNG) of the largest person of the photos with a face and both hands, "
                        "placed with the defaults")
    return p


def _detect(items: Sequence[tuple[str, Path]], backend: str, cache: Path | None) -> dict[str, WholeBodyPoses]:
    if cache is not None and cache.exists():
        return {k: WholeBodyPoses.from_dict(v) for k, v in json.loads(cache.read_text()).items()}
    from dope_core.estimator import build_estimator

    est = build_estimator(backend)
    out = {}
    for key, path in items:
        out[key] = est(read_image(path))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({k: v.to_dict() for k, v in out.items()}))
    return out


def _stats(values: Sequence[float]) -> str:
    v = np.asarray([x for x in values if np.isfinite(x)])
    if len(v) == 0:
        return "-"
    return f"{np.median(v):.1f} / {np.percentile(v, 95):.1f} / {v.max():.1f}"


def eval_body3d(samples, dets: dict[str, WholeBodyPoses]) -> dict[str, dict[str, list[float]]]:
    """Per setting: root errors, mean per-joint camera-frame errors and uncertainties (mm), matched bodies."""
    res: dict[str, dict[str, list[float]]] = {name: {"mrpe": [], "mpjpe_cam": [], "sigma": [], "z_gt": [],
                                                     "mpjpe": [], "pa_mpjpe": []} for name in SETTINGS}
    for s in samples:
        poses = dets[str(s.image_path)]
        gts = s.of_part(Part.BODY)
        bodies = [p.body for p in poses.people if p.body is not None]
        match = match_instances([b.keypoints_2d for b in bodies], [g.keypoints_2d for g in gts],
                                [g.visible for g in gts], [bbox_size(g.box) for g in gts])
        camera = CameraModel.from_matrix(s.intrinsics, *poses.image_size)
        for name, settings in SETTINGS.items():
            placed = place_poses(poses, camera, settings)
            placed_bodies = [p.body for p in placed.people if p.body is not None]
            for g, b in match.items():
                body, gt = placed_bodies[b], gts[g]
                if body.root_camera is None:
                    res[name]["mrpe"].append(float("nan"))
                    continue
                res[name]["mrpe"].append(1000 * float(np.linalg.norm(body.root_camera - gt.root_camera)))
                ok = gt.valid_3d
                err = np.linalg.norm(body.keypoints_3d_camera[ok] - (gt.keypoints_3d + gt.root_camera)[ok], axis=1)
                res[name]["mpjpe_cam"].append(1000 * float(err.mean()))
                res[name]["sigma"].append(1000 * body.placement_uncertainty)
                res[name]["z_gt"].append(float(gt.root_camera[2]))
                root = ROOT_JOINTS[Part.BODY]
                res[name]["mpjpe"].append(float(joint_errors_mm(body.keypoints_3d, gt.keypoints_3d, ok,
                                                                root=root).mean()))
                res[name]["pa_mpjpe"].append(float(joint_errors_mm(body.keypoints_3d, gt.keypoints_3d, ok, root=root,
                                                                   procrustes=True).mean()))
    return res


def _reprojection_px(pose: PartPose, camera: CameraModel) -> float:
    ok = pose.confidence >= 0.1
    uv = camera.project(pose.keypoints_3d_camera[ok])
    return float(np.median(np.linalg.norm(uv - pose.keypoints_2d[ok], axis=1)))


def eval_photos(dets: dict[str, WholeBodyPoses]) -> dict[str, dict[str, list[float]]]:
    """Per setting: wrist gaps, face gaps, face-to-head-top distances (cm), reprojection (px), bone lengths (m)."""
    res: dict[str, dict[str, list[float]]] = {}
    for name, settings in SETTINGS.items():
        r: dict[str, list[float]] = {k: [] for k in ("wrist_gap", "face_gap", "face_to_head_top", "hand_reproj",
                                                     "face_reproj", "body_reproj", "forearm", "upper_arm",
                                                     "thigh", "shank", "hand_length", "eye_corner_distance")}
        for poses in dets.values():
            w, h = poses.image_size
            camera = CameraModel.from_matrix([w, 0, w / 2, 0, w, h / 2, 0, 0, 1], w, h)
            placed = place_poses(poses, camera, settings)
            for person in placed.people:
                body = person.body
                if body is None or body.root_camera is None:
                    continue
                r["body_reproj"].append(_reprojection_px(body, camera))
                sizes = measure_part(body, priors=PRIORS)
                for bone in ("forearm", "upper_arm", "thigh", "shank"):
                    r[bone] += [v for k, v in sizes.items() if k.endswith(bone)]
                for slot, j in (("left_hand", BODY_LEFT_WRIST), ("right_hand", BODY_RIGHT_WRIST)):
                    hand = getattr(person, slot)
                    if hand is None or hand.root_camera is None:
                        continue
                    r["hand_length"] += list(measure_part(hand).values())
                    r["hand_reproj"].append(_reprojection_px(hand, camera))
                    if body.confidence[j] >= 0.1:
                        gap = hand.keypoints_3d_camera[HAND_WRIST] - body.keypoints_3d_camera[j]
                        r["wrist_gap"].append(100 * float(np.linalg.norm(gap)))
                face = person.face
                if face is not None and face.root_camera is not None:
                    r["eye_corner_distance"] += list(measure_part(face).values())
                    r["face_reproj"].append(_reprojection_px(face, camera))
                    anchor = body_face_anchor(body, PRIORS.head_top_to_ears_m)
                    if anchor is not None:
                        gap = (face_anchor(face) + face.root_camera) - (anchor + body.root_camera)
                        r["face_gap"].append(100 * float(np.linalg.norm(gap)))
                    top = body.keypoints_3d_camera[BODY_HEAD]
                    r["face_to_head_top"].append(100 * float(np.linalg.norm(face.root_camera - top)))
        res[name] = r
    return res


def _figure(photos: Sequence[Path], dets: dict[str, WholeBodyPoses], path: Path) -> str:
    """Render the largest person with a face and both hands (default placement, focal = image width)."""
    from dope_core.viz3d import render_3d

    best = None
    for photo in photos:
        poses = dets[str(photo)]
        w, h = poses.image_size
        placed = place_poses(poses, CameraModel.from_matrix([w, 0, w / 2, 0, w, h / 2, 0, 0, 1], w, h))
        for person in placed.people:
            parts = [person.body, person.face, person.left_hand, person.right_hand]
            if all(p is not None and p.root_camera is not None for p in parts):
                size = float(np.prod(person.body.box[2:] - person.body.box[:2]))
                if best is None or size > best[0]:
                    best = (size, photo, replace(placed, people=[person], unassigned=[]))
    if best is None:
        return "no person with a face and both hands"
    path.parent.mkdir(parents=True, exist_ok=True)
    render_3d(best[2], path, title="one person in the camera frame (metres): body, hands, face", size_px=600)
    return f"{path} ({best[1].name})"


def _placement_ms(poses_list: Sequence[WholeBodyPoses], repeat: int = 5) -> tuple[float, float]:
    """Mean time of :func:`place_poses` per image (ms) with a pinhole and with a distorted camera."""
    out = []
    for model, d in (("none", ()), ("plumb_bob", (-0.2, 0.05, 0.001, 0.001, 0.0))):
        cams = [CameraModel.from_calibration(width=p.image_size[0], height=p.image_size[1], distortion_model=model, d=d,
                                             k=[p.image_size[0], 0, p.image_size[0] / 2, 0, p.image_size[0],
                                                p.image_size[1] / 2, 0, 0, 1]) for p in poses_list]
        t = time.perf_counter()
        for _ in range(repeat):
            for poses, cam in zip(poses_list, cams):
                place_poses(poses, cam)
        out.append(1000 * (time.perf_counter() - t) / (repeat * len(poses_list)))
    return out[0], out[1]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    annotated = args.data / "annotated"
    samples = load_annotated("h36m", annotated) + load_annotated("mpi_inf_3dhp", annotated)
    photos = [p for folder in args.photos for p in list_inputs(args.data / "images" / folder)]
    t0 = time.perf_counter()
    dets = _detect([(str(s.image_path), s.image_path) for s in samples] + [(str(p), p) for p in photos],
                   args.backend, args.cache)
    took = time.perf_counter() - t0
    print(f"# {len(samples)} 3D samples, {len(photos)} group photos; backend {args.backend}; "
          f"detection {took:.0f} s; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    body3d = eval_body3d(samples, dets)
    print("\n## Human3.6M + MPI-INF-3DHP: body root and joints in the camera frame (mm)\n")
    print("| setting | bodies | MRPE median / mean | per-joint error (camera frame) median / mean | reported sigma median | "
          "ground-truth distance (m) | body shape: MPJPE / PA-MPJPE (root-relative) |")
    print("|---|---|---|---|---|---|---|")
    for name, r in body3d.items():
        mrpe = np.asarray(r["mrpe"])
        print(f"| {name} | {np.isfinite(mrpe).sum()} | {np.nanmedian(mrpe):.0f} / {np.nanmean(mrpe):.0f} | "
              f"{np.median(r['mpjpe_cam']):.0f} / {np.mean(r['mpjpe_cam']):.0f} | {np.median(r['sigma']):.0f} | "
              f"{min(r['z_gt']):.1f}-{max(r['z_gt']):.1f} | {np.mean(r['mpjpe']):.0f} / {np.mean(r['pa_mpjpe']):.0f} |")
    photo = eval_photos({k: v for k, v in dets.items() if Path(k) in set(photos)})
    print("\n## Group photos (focal = image width): gaps between a person's parts (median / p95 / max)\n")
    print("| setting | wrist gap cm (n) | face gap cm (n) | face centre to head top cm | reprojection px: body / hand / face (median) |")
    print("|---|---|---|---|---|")
    for name, r in photo.items():
        print(f"| {name} | {_stats(r['wrist_gap'])} ({len(r['wrist_gap'])}) | {_stats(r['face_gap'])} "
              f"({len(r['face_gap'])}) | {_stats(r['face_to_head_top'])} | "
              f"{np.median(r['body_reproj']):.1f} / {np.median(r['hand_reproj']):.1f} / {np.median(r['face_reproj']):.1f} |")
    print("\n## Bone lengths on the group photos (median, metres; priors in brackets)\n")
    bones = {"forearm": PRIORS.forearm * PRIORS.stature_m, "upper_arm": PRIORS.upper_arm * PRIORS.stature_m,
             "thigh": PRIORS.thigh * PRIORS.stature_m, "shank": PRIORS.shank * PRIORS.stature_m,
             "hand_length": PRIORS.hand_length_m, "eye_corner_distance": PRIORS.eye_corner_distance_m}
    print("| setting | " + " | ".join(f"{b} [{v:.3f}]" for b, v in bones.items()) + " |")
    print("|---|" + "---|" * len(bones))
    for name, r in photo.items():
        cells = []
        for b, prior in bones.items():
            v = np.median(r[b]) if r[b] else float("nan")
            cells.append(f"{v:.3f} ({100 * (v / prior - 1):+.0f} %, n={len(r[b])})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    cost = _placement_ms([dets[str(p)] for p in photos])
    print(f"\nplacement (default settings, pinhole and plumb_bob cameras): {cost[0]:.1f} / {cost[1]:.1f} ms per photo "
          f"({np.mean([len(dets[str(p)].parts()) for p in photos]):.1f} parts per photo)")
    if args.figure is not None:
        print(f"\nfigure: {_figure(photos, dets, args.figure)}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"body3d": body3d, "photos": photo}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
