"""Writing files so that a reader, or a later run, sees the old file or the whole new one.

Every output of the project (pose JSON, annotated images and videos, label records,
checkpoints' companions) is written to a temporary file beside its target and renamed over
it (``os.replace``, atomic on POSIX and Windows within one folder) once complete. A write that
fails (a full disk, an error, a kill) leaves the previous file untouched; a kill leaves at most
a hidden ``.<name>.<random>.tmp`` behind.

For OpenCV's writers, which crash on file names that are not valid UTF-8 and pick their encoder
from the extension, ``keep_suffix`` makes the temporary name ASCII with the target's extension
(``.dope-<random>.tmp.jpg``).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temporary_beside(path: Path, *, keep_suffix: bool = False) -> Path:
    """A new, empty, hidden file in ``path``'s folder: ``.<name>.<random>.tmp``, or with
    ``keep_suffix`` ``.dope-<random>.tmp<suffix>`` (ASCII when ``path``'s extension is)."""
    if keep_suffix:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".dope-",
                                   suffix=".tmp" + (path.suffix if path.suffix.isascii() else ""))
    else:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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
            os.replace(tmp, path)
        else:
            tmp.unlink(missing_ok=True)
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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
