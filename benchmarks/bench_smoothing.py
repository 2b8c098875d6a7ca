"""Jitter, lag and grasp aperture of the teleoperation outputs (dope_core.teleop), printed as numbers.

Three measurements, all with the node's default ``smoothing.*`` parameters
(:class:`dope_core.smoothing.SmoothingConfig`) unless overridden on the command line:

1. **Jitter on a still clip**: one real photo (``images/packages/zidane.jpg`` of
   ``../shared/data``, a person with a clearly visible right hand) repeated ``--frames``
   times at 30 fps, each copy with fresh Gaussian sensor noise (``--noise`` grey
   levels); the experts estimate every copy, the tracker follows the person, the
   parts are placed with a 60 degree pinhole camera, and the pipeline runs with and
   without smoothing. Printed: the standard deviation over the clip of the wrist
   position (3D, camera frame, mm, per axis and along the ray: the ray in pixels and
   the log-depth; and 2D, pixels), of the hand's orientation (degrees from the mean)
   and of the grasp aperture (mm), unfiltered vs filtered.
2. **Lag on a synthetic moving hand**: a wrist trajectory sampled at 30 fps, seen by
   the still clip's camera, with noise, through the same smoother: a hand waving
   (sum of sines, peak speed about 0.6 m/s) with the still clip's noise as independent
   Gaussians (its unfiltered std per camera axis on the 3D root, per image axis on the
   2D root) and resampled from the clip (its per-frame deviations, outliers and
   correlations kept), and a hand pushing to and from the camera along one viewing ray
   (only the depth moves). The lag is the time shift that best aligns the filtered
   track with the true one (1 ms steps) minus the same for the unfiltered track, for
   the 3D point and per axis; printed in ms and frames.
3. **Grasp aperture** on the RHD samples (3D ground truth: thumb-tip to index-tip
   distance in metres, the estimate from the hand's own 3D) and the FreiHAND samples
   (2D ground truth only: the thumb-index distance divided by the wrist to
   middle-finger-base distance, both in pixels, estimate and truth alike).

``python benchmarks/bench_smoothing.py [--frames 60] [--json out/bench_smoothing.json]``
(``DOPE_SHARED_DATA`` overrides where ``../shared/data`` is.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dope_core.datasets.hands2d import load_hand_json  # noqa: E402
from dope_core.datasets.rhd import load_rhd  # noqa: E402
from dope_core.estimator import build_estimator  # noqa: E402
from dope_core.grasp import INDEX_TIP, MIDDLE_MCP, THUMB_TIP, WRIST, aperture  # noqa: E402
from dope_core.keypoints import Part  # noqa: E402
from dope_core.placement import PlacementSettings, place_poses  # noqa: E402
from dope_core.rotations import angle_between, log_map, multiply, conjugate, exp_map  # noqa: E402
from dope_core.smoothing import PoseSmoother, SmoothingConfig  # noqa: E402
from dope_core.structures import PartFrame, PartPose, Person, TrackState, WholeBodyPoses  # noqa: E402
from dope_core.teleop import TeleopPipeline  # noqa: E402
from dope_core.tracking import PersonTracker  # noqa: E402

SHARED = Path(os.environ.get("DOPE_SHARED_DATA", REPO.parent / "shared" / "data"))
FPS = 30.0


def _intrinsics(w: int, h: int, hfov_deg: float = 60.0) -> np.ndarray:
    f = (w / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
    return np.array([[f, 0, w / 2.0], [0, f, h / 2.0], [0, 0, 1.0]])


def _orientation_spread_deg(quats: list[np.ndarray]) -> float:
    """RMS angle (degrees) of the orientations from their mean (mean by log maps around the first)."""
    if len(quats) < 2:
        return float("nan")
    ref = quats[0]
    mean = multiply(ref, exp_map(np.mean([log_map(multiply(conjugate(ref), q)) for q in quats], axis=0)))
    return float(np.degrees(np.sqrt(np.mean([angle_between(mean, q) ** 2 for q in quats]))))


def still_clip_poses(estimator, frames: int, noise: float, seed: int = 0) -> tuple[list[WholeBodyPoses], float]:
    """Tracked, placed poses of the still clip (one per frame) and the seconds the estimator took."""
    image = cv2.cvtColor(cv2.imread(str(SHARED / "images" / "packages" / "zidane.jpg")), cv2.COLOR_BGR2RGB)
    h, w = image.shape[:2]
    k = _intrinsics(w, h)
    rng = np.random.default_rng(seed)
    tracker = PersonTracker(session=0)
    out = []
    started = time.perf_counter()
    for i in range(frames):
        noisy = np.clip(image.astype(np.float32) + rng.normal(0.0, noise, image.shape), 0, 255).astype(np.uint8)
        out.append(place_poses(tracker.update(estimator(noisy), i / FPS), k, PlacementSettings(min_confidence=0.2)))
    return out, time.perf_counter() - started


def _target_hands(clip: list[WholeBodyPoses], pipe: TeleopPipeline) -> list[Optional[PartPose]]:
    """The right hand of the tracked person whose right hand is the most confident in the first frame
    that has one, per frame (``None`` where it is missing), through ``pipe``."""
    target, hands = None, []
    for i, poses in enumerate(clip):
        out = pipe(poses, i / FPS)
        if target is None and any(p.right_hand is not None for p in out.people):
            target = max((p for p in out.people if p.right_hand is not None), key=lambda p: p.right_hand.score).track_id
        person = next((p for p in out.people if p.track_id == target and p.right_hand is not None), None)
        hands.append(None if person is None else person.right_hand)
    return hands


def save_still(clip: list[WholeBodyPoses], path: Path, *, noise: float) -> None:
    """The clip's unfiltered right hand per frame it is placed in, as JSON: stamp (s), wrist pixel, box
    (pixels) and root (metres, camera optical frame)."""
    frames = [{"stamp": round(i / FPS, 6), "wrist_px": hand.keypoints_2d[WRIST].round(3).tolist(),
               "box": np.asarray(hand.box, dtype=float).round(3).tolist(), "root_m": hand.root_camera.round(6).tolist()}
              for i, hand in enumerate(_target_hands(clip, TeleopPipeline(smoothing=None)))
              if hand is not None and hand.root_camera is not None]
    what = (f"benchmarks/bench_smoothing.py --save-still: the right hand of the tracked person in {len(clip)} copies of "
            f"images/packages/zidane.jpg at 30 fps, each with Gaussian noise of {noise} grey levels, estimated by the "
            "experts backend and placed (60 degree horizontal field of view) without smoothing; per frame it is placed "
            "in: stamp (s), wrist pixel, box (pixels), root (m, camera optical frame)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{{"what": {json.dumps(what)},\n"frames": [\n' + ",\n".join(json.dumps(f) for f in frames) + "\n]}\n")


def jitter(clip: list[WholeBodyPoses], cfg: SmoothingConfig) -> dict:
    """Spread of the right wrist (and its orientation and grasp) over the still clip, raw and filtered."""
    series = {"raw": _target_hands(clip, TeleopPipeline(smoothing=None)),
              "filtered": _target_hands(clip, TeleopPipeline(smoothing=cfg))}
    result: dict = {"frames": len(clip)}
    for name, hands in series.items():
        seen = [hnd for hnd in hands if hnd is not None and hnd.root_camera is not None]
        wrist3d = np.array([hnd.root_camera for hnd in seen])
        wrist2d = np.array([hnd.keypoints_2d[WRIST] for hnd in seen])
        quats = [hnd.frame.quaternion for hnd in seen if hnd.frame is not None and hnd.frame.quaternion is not None]
        aps = [hnd.grasp.aperture_m for hnd in seen if hnd.grasp is not None]
        ray, log_z = wrist3d[:, :2] / wrist3d[:, 2:], np.log(wrist3d[:, 2])
        result[name] = {
            "frames_with_the_hand": len(seen),
            "wrist_std_mm_per_axis": (wrist3d.std(axis=0) * 1000).tolist(),
            "wrist_ray_std_px": (ray.std(axis=0) * _intrinsics(*clip[0].image_size)[0, 0]).tolist(),
            "wrist_log_depth_std": float(log_z.std()),
            "wrist_std_mm": float(np.sqrt((wrist3d.var(axis=0)).sum()) * 1000),
            "wrist_step_std_mm": float(np.sqrt(np.diff(wrist3d, axis=0).var(axis=0).sum()) * 1000),
            "wrist_2d_std_px": float(np.sqrt(wrist2d.var(axis=0).sum())),
            "orientation_spread_deg": _orientation_spread_deg(quats),
            "frames_oriented": len(quats),
            "aperture_std_mm": float(np.std(aps) * 1000) if aps else float("nan"),
        }
        if name == "raw":   # deviations from the median, per frame: the noise the lag test resamples
            result["raw_residuals"] = {"ray": (ray - np.median(ray, axis=0)).tolist(),
                                       "log_depth": (log_z - np.median(log_z)).tolist(),
                                       "px": (wrist2d - np.median(wrist2d, axis=0)).tolist()}
    result["wrist_std_ratio"] = result["raw"]["wrist_std_mm"] / result["filtered"]["wrist_std_mm"]
    result["wrist_2d_std_ratio"] = result["raw"]["wrist_2d_std_px"] / result["filtered"]["wrist_2d_std_px"]
    return result


def waving(t: np.ndarray) -> np.ndarray:
    """Wrist positions (m, camera frame) of a hand waving in front of the camera."""
    return np.stack([0.15 * np.sin(2 * np.pi * 0.5 * t), 0.10 * np.sin(2 * np.pi * 0.3 * t + 1.0),
                     1.5 + 0.10 * np.sin(2 * np.pi * 0.4 * t + 2.0)], axis=1)


def pushing(t: np.ndarray) -> np.ndarray:
    """Wrist positions (m, camera frame) of a hand moving to and from the camera along one viewing ray
    (through pixel 800, 400): the image position stays still, only the depth tells the motion."""
    ray = np.array([(800 - CX) / F_PX, (400 - CY) / F_PX, 1.0])
    return ray[None] * (1.5 + 0.15 * np.sin(2 * np.pi * 0.4 * t))[:, None]


F_PX, CX, CY = 1108.5, 640.0, 360.0   # 1280x720 at a 60 degree horizontal field of view, as for the still clip
HAND_SIZE_M = 0.18                     # the larger side of a hand's box, metres


def _hand(root: np.ndarray, root_2d: np.ndarray, size_px: float) -> PartPose:
    kp2d = np.tile(root_2d, (21, 1))
    box = np.concatenate([root_2d - size_px / 2, root_2d + size_px / 2])
    return PartPose(part=Part.HAND, score=1.0, box=box, keypoints_2d=kp2d,
                    keypoints_3d=np.zeros((21, 3)), confidence=np.ones(21), handedness="right", root_camera=root,
                    frame=PartFrame(origin=np.zeros(3), quaternion=np.array([0, 0, 0, 1.0]), confidence=1.0))


def gaussian_noise(noise_m: np.ndarray, noise_px: float):
    """Noise model: independent Gaussian noise, ``noise_m`` per camera axis on the 3D root (metres) and
    ``noise_px`` per image axis on the 2D root (pixels)."""
    def add(truth: np.ndarray, uv: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return truth + rng.normal(0.0, 1.0, truth.shape) * noise_m, uv + rng.normal(0.0, noise_px, uv.shape)
    return add


def resampled_noise(residuals: dict):
    """Noise model: the still clip's own per-frame deviations from its median (``jitter()['raw_residuals']``),
    drawn with replacement, one whole frame at a time: the ray's (radians) and the log-depth's on the
    3D root, the pixels' on the 2D root. Keeps the clip's outliers, its depth-along-the-ray structure
    and the correlation between the 2D and 3D errors of a frame."""
    ray, log_z, px = (np.asarray(residuals[k]) for k in ("ray", "log_depth", "px"))

    def add(truth: np.ndarray, uv: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        i = rng.integers(0, len(log_z), len(truth))
        z = truth[:, 2] * np.exp(log_z[i])
        measured = np.concatenate([(truth[:, :2] / truth[:, 2:] + ray[i]) * z[:, None], z[:, None]], axis=1)
        return measured, uv + px[i]
    return add


def lag(cfg: SmoothingConfig, noise, trajectory=waving, seconds: float = 20.0, seed: int = 1,
        max_shift_s: float = 0.5) -> dict:
    """Added lag of the filtered wrist on a synthetic moving hand (``trajectory``: :func:`waving`,
    :func:`pushing`) with noise added by ``noise``.

    The wrist moves in 3D (metres, camera frame); its image position is the projection
    at 1280x720 and 60 degrees (pixels), its box the projection of an 18 cm hand.
    ``noise(truth, uv, rng)`` returns the measured 3D and 2D roots (:func:`gaussian_noise`,
    :func:`resampled_noise`). The lag is the time shift that best aligns the filtered
    track with the truth minus the same for the unfiltered one, for the 3D point and per
    camera axis.
    """
    t = np.arange(int(seconds * FPS)) / FPS
    truth = trajectory(t)
    rng = np.random.default_rng(seed)
    uv = np.stack([F_PX * truth[:, 0] / truth[:, 2] + CX, F_PX * truth[:, 1] / truth[:, 2] + CY], axis=1)
    measured, uv_measured = noise(truth, uv, rng)
    sizes = F_PX * HAND_SIZE_M / truth[:, 2]
    smoother = PoseSmoother(cfg)
    out = []
    for ti, m, m2, sz in zip(t, measured, uv_measured, sizes):
        frame = WholeBodyPoses(image_size=(1280, 720), people=[
            Person(id=0, score=1, right_hand=_hand(m, m2, sz), track_id=1, track_state=TrackState.TRACKED)])
        out.append(smoother.update(frame, float(ti)).people[0].right_hand.root_camera)
    out = np.array(out)
    keep = t >= 1.0
    shifts = np.arange(0.0, max_shift_s, 0.001)
    shifted = np.stack([np.stack([np.interp(t[keep] - s, t, truth[:, d]) for d in range(3)], axis=1) for s in shifts])

    def best_shift(x: np.ndarray, axes: list[int]) -> tuple[float, float]:
        errs = np.sqrt(np.mean(np.sum((x[keep][None, :, axes] - shifted[:, :, axes]) ** 2, axis=2), axis=1))
        i = int(np.argmin(errs))
        return float(shifts[i]), float(errs[i])

    s_f, e_f = best_shift(out, [0, 1, 2])
    s_r, e_r = best_shift(measured, [0, 1, 2])
    per_axis = [(best_shift(out, [d])[0] - best_shift(measured, [d])[0]) * FPS for d in range(3)]
    speed = np.linalg.norm(np.gradient(truth, t, axis=0), axis=1)
    return {"peak_speed_m_s": float(speed.max()), "mean_speed_m_s": float(speed.mean()),
            "noise_mm_per_axis": ((measured - truth).std(axis=0) * 1000).tolist(),
            "noise_px_per_axis": (uv_measured - uv).std(axis=0).tolist(),
            "lag_ms": 1000 * (s_f - s_r), "lag_frames_at_30fps": (s_f - s_r) * FPS,
            "lag_frames_per_axis": per_axis,
            "rms_error_mm_filtered": 1000 * e_f, "rms_error_mm_raw": 1000 * e_r}


def _match(hands: list[PartPose], gt_xy: np.ndarray, visible: np.ndarray) -> PartPose | None:
    """The detected hand whose 2D keypoints are closest to the ground truth's (mean over visible)."""
    best, dist = None, np.inf
    for hand in hands:
        d = float(np.mean(np.linalg.norm(hand.keypoints_2d[visible] - gt_xy[visible], axis=1)))
        if d < dist:
            best, dist = hand, d
    return best


def apertures(estimator) -> dict:
    out: dict = {}
    rhd = load_rhd(SHARED / "annotated" / "mmpose" / "rhd" / "test_rhd.json")
    rows = []
    for sample in rhd:
        image = cv2.cvtColor(cv2.imread(str(sample.image_path)), cv2.COLOR_BGR2RGB)
        hands = estimator(image).parts(Part.HAND)
        for gt in sample.of_part(Part.HAND):
            truth = float(np.linalg.norm(gt.keypoints_3d[THUMB_TIP] - gt.keypoints_3d[INDEX_TIP]))
            hand = _match(hands, gt.keypoints_2d, gt.visible)
            est = aperture(hand) if hand is not None else None
            rows.append({"image": sample.image_path.name, "truth_mm": 1000 * truth,
                         "estimate_mm": None if est is None else 1000 * est[0]})
    found = [r for r in rows if r["estimate_mm"] is not None]
    out["rhd"] = {"hands": len(rows), "detected": len(found), "per_hand": rows,
                  "mean_abs_error_mm": float(np.mean([abs(r["estimate_mm"] - r["truth_mm"]) for r in found]))
                  if found else float("nan")}
    frei = load_hand_json(SHARED / "annotated" / "mmpose" / "freihand" / "test_freihand.json", "freihand")
    rows = []
    for sample in frei:
        image = cv2.cvtColor(cv2.imread(str(sample.image_path)), cv2.COLOR_BGR2RGB)
        hands = estimator(image).parts(Part.HAND)
        for gt in sample.of_part(Part.HAND):
            k = gt.keypoints_2d
            truth = float(np.linalg.norm(k[THUMB_TIP] - k[INDEX_TIP]) / np.linalg.norm(k[MIDDLE_MCP] - k[WRIST]))
            hand = _match(hands, k, gt.visible)
            est = None
            if hand is not None:
                e = hand.keypoints_2d
                est = float(np.linalg.norm(e[THUMB_TIP] - e[INDEX_TIP]) / np.linalg.norm(e[MIDDLE_MCP] - e[WRIST]))
            rows.append({"image": sample.image_path.name, "truth_normalised_2d": truth, "estimate_normalised_2d": est})
    found = [r for r in rows if r["estimate_normalised_2d"] is not None]
    out["freihand"] = {"hands": len(rows), "detected": len(found), "per_hand": rows,
                       "mean_abs_error_normalised_2d": float(np.mean([abs(r["estimate_normalised_2d"]
                                                                          - r["truth_normalised_2d"]) for r in found]))
                       if found else float("nan")}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=60, help="frames of the still clip (30 fps)")
    p.add_argument("--noise", type=float, default=4.0, help="sensor noise std, grey levels")
    p.add_argument("--min-cutoff", type=float, default=None, help="override smoothing.min_cutoff_hz")
    p.add_argument("--beta", type=float, default=None, help="override smoothing.beta")
    p.add_argument("--d-cutoff", type=float, default=None, help="override smoothing.d_cutoff_hz")
    p.add_argument("--depth-min-cutoff", type=float, default=None, help="override smoothing.depth_min_cutoff_hz")
    p.add_argument("--save-still", type=Path, default=None,
                   help="also write the still clip's unfiltered right hand per frame (stamp, wrist pixel, box, root) "
                        "as JSON (the unit tests' test/dope_core/data/still_wrist_zidane.json)")
    p.add_argument("--skip-still", action="store_true", help="lag only, with --noise-mm as the noise")
    p.add_argument("--noise-mm", type=float, nargs=3, default=None, help="wrist noise per axis for the lag test, mm")
    p.add_argument("--json", type=Path, default=REPO / "out" / "bench_smoothing.json")
    args = p.parse_args(argv)
    if not SHARED.is_dir():
        print(f"needs {SHARED}", file=sys.stderr)
        return 1
    cfg = SmoothingConfig()
    overrides = {k: v for k, v in (("min_cutoff_hz", args.min_cutoff), ("beta", args.beta),
                                   ("d_cutoff_hz", args.d_cutoff), ("depth_min_cutoff_hz", args.depth_min_cutoff))
                 if v is not None}
    cfg = SmoothingConfig(**{**cfg.__dict__, **overrides})
    print(f"load average {os.getloadavg()}; {os.cpu_count()} CPUs; smoothing {cfg}")
    report: dict = {"smoothing": cfg.__dict__, "load_average": os.getloadavg()}
    estimator = None
    if not args.skip_still:
        estimator = build_estimator("experts")
        clip, seconds = still_clip_poses(estimator, args.frames, args.noise)
        still = jitter(clip, cfg)
        still["estimator_seconds"] = seconds
        if args.save_still:
            save_still(clip, args.save_still, noise=args.noise)
        report["still"] = still
        r, f = still["raw"], still["filtered"]
        print(f"still clip ({still['frames']} noisy copies of zidane.jpg, noise {args.noise} grey levels, "
              f"right hand seen in {r['frames_with_the_hand']} frames):")
        print(f"  wrist 3D std: raw {r['wrist_std_mm']:.1f} mm, filtered {f['wrist_std_mm']:.1f} mm "
              f"(ratio {still['wrist_std_ratio']:.2f}x); per axis (x, y, z) raw {np.round(r['wrist_std_mm_per_axis'], 1)}, "
              f"filtered {np.round(f['wrist_std_mm_per_axis'], 1)} mm")
        print(f"  along the ray: ray std raw {np.round(r['wrist_ray_std_px'], 2)} px, filtered "
              f"{np.round(f['wrist_ray_std_px'], 2)} px; log-depth std raw {r['wrist_log_depth_std']:.4f}, filtered "
              f"{f['wrist_log_depth_std']:.4f}")
        print(f"  wrist 2D std: raw {r['wrist_2d_std_px']:.2f} px, filtered {f['wrist_2d_std_px']:.2f} px "
              f"(ratio {still['wrist_2d_std_ratio']:.1f}x)")
        print(f"  hand orientation spread: raw {r['orientation_spread_deg']:.2f} deg, filtered "
              f"{f['orientation_spread_deg']:.2f} deg; aperture std raw {r['aperture_std_mm']:.2f} mm, "
              f"filtered {f['aperture_std_mm']:.2f} mm")
        models = {"gaussian": gaussian_noise(np.array(r["wrist_std_mm_per_axis"]) / 1000,
                                             r["wrist_2d_std_px"] / np.sqrt(2.0)),
                  "resampled": resampled_noise(still["raw_residuals"])}
    else:
        models = {"gaussian": gaussian_noise(np.array(args.noise_mm or [3.0, 3.0, 10.0]) / 1000, 2.5)}
    report["lag"] = {}
    runs = [(f"waving, {name} noise", model, waving) for name, model in models.items()]
    runs.append((f"pushing along the ray, {list(models)[-1]} noise", models[list(models)[-1]], pushing))
    for name, model, trajectory in runs:
        lg = report["lag"][name] = lag(cfg, model, trajectory)
        print(f"lag on a synthetic wrist {name} (peak {lg['peak_speed_m_s']:.2f} m/s, mean {lg['mean_speed_m_s']:.2f} m/s), "
              f"noise ({np.round(lg['noise_mm_per_axis'], 1)} mm, {np.round(lg['noise_px_per_axis'], 1)} px): "
              f"{lg['lag_ms']:.1f} ms = {lg['lag_frames_at_30fps']:.2f} frames at 30 fps (x, y, z: "
              f"{', '.join(f'{v:.2f}' for v in lg['lag_frames_per_axis'])}); RMS error raw {lg['rms_error_mm_raw']:.1f} mm, "
              f"filtered {lg['rms_error_mm_filtered']:.1f} mm")
    if not args.skip_still:
        ap = apertures(estimator)
        report["aperture"] = ap
        print(f"grasp aperture, RHD: {ap['rhd']['detected']}/{ap['rhd']['hands']} hands found, mean |error| "
              f"{ap['rhd']['mean_abs_error_mm']:.1f} mm; " + ", ".join(
                  f"{r['truth_mm']:.0f}->{r['estimate_mm']:.0f}" if r["estimate_mm"] is not None else f"{r['truth_mm']:.0f}->-"
                  for r in ap["rhd"]["per_hand"]) + " mm (truth->estimate)")
        print(f"grasp aperture, FreiHAND (2D, normalised by hand size): {ap['freihand']['detected']}/"
              f"{ap['freihand']['hands']} hands found, mean |error| {ap['freihand']['mean_abs_error_normalised_2d']:.3f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
