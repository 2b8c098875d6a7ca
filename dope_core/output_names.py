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
   annotated ``clip.mp4``), or the name was already given to an earlier input of the
   list, ``_dope`` is appended (``clip_dope``), then ``_dope2``, ``_dope3``... until
   neither is the case.

:class:`InputGuard` is the last line of defence: it knows every input file (by path
and by device/inode, so symbolic and hard links count) and refuses to open any of
them for writing.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence


class OverwriteRefused(OSError):
    """An output would have replaced an input file."""


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
                 guard: InputGuard) -> list[str]:
    """One output name per input, following the rules of the module docstring.

    Args:
        inputs: the input files, in the order given.
        out_dir: the output folder.
        suffixes: every ending appended to a name to make an output file (``".json"``, ``"_3d.png"``...).
        guard: the run's inputs (rule 4).

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
        while name.lower() in taken or any(guard.is_input(out_dir / f"{name}{s}") for s in suffixes):
            name = f"{base}_dope" + (str(n) if n > 1 else "")
            n += 1
        taken.add(name.lower())
        names.append(name)
    return names


def _stem_ext(path: Path) -> str:
    ext = path.suffix.lstrip(".")
    return f"{path.stem}_{ext}" if ext else path.stem
