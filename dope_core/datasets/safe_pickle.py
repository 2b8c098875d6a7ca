"""Loading of the camera pickles of the mmpose fixtures without arbitrary code.

``cameras.pkl`` files (Human3.6M, MPI-INF-3DHP as stored by mmpose) are pickled
dicts of numpy arrays. :func:`load_camera_pickle` unpickles them with an
unpickler that only resolves the three globals such a file needs (numpy's array
reconstructor, ``ndarray`` and ``dtype``); anything else (a class, a function)
is refused with an error instead of being imported and called.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a camera pickle")
        return super().find_class(module, name)


def load_camera_pickle(path: str | Path) -> Any:
    """Unpickle a file of builtins and numpy arrays only.

    Raises:
        ValueError: the file is missing, not a pickle, or needs other globals.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            return _NumpyOnlyUnpickler(f).load()
    except FileNotFoundError:
        raise ValueError(f"camera file not found: {path}") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError) as e:
        raise ValueError(f"cannot read camera file {path}: {e}") from None
