"""Where a training step's time goes on this CPU, and how much each recipe change saves.

Builds the trainer's own pieces (:func:`dope_core.train.trainer.make_loader`,
``build_model``, ``make_optimizer``, ``_train_step``) from a training config and times
every stage of real training steps: waiting for the data loader, the input transform,
the backbone, the RPN (head, proposal filtering with NMS, loss), the RoI heads
(proposal sampling and target matching, RoIAlign, MLP head, predictor, losses), the
backward pass, gradient clipping and the optimizer step. The data preparation
(decode, resize, augmentation) is also timed alone in this process over the same
number of batches, since the loader's worker process hides part of it.

Several variants (config overrides) run side by side in ONE run, interleaved in
blocks of steps, so that their ratios hold on a shared machine; ``uptime`` is printed
before and after. Each variant gets warm-up steps that are not counted. Usage::

    .venv/bin/python benchmarks/profile_train_step.py --cache runs/labels --steps 20 \\
        --variant frozen7 model.frozen_backbone_blocks=7 \\
        --variant roi128 model.kwargs.roi_batch_size_per_image=128 \\
        --variant res256 'schedule.resolution=[{from_step: 0, min_size: 256, max_size: 341}]'

A variant is a name and ``dotted.key=YAML value`` overrides of the base config
(``--config``, default the 2000-step CPU recipe); ``baseline`` (no override) always runs first.
A variant with no override (``--variant baseline_again``) measures the noise: on a loaded
machine two identical copies differed by up to 1.4x over 6 steps.

On a GPU (``--device cuda``, AMP as the config says): ``--sync`` waits for the GPU at
every stage boundary so that each stage's row holds its own GPU time (the wall per step
then loses the overlap of the CPU's launches with the GPU's work; run once without it
for the true rate), and ``--sync-sites N`` counts, over N steps of the baseline, the
places where the CPU waits for the GPU (``torch.cuda.set_sync_debug_mode``), by source
line. ``--set KEY=VALUE`` overrides the base config (for example a packed cache's
``data.split=by_image``).
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from dope_core.train import trainer  # noqa: E402
from dope_core.train.config import config_from_dict  # noqa: E402
from dope_core.train.dataset import load_records  # noqa: E402

STAGES = (
    ("data wait", "main process blocked on the data loader"),
    ("transform", "normalise, resize, pad"),
    ("backbone", "MobileNetV2 body forward"),
    ("rpn head", "RPN conv + logits"),
    ("rpn proposals", "anchors, decoding, top-n, NMS"),
    ("rpn loss", "anchor matching + loss"),
    ("roi sampling", "proposal/target matching, anchor-pose encoding"),
    ("roi align", "RoIAlign 7x7"),
    ("roi head", "MLP head"),
    ("predictor", "per-part classifiers and regressors"),
    ("roi losses", "soft CE + smooth-L1"),
    ("backward", "autograd backward"),
    ("grad clip", "clip_grad_norm_"),
    ("optimizer", "SGD step"),
)


class Timers:
    """Accumulated seconds per stage name, for the variant currently running."""

    def __init__(self, *, sync: bool = False) -> None:
        self.seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.current = ""
        self.counting = False
        self.sync = sync

    def add(self, name: str, seconds: float) -> None:
        if self.counting:
            self.seconds[self.current][name] += seconds

    def wait(self) -> None:
        """With ``sync``, wait for the GPU's queued work (a stage's time is then its own)."""
        if self.sync:
            torch.cuda.synchronize()

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        inner = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self.wait()
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.wait()
                self.add(name, time.perf_counter() - t)

        setattr(owner, attr, timed)


def set_dotted(raw: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = raw
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value


def parse_variant(spec: list[str]) -> tuple[str, list[tuple[str, Any]]]:
    name, *sets = spec
    overrides = []
    for s in sets:
        key, sep, value = s.partition("=")
        if not sep:
            raise SystemExit(f"variant {name}: override {s!r} is not key=value")
        overrides.append((key, yaml.safe_load(value)))
    return name, overrides


class Variant:
    """One config's model, optimizer and loader, stepping through the trainer's own step."""

    def __init__(self, name: str, raw: dict, records: list, anchors: dict, timers: Timers, total_steps: int,
                 dev: torch.device) -> None:
        self.name = name
        self.dev = dev
        self.cfg = config_from_dict(raw, source=name)
        self.cfg.schedule.steps = total_steps
        torch.manual_seed(self.cfg.schedule.seed)
        self.model = trainer.build_model(self.cfg, anchors).to(dev)
        if dev.type == "cpu":   # as fit does
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer, self.scheduler = trainer.make_optimizer(self.cfg, self.model)
        self.use_amp = self.cfg.schedule.amp and dev.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.loader = iter(trainer.make_loader(self.cfg, records, start_step=0, pin_memory=dev.type == "cuda"))
        self.step = 0
        self.wall = 0.0
        self.counted = 0
        self.trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        m, t = self.model, timers
        t.wrap(m.transform, "forward", "transform")
        t.wrap(m.backbone, "forward", "backbone")
        t.wrap(m.rpn.head, "forward", "rpn head")
        t.wrap(m.rpn, "filter_proposals", "rpn proposals")
        t.wrap(m.rpn, "assign_targets_to_anchors", "rpn loss")
        t.wrap(m.rpn, "compute_loss", "rpn loss")
        t.wrap(m.roi_heads, "select_training_samples", "roi sampling")
        t.wrap(m.roi_heads.dope_roi_pool, "forward", "roi align")
        t.wrap(m.roi_heads.dope_head, "forward", "roi head")
        t.wrap(m.roi_heads.dope_predictor, "forward", "predictor")
        t.wrap(m.roi_heads, "losses", "roi losses")
        self.model.train()

    def run(self, n: int, timers: Timers, counting: bool) -> None:
        timers.current, timers.counting = self.name, counting
        for _ in range(n):
            t0 = time.perf_counter()
            images, targets, _keys, _dropped = next(self.loader)
            timers.add("data wait", time.perf_counter() - t0)
            torch.manual_seed(trainer._step_seed(self.cfg.schedule.seed, self.step, 0))
            size = trainer.training_input_size(self.cfg, self.step)
            if size is not None:
                trainer._set_input_size(self.model, ((size[0],), size[1]))
            trainer._train_step(self.model, self.optimizer, self.scaler, self.cfg, images, targets,
                                self.dev, self.use_amp)
            self.scheduler.step()
            self.step += 1
            timers.wait()
            if counting:
                self.wall += time.perf_counter() - t0
                self.counted += 1


def time_data_alone(cfg: Any, records: list, batches: int) -> float:
    """Seconds per batch of the dataset's own work (decode, resize, augment) in this process."""
    cfg = copy.deepcopy(cfg)
    cfg.data.loader_workers = 0
    loader = iter(trainer.make_loader(cfg, records, start_step=0))
    next(loader)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return (time.perf_counter() - t0) / batches


def install_global_timers(timers: Timers) -> None:
    """Backward, gradient clipping and the optimizer step are reached through torch's globals."""
    timers.wrap(torch.Tensor, "backward", "backward")
    timers.wrap(torch.nn.utils, "clip_grad_norm_", "grad clip")
    timers.wrap(torch.optim.SGD, "step", "optimizer")


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=REPO / "config/train/student_mobilenetv2_cpu_2000.yaml")
    p.add_argument("--cache", nargs="+", default=None, help="pseudo-label caches (default: the config's)")
    p.add_argument("--steps", type=int, default=20, help="counted steps per variant")
    p.add_argument("--warmup", type=int, default=3, help="uncounted steps per variant first")
    p.add_argument("--block", type=int, default=5, help="steps per variant before switching to the next")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--variant", nargs="+", action="append", default=[], metavar="NAME KEY=VALUE",
                   help="a variant: a name and dotted config overrides")
    p.add_argument("--torch-profile", type=int, default=0, metavar="N",
                   help="also run N steps of the baseline under torch.profiler and print its top operators")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="overrides of the base config")
    p.add_argument("--device", default="cpu", help="cpu or cuda (the config's AMP setting applies on cuda)")
    p.add_argument("--sync", action="store_true", help="on cuda: wait for the GPU at every stage boundary")
    p.add_argument("--sync-sites", type=int, default=0, metavar="N",
                   help="on cuda: count the CPU's waits for the GPU over N steps of the baseline, by source line")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    if (args.sync or args.sync_sites) and dev.type != "cuda":
        raise SystemExit("--sync and --sync-sites need --device cuda")
    base = yaml.safe_load(args.config.read_text())
    if args.cache:
        base["data"]["caches"] = list(args.cache)
    for key, value in parse_variant(["--set", *args.set])[1]:
        set_dotted(base, key, value)
    variants = [("baseline", [])] + [parse_variant(v) for v in args.variant]
    print(f"start: {uptime()}")
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} torch threads; "
          f"config {args.config.relative_to(REPO) if args.config.is_relative_to(REPO) else args.config}")
    base_cfg = config_from_dict(base, source=str(args.config))
    records = load_records(base_cfg.data.caches)
    train_records, _ = trainer.train_val_split(base_cfg, records)
    anchors = trainer.training_anchor_poses(base_cfg, train_records)
    print(f"{len(train_records)} training images of {base_cfg.data.caches}")
    timers = Timers(sync=args.sync)
    install_global_timers(timers)
    total = args.warmup + args.steps + args.torch_profile + args.sync_sites   # the loaders' length
    runs: list[Variant] = []
    for name, overrides in variants:
        raw = copy.deepcopy(base)
        for key, value in overrides:
            set_dotted(raw, key, value)
        runs.append(Variant(name, raw, train_records, anchors, timers, total, dev))
    for v in runs:
        v.run(args.warmup, timers, counting=False)
    done = 0
    while done < args.steps:
        n = min(args.block, args.steps - done)
        for v in runs:
            v.run(n, timers, counting=True)
        done += n
        print(f"  {done}/{args.steps} counted steps per variant; {uptime()}", file=sys.stderr, flush=True)
    data_alone = {v.name: time_data_alone(v.cfg, train_records, min(args.steps, 10)) for v in runs}
    print(f"end: {uptime()}\n")
    _table(runs, timers, data_alone, variants)
    if args.torch_profile:
        _torch_profile(runs[0], timers, args.torch_profile)
    if args.sync_sites:
        _sync_sites(runs[0], timers, args.sync_sites)
    return 0


def _table(runs: list[Variant], timers: Timers, data_alone: dict[str, float], variants: list) -> None:
    names = [v.name for v in runs]
    print("ms per step (mean over the counted steps; forward stages include their own autograd bookkeeping)\n")
    print("| stage | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    fmt: Callable[[float], str] = lambda x: f"{1000 * x:.0f}"
    for stage, what in STAGES:
        cells = [fmt(timers.seconds[v.name][stage] / max(v.counted, 1)) for v in runs]
        print(f"| {stage} ({what}) | " + " | ".join(cells) + " |")
    rest = []
    for v in runs:
        timed = sum(timers.seconds[v.name][s] for s, _ in STAGES)
        rest.append(fmt((v.wall - timed) / max(v.counted, 1)))
    print("| other (RPN anchors/decoding outside the timed calls, loss sum, transfers) | " + " | ".join(rest) + " |")
    print("| **wall per step** | " + " | ".join(f"**{fmt(v.wall / v.counted)}**" for v in runs) + " |")
    base = runs[0].wall / runs[0].counted
    print("| steps/s | " + " | ".join(f"{v.counted / v.wall:.3f}" for v in runs) + " |")
    print("| speed vs baseline | " + " | ".join(f"{base / (v.wall / v.counted):.2f}x" for v in runs) + " |")
    print("| steps in 2 h at this rate | " + " | ".join(f"{int(7200 * v.counted / v.wall)}" for v in runs) + " |")
    print("| data prep alone, ms per batch (this process) | " + " | ".join(fmt(data_alone[n]) for n in names) + " |")
    print("| trainable parameters | " + " | ".join(f"{v.trainable / 1e6:.2f} M" for v in runs) + " |")
    print()
    for name, overrides in variants:
        print(f"{name}: " + (", ".join(f"{k}={v!r}" for k, v in overrides) or "the config as is"))


def _torch_profile(v: Variant, timers: Timers, steps: int) -> None:
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if v.dev.type == "cuda" else [])
    with profile(activities=activities) as prof:
        v.run(steps, timers, counting=False)
    print(f"\ntorch.profiler, {steps} steps of {v.name}, top operators by self CPU time:\n")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))
    if v.dev.type == "cuda":
        print("\ntop operators by self CUDA time:\n")
        print(prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=15))


def _sync_sites(v: Variant, timers: Timers, steps: int) -> None:
    """Where the CPU waits for the GPU: torch's sync debug warnings over ``steps`` steps, by source line."""
    sites: Counter = Counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            v.run(steps, timers, counting=False)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    for w in caught:
        if "synchroniz" in str(w.message):
            sites[f"{Path(w.filename).name}:{w.lineno}"] += 1
    print(f"\nwaits for the GPU per step ({steps} steps of {v.name}): {sum(sites.values()) / steps:.1f}\n")
    for site, n in sites.most_common(25):
        print(f"  {n / steps:6.1f}  {site}")


if __name__ == "__main__":
    sys.exit(main())
