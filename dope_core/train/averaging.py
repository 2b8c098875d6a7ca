"""Weight-space interpolation of a student and a fine-tune of it (WiSE-FT), module group by group.

Fine-tuning a student on new labels moves all its weights, and with them what it did well
before (docs/training.md: the fine-tunes on the better experts' labels lose small faces).
Averaging the fine-tuned weights with the ones it started from keeps much of both
(weight-space ensembles, Wortsman et al., CVPR 2022). Here each module group of the network
(:data:`MODULE_GROUPS`) gets its own weight: ``out = (1 - a) * base + a * tuned`` tensor by
tensor, so that, for example, the face predictor stays the base's while the body and hand
predictors take the fine-tune's (docs/training.md measures such mixes: on the shipped student
and a fine-tune of it, the predictors do best with the features they were trained on).

The two checkpoints must be one network: the project format (:mod:`dope_core.checkpoint`), the
same architecture and builder arguments, the same tensors, and the same anchor poses (the
predictors' outputs are offsets from them; a fine-tune started with ``model.init_from`` keeps
them). The output keeps the base's dtype (fp16 for an export), post-processing and anchors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import torch

from dope_core.atomic_files import atomic_path, remove_abandoned_temporaries
from dope_core.checkpoint import PROJECT_FORMAT, CheckpointError, check_export_target, read_checkpoint

MODULE_GROUPS: dict[str, str] = {
    "backbone": "backbone.",
    "rpn": "rpn.",
    "roi_head": "roi_heads.dope_head.",
    "body_cls": "roi_heads.dope_predictor.body_cls_score.",
    "body_pose": "roi_heads.dope_predictor.body_pose_pred.",
    "hand_cls": "roi_heads.dope_predictor.hand_cls_score.",
    "hand_pose": "roi_heads.dope_predictor.hand_pose_pred.",
    "face_cls": "roi_heads.dope_predictor.face_cls_score.",
    "face_pose": "roi_heads.dope_predictor.face_pose_pred.",
}
"""Module groups by name: the state-dict key prefix of each (the whole-body network of
:mod:`dope_core.model`: feature extractor, proposal network, shared RoI head, and per part a
classifier over anchor poses and a pose regressor)."""


def group_of(key: str) -> str | None:
    """The :data:`MODULE_GROUPS` name of a state-dict key, ``None`` for a key in none (anchor poses)."""
    return next((name for name, prefix in MODULE_GROUPS.items() if key.startswith(prefix)), None)


def interpolate_state(base: Mapping[str, torch.Tensor], tuned: Mapping[str, torch.Tensor],
                      weights: Mapping[str, float], *, default: float) -> dict[str, torch.Tensor]:
    """``(1 - a) * base + a * tuned`` per floating-point tensor, ``a`` the tensor's group weight in
    ``weights`` (else ``default``), computed in fp32 and stored in the base's dtype. Integer tensors
    (batch-norm counters) and tensors of no group (anchor poses) are the base's.

    Raises:
        ValueError: the two state dicts hold different keys or shapes, an unknown group name, or a
            weight outside [0, 1].
    """
    unknown = set(weights) - set(MODULE_GROUPS)
    if unknown:
        raise ValueError(f"unknown module group(s) {', '.join(sorted(unknown))}; choose from "
                         f"{', '.join(MODULE_GROUPS)}")
    for name, a in {**weights, "default": default}.items():
        if not 0.0 <= a <= 1.0:
            raise ValueError(f"the weight of {name} must lie in [0, 1], got {a}")
    if set(base) != set(tuned):
        diff = sorted(set(base) ^ set(tuned))
        raise ValueError(f"the checkpoints hold different tensors ({len(diff)}, e.g. {diff[0]}): not one network")
    out = {}
    for key, b in base.items():
        t = tuned[key]
        if b.shape != t.shape:
            raise ValueError(f"{key}: shapes {tuple(b.shape)} and {tuple(t.shape)} differ: not one network")
        group = group_of(key)
        if group is None or not b.is_floating_point():
            out[key] = b.clone()
            continue
        a = weights.get(group, default)
        out[key] = ((1.0 - a) * b.float() + a * t.float()).to(b.dtype)
    return out


def average_checkpoints(base: str | os.PathLike, tuned: str | os.PathLike, out: str | os.PathLike, *,
                        weight: float = 0.5, group_weights: Mapping[str, float] | None = None) -> Path:
    """Write the interpolation of two project checkpoints of one network to ``out``
    (:func:`interpolate_state`; ``weight``: the fine-tune's share where ``group_weights`` names no
    weight). The file is written to a temporary name and renamed; its ``meta`` is the fine-tune's,
    with the recipe under ``averaged``.

    Raises:
        CheckpointError: a file is missing, unreadable, not in the project format, or the two are not
            one network (architecture, builder arguments, tensors, anchor poses); ``out`` is a folder or
            one of the two inputs.
    """
    out = Path(out)
    for name, path in (("base", base), ("tuned", tuned)):
        if out.exists() and Path(path).exists() and os.path.samefile(out, path):
            raise CheckpointError(f"--out {out} is the {name} checkpoint: write the mix to a new file")
    check_export_target(out)
    data = {name: read_checkpoint(path) for name, path in (("base", base), ("tuned", tuned))}
    for name, d in data.items():
        if d.get("format") != PROJECT_FORMAT:
            raise CheckpointError(f"{name} checkpoint {d.get('format', 'without a format')!r} is not a "
                                  f"{PROJECT_FORMAT!r} checkpoint (export a run first: dope-train export)")
    b, t = data["base"], data["tuned"]
    for field in ("arch", "model_kwargs"):
        if b.get(field) != t.get(field):
            raise CheckpointError(f"the checkpoints differ in {field} ({b.get(field)!r} against {t.get(field)!r}): "
                                  "not one network")
    for key, tensor in b["state_dict"].items():
        if key.endswith("anchor_poses") and not torch.equal(tensor.float(), t["state_dict"][key].float()):
            raise CheckpointError(f"the checkpoints have different {key}: their predictors are not comparable "
                                  "(fine-tune with model.init_from the base to keep its anchors)")
    weights = dict(group_weights or {})
    try:
        state = interpolate_state(b["state_dict"], t["state_dict"], weights, default=weight)
    except ValueError as e:
        raise CheckpointError(str(e)) from None
    meta: dict[str, Any] = {**dict(t.get("meta") or {}), "averaged": {
        "base": str(base), "tuned": str(tuned), "weight": weight,
        "group_weights": {g: weights.get(g, weight) for g in MODULE_GROUPS}}}
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temporaries(out.parent)
    with atomic_path(out) as tmp:
        torch.save({**b, "state_dict": state, "meta": meta}, tmp)
    return out
