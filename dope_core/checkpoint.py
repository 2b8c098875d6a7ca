"""Network checkpoints: the DOPE release format and this project's own, loaded safely.

**Release format** (``DOPE_v1_0_0.pth.tgz``, ``DOPErealtime_v1_0_0.pth.tgz``; a plain
``torch.save`` dict, not a tarball): ``dope_kwargs`` (builder arguments, incl.
``num_anchor_poses``), ``half`` (fp16 weights), ``state_dict`` (555 keys, ResNet-50),
``body_ppi_kwargs``, ``hand_ppi_kwargs``, ``face_ppi_kwargs``.

**Project format** (:data:`PROJECT_FORMAT`)::

    {"format": "dope_ros/1", "arch": "mobilenetv2" | "resnet50", "model_kwargs": {...},
     "state_dict": {...},            # anchor poses included (roi_heads.{part}_anchor_poses)
     "postprocess": {...},           # PostprocessConfig.to_dict()
     "meta": {...}}                  # free-form provenance (str/int/float/list/dict)

Files are read with ``torch.load(weights_only=True)``: a file that tries to unpickle
anything but tensors and plain containers is refused. Truncated files, missing entries
and state dicts that do not match the architecture raise :class:`CheckpointError`
naming what is wrong.

3D axes of the release: DOPE's notes say its 3D output is "y up"; release files are
loaded with ``PostprocessConfig.axes_3d = "y_up"`` (y and z negated into camera axes).
Set :data:`RELEASE_AXES_3D` accordingly once verified on a real checkpoint.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

import torch
from torch import Tensor

from dope_core.model.builders import build_dope_mobilenetv2, build_dope_resnet50
from dope_core.model.dope_rcnn import PARTS, DopeRCNN
from dope_core.postprocess.pipeline import PostprocessConfig

PROJECT_FORMAT = "dope_ros/1"
ARCHS = ("resnet50", "mobilenetv2")
RELEASE_KEYS = ("dope_kwargs", "half", "state_dict", "body_ppi_kwargs", "hand_ppi_kwargs", "face_ppi_kwargs")
RELEASE_AXES_3D = "y_up"
"""Axes assumed for the release's 3D output (unverified here: no release file was at hand)."""

# Release PPI argument -> pose_proposal_integration argument; the others (K, iou_func,
# th_persondetect, verbose) have no counterpart and are ignored.
_RELEASE_PPI_NAMES = {"th_pose3D": "pose3d_threshold", "th_iou": "iou_threshold",
                      "score_th": "score_threshold", "min_mode_score": "min_mode_score"}
# Old torchvision RPN head names (before 0.13) -> current ones.
_OLD_RPN_KEYS = {"rpn.head.conv.weight": "rpn.head.conv.0.0.weight", "rpn.head.conv.bias": "rpn.head.conv.0.0.bias"}


class CheckpointError(ValueError):
    """A checkpoint file cannot be used; the message says why."""


@dataclass
class LoadedCheckpoint:
    """A network ready to run, with what is needed to post-process its outputs.

    Attributes:
        model: the network in eval mode, fp32, on the CPU.
        arch: ``"resnet50"`` or ``"mobilenetv2"``.
        kind: ``"release"`` or ``"project"``.
        half: whether the file's weights are fp16 (the real-time release model).
        num_anchor_poses: ``{part: K}``.
        postprocess: the post-processing settings.
        meta: provenance stored in the file.
    """

    model: DopeRCNN
    arch: str
    kind: str
    half: bool
    num_anchor_poses: dict[str, int]
    postprocess: PostprocessConfig
    meta: dict[str, Any] = field(default_factory=dict)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The raw dict of a checkpoint file, read with ``weights_only=True``.

    Raises:
        CheckpointError: missing, truncated or corrupt file; code in the pickle; not a dict.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"refused to load {path}: it holds objects other than tensors and plain containers, which could "
            f"run code when unpickled (loaded with weights_only=True). Detail: {first}") from None
    except (EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt ({type(e).__name__}: {e})") from None
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path} is truncated or not a torch file: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(data).__name__}, expected a dict")
    return data


def load_checkpoint(path: str | os.PathLike) -> LoadedCheckpoint:
    """Build the network of a release or project checkpoint and load its weights strictly."""
    data = read_checkpoint(path)
    if data.get("format") == PROJECT_FORMAT:
        return _load_project(data, path)
    if "dope_kwargs" in data or "half" in data:
        return _load_release(data, path)
    raise CheckpointError(f"{path} is neither a DOPE release checkpoint (keys {', '.join(RELEASE_KEYS)}) nor a "
                          f"{PROJECT_FORMAT!r} checkpoint; its keys are {sorted(map(str, data))}")


def save_checkpoint(path: str | os.PathLike, model: DopeRCNN, *, arch: str, model_kwargs: Mapping[str, Any],
                    postprocess: Optional[PostprocessConfig] = None, meta: Optional[Mapping[str, Any]] = None) -> None:
    """Write ``model`` in the project format.

    Args:
        arch: ``"resnet50"`` or ``"mobilenetv2"``; model_kwargs: the builder's arguments
            (numbers, strings, lists, dicts; ``anchor_poses`` and ``pretrained_backbone``
            are not stored: anchors live in the state dict).
    """
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    kwargs = {k: v for k, v in model_kwargs.items() if k not in ("anchor_poses", "pretrained_backbone")}
    torch.save({"format": PROJECT_FORMAT, "arch": arch, "model_kwargs": kwargs,
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "postprocess": (postprocess or PostprocessConfig()).to_dict(), "meta": dict(meta or {})}, path)


def _load_project(data: dict[str, Any], path: Any) -> LoadedCheckpoint:
    _require(data, ("arch", "model_kwargs", "state_dict"), path)
    arch = data["arch"]
    if arch not in ARCHS:
        raise CheckpointError(f"{path}: unknown arch {arch!r}; expected one of {ARCHS}")
    kwargs = dict(data["model_kwargs"])
    try:
        model = (build_dope_resnet50(**kwargs) if arch == "resnet50"
                 else build_dope_mobilenetv2(pretrained_backbone=False, **kwargs))
    except TypeError as e:
        raise CheckpointError(f"{path}: model_kwargs do not fit the {arch} builder: {e}") from None
    _load_state(model, data["state_dict"], path)
    try:
        post = PostprocessConfig.from_dict(data.get("postprocess", {}))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: bad postprocess settings: {e}") from None
    half = any(isinstance(v, Tensor) and v.dtype == torch.float16 for v in data["state_dict"].values())
    return LoadedCheckpoint(model=model.eval(), arch=arch, kind="project", half=half,
                            num_anchor_poses=_anchor_counts(model), postprocess=post, meta=dict(data.get("meta", {})))


def _load_release(data: dict[str, Any], path: Any) -> LoadedCheckpoint:
    _require(data, RELEASE_KEYS, path)
    try:
        model = build_dope_resnet50(**dict(data["dope_kwargs"]))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: dope_kwargs do not fit the release architecture: {e}") from None
    state = {_OLD_RPN_KEYS.get(k, k): v for k, v in data["state_dict"].items()}
    _load_state(model, state, path)
    ppi = {}
    for part in PARTS:
        given = dict(data[f"{part}_ppi_kwargs"] or {})
        ppi[part] = {ours: float(given[theirs]) for theirs, ours in _RELEASE_PPI_NAMES.items()
                     if given.get(theirs) is not None}
    post = PostprocessConfig(method="ppi", ppi=ppi, axes_3d=RELEASE_AXES_3D)
    return LoadedCheckpoint(model=model.eval(), arch="resnet50", kind="release", half=bool(data["half"]),
                            num_anchor_poses=_anchor_counts(model), postprocess=post, meta={"source": str(path)})


def _require(data: Mapping[str, Any], keys: tuple[str, ...], path: Any) -> None:
    missing = [k for k in keys if k not in data]
    if missing:
        raise CheckpointError(f"{path}: missing entries {missing}")


def _load_state(model: DopeRCNN, state: Mapping[str, Any], path: Any) -> None:
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: state_dict must map names to tensors")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(f"{k} {tuple(state[k].shape)} (expected {tuple(expected[k].shape)})"
                        for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or mismatched:
        def show(items: list[str]) -> str:
            return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")
        problems = [f"{len(v)} {name}: {show(v)}" for name, v in
                    (("missing", missing), ("unexpected", unexpected), ("with wrong shapes", mismatched)) if v]
        raise CheckpointError(f"{path}: state_dict does not match the architecture; " + "; ".join(problems))
    model.load_state_dict(dict(state), strict=True)


def _anchor_counts(model: DopeRCNN) -> dict[str, int]:
    return {p: int(model.roi_heads.anchors(p).shape[0]) for p in PARTS}
