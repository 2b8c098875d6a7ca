"""Writing files so that a reader, or a later run, sees the old file or the whole new one.

Every output of the project (pose JSON, annotated images and videos, label records,
checkpoints' companions) is written to a temporary file beside its target and renamed over
it (``os.replace``, atomic on POSIX and Windows within one folder) once complete. A write that
fails (a full disk, an error, a kill) leaves the previous file untouched; a kill leaves at most
a hidden ``.<name>.dope-<random>.tmp`` behind, which :func:`remove_abandoned_temporaries` deletes
later; the ``dope-`` marker keeps a user's own hidden ``.budget.20240101.tmp`` from being taken
for one. Files get the mode a plain ``open()`` would give them (the umask's), and reach the disk
(``fsync``) before the rename.

For OpenCV's writers, which crash on file names that are not valid UTF-8 and pick their encoder
from the extension, ``keep_suffix`` makes the temporary name ASCII with the target's extension
(``.dope-<random>.tmp.jpg``).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _read_umask() -> int:
    umask = os.umask(0)   # the only way to read it; done once, at import, before any thread writes files
    os.umask(umask)
    return umask


_UMASK = _read_umask()

TEMPORARY_MARK = "dope-"
"""What starts the random part of every name :func:`temporary_beside` gives."""

TEMPORARY_NAME = re.compile(r"^\.(?:.+\.dope-[a-z0-9_]{8}\.tmp|dope-[a-z0-9_]{8}\.tmp(?:\.[^.]+)?)$")
"""The names :func:`temporary_beside` gives, and only those."""


def default_file_mode() -> int:
    """The mode ``open()`` gives a new file under the process's umask (``0o644`` under the usual ``022``);
    temporary files start at ``0o600``."""
    return 0o666 & ~_UMASK


def remove_abandoned_temporaries(folder: Path, *, older_than_s: float = 600.0) -> list[Path]:
    """Delete the temporary files of :func:`temporary_beside` in ``folder`` that writes killed long ago
    (untouched for ``older_than_s`` seconds: a live write renames its file within seconds); returns them."""
    removed = []
    now = time.time()
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for p in entries:
        try:
            if TEMPORARY_NAME.match(p.name) and p.is_file() and not p.is_symlink() \
                    and now - p.stat().st_mtime > older_than_s:
                p.unlink()
                removed.append(p)
        except OSError:
            continue
    return removed


def temporary_beside(path: Path, *, keep_suffix: bool = False) -> Path:
    """A new, empty, hidden file in ``path``'s folder: ``.<name>.dope-<random>.tmp``, or with
    ``keep_suffix`` ``.dope-<random>.tmp<suffix>`` (ASCII when ``path``'s extension is); ``<random>`` is
    8 characters of ``[a-z0-9_]`` (:data:`TEMPORARY_NAME` matches exactly these names)."""
    if keep_suffix:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{TEMPORARY_MARK}",
                                   suffix=".tmp" + (path.suffix if path.suffix.isascii() else ""))
    else:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{TEMPORARY_MARK}", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


@contextmanager
def atomic_path(path: Path, *, keep_suffix: bool = False, keep_on_interrupt: bool = False) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; renamed over ``path`` on success.

    On an exception inside the block the temporary file is deleted and ``path`` keeps its old
    content (or stays absent). With ``keep_on_interrupt``, a ``KeyboardInterrupt`` (Ctrl-C)
    renames what was written so far over ``path`` first: for outputs that are valid when cut
    short (a JSON-lines file, a video the writer closed), so that a user who stops a long run
    keeps its results. ``keep_suffix``: see :func:`temporary_beside`.
    """
    tmp = temporary_beside(path, keep_suffix=keep_suffix)
    try:
        yield tmp
    except KeyboardInterrupt:
        if keep_on_interrupt and tmp.exists() and tmp.stat().st_size > 0:
            _commit(tmp, path)
        else:
            tmp.unlink(missing_ok=True)
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        _commit(tmp, path)
    except BaseException:   # the target is a folder, the disk is full...
        tmp.unlink(missing_ok=True)
        raise


def _commit(tmp: Path, path: Path) -> None:
    """Flush ``tmp`` to the disk, give it the mode of a new file and rename it over ``path``."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, default_file_mode())
    os.replace(tmp, path)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the whole new file."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers see either the old or the whole new file;
    ``path``'s folder is created when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
