"""The pseudo-label cache: one small JSON record per image, written atomically.

Layout of a cache folder ``CACHE``::

    CACHE/items/<key>.json    one record per labelled item (image or video frame)
    CACHE/frames/<key>.jpg    video frames extracted for labelling and training
    CACHE/summary.json        counts of the last labelling run
    CACHE/labelling.json      the settings it was labelled with (:data:`RECIPE`)

A record (:class:`LabelRecord`) holds the image path, its size, a status
(``"ok"``, ``"no_person"`` or ``"unreadable"`` with a reason), every raw expert
detection per part with its score (what the distillation loss needs) and the
fused whole-body pseudo ground truth (:class:`~dope_core.structures.WholeBodyPoses`).
Coordinates follow :mod:`dope_core.structures`: pixels for boxes and 2D keypoints,
metres (part-relative, camera-parallel axes) for 3D keypoints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from dope_core.atomic_files import atomic_write_text
from dope_core.keypoints import Part
from dope_core.structures import PartPose, WholeBodyPoses

RECORD_VERSION = 1
STATUSES = ("ok", "no_person", "unreadable")
RECIPE = "labelling.json"
"""File of a cache holding the settings it was labelled with (``dope_core.pseudo_labels.runner.labelling_recipe``)."""
PACK_INFO = "pack.json"
"""File of a packed copy (``dope_core.pseudo_labels.pack``) saying what was packed, with its source's
labelling settings under ``"labelling"``."""


@dataclass
class LabelRecord:
    """The experts' labels of one image.

    Attributes:
        key: the item's file-name-safe identifier in the cache.
        image: path of the image file (absolute, or relative to the cache folder).
        image_size: ``(width, height)`` in pixels (``(0, 0)`` when unreadable).
        status: ``"ok"``, ``"no_person"`` or ``"unreadable"``.
        reason: why the item is not usable (empty when ``status == "ok"``).
        detections: raw expert detections per part, with their scores, before fusion.
        pseudo_gt: the fused whole-body pseudo ground truth (thresholded detections).
    """

    key: str
    image: str
    image_size: tuple[int, int]
    status: str
    reason: str = ""
    detections: dict[Part, list[PartPose]] = field(default_factory=dict)
    pseudo_gt: Optional[WholeBodyPoses] = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        self.detections = {Part(p): list(d) for p, d in self.detections.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "key": self.key,
            "image": self.image,
            "image_size": list(self.image_size),
            "status": self.status,
            "reason": self.reason,
            "detections": {p.value: [d.to_dict() for d in dets] for p, dets in self.detections.items()},
            "pseudo_gt": None if self.pseudo_gt is None else self.pseudo_gt.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LabelRecord":
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on a malformed record."""
        if d.get("version") != RECORD_VERSION:
            raise ValueError(f"unsupported pseudo-label record version {d.get('version')!r}")
        try:
            return cls(
                key=d["key"],
                image=d["image"],
                image_size=tuple(d["image_size"]),
                status=d["status"],
                reason=d.get("reason", ""),
                detections={Part(p): [PartPose.from_dict(x) for x in dets] for p, dets in d["detections"].items()},
                pseudo_gt=None if d.get("pseudo_gt") is None else WholeBodyPoses.from_dict(d["pseudo_gt"]),
            )
        except KeyError as e:
            raise ValueError(f"pseudo-label record is missing the key {e.args[0]!r}") from None


@dataclass(frozen=True)
class StoredRecord:
    """A record known by its file: what selecting and splitting need is in memory (a few hundred bytes),
    the labels (``detections``, ``pseudo_gt``) are read from the file by :meth:`load` (or
    :func:`labels_of`), once where they are used. A training set of a hundred thousand records kept as
    :class:`LabelRecord` objects would take about 2 GB, and as much again in each loader worker.

    Attributes:
        path: the record's JSON file.
        key, image, image_size, status: as in :class:`LabelRecord`.
    """

    path: Path
    key: str
    image: str
    image_size: tuple[int, int]
    status: str

    def load(self) -> LabelRecord:
        """The whole record.

        Raises:
            ValueError: the file is gone or damaged since it was listed (the message names it).
        """
        try:
            return LabelRecord.from_dict(json.loads(self.path.read_text()))
        except (OSError, ValueError, TypeError, AttributeError) as e:
            raise ValueError(f"label record {self.path} is gone or damaged ({e}): run dope-train label on the same "
                             "inputs again to label it anew") from None


Record = LabelRecord | StoredRecord
"""A record in memory, or known by its file (the training set's, :func:`dope_core.train.dataset.load_records`)."""


def labels_of(record: Record) -> LabelRecord:
    """The whole record: ``record`` itself, or a stored record read from its file (``ValueError`` when
    gone or damaged, :meth:`StoredRecord.load`)."""
    return record.load() if isinstance(record, StoredRecord) else record


class LabelCache:
    """A pseudo-label cache folder (see the module docstring for its layout)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def items_dir(self) -> Path:
        return self.root / "items"

    @property
    def frames_dir(self) -> Path:
        return self.root / "frames"

    def record_path(self, key: str) -> Path:
        return self.items_dir / f"{key}.json"

    def has(self, key: str) -> bool:
        """Whether the item was already labelled (an interrupted run skips it): its record is there and
        readable (a damaged one, emptied or cut by something else than this cache's atomic writes, is
        labelled again)."""
        try:
            json.loads(self.record_path(key).read_text())
        except (OSError, ValueError):
            return False
        return True

    def write(self, record: LabelRecord) -> None:
        """Write a record atomically (temporary file + ``os.replace``)."""
        atomic_write_text(self.record_path(record.key), json.dumps(record.to_dict()))

    def read(self, key: str) -> LabelRecord:
        """The record of ``key``.

        Raises:
            ValueError: a damaged record (the message names the file and how to repair it).
        """
        path = self.record_path(key)
        try:
            return LabelRecord.from_dict(json.loads(path.read_text()))
        except (ValueError, TypeError, AttributeError) as e:
            raise ValueError(f"label record {path} is damaged ({e}): run dope-train label on the same inputs "
                             "again to label it anew") from None

    def keys(self) -> list[str]:
        """Keys of every record, sorted (a deterministic order)."""
        if not self.items_dir.is_dir():
            return []
        return sorted(p.stem for p in self.items_dir.glob("*.json"))

    def records(self) -> Iterator[LabelRecord]:
        for key in self.keys():
            yield self.read(key)

    def stored_records(self) -> Iterator[StoredRecord]:
        """Every record as a :class:`StoredRecord` (each file is read and checked once, its labels not kept).

        Raises:
            ValueError: a damaged record, as :meth:`read`.
        """
        for key in self.keys():
            record = self.read(key)
            yield StoredRecord(path=self.record_path(key), key=record.key, image=record.image,
                               image_size=record.image_size, status=record.status)

    def labelling(self) -> Optional[dict[str, Any]]:
        """The settings the labels were made with: the cache's :data:`RECIPE`, or for a packed copy the
        source's, which its :data:`PACK_INFO` carries. ``None`` for a cache made before caches kept their
        settings (or packed from one), or when the file is unreadable."""
        for name, key in ((RECIPE, None), (PACK_INFO, "labelling")):
            try:
                data = json.loads((self.root / name).read_text())
            except (OSError, ValueError):
                continue
            if key is not None:
                data = data.get(key) if isinstance(data, dict) else None
            if isinstance(data, dict):
                return data
        return None

    def image_path(self, record: LabelRecord) -> Path:
        """Absolute path of a record's image."""
        p = Path(record.image)
        return p if p.is_absolute() else self.root / p


def check_recipe(path: Path, recipe: dict[str, Any], *, refusal: str) -> None:
    """Record ``recipe`` (plain JSON data: the settings that shape a folder's content) in ``path`` when there
    is none; refuse a folder made with other settings, whose content would mix two recipes.

    Raises:
        ValueError: ``path`` differs from ``recipe`` (one line naming the settings, then ``refusal``).
    """
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        atomic_write_text(path, json.dumps(recipe, indent=1))   # a new folder, or one made before recipes
        return
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} cannot be read ({e}): delete it to go on with the current settings") from None
    changed = _differences(stored, recipe)
    if changed:
        raise ValueError(f"{path.parent} was made with other settings ({'; '.join(changed[:4])}"
                         f"{'; ...' if len(changed) > 4 else ''}): {refusal}")


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for k in sorted(set(old) | set(new))
                for d in _differences(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [f"{prefix.rstrip('.')} {old!r} -> {new!r}"]


def check_out_folder(cache: LabelCache, *, recipe: str) -> None:
    """Refuse to write a cache into a file, or into a folder that holds files and is no such cache (neither
    its ``recipe`` file nor ``items/``, which caches made before recipes have): labelling writes
    ``summary.json``, ``labelling.json``, ``items/`` and ``frames/`` there (``dope-train pack``: ``pack.json``,
    ``pack_settings.json``, ``items/`` and ``images/``), replacing a user's files of these names. A new or
    empty folder, or a cache (to resume or extend), is accepted.

    Raises:
        ValueError: one line naming the folder.
    """
    root = cache.root
    if root.exists() and not root.is_dir():
        raise ValueError(f"--out {root} is a file; name the cache folder to write")
    if not root.exists() or (root / recipe).is_file() or cache.items_dir.is_dir():
        return
    if any(root.iterdir()):
        raise ValueError(f"--out {root} holds other files and is no pseudo-label cache (no {recipe}, no items/): "
                         "refusing to write labels into it; choose a new or empty folder")
