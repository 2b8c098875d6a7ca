"""Training state on disk: written atomically, read safely.

A training checkpoint is one ``torch.save`` dict of tensors and builtins only
(loadable with ``weights_only=True``): ``step`` (optimizer steps done), ``model``,
``optimizer``, ``scheduler`` and ``scaler`` state dicts, ``anchor_poses``
(``{part: (K, J, 5)}``), ``config`` (the training configuration as plain data)
and ``counters`` (skipped samples and non-finite losses so far).

It is written to a temporary file in the same folder, flushed to disk, then
``os.replace``-d over ``last.pth``: a kill at any moment leaves either the
previous or the new checkpoint, never a truncated one. The temporary file of a
write that was killed stays behind (``.last.pth.dope-<random>.tmp``, as large as a
checkpoint); :func:`remove_stale_temporaries` deletes them when training starts.

A run holds its folder for its whole life (:func:`try_hold_run_folder`: an exclusive ``flock`` on
``output_dir/.lock``), so that a second ``fit`` into the same folder is refused instead of replacing
the first one's checkpoints. The kernel releases the lock when the process ends, killed or not: a
killed run resumes without clean-up.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Any, Optional

import torch

from dope_core.atomic_files import TEMPORARY_MARK, TEMPORARY_NAME, atomic_path

LAST = "last.pth"
LOCK = ".lock"


class RunFolderBusy(ValueError):
    """The run folder is held by another live ``fit``."""


def try_hold_run_folder(out_dir: str | Path) -> Optional[IO[str]]:
    """Take the exclusive lock of ``out_dir/.lock`` (the folder is created) without waiting; the open lock
    file (close it to release), or ``None`` when another process holds it. The file says which process
    holds it (its pid)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    handle = open(out_dir / LOCK, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def busy_message(out_dir: str | Path) -> str:
    """The refusal of a second run into ``out_dir``, naming the holder's pid when the lock file tells it."""
    try:
        pid = (Path(out_dir) / LOCK).read_text().strip()
    except OSError:
        pid = ""
    holder = f" (process {pid})" if pid.isdigit() else ""
    return (f"{out_dir} is in use by another dope-train fit{holder}: wait for it to end (then --resume continues "
            "the run), or set another output_dir")


def save_training_state(out_dir: str | Path, state: dict[str, Any]) -> Path:
    """Atomically write ``state`` as ``out_dir/last.pth``; returns its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LAST
    try:
        # torch writes the path itself: given a Python file object, a Ctrl-C inside its writer closed the
        # file under the C++ writer, which then aborted the process
        with atomic_path(path) as tmp:   # .last.pth.dope-<random>.tmp, flushed to disk, renamed
            torch.save(state, tmp)
    except (OSError, RuntimeError) as e:   # a full disk: torch's writer says so in a RuntimeError
        raise OSError(f"cannot write the training checkpoint {path} ({str(e).splitlines()[0]}); "
                      f"the previous one is intact") from None
    return path


def remove_stale_temporaries(out_dir: str | Path) -> list[Path]:
    """Delete the temporary files of checkpoint writes that were killed (``.last.pth.dope-<random>.tmp``,
    the names :func:`~dope_core.atomic_files.temporary_beside` gives, and no other); returns what was deleted.

    Call it before training starts, when no write of this folder can be in progress.
    """
    removed = []
    for tmp in sorted(Path(out_dir).glob(f".{LAST}.{TEMPORARY_MARK}*.tmp")):
        if TEMPORARY_NAME.match(tmp.name) and tmp.is_file() and not tmp.is_symlink():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def load_training_state(out_dir: str | Path) -> Optional[dict[str, Any]]:
    """The state in ``out_dir/last.pth``, or ``None`` when there is none yet."""
    path = Path(out_dir) / LAST
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"training checkpoint {path} cannot be read ({type(e).__name__}: {e}); a kill cannot "
                         "cause this (checkpoints are renamed once complete): was it replaced?") from None
    if not isinstance(state, dict) or "step" not in state or "model" not in state:
        raise ValueError(f"{path} is not a training checkpoint of dope-train")
    return state
