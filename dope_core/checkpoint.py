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

Files are read with ``torch.load(weights_only=True)``, allowing only the numpy
scalar and dtype objects a release file's settings may hold (:data:`NUMPY_SAFE_GLOBALS`):
a file that tries to unpickle anything else is refused. Truncated files, missing
entries and state dicts that do not match the architecture raise
:class:`CheckpointError` naming what is wrong.

A release file runs as the release's inference script runs it: 1000 test proposals
whatever ``dope_kwargs`` says, frozen batch norm without epsilon (the torchvision of
its time), its ``*_ppi_kwargs`` for PPI (summed scores, no final 0.3 cut), hand
classes below the hand ``K`` are right hands, a body's wrist 2D replaced by its
assigned hand's wrist; its poses are mapped into the public conventions
(:mod:`dope_core.codecs.release`).
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import numpy as np
import torch
from torch import Tensor

from dope_core.checkpoint_checks import check_builder_kwargs, check_state_against_kwargs, unpickling_refusal
from dope_core.model.builders import build_dope_mobilenetv2, build_dope_resnet50
from dope_core.model.dope_rcnn import PARTS, DopeRCNN
from dope_core.postprocess.pipeline import PostprocessConfig

PROJECT_FORMAT = "dope_ros/1"
ARCHS = ("resnet50", "mobilenetv2")
RELEASE_KEYS = ("dope_kwargs", "half", "state_dict", "body_ppi_kwargs", "hand_ppi_kwargs", "face_ppi_kwargs")
RELEASE_TEST_PROPOSALS = 1000
"""Proposals kept after the RPN's NMS at test time: the release's inference script forces
1000 on every checkpoint (the real-time file stores 50)."""

# Release PPI argument -> pose_proposal_integration argument. ``K`` is the number of
# anchor classes per half: bodies -> first upper-body class, hands -> right-hand
# classes (PostprocessConfig.right_hand_classes); faces have no halves. ``iou_func``
# must be the default "bbox"; ``verbose`` is ignored.
_RELEASE_PPI_NAMES = {"th_pose3D": "pose3d_threshold", "th_iou": "iou_threshold",
                      "score_th": "score_threshold", "min_mode_score": "min_mode_score",
                      "th_persondetect": "detection_threshold"}
_RELEASE_PPI_IGNORED = ("K", "iou_func", "verbose")


def _numpy_safe_globals() -> list[Any]:
    scalar = np.core.multiarray.scalar  # the reconstructor of pickled numpy scalars
    dtypes = [np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                                    np.uint32, np.uint64, np.float16, np.float32, np.float64)]
    return [np.dtype, (scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar"),
            *{type(d) for d in dtypes if type(d) is not np.dtype}]


NUMPY_SAFE_GLOBALS: list[Any] = _numpy_safe_globals()
"""The only non-torch objects a checkpoint may unpickle: numpy scalars (e.g. a
``numpy.float64`` threshold in a release's ``*_ppi_kwargs``) and their dtypes."""
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
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a file" + (" (a folder)" if path.is_dir() else ""))
    not_torch = not_a_torch_file(path)
    if not_torch:
        raise CheckpointError(f"checkpoint {path} {not_torch}")
    try:
        with torch.serialization.safe_globals(NUMPY_SAFE_GLOBALS):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"refused to load {path}: it holds objects other than tensors and plain containers, which could "
            f"run code when unpickled ({unpickling_refusal(e)})") from None
    except (EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt ({type(e).__name__}: {e})") from None
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path} is truncated or not a torch file: {_torch_reason(e)}") from None
    except Exception as e:   # a torch-like file that is not one: the unpickler's KeyError, ValueError...
        raise CheckpointError(f"checkpoint {path} is corrupt or not a torch file ({type(e).__name__}: {e})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(data).__name__}, expected a dict")
    return data


def _torch_reason(error: RuntimeError) -> str:
    """The essential part of torch's refusal of a damaged file, without its advice (at most ~120 characters):
    ``"PytorchStreamReader failed reading zip archive: failed finding central directory"`` becomes
    ``"truncated or corrupt zip archive: failed finding central directory"``."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    first = first.split(". If you are seeing this", 1)[0].split(", if you are seeing this", 1)[0]
    m = re.search(r"failed reading zip archive: ([^.,]+)", first)
    if m:
        return f"truncated or corrupt zip archive: {m.group(1).strip()}"
    return first if len(first) <= 120 else first[:117] + "..."


_NOT_TORCH = ((b"version https://git-lfs", "is a Git LFS pointer, not the file it stands for (git lfs pull)"),
              (b"\x1f\x8b", "is a gzip archive, not a torch file (unpack it first)"),
              (b"\xff\xd8\xff", "is a JPEG image, not a torch file"),
              (b"\x89PNG", "is a PNG image, not a torch file"))


def not_a_torch_file(path: Path) -> str | None:
    """Why ``path`` cannot be a ``torch.save`` file, from its first bytes (a zip archive, or a pickle for the
    legacy format), or ``None`` when it may be one."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as e:
        return f"cannot be read ({e.strerror or type(e).__name__})"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80"):
        return None
    for magic, why in _NOT_TORCH:
        if head.startswith(magic):
            return why
    if not head:
        return "is empty"
    if head.lstrip().startswith(b"<"):
        return "is an HTML or XML page (a download that failed?), not a torch file"
    return f"is not a torch file (it starts with {head[:12]!r})"


def check_export_target(path: str | os.PathLike) -> None:
    """Refuse to write a project checkpoint over anything but an earlier one: a folder, a training run's
    state (``last.pth``, which resumes a run), a release file, any other file.

    Raises:
        CheckpointError: ``path`` exists and is not a project checkpoint (one line).
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"--out {path} is a folder; name the checkpoint file to write")
    if not path.exists():
        return
    try:
        kind = read_checkpoint(path).get("format")
    except CheckpointError:
        kind = None
    if kind != PROJECT_FORMAT:
        raise CheckpointError(f"--out {path} exists and is not an exported {PROJECT_FORMAT!r} checkpoint (a training "
                              "run's last.pth, a release file?): refusing to replace it; choose another --out")


def load_checkpoint(path: str | os.PathLike) -> LoadedCheckpoint:
    """Build the network of a release or project checkpoint and load its weights strictly."""
    data = read_checkpoint(path)
    if data.get("format") == PROJECT_FORMAT:
        return _load_project(data, path)
    if "dope_kwargs" in data or "half" in data:
        return _load_release(data, path)
    keys = sorted(map(str, data))
    shown = ", ".join(keys[:2]) + (f", ... ({len(keys)} keys)" if len(keys) > 2 else "")
    if data and all(isinstance(v, Tensor) for v in data.values()):
        raise CheckpointError(f"{path} is a bare state_dict ({shown}): save the model in the {PROJECT_FORMAT!r} "
                              "format with dope_core.checkpoint.save_checkpoint (docs/network.md)")
    raise CheckpointError(f"{path} is neither a DOPE release checkpoint (keys {', '.join(RELEASE_KEYS)}) nor a "
                          f"{PROJECT_FORMAT!r} checkpoint; its keys are {shown}")


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
    if not isinstance(data.get("meta", {}), Mapping):
        raise CheckpointError(f"{path}: meta must be a dict, got a {type(data['meta']).__name__}")
    kwargs = _checked_kwargs(data["model_kwargs"], "model_kwargs", path)

    def build() -> DopeRCNN:
        return (build_dope_resnet50(**kwargs) if arch == "resnet50"
                else build_dope_mobilenetv2(pretrained_backbone=False, **kwargs))

    _check_state(build, data["state_dict"], "model_kwargs", path)   # before any memory is spent on the network
    model = build()
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
    if not isinstance(data["half"], bool):
        raise CheckpointError(f"{path}: half must be true or false, got {data['half']!r}")
    for part in PARTS:
        if not isinstance(data[f"{part}_ppi_kwargs"], (Mapping, type(None))):
            raise CheckpointError(f"{path}: {part}_ppi_kwargs must be a dict, got a "
                                  f"{type(data[f'{part}_ppi_kwargs']).__name__}")
    kwargs = _checked_kwargs(data["dope_kwargs"], "dope_kwargs", path)
    kwargs["rpn_post_nms_top_n_test"] = RELEASE_TEST_PROPOSALS

    def build() -> DopeRCNN:
        return build_dope_resnet50(frozen_bn_eps=0.0, **kwargs)

    if not isinstance(data["state_dict"], Mapping):
        raise CheckpointError(f"{path}: state_dict must map names to tensors")
    state = {_OLD_RPN_KEYS.get(k, k): v for k, v in data["state_dict"].items()}
    _check_state(build, state, "dope_kwargs", path)   # before any memory is spent on the network
    model = build()
    _load_state(model, state, path)
    ppi: dict[str, dict[str, Any]] = {}
    halves: dict[str, Optional[int]] = {}
    for part in PARTS:
        given = dict(data[f"{part}_ppi_kwargs"] or {})
        unknown = set(map(str, given)) - set(_RELEASE_PPI_NAMES) - set(_RELEASE_PPI_IGNORED)
        if unknown:
            raise CheckpointError(f"{path}: unknown {part}_ppi_kwargs {sorted(unknown)}")
        if given.get("iou_func", "bbox") != "bbox":
            raise CheckpointError(f"{path}: {part}_ppi_kwargs iou_func={given['iou_func']!r} is not supported "
                                  "(only the default 'bbox': proposal-box IoU)")
        try:
            ppi[part] = {ours: float(given[theirs]) for theirs, ours in _RELEASE_PPI_NAMES.items()
                         if given.get(theirs) is not None}
            halves[part] = int(given["K"]) if given.get("K") is not None else None
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{path}: {part}_ppi_kwargs holds a setting that is not a number ({e})") from None
    if halves["body"] is not None:
        ppi["body"]["upper_body_from"] = halves["body"]
    try:
        post = PostprocessConfig(method="ppi", ppi=ppi, min_score=0.0, conventions="release",
                                 right_hand_classes=halves["hand"], wrist_from_hand=True)
    except ValueError as e:
        raise CheckpointError(f"{path}: bad PPI settings from its *_ppi_kwargs: {e}") from None
    return LoadedCheckpoint(model=model.eval(), arch="resnet50", kind="release", half=bool(data["half"]),
                            num_anchor_poses=_anchor_counts(model), postprocess=post, meta={"source": str(path)})


def _checked_kwargs(kwargs: Any, what: str, path: Any) -> dict[str, Any]:
    try:
        return check_builder_kwargs(kwargs, what=what)
    except ValueError as e:
        raise CheckpointError(f"{path}: {e}") from None


def _check_state(build: Callable[[], DopeRCNN], state: Any, what: str, path: Any) -> None:
    try:
        check_state_against_kwargs(build, state, what=what)
    except ValueError as e:
        raise CheckpointError(f"{path}: {e}") from None


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
    _check_finite(state, path)
    model.load_state_dict(dict(state), strict=True)


def _check_finite(state: Mapping[str, Tensor], path: Any) -> None:
    """Refuse weights holding NaN or infinite values (a corrupt file, a training run that diverged): such a
    network runs and finds no one. A float64 sum per tensor (finite unless a value is not: no overflow from
    fp16/fp32 weights) screens them: about 5 ms for the 7 MB student, 0.1 s for a 300 MB ResNet-50."""
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v.sum(dtype=torch.float64))
           and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(f"{path}: corrupt weights: {len(bad)} tensor(s) hold NaN or infinite values "
                              f"(the first: {bad[0]})")


def _anchor_counts(model: DopeRCNN) -> dict[str, int]:
    return {p: int(model.roi_heads.anchors(p).shape[0]) for p in PARTS}
