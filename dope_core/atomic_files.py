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

A folder of outputs that belong together (a recording, its video and its summary) is replaced as
a whole: written into a hidden new folder beside it (:func:`folder_beside`), which then takes the
old folder's place in one step (:func:`replace_folder`). A kill leaves the old folder or the new
one in place, and at most a hidden ``.<name>.<random>.new`` or ``.old`` folder beside it, which
:func:`remove_abandoned_folders` cleans up later; a run that fails keeps what the user needs of
its new folder (its log) in a ``.failed`` one (:func:`abandon_folder`), deleted by the next run.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator


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


def folder_beside(path: Path) -> Path:
    """A new, empty, hidden folder beside ``path`` (``.<name>.<random>.new``) to fill and then give to
    :func:`replace_folder`; it has the mode ``mkdir`` gives under the umask."""
    new = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new"))
    os.chmod(new, 0o777 & ~_UMASK)
    return new


def replace_folder(new: Path, path: Path, *, replaced: Iterable[str] = ()) -> None:
    """Put the folder ``new`` (from :func:`folder_beside`) in the place of the folder ``path``, in one step.

    The entries of ``path`` that ``new`` lacks and that ``replaced`` does not name (files of the user's, what
    this run does not write) are carried over first, as hard links (the same files); the named ones go with
    the old folder. ``path`` keeps its mode; the old folder is then deleted. Where the system cannot swap two
    folders at once (not Linux), the old folder is renamed away first: a kill between the two renames leaves
    it as ``.<name>.<random>.old``, which :func:`remove_abandoned_folders` puts back.

    Raises:
        OSError: an entry cannot be linked (another file system mounted inside), or a rename failed; ``path``
            is then as it was and ``new`` still holds the new content.
    """
    if not os.path.lexists(path):
        os.rename(new, path)
        return
    replaced = set(replaced)
    for entry in path.iterdir():
        if entry.name not in replaced and not os.path.lexists(new / entry.name):
            _link_entry(entry, new / entry.name)
    os.chmod(new, stat.S_IMODE(path.stat().st_mode))
    if _exchange(new, path):
        shutil.rmtree(new, ignore_errors=True)   # the old folder, now (what stays is cleaned up later)
        return
    old = path.with_name(f".{path.name}.{secrets.token_hex(4)}.old")
    os.rename(path, old)
    try:
        os.rename(new, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def abandon_folder(new: Path, *, keep: Iterable[str] = ()) -> Path | None:
    """Give up a new folder of :func:`folder_beside` whose run failed: deleted, but for the entries named in
    ``keep`` that it holds (a log to read), which stay in the hidden folder ``.<name>.<random>.failed``
    returned (:func:`remove_abandoned_folders` deletes it on a later run); ``None`` when nothing was kept."""
    keep = set(keep)
    if not new.is_dir() or new.is_symlink():
        return None
    for entry in new.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink()
    if not any(new.iterdir()):
        new.rmdir()
        return None
    failed = new.with_name(new.name[:-len(".new")] + ".failed") if new.name.endswith(".new") else new
    os.rename(new, failed)
    return failed


def _link_entry(src: Path, dst: Path) -> None:
    """``dst`` made the same as ``src`` without copying data: files hard-linked, links copied, folders rebuilt."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        shutil.copytree(src, dst, symlinks=True, copy_function=os.link)
    else:
        os.link(src, dst)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); ``False`` where that is not supported.

    Raises:
        OSError: the swap is supported and failed.
    """
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):   # an old kernel, a file system without it
        return False
    raise OSError(err, os.strerror(err), str(b))


def remove_abandoned_folders(path: Path, *, older_than_s: float = 600.0) -> list[Path]:
    """Clean up beside the folder ``path`` after :func:`replace_folder` runs that a kill (or a failure) stopped;
    returns the folders deleted.

    A ``.<name>.<random>.new`` folder (a run's new content, or an old folder swapped out) untouched for
    ``older_than_s`` seconds (a live run writes into its own) is deleted, and so is a ``.failed`` one (what a
    failed run kept, :func:`abandon_folder`); an ``.old`` folder (the old content, renamed away by a swap
    that did not finish) is put back as ``path`` when ``path`` is missing, else deleted.
    """
    path = Path(path)
    name = re.compile(rf"^\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.(new|old|failed)$")
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for p in sorted(entries):
        match = name.match(p.name)
        try:
            if not match or p.is_symlink() or not p.is_dir():
                continue
            if match.group(1) == "old" and not os.path.lexists(path):
                os.rename(p, path)
            elif match.group(1) != "new" or time.time() - _newest_mtime(p) > older_than_s:
                shutil.rmtree(p)
                removed.append(p)
        except OSError:
            continue
    return removed


def _newest_mtime(folder: Path) -> float:
    """The latest modification time of ``folder`` and of everything under it (links not followed)."""
    newest = folder.lstat().st_mtime
    for root, dirs, files in os.walk(folder):
        for entry in dirs + files:
            try:
                newest = max(newest, os.lstat(os.path.join(root, entry)).st_mtime)
            except OSError:
                continue
    return newest
