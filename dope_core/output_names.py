"""Output file names for a batch of inputs: one name per input, never an input's path.

The ``dope`` command writes, for each input, files named ``<name><suffix>`` into one
output folder (``<name>.json``, ``<name>.jpg``, ``<name>_3d.png``, ``<name>.jsonl``,
``<name>.mp4``). :func:`assign_names` chooses the names, deterministically from the
list of inputs alone (same inputs, same names, whatever the order of processing):

1. the input's stem (``photo.jpg`` -> ``photo``) when no other input of the run has
   the same stem (compared case-insensitively, as on case-insensitive file systems);
2. otherwise the stem and the extension (``photo.jpg`` -> ``photo_jpg``,
   ``photo.png`` -> ``photo_png``) when that is unique;
3. otherwise (same file name in several folders) that name plus the first 8 hex
   digits of the SHA-1 of the input's absolute path (``photo_jpg-1a2b3c4d``);
4. if an output file of the name chosen so far would be an input file itself (the
   output folder is an input folder, and e.g. ``clip.mp4`` would receive the
   annotated ``clip.mp4``), or a file of the output folder that ``dope`` did not write
   (``photo.jpg`` beside the input ``photo.png``, a ``photo.json`` annotation of another
   tool), or the name was already given to an earlier input of the list, ``_dope`` is
   appended (``clip_dope``), then ``_dope2``, ``_dope3``... until none is the case.

:class:`InputGuard` is the last line of defence: it knows every input file (by path
and by device/inode, so symbolic and hard links count) and refuses to open any of
them for writing. :class:`OutputFolder` knows which files of the output folder earlier
runs wrote (the hidden list :data:`MANIFEST`): only those are ever replaced, so a run
repeated into the same folder updates its outputs and leaves every other file alone;
a folder given as input leaves out the files its own list names (:meth:`OutputFolder.wrote`),
so that a rerun with ``-o`` equal to that folder neither processes nor renames around them.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence


MANIFEST = ".dope-outputs"
"""Hidden file of an output folder listing the names of the files ``dope`` wrote there (NUL-separated bytes)."""


class OverwriteRefused(OSError):
    """An output would have replaced an input file, or a file of the output folder ``dope`` did not write."""


class OutputFolder:
    """The output folder of a run, and which of its files ``dope`` wrote (:data:`MANIFEST`).

    Args:
        root: the folder (it need not exist yet).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._manifest = self.root / MANIFEST
        try:
            data = self._manifest.read_bytes()
        except OSError:
            data = b""
        self._ours = {os.fsdecode(n) for n in data.split(b"\0") if n}

    def is_foreign(self, path: Path) -> bool:
        """Whether ``path`` holds something (a file, a folder, a link) that ``dope`` did not write there."""
        return (path.exists() or path.is_symlink()) and path.name not in self._ours

    def wrote(self, path: Path) -> bool:
        """Whether the list names ``path`` (a file of this folder) as an output of an earlier run."""
        return path.name in self._ours

    def adopt(self, path: Path) -> None:
        """Record ``path`` as ``dope``'s without the check of :meth:`claim`: for a folder known to hold only
        outputs of an earlier version that kept no list."""
        if path.name not in self._ours:
            with open(self._manifest, "ab") as f:
                f.write(os.fsencode(path.name) + b"\0")
            self._ours.add(path.name)

    def claim(self, path: Path) -> Path:
        """Record ``path`` (in this folder) as an output of ``dope``, before it is written; returns it.

        Raises:
            OverwriteRefused: ``path`` already holds a file ``dope`` did not write.
        """
        if self.is_foreign(path):
            raise OverwriteRefused(f"refused to write {path}: a file that dope did not write is there")
        self.adopt(path)   # appends to the list, so that concurrent runs lose no name
        return path


class InputGuard:
    """Remembers the input files of a run and refuses writes to any of them.

    Args:
        inputs: the input files (paths that are not files, such as camera indices, are ignored).
    """

    def __init__(self, inputs: Iterable[Path]) -> None:
        self._paths: set[str] = set()
        self._ids: set[tuple[int, int]] = set()
        for p in inputs:
            self.add(Path(p))

    def add(self, path: Path) -> None:
        if not path.exists():
            return
        self._paths.add(os.path.normcase(str(path.resolve())))
        st = path.stat()
        self._ids.add((st.st_dev, st.st_ino))

    def is_input(self, path: Path) -> bool:
        """Whether writing ``path`` would write into an input file (same path, or a link to one)."""
        if os.path.normcase(str(path.resolve())) in self._paths:
            return True
        try:
            st = path.stat()
        except OSError:
            return False
        return (st.st_dev, st.st_ino) in self._ids

    def check(self, path: Path) -> Path:
        """Return ``path`` if it is safe to write.

        Raises:
            OverwriteRefused: ``path`` is an input file.
        """
        if self.is_input(path):
            raise OverwriteRefused(f"refused to write {path}: it is an input file")
        return path


def assign_names(inputs: Sequence[Path], *, out_dir: Path, suffixes: Sequence[str],
                 guard: InputGuard, folder: OutputFolder | None = None) -> list[str]:
    """One output name per input, following the rules of the module docstring.

    Args:
        inputs: the input files, in the order given.
        out_dir: the output folder.
        suffixes: every ending appended to a name to make an output file (``".json"``, ``"_3d.png"``...).
        guard: the run's inputs (rule 4).
        folder: the output folder's record of what ``dope`` wrote there (rule 4); ``None``: not checked.

    Returns:
        The names, in the order of ``inputs``; all distinct (case-insensitively).
    """
    stems = Counter(p.stem.lower() for p in inputs)
    with_ext = Counter(_stem_ext(p).lower() for p in inputs)
    names: list[str] = []
    taken: set[str] = set()
    for p in inputs:
        if stems[p.stem.lower()] == 1:
            name = p.stem
        elif with_ext[_stem_ext(p).lower()] == 1:
            name = _stem_ext(p)
        else:
            name = f"{_stem_ext(p)}-{hashlib.sha1(str(p.resolve()).encode()).hexdigest()[:8]}"
        base, n = name, 1
        while name.lower() in taken or any(guard.is_input(out_dir / f"{name}{s}")
                                           or (folder is not None and folder.is_foreign(out_dir / f"{name}{s}"))
                                           for s in suffixes):
            name = f"{base}_dope" + (str(n) if n > 1 else "")
            n += 1
        taken.add(name.lower())
        names.append(name)
    return names


def _stem_ext(path: Path) -> str:
    ext = path.suffix.lstrip(".")
    return f"{path.stem}_{ext}" if ext else path.stem
