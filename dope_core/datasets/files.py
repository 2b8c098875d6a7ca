"""Reading annotation files with clear errors (no traceback for a bad file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; raises ``ValueError`` naming the file when it is missing or invalid."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"annotation file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"annotation file {path} is not valid JSON: {e}") from None


def read_npz(path: str | Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Load the arrays ``keys`` of an ``.npz`` (no pickled objects allowed).

    Raises:
        ValueError: missing file, not an npz, or a missing key.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in keys if k not in data.files]
            if missing:
                raise ValueError(f"{path} lacks the arrays {missing}")
            return {k: data[k] for k in keys}
    except FileNotFoundError:
        raise ValueError(f"annotation file not found: {path}") from None
    except (OSError, EOFError) as e:
        raise ValueError(f"cannot read {path} as npz: {e}") from None


def coco_annotations_by_image(data: Any, path: Path) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """``[(image record, its annotations)]`` of a COCO-style dict, images in file order."""
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise ValueError(f"{path} is not a COCO-style file (needs 'images' and 'annotations')")
    by_image: dict[Any, list[dict[str, Any]]] = {im["id"]: [] for im in data["images"]}
    for ann in data["annotations"]:
        if ann.get("image_id") in by_image:
            by_image[ann["image_id"]].append(ann)
    return [(im, by_image[im["id"]]) for im in data["images"]]
