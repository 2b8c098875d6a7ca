"""Locating the experts' tflite files and running them with LiteRT."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

MODELS_ENV = "DOPE_EXPERT_MODELS"
"""Environment variable naming a folder laid out like mediapipe's ``modules/``."""

MODEL_FILES = {
    "pose_detection": "pose_detection/pose_detection.tflite",
    "pose_landmark": "pose_landmark/pose_landmark_full.tflite",
    "pose_landmark_lite": "pose_landmark/pose_landmark_lite.tflite",   # not in the wheel: dope_core.experts.fetch_models
    "pose_landmark_heavy": "pose_landmark/pose_landmark_heavy.tflite",   # fetch_models, too
    "person_ssd": "objectron/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite",   # fetch_models, too
    "palm_detection": "palm_detection/palm_detection_full.tflite",
    "hand_landmark": "hand_landmark/hand_landmark_full.tflite",
    "hand_landmark_lite": "hand_landmark/hand_landmark_lite.tflite",
    "face_detection_full": "face_detection/face_detection_full_range_sparse.tflite",
    "face_detection_short": "face_detection/face_detection_short_range.tflite",
    "face_landmark": "face_landmark/face_landmark.tflite",
}


class ExpertModelNotFound(FileNotFoundError):
    """A tflite model file of the experts is missing."""


def models_dir() -> Path:
    """Folder holding the experts' tflite files.

    ``$DOPE_EXPERT_MODELS`` when set, else the ``modules/`` folder of the installed
    ``mediapipe`` wheel (found without importing mediapipe).
    """
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env)
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise ExpertModelNotFound(
            "the part experts need the tflite models of the mediapipe 0.10.21 wheel: "
            "run scripts/setup_env.sh (or `pip install mediapipe==0.10.21`), "
            f"or point ${MODELS_ENV} at a folder with the same layout"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "modules"


def model_path(name: str) -> Path:
    """Path of the model ``name`` (a key of :data:`MODEL_FILES`)."""
    path = models_dir() / MODEL_FILES[name]
    if not path.is_file():
        raise ExpertModelNotFound(f"expert model {name!r} not found at {path}")
    return path


class TFLiteModel:
    """A tflite model with one image input, run by LiteRT on the CPU.

    Args:
        name: key of :data:`MODEL_FILES`.
        num_threads: CPU threads LiteRT may use.
    """

    def __init__(self, name: str, *, num_threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.name = name
        self._interpreter = Interpreter(model_path=str(model_path(name)), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        inp = self._interpreter.get_input_details()[0]
        self._input_index = inp["index"]
        self.input_size = (int(inp["shape"][2]), int(inp["shape"][1]))  # (width, height)
        self._outputs = [d["index"] for d in self._interpreter.get_output_details()]

    def __call__(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Run on one ``(H, W, 3)`` float32 input; returns the outputs, batch dim removed."""
        self._interpreter.set_tensor(self._input_index, tensor[None].astype(np.float32, copy=False))
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(i)[0].copy() for i in self._outputs]
