"""The training loop: seeded, step-based, resumable, AMP on GPU, DDP through ``torchrun``.

``fit(config)`` trains the network of ``config.model`` on the pseudo-label caches of
``config.data`` for ``config.schedule.steps`` optimizer steps:

* anchor poses are clustered from the training records' pseudo ground truth
  (:func:`dope_core.anchors.anchor_poses`) unless a checkpoint brings them: the run's own
  (resuming) or ``model.init_from``'s, an exported student whose weights start the run
  (fine-tuning, :func:`checkpoint_start`);
* each step draws its samples and augmentations from ``(seed, step)`` only
  (:class:`~dope_core.train.dataset.StepSampler`) and re-seeds torch's generator
  from ``(seed, step, rank)``, so a resumed run repeats an uninterrupted one;
* the training input size of a step comes from ``schedule.resolution`` (lower early,
  higher late; a function of the step, so a resumed run uses the same sizes), and the
  first ``model.frozen_backbone_blocks`` backbone blocks and the ``model.frozen_modules`` get
  no gradient; validation and the exported student use ``model.kwargs``' sizes;
* the total loss is the sum of the model's named losses times ``config.loss_weights``
  (1 when absent); a non-finite loss skips the update and is counted;
* training state is written atomically every ``checkpoint_every`` steps, at the end and
  when ``max_seconds`` stops the run (:mod:`~dope_core.train.checkpointing`);
  ``resume=True`` continues from it;
* rank 0 logs losses and learning rate to TensorBoard (``output_dir/tb``), shows a
  progress bar and runs the validation (:mod:`~dope_core.train.validation`).

Distributed training: started by ``torchrun`` (``RANK``/``WORLD_SIZE`` in the
environment), one process per GPU with NCCL, or per CPU process with gloo; each
rank takes its own slice of every step's samples. Data-parallel averaging is explicit:
rank 0's initial weights are broadcast, and after every step's backward each rank
all-reduces its gradients (one flat tensor) together with a 0/1 flag saying whether it
had a finite loss. A rank that has nothing to contribute (all its images unreadable, a
non-finite loss) still takes part with zero gradients, so no rank ever waits on
another; the update is the mean over the ranks that contributed, and a step where no
rank did is skipped by all. Parameters without a gradient (the ResNet-50's unused
classification layer is frozen) count as zero.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from dope_core.anchors import anchor_poses, collect_samples, reclustered
from dope_core.keypoints import Part
from dope_core.atomic_files import atomic_write_text
from dope_core.pseudo_labels.cache import labels_of
from dope_core.train.checkpointing import (LAST, RunFolderBusy, busy_message, load_training_state,
                                          remove_stale_temporaries, save_training_state, try_hold_run_folder)
from dope_core.train.config import ConfigError, TrainConfig
from dope_core.train.dataset import (PseudoLabelDataset, StepSampler, collate, load_records, model_inputs,
                                    repeat_factors, split_records)

LOG = logging.getLogger(__name__)
MAX_CONSECUTIVE_BAD_STEPS = 20


@dataclass
class FitResult:
    """What a call to :func:`fit` did (rank 0's view)."""

    start_step: int
    end_step: int
    losses: list[dict[str, float]] = field(default_factory=list)
    skipped_samples: int = 0
    bad_steps: int = 0
    seconds: float = 0.0
    steady_steps_per_second: Optional[float] = None
    """Steps per second over the second half of this call's steps (start-up excluded: the
    figure to size a run by), ``None`` under 4 steps."""
    validation: Optional[dict[str, Any]] = None
    model: Optional[nn.Module] = None
    """The trained network (not wrapped in DDP), in train mode."""


def build_model(cfg: TrainConfig, anchors: Optional[dict[Part, Any]] = None) -> nn.Module:
    """The configured network variant, with ``anchors`` (``{part: (K, J, 5)}``) as anchor poses."""
    from dope_core.model import build_dope_mobilenetv2, build_dope_resnet50

    builder = {"mobilenetv2": build_dope_mobilenetv2, "resnet50": build_dope_resnet50}[cfg.model.variant]
    counts = {p.value: cfg.model.num_anchors.get(p.value, k) for p, k in
              ((Part.BODY, 20), (Part.HAND, 10), (Part.FACE, 10))}
    kwargs: dict[str, Any] = dict(cfg.model.kwargs)
    if anchors is not None:
        kwargs["anchor_poses"] = {Part(p).value: torch.as_tensor(a) for p, a in anchors.items()}
    try:
        model = builder(num_anchor_poses=counts, **kwargs)
    except TypeError as e:
        raise ValueError(f"model.kwargs do not fit the {cfg.model.variant} builder: {e}") from None
    if cfg.model.frozen_backbone_blocks:
        model.backbone.freeze_blocks(cfg.model.frozen_backbone_blocks)
    modules = dict(model.named_modules())
    for name in cfg.model.frozen_modules:
        if name not in modules:
            raise ConfigError(f"model.frozen_modules: the {cfg.model.variant} network has no module {name!r} "
                              f"(its top-level modules: {', '.join(n for n in modules if n and '.' not in n)})")
        modules[name].requires_grad_(False)
    return model


def training_input_size(cfg: TrainConfig, step: int) -> Optional[tuple[int, int]]:
    """``(min_size, max_size)`` of the training input at ``step`` by ``schedule.resolution``
    (pixels), or ``None`` without a schedule (the model's own sizes)."""
    stages = [r for r in cfg.schedule.resolution if r.from_step <= step]
    return (stages[-1].min_size, stages[-1].max_size) if stages else None


def _set_input_size(model: nn.Module, size: tuple[tuple[int, ...], int]) -> None:
    """Set the network transform's ``(min_sizes, max_size)`` (pixels)."""
    model.transform.min_sizes, model.transform.max_size = size


def train_val_split(cfg: TrainConfig, records: list) -> tuple[list, list]:
    """The configured train/validation split of the records (``data.split``, ``data.val_fraction``,
    ``data.val_sources``, ``schedule.seed``)."""
    d = cfg.data
    return split_records(records, val_fraction=d.val_fraction, seed=cfg.schedule.seed, by=d.split,
                         val_sources=d.val_sources)


SPLIT = "split.json"
"""File of a run's folder holding the keys of its training and held-out records, drawn when the run began."""


def run_split(cfg: TrainConfig, records: list, run_dir: str | Path, *, new_run: bool,
              write: bool = True) -> tuple[list, list]:
    """The train/held-out split of a run.

    A new run draws it (:func:`train_val_split`) and, with ``write``, records its keys in
    ``run_dir/split.json`` (atomically); a resumed run, and ``validate --run``, use the stored one
    (:func:`stored_split`), so records added to the caches since never move a training image into
    validation. A run made before runs stored their split draws it again from the caches as they are
    now, with a warning.
    """
    run_dir = Path(run_dir)
    if not new_run:
        stored = read_split(run_dir)
        if stored is not None:
            return stored_split(stored, records, run_dir / SPLIT)
        LOG.warning("%s has no %s (a run made before runs kept their split): its held-out images are drawn again "
                    "from the caches as they are now; records added since may have been trained on", run_dir, SPLIT)
    train, val = train_val_split(cfg, records)
    if new_run and write:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / SPLIT, json.dumps({"train": [r.key for _, r in train],
                                                       "held_out": [r.key for _, r in val]}))
    return train, val


def read_split(run_dir: str | Path) -> Optional[dict[str, list[str]]]:
    """The stored split of a run (``{"train": keys, "held_out": keys}``), ``None`` when it has none.

    Raises:
        ValueError: the file is there but cannot be read as a split.
    """
    path = Path(run_dir) / SPLIT
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} cannot be read ({e}): the run's split is lost; set another output_dir") from None
    if not isinstance(stored, dict) or not all(isinstance(stored.get(k), list) for k in ("train", "held_out")):
        raise ValueError(f"{path} is not a split of dope-train (train and held_out keys)")
    return stored


def stored_split(stored: dict[str, list[str]], records: list, path: Path) -> tuple[list, list]:
    """``records`` split as ``stored`` says (the records' order kept). Records the split does not name (added
    to the caches since the run began) are used on neither side; keys of the split no longer in the caches
    are skipped; both counted in a log line.

    Raises:
        ValueError: none of the run's training records is in the caches any more.
    """
    train_keys, val_keys = set(stored["train"]), set(stored["held_out"])
    train = [r for r in records if r[1].key in train_keys]
    val = [r for r in records if r[1].key in val_keys]
    added = len(records) - len(train) - len(val)
    if added:
        LOG.info("%d records were added to the caches after the run began: this run uses none of them (neither "
                 "trained on nor held out; its split is %s)", added, path)
    present = {r.key for _, r in records}
    gone_train, gone_val = len(train_keys - present), len(val_keys - present)
    if gone_train or gone_val:
        LOG.warning("%d training and %d held-out records of the run's split are no longer in the caches: skipped",
                    gone_train, gone_val)
    if not train:
        raise ValueError(f"none of the {len(train_keys)} training records of {path} is in the caches any more")
    return train, val


def check_labelled_parts(cfg: TrainConfig) -> None:
    """Refuse caches labelled without a part that ``data.parts`` trains (their images would teach it as
    background), by the parts their labelling settings give the experts (``labelling.json``, or a packed
    copy's ``pack.json``: :meth:`~dope_core.pseudo_labels.cache.LabelCache.labelling`); a cache without them
    (made before caches kept their settings) is accepted.

    Raises:
        ConfigError: one line naming the cache and the parts it lacks.
    """
    from dope_core.pseudo_labels.cache import LabelCache

    for root in cfg.data.caches:
        recipe = LabelCache(root).labelling() or {}
        kwargs = recipe.get("estimator_kwargs")
        labelled = kwargs.get("parts") if isinstance(kwargs, dict) else None
        if not isinstance(labelled, list):
            continue
        missing = [p for p in cfg.data.parts if p not in labelled]
        if missing:
            raise ConfigError(f"data.parts: {root} was labelled without {', '.join(missing)} (its labelling "
                              f"settings: parts {labelled}), which would be taught as background; label with "
                              f"--parts {' '.join(cfg.data.parts)}, or train data.parts {labelled}")


def checkpoint_start(cfg: TrainConfig) -> tuple[dict[Part, torch.Tensor], dict[str, torch.Tensor]]:
    """The anchor poses and fp32 weights of ``model.init_from`` (a project checkpoint), which
    start a fine-tuning run.

    Raises:
        ConfigError: the checkpoint is not of ``model.variant`` with ``model.num_anchors``.
        dope_core.checkpoint.CheckpointError: the file is not a loadable checkpoint.
    """
    from dope_core.checkpoint import load_checkpoint

    path = cfg.model.init_from
    loaded = load_checkpoint(path)
    if loaded.arch != cfg.model.variant:
        raise ConfigError(f"model.init_from: {path} is a {loaded.arch} student, the config trains a {cfg.model.variant}")
    if loaded.num_anchor_poses != _counts(cfg):
        raise ConfigError(f"model.init_from: {path} has anchor poses {loaded.num_anchor_poses}, "
                          f"model.num_anchors asks for {_counts(cfg)}")
    anchors = {p: loaded.model.roi_heads.anchors(p.value).detach().float().clone() for p in Part}
    return anchors, {k: v.float() if v.is_floating_point() else v for k, v in loaded.model.state_dict().items()}


def without_backbone_weights(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` building no ImageNet backbone (the weights come from a checkpoint)."""
    if cfg.model.variant != "mobilenetv2":
        return cfg
    model = dataclasses.replace(cfg.model, kwargs={**cfg.model.kwargs, "pretrained_backbone": False})
    return dataclasses.replace(cfg, model=model)


def training_anchor_poses(cfg: TrainConfig, train_records: list) -> dict[Part, Any]:
    """Anchor poses clustered from the training records' pseudo ground truth (``model.num_anchors``).

    A hand or face that the labels never show (videos of people far away, a portrait whose hands are
    out of the frame) takes the shipped student's anchor poses of that part, reclustered to its
    ``num_anchors`` (:func:`~dope_core.anchors.reclustered`), with a warning: the run trains, and that
    part's head learns that there is none in such images. Bodies have no such fallback.

    Raises:
        ValueError: the labels hold no body.
    """
    pseudo = [pose for _, r in train_records if (gt := labels_of(r).pseudo_gt) is not None for pose in gt.parts()]
    samples = collect_samples(pseudo)
    counts = _counts(cfg)
    absent = [p for p in (Part.HAND, Part.FACE) if not samples[p]]
    anchors = anchor_poses(samples, num_anchors={p: k for p, k in counts.items() if Part(p) not in absent},
                           body_halves=cfg.model.body_halves, seed=cfg.model.anchor_seed)
    if absent:
        from dope_core.checkpoint import load_checkpoint
        from dope_core.train.export import DEFAULT_EXPORT

        shipped = load_checkpoint(DEFAULT_EXPORT).model.roi_heads
        for part in absent:
            LOG.warning("no %s in the training labels' pseudo ground truth: its %d anchor poses are the shipped "
                        "student's, reclustered", part.value, counts[part.value])
            anchors[part] = reclustered(shipped.anchors(part.value).detach().float().numpy(), part,
                                        counts[part.value], seed=cfg.model.anchor_seed)
    return anchors


def make_optimizer(cfg: TrainConfig, model: nn.Module) -> tuple[torch.optim.Optimizer, Any]:
    """SGD over the trainable parameters and its step-based learning-rate schedule."""
    s = cfg.schedule
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _lr_factor(cfg, step))


def make_loader(cfg: TrainConfig, train_records: list, *, start_step: int, rank: int = 0, world_size: int = 1,
                pin_memory: bool = False) -> DataLoader:
    """The batches of steps ``[start_step, schedule.steps)`` of one rank: ``(images, targets, keys, dropped)``
    (:func:`~dope_core.train.dataset.collate`; ``pin_memory`` for a CUDA device)."""
    s, d = cfg.schedule, cfg.data
    dataset = PseudoLabelDataset(train_records, mode=d.mode, parts=[Part(p) for p in d.parts], min_score=d.min_score,
                                 hard_threshold=d.hard_threshold, max_size=d.max_size,
                                 scale_jitter=tuple(d.scale_jitter), flip=d.flip)
    factors = None
    if d.repeat_factor_threshold > 0:
        factors = repeat_factors(train_records, parts=dataset.parts, hard_threshold=d.hard_threshold,
                                 threshold=d.repeat_factor_threshold)
        if rank == 0:
            LOG.info("repeat-factor sampling (threshold %g): %d of %d training images drawn more than once "
                     "per epoch, up to %.2f times; an epoch is about %d images", d.repeat_factor_threshold,
                     int(np.sum(factors > 1)), len(factors), float(factors.max()), int(round(factors.sum())))
    sampler = StepSampler(len(dataset), batch_size=s.batch_size, start_step=start_step, total_steps=s.steps,
                          seed=s.seed, rank=rank, world_size=world_size, repeat_factors=factors)
    return DataLoader(dataset, batch_size=s.batch_size, sampler=sampler, collate_fn=collate,
                      num_workers=d.loader_workers, pin_memory=pin_memory)


def fit(cfg: TrainConfig, *, resume: bool = False, device: str = "auto", show_progress: bool = True,
        max_seconds: Optional[float] = None) -> FitResult:
    """Train as configured (see the module docstring); returns rank 0's summary.

    ``max_seconds``: stop at the first step boundary after this much time (seconds since
    the loop started, rank 0's clock, every rank stops at the same step), write the
    training state and return (``end_step < schedule.steps``; no final validation). A job
    under a wall-clock limit ends cleanly this way and ``resume=True`` continues it.
    """
    if max_seconds is not None and max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    device = _device_name(device)
    rank, world = _init_distributed(device)
    dev = _device(device, rank)
    lock = _hold_output_dir(Path(cfg.output_dir), rank, world, dev)
    try:
        return _fit(cfg, rank, world, dev, resume=resume, show_progress=show_progress, max_seconds=max_seconds)
    finally:
        if lock is not None:
            lock.close()


def _hold_output_dir(out_dir: Path, rank: int, world: int, dev: torch.device) -> Any:
    """Rank 0 takes the run folder's lock (:func:`~dope_core.train.checkpointing.try_hold_run_folder`) and
    tells the other ranks whether it got it; returns the lock file (rank 0) or ``None``.

    Raises:
        RunFolderBusy: another live ``fit`` holds ``out_dir`` (on every rank).
    """
    lock = try_hold_run_folder(out_dir) if rank == 0 else None
    held = rank != 0 or lock is not None
    if world > 1:
        flag = torch.tensor([1.0 if held else 0.0], device=dev)
        dist.broadcast(flag, src=0)
        held = bool(flag.item())
    if not held:
        raise RunFolderBusy(busy_message(out_dir))
    return lock


def _fit(cfg: TrainConfig, rank: int, world: int, dev: torch.device, *, resume: bool, show_progress: bool,
         max_seconds: Optional[float]) -> FitResult:
    """:func:`fit` once the devices are set and the run folder is held."""
    out_dir = Path(cfg.output_dir)
    sched = cfg.schedule
    if rank == 0:   # only rank 0 writes checkpoints; none is being written yet
        for tmp in remove_stale_temporaries(out_dir):
            LOG.info("removed %s, left by a checkpoint write that was killed", tmp)
    if not resume and (out_dir / LAST).exists():
        raise ConfigError(f"{out_dir} holds a training run ({LAST}): run with --resume to continue it, or set "
                          "another output_dir (a new run never replaces one)")
    check_labelled_parts(cfg)
    state = load_training_state(out_dir) if resume else None
    if resume and state is None:
        LOG.warning("no checkpoint in %s: starting from step 0", out_dir)
    records = load_records(cfg.data.caches)
    train_records, val_records = run_split(cfg, records, out_dir, new_run=state is None, write=rank == 0)
    if state is not None:
        changed = resume_mismatches(state.get("config") or {}, cfg.to_dict())
        if changed:
            raise ConfigError(f"--resume: the configuration differs from the run's in {', '.join(changed)}, which "
                              f"shape the network or its targets; set another output_dir for a new run")
    start_weights = None
    if state is not None:
        anchors = {Part(p): a for p, a in state["anchor_poses"].items()}
    elif cfg.model.init_from:
        anchors, start_weights = checkpoint_start(cfg)
    else:
        anchors = training_anchor_poses(cfg, train_records)
    torch.manual_seed(sched.seed)  # the same initial weights on every rank and in every run
    model = build_model(cfg if start_weights is None else without_backbone_weights(cfg), anchors)
    if start_weights is not None:
        try:
            model.load_state_dict(start_weights)
        except RuntimeError as e:
            raise ConfigError(f"model.init_from: {cfg.model.init_from} does not fit model.kwargs "
                              f"({str(e).splitlines()[-1].strip()})") from None
        LOG.info("weights and anchor poses from %s", cfg.model.init_from)
    model = model.to(dev)
    if dev.type == "cpu":
        # oneDNN's preferred layout: about 1.3x less time per CPU training step (docs/training.md)
        model = model.to(memory_format=torch.channels_last)
    optimizer, scheduler = make_optimizer(cfg, model)
    use_amp = sched.amp and dev.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    start = 0
    counters = {"skipped_samples": 0, "bad_steps": 0}
    if state is not None:
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as e:
            raise ConfigError(f"--resume: the run's weights do not fit model.kwargs "
                              f"({str(e).splitlines()[-1].strip()})") from None
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        start = int(state["step"])
        counters.update(state.get("counters", {}))
    if world > 1:
        for tensor in model.state_dict().values():
            dist.broadcast(tensor, src=0)
    loader = make_loader(cfg, train_records, start_step=start, rank=rank, world_size=world,
                         pin_memory=dev.type == "cuda")
    writer = _writer(out_dir, start) if rank == 0 else None
    result = FitResult(start_step=start, end_step=start)
    t0 = time.monotonic()
    consecutive_bad = 0
    step = start
    stopped = False   # by the time limit
    step_ends: list[float] = []
    inference_size = (model.transform.min_sizes, model.transform.max_size)
    model.train()
    bar = tqdm(total=sched.steps, initial=start, desc="training", unit="step", disable=not show_progress or rank != 0)
    try:
        for images, targets, _keys, dropped in loader:
            counters["skipped_samples"] += dropped
            torch.manual_seed(_step_seed(sched.seed, step, rank))
            size = training_input_size(cfg, step)
            if size is not None:
                _set_input_size(model, ((size[0],), size[1]))
            losses, contributors = _train_step(model, optimizer, scaler, cfg, images, targets, dev, use_amp, world)
            if losses is None or not math.isfinite(losses["loss"]):
                counters["bad_steps"] += 1
            else:
                result.losses.append(losses)
            consecutive_bad = consecutive_bad + 1 if contributors == 0 else 0   # the same on every rank
            if consecutive_bad >= MAX_CONSECUTIVE_BAD_STEPS:
                raise RuntimeError(f"{consecutive_bad} consecutive steps without a finite loss on any rank at step "
                                   f"{step}: check the data (empty images?) and lower the learning rate")
            scheduler.step()
            step += 1
            step_ends.append(time.monotonic())
            bar.update(1)
            if writer is not None and losses is not None and (step % sched.log_every == 0 or step == sched.steps):
                for name, value in losses.items():
                    writer.add_scalar(f"train/{name}", value, step)
                writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], step)
                writer.add_scalar("train/skipped_samples", counters["skipped_samples"], step)
                bar.set_postfix(loss=f"{losses['loss']:.3f}")
            saved = step % sched.checkpoint_every == 0 or step == sched.steps
            if saved:
                _checkpoint(rank, out_dir, step, model, optimizer, scheduler, scaler, anchors, cfg, counters)
            if step < sched.steps and max_seconds is not None and _time_is_up(t0, max_seconds, dev, world):
                if not saved:
                    _checkpoint(rank, out_dir, step, model, optimizer, scheduler, scaler, anchors, cfg, counters)
                LOG.info("stopped at step %d of %d after %.0f s (time limit)", step, sched.steps, time.monotonic() - t0)
                stopped = True
                break
            if rank == 0 and val_records and sched.val_every and step % sched.val_every == 0 and step < sched.steps:
                _set_input_size(model, inference_size)
                _validate(model, cfg, val_records, writer, step, out_dir)
        if step < sched.steps and not stopped:
            raise RuntimeError(f"the data loader stopped at step {step} of {sched.steps}")
        _set_input_size(model, inference_size)
        # the final validation, also when a kill cut it short after the last checkpoint
        if not stopped and rank == 0 and val_records and (start < sched.steps or _validated_step(out_dir) != step):
            result.validation = _validate(model, cfg, val_records, writer, step, out_dir)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
        if world > 1:
            dist.destroy_process_group()
    result.end_step = step
    result.model = model
    result.skipped_samples = counters["skipped_samples"]
    result.bad_steps = counters["bad_steps"]
    result.seconds = time.monotonic() - t0
    if len(step_ends) >= 4:
        half = len(step_ends) // 2
        result.steady_steps_per_second = (len(step_ends) - 1 - half) / max(step_ends[-1] - step_ends[half], 1e-9)
    return result


def _time_is_up(t0: float, max_seconds: float, dev: torch.device, world: int) -> bool:
    """Whether ``max_seconds`` have passed since ``t0`` by rank 0's clock (broadcast, so that
    every rank stops at the same step)."""
    up = time.monotonic() - t0 >= max_seconds
    if world > 1:
        flag = torch.tensor([1.0 if up else 0.0], device=dev)
        dist.broadcast(flag, src=0)
        up = bool(flag.item())
    return up


def _train_step(model: nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, cfg: TrainConfig,
                images: list[torch.Tensor], targets: list[dict], dev: torch.device, use_amp: bool,
                world: int = 1) -> tuple[Optional[dict[str, float]], int]:
    """One optimizer step on a collated batch (``uint8`` images, target arrays); returns this
    rank's losses (``None`` without images) and the number of ranks that contributed
    gradients (0: no update anywhere)."""
    optimizer.zero_grad(set_to_none=True)
    out: Optional[dict[str, float]] = None
    if images:
        images, targets = model_inputs(images, targets, dev)
        with _autocast(dev, use_amp):
            loss_dict = model(images, targets)
        total = sum(cfg.loss_weights.get(name, 1.0) * value.float() for name, value in loss_dict.items())
        names = list(loss_dict)
        values = torch.stack([v.detach().float() for v in loss_dict.values()] + [total.detach()]).tolist()  # one wait
        out = dict(zip(names + ["loss"], values))
        if math.isfinite(out["loss"]):
            scaler.scale(total).backward()
    ok = out is not None and math.isfinite(out["loss"])
    params = [p for g in optimizer.param_groups for p in g["params"]]
    contributors = _average_gradients(params, ok, dev) if world > 1 else int(ok)
    if contributors == 0:
        return out, 0
    scaler.unscale_(optimizer)
    if cfg.schedule.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(params, cfg.schedule.grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return out, contributors


def _autocast(dev: torch.device, use_amp: bool) -> Any:
    """fp16 autocast on CUDA, bfloat16 on the CPU, when AMP is on."""
    if not use_amp:
        return nullcontext()
    return torch.autocast(device_type=dev.type, dtype=torch.float16 if dev.type == "cuda" else torch.bfloat16)


def _average_gradients(params: list[torch.Tensor], ok: bool, dev: torch.device) -> int:
    """All-reduce every rank's gradients and a contributed flag; leave the mean over the
    contributing ranks in ``.grad``. Every rank calls this every step. Returns the number
    of contributing ranks."""
    flat = torch.cat([(p.grad.reshape(-1).float() if ok and p.grad is not None else p.new_zeros(p.numel(), dtype=torch.float32))
                      for p in params] + [torch.ones(1, device=dev) if ok else torch.zeros(1, device=dev)])
    dist.all_reduce(flat)
    contributors = int(round(float(flat[-1])))
    if contributors:
        flat = flat[:-1] / contributors
        offset = 0
        for p in params:
            g = flat[offset:offset + p.numel()].view_as(p).to(p.dtype)
            offset += p.numel()
            if p.grad is None:
                p.grad = g.clone()
            else:
                p.grad.copy_(g)
    return contributors


def _checkpoint(rank: int, out_dir: Path, step: int, model: nn.Module, optimizer: Any, scheduler: Any, scaler: Any,
                anchors: dict[Part, Any], cfg: TrainConfig, counters: dict[str, int]) -> None:
    if rank == 0:
        save_training_state(out_dir, {
            "step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
            "anchor_poses": {Part(p).value: torch.as_tensor(a) for p, a in anchors.items()},
            "config": cfg.to_dict(), "counters": dict(counters),
        })
    if dist.is_initialized():
        dist.barrier()


def _validate(model: nn.Module, cfg: TrainConfig, val_records: list, writer: Any, step: int, out_dir: Path) -> dict[str, Any]:
    from dope_core.train.validation import validate

    report = validate(model, val_records, cfg)
    model.train()
    if writer is not None:
        # over all held-out images, then whole images and close-up crops apart (the kinds that had images)
        groups = [("val/agreement", report["agreement"]["parts"])]
        groups += [(f"val/agreement_{kind}", split["parts"])
                   for kind, split in (report["agreement"].get("by_kind") or {}).items()]
        for prefix, parts in groups:
            for part, values in parts.items():
                for name, value in values.items():
                    if isinstance(value, float) and math.isfinite(value):
                        writer.add_scalar(f"{prefix}/{part}_{name}", value, step)
        for name, value in (report["accuracy"] or {}).items():
            if math.isfinite(value):
                writer.add_scalar(f"val/accuracy/{name}", value, step)
    atomic_write_text(out_dir / "validation.json", json.dumps({"step": step, **report}, indent=1))
    return report


def _validated_step(out_dir: Path) -> Optional[int]:
    """The step of the run's last validation report (``validation.json``), ``None`` without a readable one."""
    try:
        return int(json.loads((out_dir / "validation.json").read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


RESUME_LOCKED = ("model.variant", "model.kwargs", "model.num_anchors", "model.body_halves", "model.anchor_seed",
                 "model.frozen_backbone_blocks", "model.frozen_modules", "data.mode", "data.parts", "loss_weights")
"""Settings a resumed run must share with the run it continues (the network, its anchors and its targets);
the schedule, data, validation and the rest may change (a longer schedule extends a run)."""


def resume_mismatches(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The :data:`RESUME_LOCKED` settings that differ between a run's stored configuration and ``current``
    (both :meth:`TrainConfig.to_dict`); a setting the stored one lacks (an older run) is not compared."""
    changed = []
    for key in RESUME_LOCKED:
        section, _, name = key.partition(".")
        old, new = stored.get(section), current.get(section)
        if name:
            old, new = (old or {}).get(name, _MISSING) if isinstance(old, dict) else _MISSING, (new or {}).get(name)
        elif old is None:
            old = _MISSING
        if old is not _MISSING and old != new:
            changed.append(f"{key} ({old!r} -> {new!r})")
    return changed


_MISSING = object()


def _writer(out_dir: Path, start: int) -> Any:
    from torch.utils.tensorboard import SummaryWriter

    # Step `start` was logged before its checkpoint was written: purge only what came after it.
    return SummaryWriter(log_dir=str(out_dir / "tb"), purge_step=start + 1 if start else None)


def _lr_factor(cfg: TrainConfig, step: int) -> float:
    s = cfg.schedule
    warm = min(1.0, 0.001 + (1 - 0.001) * step / s.warmup_steps) if s.warmup_steps else 1.0
    return warm * s.lr_gamma ** sum(step >= m for m in s.lr_milestones)


def _counts(cfg: TrainConfig) -> dict[str, int]:
    defaults = {"body": 20, "hand": 10, "face": 10}
    return {p: cfg.model.num_anchors.get(p, k) for p, k in defaults.items()}


def _step_seed(seed: int, step: int, rank: int) -> int:
    return (seed * 1_000_003 + step * 1009 + rank) % (2**63)


def _init_distributed(device: str) -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and device != "cpu" else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def _device_name(device: str) -> str:
    """``device`` checked: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

    Raises:
        ValueError: any other name (one line).
    """
    if device == "auto":
        return device
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        parsed = None
    if parsed is None or parsed.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {device!r}: unknown device; use auto, cpu, cuda or cuda:N")
    return device


def _device(device: str, rank: int) -> torch.device:
    """The training device of ``rank``: ``auto`` is CUDA when there is one, else the CPU; CUDA asked for
    where there is none falls back to the CPU with a warning (as inference does); plain ``cuda`` is the
    rank's own GPU (``LOCAL_RANK``)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        LOG.warning("--device %s: CUDA is not available: training on the CPU", device)
        return torch.device("cpu")
    if dev.type == "cuda" and dev.index is None:
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return dev
