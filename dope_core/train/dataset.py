"""The training dataset over pseudo-label caches, and a resumable, deterministic sampler.

A sample is ``(image, targets, key)``: ``image`` a ``uint8`` ``(3, H, W)`` RGB tensor;
``targets`` ``{part value: {"boxes", "pose2d", "pose3d", "scores"}}`` float32 numpy
arrays (pixels of the augmented image, metres, scores in [0, 1]); ``key`` the record's
key. An image that cannot be read at training time gives ``None`` (the trainer counts
and skips it). :func:`model_inputs` turns a batch into what the network takes (float
images in [0, 1], target tensors) on the training device. Bytes and arrays rather than
float images and many small tensors keep the loader's hand-over cheap: a worker passes
each tensor through its own shared-memory segment, and the 16 images and 192 target
tensors of a 16-image batch took 79 ms to receive on the 2-core machine, against 10 ms
as bytes and arrays.

Randomness is a pure function of ``(seed, position in the sample stream)``: the
sampler hands the dataset ``(index, augmentation seed)`` pairs, so a run resumed
at step ``s`` sees exactly the samples and augmentations of an uninterrupted run.
"""

from __future__ import annotations

import fnmatch
import logging
from pathlib import Path
from typing import Iterator, Optional, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from dope_core.image_io import read_bgr
from dope_core.keypoints import Part
from dope_core.pseudo_labels.cache import LabelCache, Record, labels_of
from dope_core.pseudo_labels.sources import source_examples, source_of, unmatched_patterns
from dope_core.train.augment import hflip, rescale, visible_boxes, zoom
from dope_core.train.targets import record_targets

LOG = logging.getLogger(__name__)

Sample = tuple[torch.Tensor, dict[str, dict[str, np.ndarray]], str]
TargetTensors = dict[str, dict[str, torch.Tensor]]


def load_records(caches: Sequence[str | Path]) -> list[tuple[LabelCache, Record]]:
    """Every usable (``status == "ok"``) record of the caches, in a deterministic order; their labels stay
    on disk until asked for (:class:`~dope_core.pseudo_labels.cache.StoredRecord`).

    Raises:
        FileNotFoundError: a cache folder is missing.
        ValueError: no usable record at all.
    """
    out: list[tuple[LabelCache, Record]] = []
    for root in caches:
        cache = LabelCache(root)
        if not cache.items_dir.is_dir():
            raise FileNotFoundError(f"pseudo-label cache {str(root)!r} has no items/ folder: run 'dope-train label' first")
        out += [(cache, r) for r in cache.stored_records() if r.status == "ok"]
    if not out:
        raise ValueError(f"no usable pseudo-labelled image in {[str(c) for c in caches]}")
    return out


SPLITS = ("by_image", "by_video")


def split_records(records: Sequence[tuple[LabelCache, Record]], *, val_fraction: float, seed: int,
                  by: str = "by_image", val_sources: Sequence[str] = ()
                  ) -> tuple[list[tuple[LabelCache, Record]], list[tuple[LabelCache, Record]]]:
    """A deterministic train/validation split (at least one training record).

    Args:
        val_fraction: share of the records held out (ignored when ``val_sources`` names them).
        seed: the split's seed.
        by: ``"by_image"``: records drawn one by one (frames of one video on both sides);
            ``"by_video"``: whole sources (:func:`source_of`: a video's frames, an image
            and its crops) drawn until ``val_fraction`` of the records is held out, so the
            validation videos are never seen in training.
        val_sources: ``fnmatch`` patterns of sources to hold out (``by_video`` only), e.g.
            ``["*MultiPerson__cam0*"]`` for the four synchronised views of one scene.

    Raises:
        ValueError: bad arguments, a pattern that matches no source (named, with a few source names), or
            patterns that hold out every record.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if by not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {by!r}")
    if val_sources and by != "by_video":
        raise ValueError("val_sources needs the by_video split")
    if by == "by_image":
        order = np.random.default_rng(seed).permutation(len(records))
        n_val = min(int(round(val_fraction * len(records))), len(records) - 1)
        val = set(order[:n_val].tolist())
    else:
        groups: dict[str, list[int]] = {}
        for i, (_, r) in enumerate(records):
            groups.setdefault(source_of(r.key), []).append(i)
        names = sorted(groups)
        if val_sources:
            unmatched = unmatched_patterns(names, val_sources)
            if unmatched:
                raise ValueError(f"val_sources {unmatched} match no source (of {len(names)}; they look like "
                                 f"{', '.join(source_examples(names))}): a typo would leave a held-out video in "
                                 "training")
            held = [g for g in names if any(fnmatch.fnmatchcase(g, pat) for pat in val_sources)]
            if len(held) == len(names):
                raise ValueError(f"val_sources {list(val_sources)} match {len(held)} of the {len(names)} sources: "
                                 "they must hold out some but not all")
        else:
            target = int(round(val_fraction * len(records)))
            held, n_val = [], 0
            for j in np.random.default_rng(seed).permutation(len(names)).tolist():
                if n_val >= target or n_val + len(groups[names[j]]) >= len(records):
                    continue
                held.append(names[j])
                n_val += len(groups[names[j]])
        val = {i for g in held for i in groups[g]}
    return ([r for i, r in enumerate(records) if i not in val], [r for i, r in enumerate(records) if i in val])


class PseudoLabelDataset(Dataset):
    """Images and per-part targets from pseudo-label records.

    Args:
        records: ``(cache, record)`` pairs (:func:`load_records`).
        mode: ``"distillation"``, ``"hard_scores"`` or ``"hard"`` (see :mod:`dope_core.train.targets`).
        parts: parts to produce targets for.
        min_score: lowest expert score used as a soft target (distillation mode).
        hard_threshold: pseudo ground-truth threshold (hard mode).
        max_size: images are first shrunk so that their longer side is at most this
            many pixels (the network's transform resizes them again).
        scale_jitter: ``(low, high)`` range of the random zoom factor of the content
            (:func:`dope_core.train.augment.zoom`); ``(1, 1)`` disables it.
        flip: randomly mirror half of the samples.

    The targets' boxes are clipped to the augmented image
    (:func:`dope_core.train.augment.visible_boxes`): a person cut by the frame is
    taught where it is visible, with its whole pose.
    """

    def __init__(
        self,
        records: Sequence[tuple[LabelCache, Record]],
        *,
        mode: str = "distillation",
        parts: Sequence[Part] = tuple(Part),
        min_score: float = 0.05,
        hard_threshold: float = 0.5,
        max_size: int = 640,
        scale_jitter: tuple[float, float] = (0.75, 1.25),
        flip: bool = True,
    ) -> None:
        if max_size < 32:
            raise ValueError(f"max_size must be >= 32 pixels, got {max_size}")
        if not 0 < scale_jitter[0] <= scale_jitter[1]:
            raise ValueError(f"scale_jitter must be 0 < low <= high, got {scale_jitter}")
        self.records = list(records)
        self.mode = mode
        self.parts = tuple(Part(p) for p in parts)
        self.min_score = min_score
        self.hard_threshold = hard_threshold
        self.max_size = max_size
        self.scale_jitter = (float(scale_jitter[0]), float(scale_jitter[1]))
        self.flip = flip

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int | tuple[int, int]) -> Optional[Sample]:
        i, aug_seed = index if isinstance(index, tuple) else (index, None)
        cache, record = self.records[i]
        try:
            record = labels_of(record)
        except ValueError as e:   # changed on disk since the run started (labelled anew into the cache)
            LOG.warning("skipping %s: %s", record.key, e)
            return None
        bgr = read_bgr(cache.image_path(record))
        if bgr is None:
            LOG.warning("skipping %s: image %s cannot be read", record.key, record.image)
            return None
        image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        targets = record_targets(record, mode=self.mode, parts=self.parts,
                                 min_score=self.min_score, hard_threshold=self.hard_threshold)
        factor = self.max_size / max(image.shape[:2])
        if factor < 1:
            image, targets = rescale(image, targets, factor)
        if aug_seed is not None:
            rng = np.random.default_rng(aug_seed)
            if self.flip and rng.random() < 0.5:
                image, targets = hflip(image, targets)
            if self.scale_jitter != (1.0, 1.0):
                image, targets = zoom(image, targets, float(rng.uniform(*self.scale_jitter)), rng)
        targets = visible_boxes(targets, image.shape[1], image.shape[0])
        tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        arrays = {p.value: {k: np.asarray(v, np.float32) for k, v in t.items()} for p, t in targets.items()}
        return tensor, arrays, record.key


def repeat_factors(records: Sequence[tuple[LabelCache, Record]], *, parts: Sequence[Part],
                   hard_threshold: float, threshold: float) -> np.ndarray:
    """How often each record is drawn per epoch: repeat-factor sampling (Gupta et al., LVIS, CVPR 2019).

    A part seen (a pseudo ground-truth pose of score at least ``hard_threshold``) in a
    fraction ``f`` of the records gets the factor ``max(1, sqrt(threshold / f))``; a record
    takes the largest factor of the parts it shows (1 when it shows none). With
    ``threshold`` 0 every factor is 1. Faces, seen in a few close-ups and frames of people
    at a distance, are drawn more often without repeating the bodies that fill every frame.
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"the repeat-factor threshold must be in [0, 1], got {threshold}")
    shown = np.zeros((len(records), len(parts)), bool)
    for i, (_cache, record) in enumerate(records):
        pseudo_gt = labels_of(record).pseudo_gt
        if pseudo_gt is not None:
            shown[i] = [any(p.score >= hard_threshold for p in pseudo_gt.parts(part)) for part in parts]
    fraction = shown.mean(axis=0) if len(records) else np.zeros(len(parts))
    per_part = np.maximum(1.0, np.sqrt(threshold / np.maximum(fraction, 1e-12)))   # unused where f is 0
    return np.where(shown, per_part[None, :], 1.0).max(axis=1, initial=1.0)


class StepSampler(Sampler):
    """Yields ``(index, augmentation seed)`` for steps ``[start_step, total_steps)`` of one rank.

    The global stream concatenates per-epoch permutations of the dataset (epoch ``e``
    shuffled with ``(seed, e)``); step ``s`` of rank ``r`` takes positions
    ``(s * world_size + r) * batch_size + b``. The augmentation seed of a position is
    derived from ``(seed, position)``.

    With ``repeat_factors`` (:func:`repeat_factors`), epoch ``e`` holds record ``i``
    ``floor(r_i)`` times plus once more with probability ``r_i - floor(r_i)`` (drawn with
    ``(seed, e, 1)``), shuffled; epochs then differ in length, and the stream is still a
    pure function of the seed.
    """

    def __init__(self, n: int, *, batch_size: int, start_step: int, total_steps: int,
                 seed: int = 0, rank: int = 0, world_size: int = 1,
                 repeat_factors: Optional[Sequence[float]] = None) -> None:
        if n < 1:
            raise ValueError("the dataset is empty")
        factors = None if repeat_factors is None else np.asarray(repeat_factors, float)
        if factors is not None and (factors.shape != (n,) or not np.all(factors >= 1)):
            raise ValueError(f"repeat_factors must be {n} values >= 1")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.start_step, self.total_steps = start_step, total_steps
        self.rank, self.world_size = rank, world_size
        self.factors = None if factors is None or np.all(factors == 1) else factors
        self._epoch_index = -1
        self._epoch_start = 0
        self._epoch_order = np.zeros(0, int)

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step) * self.batch_size

    def _order(self, epoch: int) -> np.ndarray:
        if self.factors is None:
            return np.random.default_rng([self.seed, epoch]).permutation(self.n)
        rng = np.random.default_rng([self.seed, epoch, 1])
        whole = np.floor(self.factors)
        counts = (whole + (rng.random(self.n) < self.factors - whole)).astype(int)
        return rng.permutation(np.repeat(np.arange(self.n), counts))

    def _index_at(self, pos: int) -> int:
        if pos < self._epoch_start:   # positions only grow within one iteration; start over otherwise
            self._epoch_index, self._epoch_start, self._epoch_order = -1, 0, np.zeros(0, int)
        while pos >= self._epoch_start + len(self._epoch_order):
            self._epoch_start += len(self._epoch_order)
            self._epoch_index += 1
            self._epoch_order = self._order(self._epoch_index)
        return int(self._epoch_order[pos - self._epoch_start])

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for step in range(self.start_step, self.total_steps):
            for b in range(self.batch_size):
                pos = (step * self.world_size + self.rank) * self.batch_size + b
                yield self._index_at(pos), int(np.random.default_rng([self.seed, pos, 7]).integers(2**31))


def collate(batch: list[Optional[Sample]]) -> tuple[list[torch.Tensor], list[dict], list[str], int]:
    """Batch as lists (images differ in size); also the number of unreadable samples dropped."""
    kept = [s for s in batch if s is not None]
    return [s[0] for s in kept], [s[1] for s in kept], [s[2] for s in kept], len(batch) - len(kept)


def model_inputs(images: Sequence[torch.Tensor], targets: Sequence[dict[str, dict[str, np.ndarray]]],
                 device: torch.device) -> tuple[list[torch.Tensor], list[TargetTensors]]:
    """A collated batch as the network takes it, on ``device``: float ``(3, H, W)`` images in
    [0, 1] and target tensors. All target arrays travel in one host-to-device copy."""
    floats = [im.to(device, non_blocking=True).float() / 255.0 for im in images]
    layout = [(i, part, name, np.shape(a)) for i, t in enumerate(targets) for part, arrays in t.items()
              for name, a in arrays.items()]
    flat = np.concatenate([np.ravel(np.asarray(targets[i][part][name], np.float32)) for i, part, name, _ in layout]
                          or [np.zeros(0, np.float32)])
    values = torch.from_numpy(flat).to(device, non_blocking=True)
    out: list[TargetTensors] = [{} for _ in targets]
    offset = 0
    for i, part, name, shape in layout:
        n = int(np.prod(shape))
        out[i].setdefault(part, {})[name] = values[offset:offset + n].view(shape)
        offset += n
    return floats, out
