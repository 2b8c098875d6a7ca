"""The training configuration: a YAML file read into checked dataclasses.

Every key is known and typed: an unknown key, a missing required key or a value of
the wrong type is a :class:`ConfigError` naming the key, raised before training
starts. Relative paths are relative to the current directory (the repository root
in the documented commands).

Sections: ``data`` (:class:`DataConfig`), ``model`` (:class:`ModelConfig`),
``schedule`` (:class:`ScheduleConfig`), ``loss_weights`` (loss name to weight),
``validation`` (:class:`ValidationConfig`), ``labels`` (:class:`LabelsConfig`, how
``dope-train label --config`` makes the cache) and ``output_dir``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from dope_core.keypoints import Part
from dope_core.model.backbones import MOBILENETV2_SPLIT
from dope_core.train.dataset import SPLITS
from dope_core.train.targets import MODES

VARIANTS = ("mobilenetv2", "resnet50")
LOSS_NAMES = ("loss_objectness", "loss_rpn_box_reg") + tuple(
    f"loss_{p.value}_{k}" for p in Part for k in ("cls", "pose2d", "pose3d"))


class ConfigError(ValueError):
    """A training configuration that cannot be used."""


@dataclass
class DataConfig:
    caches: list[str]
    mode: str = "distillation"
    parts: list[str] = field(default_factory=lambda: [p.value for p in Part])
    min_score: float = 0.05
    hard_threshold: float = 0.5
    max_size: int = 512
    scale_jitter: list[float] = field(default_factory=lambda: [0.75, 1.25])
    flip: bool = True
    val_fraction: float = 0.1
    split: str = "by_image"
    """``by_image`` or ``by_video`` (held-out videos never seen in training; see
    :func:`dope_core.train.dataset.split_records`)."""
    val_sources: list[str] = field(default_factory=list)
    """``by_video``: patterns of the sources to hold out (default: drawn with the seed)."""
    repeat_factor_threshold: float = 0.0
    """Repeat-factor sampling (:func:`dope_core.train.dataset.repeat_factors`): a part shown
    (score at least ``hard_threshold``) in a fraction ``f`` of the training images below this
    is drawn ``sqrt(threshold / f)`` times as often; 0: every image once per epoch."""
    loader_workers: int = 2


@dataclass
class ModelConfig:
    variant: str = "mobilenetv2"
    kwargs: dict[str, Any] = field(default_factory=dict)
    num_anchors: dict[str, int] = field(default_factory=lambda: {"body": 20, "hand": 10, "face": 10})
    body_halves: bool = False
    anchor_seed: int = 0
    frozen_backbone_blocks: int = 0
    """The first N blocks of the MobileNetV2 body (``features[:N]`` of 14) get no gradient
    (training only; batch norm is frozen in every block anyway): the backward pass stops
    before them."""
    frozen_modules: list[str] = field(default_factory=list)
    """Modules of the network (dotted names, e.g. ``backbone``, ``rpn``, ``roi_heads.dope_head``,
    ``roi_heads.dope_predictor.face_cls_score``) whose parameters get no gradient (training only):
    with ``init_from``, the parts of a student that fine-tuning must not move (a frozen feature
    extractor and face classifier keep the student's faces whatever the new labels lack). An
    unknown name is an error when the model is built."""
    init_from: Optional[str] = None
    """A project checkpoint (an exported student, e.g. ``dope_core/weights/dope_student_mobilenetv2.pth``)
    whose weights and anchor poses start the run instead of the ImageNet backbone and anchors
    clustered from the labels: fine-tuning a student on new labels (a user's own video). Its
    architecture and anchor counts must be ``variant`` and ``num_anchors``, its ``kwargs`` the
    ones that shape the weights (``representation_size``). A resumed run continues from its own
    checkpoint and ignores this."""


@dataclass
class ResolutionStage:
    """Training input size from ``from_step`` on: shorter side ``min_size``, longer side at
    most ``max_size`` (pixels of the network's input)."""

    from_step: int
    min_size: int
    max_size: int


@dataclass
class ScheduleConfig:
    steps: int
    batch_size: int = 4
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    lr_milestones: list[int] = field(default_factory=list)
    lr_gamma: float = 0.1
    grad_clip: float = 10.0
    amp: bool = True
    seed: int = 0
    checkpoint_every: int = 500
    log_every: int = 10
    val_every: int = 0
    resolution: list[ResolutionStage] = field(default_factory=list)
    """Training input sizes by step (the first stage from step 0, ``from_step`` increasing);
    empty: ``model.kwargs``' sizes throughout. Validation and the exported student always
    use ``model.kwargs``' sizes."""


@dataclass
class ValidationConfig:
    pck_alpha: float = 0.1
    max_images: int = 50          # held-out images scored, evenly spread over the held-out set
    annotated: Optional[str] = None
    annotated_datasets: list[str] = field(default_factory=list)


@dataclass
class LabelsConfig:
    """How ``dope-train label --config`` labels the inputs into ``data.caches[0]`` (the flags
    of the same names override them; see :func:`dope_core.pseudo_labels.runner.run_labelling`)."""

    stride: int = 1
    min_change: float = 0.0
    max_gap: int = 0
    crops: list[str] = field(default_factory=list)
    max_crops: int = 3
    crop_min_part: float = 32.0


@dataclass
class TrainConfig:
    data: DataConfig
    schedule: ScheduleConfig
    output_dir: str
    model: ModelConfig = field(default_factory=ModelConfig)
    loss_weights: dict[str, float] = field(default_factory=dict)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | Path, *, check_files: bool = True) -> TrainConfig:
    """Read and check a YAML training configuration; ``check_files=False`` leaves out the checks that the
    files and folders it names for training and validation exist (``model.init_from``,
    ``validation.annotated``), which ``dope-train label --config`` does not use."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"configuration file {str(path)!r} is a folder")
    if not path.is_file():
        raise ConfigError(f"configuration file {str(path)!r} does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None
    return config_from_dict(raw, source=str(path), check_files=check_files)


def config_from_dict(raw: Any, *, source: str = "config", check_files: bool = True) -> TrainConfig:
    """Build and check a :class:`TrainConfig` from plain data (``check_files``: as :func:`load_config`)."""
    cfg = _build(TrainConfig, raw, source)
    _check(cfg, source, check_files=check_files)
    return cfg


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    kwargs = {}
    for name, f in fields.items():
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{where}: missing required key {name!r}")
            continue
        kwargs[name] = _convert(hints[name], raw[name], f"{where}.{name}")
    return cls(**kwargs)


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if origin is typing.Union:  # Optional[X]
        if value is None:
            return None
        return _convert(next(a for a in args if a is not type(None)), value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        return [_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return {_convert(args[0], k, where): _convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if tp is Any:
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, bool) or not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {type(value).__name__} {value!r}")
    return value


def _check(cfg: TrainConfig, where: str, *, check_files: bool = True) -> None:
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ConfigError(f"{where}: {message}")

    d, m, s = cfg.data, cfg.model, cfg.schedule
    need(bool(d.caches), "data.caches must name at least one pseudo-label cache")
    need(d.mode in MODES, f"data.mode must be one of {MODES}, got {d.mode!r}")
    need(bool(d.parts) and all(p in {x.value for x in Part} for p in d.parts), f"data.parts must be body/hand/face, got {d.parts}")
    need(len(d.scale_jitter) == 2 and 0 < d.scale_jitter[0] <= d.scale_jitter[1], "data.scale_jitter must be [low, high], 0 < low <= high")
    need(0 <= d.val_fraction < 1, "data.val_fraction must be in [0, 1)")
    need(d.split in SPLITS, f"data.split must be one of {SPLITS}, got {d.split!r}")
    need(not d.val_sources or d.split == "by_video", "data.val_sources needs data.split: by_video")
    need(d.max_size >= 32, "data.max_size must be >= 32")
    need(d.loader_workers >= 0, "data.loader_workers must be >= 0")
    need(0 <= d.repeat_factor_threshold <= 1, "data.repeat_factor_threshold must be in [0, 1]")
    need(m.variant in VARIANTS, f"model.variant must be one of {VARIANTS}, got {m.variant!r}")
    need(set(m.num_anchors) <= {p.value for p in Part} and all(k >= 1 for k in m.num_anchors.values()),
         "model.num_anchors maps body/hand/face to K >= 1")
    need(s.steps >= 1 and s.batch_size >= 1, "schedule.steps and schedule.batch_size must be >= 1")
    need(s.lr > 0 and s.checkpoint_every >= 1 and s.log_every >= 1 and s.val_every >= 0, "schedule: lr > 0, checkpoint_every >= 1, log_every >= 1, val_every >= 0")
    need(0 <= m.frozen_backbone_blocks <= MOBILENETV2_SPLIT,
         f"model.frozen_backbone_blocks must be in [0, {MOBILENETV2_SPLIT}], got {m.frozen_backbone_blocks}")
    need(m.frozen_backbone_blocks == 0 or m.variant == "mobilenetv2",
         "model.frozen_backbone_blocks is supported by the mobilenetv2 variant only")
    need(not check_files or m.init_from is None or Path(m.init_from).is_file(), f"model.init_from: no file {m.init_from!r}")
    stages = s.resolution
    need(not stages or stages[0].from_step == 0, "schedule.resolution: the first stage must start at from_step 0")
    need(all(a.from_step < b.from_step for a, b in zip(stages, stages[1:])),
         "schedule.resolution: from_step must increase from stage to stage")
    need(all(32 <= r.min_size <= r.max_size for r in stages),
         "schedule.resolution: every stage needs 32 <= min_size <= max_size (pixels)")
    lab = cfg.labels
    need(lab.stride >= 1 and lab.min_change >= 0 and lab.max_crops >= 0 and lab.crop_min_part >= 1,
         "labels: stride >= 1, min_change >= 0, max_crops >= 0, crop_min_part >= 1")
    need(lab.max_gap == 0 or lab.max_gap >= lab.stride, "labels.max_gap must be 0 (none) or >= labels.stride")
    need(set(lab.crops) <= {p.value for p in Part}, f"labels.crops must be body/hand/face, got {lab.crops}")
    bad = sorted(set(cfg.loss_weights) - set(LOSS_NAMES))
    need(not bad, f"loss_weights: unknown loss name(s) {bad}; known: {list(LOSS_NAMES)}")
    need(all(w >= 0 for w in cfg.loss_weights.values()), "loss_weights must be >= 0")
    need(0 < cfg.validation.pck_alpha <= 1, "validation.pck_alpha must be in (0, 1]")
    if check_files and cfg.validation.annotated is not None:
        need(Path(cfg.validation.annotated).is_dir(), f"validation.annotated: no folder {cfg.validation.annotated!r}")
