#!/usr/bin/env python3
"""Accuracy of a DOPE backend on the annotated samples of ``../shared/data/annotated``.

Runs the estimator on every image of the chosen sets, scores it with
:func:`dope_core.evaluation.evaluate` (protocol in that module's docstring) and
prints one row per dataset and part: detection rate, 2D PCK (and PCKh on MPII), 3D MPJPE (root- and
Procrustes-aligned, mm), hand 3D AUC (0-50 mm), face NME (inter-ocular, %),
handedness accuracy and CPU/GPU time per image.

Examples::

    .venv/bin/python benchmarks/eval_accuracy.py
    .venv/bin/python benchmarks/eval_accuracy.py --datasets h36m rhd --json out/acc.json
    .venv/bin/python benchmarks/eval_accuracy.py --backend network --checkpoint DOPE_v1_0_0.pth.tgz --device cuda
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
from pathlib import Path
from typing import Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tqdm import tqdm  # noqa: E402

from dope_core.datasets import DATASET_NAMES, load_annotated  # noqa: E402
from dope_core.estimator import BACKENDS, build_estimator  # noqa: E402
from dope_core.evaluation import evaluate  # noqa: E402
from dope_core.keypoints import Part  # noqa: E402

DEFAULT_ROOT = REPO_ROOT.parent / "shared" / "data" / "annotated"

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
    p.add_argument("--device", default="auto", help="network backend: auto, cpu, cuda or cuda:N")
    p.add_argument("--half", action="store_true", help="network backend: fp16 inference (CUDA only)")
    p.add_argument("--limit", type=int, default=None, help="at most this many images per dataset")
    p.add_argument("--json", type=Path, default=None, help="also write all metrics to this JSON file")
    p.add_argument("--markdown", action="store_true", help="print the table in Markdown")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no per-image warnings")
    return p


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
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header)] + [fmt.format(*r) for r in rows])


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.WARNING, format="%(levelname)s %(message)s")
    if not args.data_root.is_dir():
        print(f"error: data folder {args.data_root} not found (give --data-root)", file=sys.stderr)
        return 2
    try:
        samples = []
        for name in args.datasets:
            samples += load_annotated(name, args.data_root)[: args.limit]
        estimator = build_estimator(args.backend, checkpoint=args.checkpoint, device=args.device, half=args.half)
    except (ValueError, FileNotFoundError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with tqdm(total=len(samples), desc="evaluating", unit="image", disable=args.quiet) as bar:
        metrics = evaluate(estimator, samples, on_sample=lambda s, p: bar.update())
    print(f"backend {args.backend} on {getattr(estimator, 'device', '?')}; "
          f"{platform.processor() or platform.machine()}, {platform.python_version()}")
    print(format_table(table_rows(metrics, args.datasets), markdown=args.markdown))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
