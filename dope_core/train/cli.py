"""``dope-train``: pseudo-label, train, export.

Commands::

    dope-train label --input DIR_OR_VIDEO... --out CACHE [--stride N] [--min-change G] [--crops PART...] [--workers N]
    dope-train label --input DIR_OR_VIDEO... --config TRAIN_CONFIG [--workers N]   (its labels section and cache)
    dope-train fit --config config/train/student_mobilenetv2.yaml [--resume] [--device cpu|cuda]
    dope-train validate --run RUN_DIR [--annotated ../shared/data/annotated] [--max-images N] [--out REPORT.json]
    dope-train validate --config TRAIN_CONFIG --checkpoint FILE [...]   (a student trained elsewhere)
    dope-train compare REPORT.json... (Markdown table of validation reports, e.g. with and without distillation)
    dope-train export --run RUN_DIR [--out dope_core/weights/dope_student_mobilenetv2.pth] [--fp32]
    dope-train pack --cache CACHE --out PACKED [--max-side 853] [--quality 90] [--exclude PATTERN...]
    dope-train average --base FILE --tuned FILE --out FILE [--weight 0.5] [--group-weight GROUP=W...]

``fit`` under ``torchrun --nproc_per_node N -m dope_core.train.cli fit ...`` trains with
DDP (NCCL on GPUs, gloo on CPUs). Errors in the inputs or the configuration are
reported as one line and exit status 2, before any work starts. ``label`` exits with
status 1 when some inputs could not be labelled (the others were; the summary counts
the failures by reason).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from dope_core.atomic_files import atomic_write_text
from dope_core.image_header import DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE
from dope_core.train.config import ConfigError

if TYPE_CHECKING:
    from dope_core.train.config import LabelsConfig


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dope-train", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    label = sub.add_parser("label", help="run the part experts over images/videos into a pseudo-label cache")
    label.add_argument("--input", nargs="+", required=True, help="image files, video files or folders")
    label.add_argument("--config", default=None, metavar="YAML",
                       help="a training configuration: its 'labels' section gives the defaults of --stride, "
                            "--min-change, --max-gap, --crops, --max-crops, --crop-min-part, and its first data.caches the --out")
    label.add_argument("--out", default=None, help="cache folder (an existing one is resumed)")
    label.add_argument("--stride", type=int, default=None,
                       help="at least N frames between kept video frames (default 1, or the config's)")
    label.add_argument("--min-change", type=float, default=None, metavar="GREY_LEVELS",
                       help="keep a video frame only if it differs from the last kept one by this mean absolute "
                            "grey-level difference (64-px thumbnails; default 0: every --stride-th frame)")
    label.add_argument("--max-gap", type=int, default=None, metavar="N",
                       help="with --min-change: keep a frame anyway N frames after the last kept one (default 0: never)")
    label.add_argument("--crops", nargs="*", default=None, choices=["body", "hand", "face"],
                       help="also label close-up crops around these parts of every labelled image (default none)")
    label.add_argument("--max-crops", type=int, default=None, help="most crops per image (default 3)")
    label.add_argument("--crop-min-part", type=float, default=None, metavar="PX",
                       help="parts smaller than this (longer box side, pixels) give no crop (default 32)")
    label.add_argument("--workers", type=int, default=1, help="worker processes (0: in this process)")
    label.add_argument("--threads", type=int, default=1, help="LiteRT threads per worker (default 1)")
    label.add_argument("--min-score", type=float, default=0.05, help="lowest expert score kept as a soft target")
    label.add_argument("--gt-threshold", type=float, default=0.5, help="score from which detections enter the pseudo GT")
    label.add_argument("--parts", nargs="+", default=["body", "hand", "face"], choices=["body", "hand", "face"])
    label.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                       help=f"larger images (pixels, read from the header before decoding) are skipped "
                            f"(default {DEFAULT_MAX_PIXELS})")
    label.add_argument("--max-side", type=int, default=DEFAULT_MAX_SIDE,
                       help=f"images with a longer side (pixels) are skipped (default {DEFAULT_MAX_SIDE})")
    label.add_argument("--experts-config", default=None, metavar="YAML_OR_PRESET",
                       help="YAML whose 'experts' section chooses the person detectors and part experts, or a "
                            "preset (as `dope --experts-config`; default: the defaults)")
    label.add_argument("--person-detectors", nargs="+", default=None, metavar="NAME",
                       help="person proposal sources, overriding the configuration")
    fit = sub.add_parser("fit", help="train the network on pseudo-label caches")
    fit.add_argument("--config", required=True, help="YAML training configuration")
    fit.add_argument("--resume", action="store_true", help="continue from output_dir/last.pth")
    fit.add_argument("--device", default="auto", help="auto, cpu, cuda (default auto)")
    fit.add_argument("--no-progress", action="store_true", help="no progress bar")
    fit.add_argument("--max-time", type=float, default=None, metavar="SECONDS",
                     help="stop after this much training time (a checkpoint is written; --resume continues)")
    val = sub.add_parser("validate", help="agreement with the experts (and accuracy) of a run's last checkpoint")
    source = val.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="the training output_dir")
    source.add_argument("--config", metavar="YAML",
                        help="with --checkpoint: the held-out images of this training configuration (a run trained "
                             "elsewhere, whose output_dir is not here)")
    val.add_argument("--annotated", default=None, help="the annotated folder, for accuracy on real labels")
    val.add_argument("--max-images", type=int, default=None, help="held-out images to use (default: the config's)")
    val.add_argument("--out", default=None, help="also write the report (JSON) to this file")
    val.add_argument("--checkpoint", default=None, metavar="FILE",
                     help="validate this network checkpoint (e.g. the shipped student or an export) on the run's "
                          "held-out images, through the network backend, instead of the run's last state")
    compare = sub.add_parser("compare", help="Markdown table of validation reports written by validate --out")
    compare.add_argument("reports", nargs="+", help="report files; each row is named after the file's folder (folder/file when two "
                                                   "reports share a folder name)")
    export = sub.add_parser("export", help="write a run's student as a network-backend checkpoint")
    export.add_argument("--run", required=True, help="the training output_dir")
    export.add_argument("--out", default=None, help="default: dope_core/weights/dope_student_mobilenetv2.pth")
    export.add_argument("--fp32", action="store_true", help="keep fp32 weights (default fp16)")
    pack = sub.add_parser("pack", help="a self-contained, smaller copy of a label cache, to train on another machine")
    pack.add_argument("--cache", required=True, help="the cache made by label")
    pack.add_argument("--out", required=True, help="the packed cache folder (resumed when it exists)")
    pack.add_argument("--max-side", type=int, default=853, help="longest image side in pixels (default 853)")
    pack.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    pack.add_argument("--exclude", nargs="*", default=[], metavar="PATTERN",
                      help="fnmatch patterns of sources to leave out (e.g. a config's data.val_sources)")
    average = sub.add_parser("average", help="interpolate a student's weights with a fine-tune's, module group by "
                                             "group (WiSE-FT), into a network-backend checkpoint")
    average.add_argument("--base", required=True, help="the student the fine-tune started from (an export)")
    average.add_argument("--tuned", required=True, help="the fine-tune (an export)")
    average.add_argument("--out", required=True, help="the checkpoint to write")
    average.add_argument("--weight", type=float, default=0.5,
                         help="the fine-tune's share of every group not named by --group-weight (default 0.5)")
    average.add_argument("--group-weight", nargs="*", default=[], metavar="GROUP=W",
                         help="the fine-tune's share of one module group (backbone, rpn, roi_head, body_cls, "
                              "body_pose, hand_cls, hand_pose, face_cls, face_pose), e.g. face_cls=0")
    return parser


def _group_weights(pairs: Sequence[str]) -> dict[str, float]:
    """``GROUP=W`` pairs as a dict (``ValueError`` on a malformed pair)."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--group-weight {pair!r}: expected GROUP=W, e.g. face_cls=0")
        try:
            out[name] = float(value)
        except ValueError:
            raise ValueError(f"--group-weight {pair!r}: the weight must be a number") from None
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "label":
            from dope_core.pseudo_labels.crops import CropSettings
            from dope_core.pseudo_labels.runner import LabelSettings, run_labelling

            from dope_core.experts.config import load_experts_config

            experts = load_experts_config(args.experts_config)
            if args.person_detectors:
                experts = experts.replace(person_detectors=tuple(args.person_detectors))
            if "yolo" in experts.person_detectors:
                logging.getLogger("dope_core.train").warning(
                    "pseudo-labels from the opt-in YOLO detector (AGPL-3.0): a student trained on them is not "
                    "covered by this project's permissive licence (README, 'Optional: the YOLO person detector')")
            settings = LabelSettings(min_score=args.min_score, gt_threshold={p: args.gt_threshold for p in args.parts},
                                     max_pixels=args.max_pixels, max_side=args.max_side)
            how = _labelling(args)
            crops = CropSettings(parts=tuple(how.crops), max_per_image=how.max_crops, min_part_size=how.crop_min_part)
            summary = run_labelling(args.input, args.out, stride=how.stride, min_change=how.min_change, max_gap=how.max_gap,
                                    crops=crops, workers=args.workers,
                                    estimator_kwargs={"parts": list(args.parts), "num_threads": args.threads,
                                                      "config": experts}, settings=settings)
            print(summary.text())
            if summary.status.get("unreadable") or summary.skipped_sources:
                return 1   # the other items were labelled; the summary says what failed and why
        elif args.command == "fit":
            from dope_core.train.config import load_config
            from dope_core.train.trainer import fit as run_fit

            cfg = load_config(args.config)
            result = run_fit(cfg, resume=args.resume, device=args.device, show_progress=not args.no_progress,
                             max_seconds=args.max_time)
            if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 reports
                return 0
            last = result.losses[-1] if result.losses else {}
            print(json.dumps({"steps": [result.start_step, result.end_step], "seconds": round(result.seconds, 1),
                              "steady_steps_per_second": None if result.steady_steps_per_second is None
                              else round(result.steady_steps_per_second, 3),
                              "last_losses": last, "skipped_samples": result.skipped_samples,
                              "bad_steps": result.bad_steps, "validation": result.validation}, indent=1))
            if result.end_step < cfg.schedule.steps:
                print(f"dope-train fit: stopped at step {result.end_step} of {cfg.schedule.steps} after "
                      f"{result.seconds:.0f} s (--max-time); run the same command with --resume to continue",
                      file=sys.stderr)
        elif args.command == "validate":
            from dope_core.train.dataset import load_records
            from dope_core.train.export import load_run_config, student_from_state
            from dope_core.train.trainer import run_split, train_val_split
            from dope_core.train.validation import validate

            if args.out:
                _check_report_target(Path(args.out))
            if args.config:
                if not args.checkpoint:
                    raise ValueError("--config needs --checkpoint (without it, validate a run's last state with --run)")
                from dope_core.train.config import load_config

                cfg, state = load_config(args.config), None
            else:
                cfg, state = load_run_config(args.run)
            cfg.validation.annotated = args.annotated
            cfg.validation.max_images = args.max_images or cfg.validation.max_images
            records = load_records(cfg.data.caches)
            # a run's own held-out images (its split.json); a configuration alone draws them as fit would
            _, val_records = (run_split(cfg, records, args.run, new_run=False) if args.run
                              else train_val_split(cfg, records))
            if args.checkpoint:
                from dope_core.model.inference import NetworkEstimator
                from dope_core.train.validation import validate_estimator

                network = NetworkEstimator(checkpoint=args.checkpoint, parts=cfg.data.parts, device="cpu")
                meta = network.meta
                report = {"run": args.run or args.config, "checkpoint": args.checkpoint,
                          "step": meta.get("trained_steps", "-"),
                          "mode": meta.get("data_mode", "-"), **validate_estimator(network, val_records, cfg)}
            else:
                model = student_from_state(cfg, state)
                report = {"run": args.run, "step": int(state["step"]), "mode": cfg.data.mode,
                          **validate(model, val_records, cfg)}
            text = json.dumps(report, indent=1)
            if args.out:
                atomic_write_text(Path(args.out), text + "\n")
            print(text)
        elif args.command == "compare":
            from dope_core.train.report import comparison_table

            paths = [Path(p) for p in args.reports]
            reports = {}
            for name, path in zip(report_names(paths), paths):
                try:
                    report = json.loads(path.read_text())
                except (json.JSONDecodeError, UnicodeDecodeError) as e:
                    raise ValueError(f"{path} is not a validation report (JSON): {e}") from e
                if not isinstance(report, dict) or not isinstance(report.get("agreement"), dict):
                    raise ValueError(f"{path} is not a validation report (dope-train validate's, or a run's "
                                     "validation.json: a JSON object with an 'agreement')")
                reports[name] = report
            print(comparison_table(reports))
        elif args.command == "pack":
            from tqdm import tqdm

            from dope_core.pseudo_labels.pack import pack_cache

            summary = pack_cache(args.cache, args.out, max_side=args.max_side, quality=args.quality,
                                 exclude=args.exclude, progress=lambda keys: tqdm(keys, desc="packing", unit="item"))
            print(json.dumps({"packed": summary.packed, "already_there": summary.skipped_existing,
                              "excluded": summary.excluded, "exclude_matched_nothing": summary.unmatched_exclude,
                              "without_people": summary.without_people,
                              "failed": summary.failed,
                              "image_megabytes": round(summary.image_bytes / 1e6, 1)}, indent=1))
            if summary.failed:
                return 1   # the others were packed; a rerun tries these again
        elif args.command == "average":
            from dope_core.train.averaging import average_checkpoints

            print(average_checkpoints(args.base, args.tuned, args.out, weight=args.weight,
                                      group_weights=_group_weights(args.group_weight)))
        else:
            from dope_core.train.export import DEFAULT_EXPORT, export_run

            print(export_run(args.run, args.out or DEFAULT_EXPORT, half=not args.fp32))
    except (ConfigError, OSError, ValueError) as e:   # OSError: a path that is a folder, a file, not writable...
        print(f"dope-train {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:   # what was written is whole (atomic writes): say how to go on
        how = {"fit": "run the same command with --resume to continue", "label": "run it again to continue",
               "pack": "run it again to continue"}.get(args.command, "no file it writes is left half-written")
        print(f"dope-train {args.command}: interrupted; {how}", file=sys.stderr)
        return 130
    return 0


def report_names(paths: Sequence[Path]) -> list[str]:
    """One distinct row name per report file: its folder's name (the run's), or ``folder/file`` when
    another report has the same folder name, or the path as given when even that is shared; a file given
    twice is numbered (``#2``)."""
    def folder(p: Path) -> str:
        return p.parent.name or str(p)

    def named(p: Path) -> str:
        return f"{p.parent.name}/{p.name}" if p.parent.name else str(p)

    files = list({p.resolve(): p for p in paths}.values())   # each file once
    per_folder = {n: [folder(p) for p in files].count(n) for n in map(folder, files)}
    per_file = {n: [named(p) for p in files].count(n) for n in map(named, files)}
    names = [folder(p) if per_folder[folder(p)] == 1 else named(p) if per_file[named(p)] == 1 else str(p)
             for p in paths]
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out


def _check_report_target(path: Path) -> None:
    """Refuse a ``validate --out`` that would replace anything but an earlier validation report (a training
    run's ``last.pth``, a config...), before the validation's minutes of work.

    Raises:
        ValueError: ``path`` is a folder, or a file other than a report.
    """
    if path.is_dir():
        raise ValueError(f"--out {path} is a folder; name the report file to write")
    if not path.exists():
        return
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        report = None
    if not isinstance(report, dict) or not isinstance(report.get("agreement"), dict):
        raise ValueError(f"--out {path} exists and is not a validation report: refusing to replace it; "
                         "choose another --out")


def _labelling(args: argparse.Namespace) -> "LabelsConfig":
    """The labelling settings: the flags given, else the config's ``labels`` section, else the defaults;
    ``args.out`` defaults to the config's first cache."""
    from dope_core.train.config import LabelsConfig, load_config

    how = LabelsConfig()
    if args.config:
        cfg = load_config(args.config, check_files=False)   # labelling uses no init_from, no annotated folder
        how = cfg.labels
        args.out = args.out or cfg.data.caches[0]
    if not args.out:
        raise ValueError("--out (or --config, whose first data.caches is the cache) is required")
    for name in ("stride", "min_change", "max_gap", "crops", "max_crops", "crop_min_part"):
        if getattr(args, name) is not None:
            setattr(how, name, getattr(args, name))
    return how


if __name__ == "__main__":
    sys.exit(main())
