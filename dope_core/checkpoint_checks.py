"""Checks of a checkpoint's contents before any network is built from them.

A checkpoint names the builder arguments of its network (``model_kwargs`` in the
project format, ``dope_kwargs`` in the release's). Trusted blindly, a 7 MB file asking
for a 40000-wide head takes gigabytes and tens of seconds before the state dict is
found not to fit. Here, before anything is allocated:

* :func:`check_builder_kwargs`: the arguments are a dict of known names with values of
  the right type and within sane ranges (:data:`SCALAR_RANGES`);
* :func:`check_state_against_kwargs`: the network those arguments describe is built on
  PyTorch's ``meta`` device (shapes only, no memory) and every tensor of the file's
  state dict must have exactly the shape the network expects;
* :func:`unpickling_refusal`: the useful line of ``torch.load``'s refusal of a
  code-carrying pickle (``Unsupported global: posix.system``), without its advice to
  load the file unsafely.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any, Callable, Mapping

import torch
from torch import Tensor, nn

MAX_ANCHOR_POSES = 4096
"""Most anchor poses per part accepted (the release has 20 / 10 / 10)."""

SCALAR_RANGES: dict[str, tuple[type, float, float]] = {
    "min_size": (int, 16, 8192), "max_size": (int, 16, 16384),
    "rpn_pre_nms_top_n_train": (int, 1, 100_000), "rpn_pre_nms_top_n_test": (int, 1, 100_000),
    "rpn_post_nms_top_n_train": (int, 1, 100_000), "rpn_post_nms_top_n_test": (int, 1, 100_000),
    "rpn_nms_thresh": (float, 0.0, 1.0), "rpn_fg_iou_thresh": (float, 0.0, 1.0), "rpn_bg_iou_thresh": (float, 0.0, 1.0),
    "rpn_batch_size_per_image": (int, 1, 100_000), "rpn_positive_fraction": (float, 0.0, 1.0),
    "roi_fg_iou_thresh": (float, 0.0, 1.0), "roi_batch_size_per_image": (int, 1, 100_000),
    "roi_positive_fraction": (float, 0.0, 1.0), "smooth_l1_beta": (float, 0.0, 1e3),
    "representation_size": (int, 1, 16384), "frozen_bn_eps": (float, 0.0, 1.0),
    "pose2d_reg_weights": (float, 0.0, 1e6), "pose3d_reg_weights": (float, 0.0, 1e6),
}
"""Builder arguments holding numbers: type and inclusive range. ``min_size`` may also be a
list of such ints and the ``*_reg_weights`` a ``{part: number}`` dict."""

_OTHER_KEYS = {"num_anchor_poses", "image_mean", "image_std"}
_PARTS = ("body", "hand", "face")


def check_builder_kwargs(kwargs: Any, *, what: str) -> dict[str, Any]:
    """Return ``kwargs`` as a dict after checking names, types and ranges.

    Args:
        kwargs: the file's builder arguments.
        what: how to name them in messages (``"model_kwargs"``, ``"dope_kwargs"``).

    Raises:
        ValueError: the message names the argument and what is wrong with it.
    """
    if not isinstance(kwargs, Mapping):
        raise ValueError(f"{what} must be a dict of builder arguments, got a {type(kwargs).__name__}")
    out = dict(kwargs)
    for key, value in out.items():
        if not isinstance(key, str):
            raise ValueError(f"{what} has a non-text key {key!r}")
        if key in SCALAR_RANGES:
            kind, lo, hi = SCALAR_RANGES[key]
            values = (list(value.values()) if isinstance(value, Mapping) and key.endswith("_reg_weights")
                      else list(value) if isinstance(value, (list, tuple)) and key == "min_size" else [value])
            if isinstance(value, Mapping) and set(value) - set(_PARTS):
                raise ValueError(f"{what}[{key!r}] has unknown parts {sorted(set(value) - set(_PARTS))}")
            if not values or not all(_is_number(v, kind) and lo <= v <= hi for v in values):
                raise ValueError(f"{what}[{key!r}] = {_short(value)} is not a {kind.__name__} in [{lo:g}, {hi:g}]")
        elif key == "num_anchor_poses":
            counts = list(value.values()) if isinstance(value, Mapping) else value
            if (not isinstance(counts, (list, tuple)) or len(counts) != 3
                    or (isinstance(value, Mapping) and set(value) != set(_PARTS))
                    or not all(_is_number(c, int) and 1 <= c <= MAX_ANCHOR_POSES for c in counts)):
                raise ValueError(f"{what}['num_anchor_poses'] = {_short(value)} must be 3 counts (body, hand, face) "
                                 f"in [1, {MAX_ANCHOR_POSES}]")
        elif key in ("image_mean", "image_std"):
            if (not isinstance(value, (list, tuple)) or len(value) != 3 or not all(_is_number(v, float) for v in value)
                    or (key == "image_std" and not all(v > 0 for v in value))):
                raise ValueError(f"{what}[{key!r}] = {_short(value)} must be 3 finite numbers"
                                 + (" above 0" if key == "image_std" else ""))
        else:
            raise ValueError(f"{what} has an unknown argument {key!r}")
    if "min_size" in out and "max_size" in out and min(_as_list(out["min_size"])) > out["max_size"]:
        raise ValueError(f"{what}: min_size {out['min_size']} is larger than max_size {out['max_size']}")
    return out


def check_state_against_kwargs(build: Callable[[], nn.Module], state: Any, *, what: str) -> None:
    """Check every tensor of ``state`` against the network ``build()`` describes, built on the meta device.

    Raises:
        ValueError: ``state`` is not a dict of tensors; the arguments do not fit the builder;
            or names/shapes differ (the message lists up to 5 of each kind).
    """
    if not isinstance(state, Mapping) or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()):
        raise ValueError("state_dict must map names to tensors")
    try:
        with torch.device("meta"):
            expected = {k: tuple(v.shape) for k, v in build().state_dict().items()}
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what} do not fit the builder: {e}") from None
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(f"{k} {tuple(state[k].shape)} (expected {expected[k]})"
                        for k in set(state) & set(expected) if tuple(state[k].shape) != expected[k])
    if missing or unexpected or mismatched:
        problems = [f"{len(v)} {name}: {_show(v)}" for name, v in
                    (("missing", missing), ("unexpected", unexpected), ("with wrong shapes", mismatched)) if v]
        raise ValueError(f"state_dict does not match the network its {what} describe; " + "; ".join(problems))


def unpickling_refusal(error: BaseException) -> str:
    """What ``torch.load(weights_only=True)`` refused, e.g. ``"Unsupported global: posix.system"``."""
    text = str(error)
    m = re.search(r"GLOBAL\s+([\w.]+)", text)
    if m:
        return f"Unsupported global: {m.group(1)}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if "weights_only" not in line and "torch.load" not in line
              and "Weights only load failed" not in line]
    return (useful or lines or [type(error).__name__])[0]


def _is_number(v: Any, kind: type) -> bool:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return False
    if kind is int:
        return isinstance(v, numbers.Integral)
    return math.isfinite(float(v))


def _as_list(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _show(items: list[str]) -> str:
    return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")
