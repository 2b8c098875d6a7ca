"""COCO-style annotation files with one part instance per annotation (hands, faces, RHD).

The loaders of such files differ only in how one annotation becomes a
:class:`GroundTruthInstance`; :func:`load_coco_style` does the rest: images in file
order, their paths, and a logged skip (file, annotation id, reason) for every
annotation that cannot be used.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from dope_core.datasets.files import coco_annotations_by_image, read_json
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance

log = logging.getLogger(__name__)

InstanceReader = Callable[[dict[str, Any]], GroundTruthInstance]
"""One annotation to one instance; raises ``ValueError`` or ``KeyError`` (the reason) when unusable."""


def load_coco_style(annotation_file: str | Path, dataset: str, instance: InstanceReader, *,
                    image_dir: str | Path | None = None,
                    intrinsics: Optional[Callable[[dict[str, Any]], Optional[np.ndarray]]] = None,
                    ) -> list[AnnotatedSample]:
    """Samples of a COCO-style file (``images`` and ``annotations``).

    Args:
        annotation_file: the JSON file.
        dataset: the samples' dataset name.
        instance: reads one annotation (see :data:`InstanceReader`).
        image_dir: folder of the images (default: the JSON file's folder).
        intrinsics: the ``(3, 3)`` camera matrix of an image record, if the file has one.

    Raises:
        ValueError: the file is missing, not JSON, or not COCO-style.
    """
    annotation_file = Path(annotation_file)
    image_dir = Path(image_dir) if image_dir is not None else annotation_file.parent
    samples = []
    for image, anns in coco_annotations_by_image(read_json(annotation_file), annotation_file):
        instances = []
        for ann in anns:
            try:
                instances.append(instance(ann))
            except (KeyError, ValueError) as e:
                log.warning("%s: skipping annotation %s: %s", annotation_file, ann.get("id"), e)
        samples.append(AnnotatedSample(dataset, image_dir / image["file_name"], instances,
                                       intrinsics(image) if intrinsics is not None else None))
    return samples
