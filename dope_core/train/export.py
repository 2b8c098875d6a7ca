"""Load a training run's student, and export it as a project checkpoint for the ``network`` backend.

The student's weights (fp16 by default, halving the file) and its anchor poses go
into the project format of :mod:`dope_core.checkpoint`, with the training provenance
(steps, data mode, caches, losses' weights) in ``meta``. The file is written to a
temporary name and renamed, so a reader never sees a partial file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from torch import nn

from dope_core.atomic_files import atomic_path, remove_abandoned_temporaries
from dope_core.checkpoint import check_export_target, save_checkpoint
from dope_core.postprocess.pipeline import PostprocessConfig
from dope_core.keypoints import Part
from dope_core.train.checkpointing import load_training_state
from dope_core.train.config import TrainConfig, config_from_dict
from dope_core.train.trainer import _counts, build_model, without_backbone_weights

DEFAULT_EXPORT = Path(__file__).resolve().parents[1] / "weights" / "dope_student_mobilenetv2.pth"


def load_run_config(run_dir: str | Path) -> tuple[TrainConfig, dict[str, Any]]:
    """The configuration of a run's last checkpoint and the raw state, without building the student.

    Raises:
        FileNotFoundError: ``run_dir`` holds no training checkpoint.
    """
    state = load_training_state(run_dir)
    if state is None:
        raise FileNotFoundError(f"no training checkpoint (last.pth) in {run_dir}")
    return config_from_dict(state["config"], source=f"{run_dir}/last.pth config"), state


def load_run(run_dir: str | Path) -> tuple[nn.Module, TrainConfig, dict[str, Any]]:
    """The student of a run's last checkpoint (eval mode, CPU), its configuration and the raw state.

    Raises:
        FileNotFoundError: ``run_dir`` holds no training checkpoint.
    """
    cfg, state = load_run_config(run_dir)
    return student_from_state(cfg, state), cfg, state


def student_from_state(cfg: TrainConfig, state: dict[str, Any]) -> nn.Module:
    """The student a training state holds (eval mode, CPU), built as ``cfg`` says."""
    anchors = {Part(p): a for p, a in state["anchor_poses"].items()}
    model = build_model(without_backbone_weights(cfg), anchors)
    model.load_state_dict(state["model"])
    return model.eval()


def export_run(run_dir: str | Path, out: str | Path = DEFAULT_EXPORT, *, half: bool = True,
               extra_meta: Optional[dict[str, Any]] = None) -> Path:
    """Write the last training state of ``run_dir`` as a project checkpoint at ``out`` (which may only
    replace an earlier export).

    Raises:
        FileNotFoundError: ``run_dir`` holds no training checkpoint.
        CheckpointError: ``out`` is a folder or a file other than an exported checkpoint.
    """
    check_export_target(out)
    model, cfg, state = load_run(run_dir)
    if half:
        model.half()
    kwargs = {**cfg.model.kwargs, "num_anchor_poses": _counts(cfg)}
    meta = {"trained_steps": int(state["step"]), "data_mode": cfg.data.mode, "caches": list(cfg.data.caches),
            "loss_weights": dict(cfg.loss_weights), "fp16": half, **(extra_meta or {})}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    post = PostprocessConfig()
    if cfg.model.body_halves:  # upper-body anchors from K/2 on: their legs weigh 0.1 in PPI
        post.ppi["body"]["upper_body_from"] = kwargs["num_anchor_poses"]["body"] // 2
    remove_abandoned_temporaries(out.parent)
    with atomic_path(out) as tmp:
        save_checkpoint(tmp, model, arch=cfg.model.variant, model_kwargs=kwargs, postprocess=post, meta=meta)
    return out
