"""Loaders of annotated images (ground truth in the data model's conventions)."""

from dope_core.datasets.registry import DATASET_NAMES, load_annotated
from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance

__all__ = ["AnnotatedSample", "DATASET_NAMES", "GroundTruthInstance", "load_annotated"]
