"""The experts configuration: presets, YAML sections and one-line errors."""

import pytest

from dope_core.experts.config import (PERSON_DETECTORS, PRESETS, ExpertsConfig, ExpertsConfigError,
                                      experts_config_from_dict, load_experts_config)


def test_defaults_and_presets_are_valid_and_distinct():
    assert load_experts_config(None) == PRESETS["default"] == ExpertsConfig()
    assert set(PRESETS["default"].person_detectors) <= set(PERSON_DETECTORS)
    legacy = PRESETS["legacy"]
    assert legacy.tile_fractions == (0.5,) and legacy.min_tile_side == 168 and legacy.detector_score == 0.5
    assert len({PRESETS[n] for n in PRESETS}) == len(PRESETS)


def test_yaml_section_overrides_a_preset(tmp_path):
    f = tmp_path / "experts.yaml"
    f.write_text("experts:\n  preset: legacy\n  person_detectors: blazepose\n  max_people: 7\n  recrop: true\n")
    cfg = load_experts_config(f)
    assert cfg.person_detectors == ("blazepose",) and cfg.max_people == 7 and cfg.recrop
    assert cfg.tile_fractions == (0.5,)


def test_shipped_experts_yaml_is_the_default():
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[3] / "config" / "experts.yaml"
    assert load_experts_config(shipped) == PRESETS["default"]


@pytest.mark.parametrize("section, message", [
    ({"person_detectors": ["blazepose", "nope"]}, "unknown person detector 'nope'"),
    ({"person_detectors": []}, "person_detectors is empty"),
    ({"preset": "fastest"}, "unknown experts preset 'fastest'"),
    ({"body": "openpose"}, "unknown body expert 'openpose'"),
    ({"tile_fraction": [0.5]}, "unknown experts option"),
    ({"tile_fractions": [1.5]}, "tile_fractions must lie in"),
    ({"ssd_tile_fractions": [0.0]}, "ssd_tile_fractions must lie in"),
    ({"ssd_fill_tile_fractions": [1.2]}, "ssd_fill_tile_fractions must lie in"),
    ({"ssd_score": 1.5}, "ssd_score must lie in"),
    ({"nested_body_score": 1.2}, "nested_body_score must lie in"),
    ({"hand_wrist_score": -0.1}, "hand_wrist_score must lie in"),
    ({"face_head_score": 1.5}, "face_head_score must lie in"),
    ({"body_on_hand_score": 1.2}, "body_on_hand_score must lie in"),
    ({"hand_zoom_out": 0.8}, "hand_zoom_out must be 0"),
    ({"hand_zoom_out": 5}, "hand_zoom_out must be 0"),
    ({"face_zoom_out": 1.0}, "face_zoom_out must be 0"),
    ({"hand_weak_palm_score": 0.5}, "hand_weak_palm_score must lie in"),
    ({"hand_weak_palm_score": -0.1}, "hand_weak_palm_score must lie in"),
    ({"hand_body_reach": 0}, "hand_body_reach must lie in"),
    ({"hand_body_reach": 1.0}, "hand_body_reach must lie in"),
    ({"hand_body_reach": "0.1"}, "hand_body_reach must be a number or null"),
    ({"max_people": 0}, "max_people must be at least 1"),
    ({"body_refine_flip": "yes"}, "body_refine_flip must be true or false"),
    ({"body_retry_refuted": 1}, "body_retry_refuted must be true or false"),
    ({"recrop": "no"}, "recrop must be true or false, got 'no'"),   # a string Python would take as true
    ({"max_people": "50"}, "max_people must be a whole number, got '50'"),
    ({"max_candidates": 100.0}, "max_candidates must be a whole number"),
    ({"body_refine_max": 2.5}, "body_refine_max must be a whole number"),
    ({"ssd_score": "0.3"}, "ssd_score must be a number"),
    ({"body_on_hand_score": True}, "body_on_hand_score must be a number or null"),
    ({"body_refine": ["blazepose_heavy"]}, "body_refine must be a name or null"),
    ({"tile_fractions": [0.5, "0.3"]}, "tile_fractions must be a list of numbers"),
    ({"person_detectors": [["ssd"]]}, "person_detectors must be a list of names"),
    ({"preset": ["default"]}, r"unknown experts preset \['default'\]"),
])
def test_bad_sections_are_one_line_errors(section, message):
    with pytest.raises(ExpertsConfigError, match=message) as e:
        experts_config_from_dict(section)
    assert "\n" not in str(e.value)


def test_a_preset_by_name_unless_a_file_has_that_name(tmp_path, monkeypatch):
    assert load_experts_config("legacy") == PRESETS["legacy"] != PRESETS["default"]
    assert load_experts_config("thorough") == PRESETS["thorough"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "legacy").write_text("experts: {max_people: 3}\n")
    assert load_experts_config("legacy") == experts_config_from_dict({"max_people": 3})


def test_bad_files_are_one_line_errors(tmp_path):
    with pytest.raises(ExpertsConfigError, match="not found .*a preset: default, thorough, legacy"):
        load_experts_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("experts: [1, 2\n")
    with pytest.raises(ExpertsConfigError, match="cannot read"):
        load_experts_config(bad)
    bad.write_text("experts: 3\n")
    with pytest.raises(ExpertsConfigError, match="'experts' section"):
        load_experts_config(bad)


def test_an_uninstalled_extra_is_one_line_that_says_what_to_install(monkeypatch):
    import dope_core.experts.extras as extras

    monkeypatch.setitem(extras.EXTRAS, "yolo", extras.Extra("yolo", ("dope_no_such_module",), "AGPL-3.0 (test)"))
    with pytest.raises(ExpertsConfigError, match=r"person detector 'yolo' needs the optional 'yolo' extra.*"
                                                 r"scripts/setup_env.sh --with yolo; licence: AGPL-3.0") as e:
        experts_config_from_dict({"person_detectors": ["yolo", "blazepose"]})
    assert "\n" not in str(e.value)
    assert "yolo" not in PRESETS["default"].person_detectors     # the default install never needs it


def test_source_joints_are_body_joint_names():
    assert experts_config_from_dict({"source_joints": "left_knee"}).source_joints == ("left_knee",)
    with pytest.raises(ExpertsConfigError, match="unknown body joint.*'nose'"):
        experts_config_from_dict({"source_joints": ["left_knee", "nose"]})


def test_a_lite_body_without_its_model_file_is_one_line_that_says_how_to_fetch_it(monkeypatch):
    import dope_core.experts.tflite as tflite

    monkeypatch.setitem(tflite.MODEL_FILES, "pose_landmark_lite", "pose_landmark/no_such_model.tflite")
    with pytest.raises(ExpertsConfigError, match=r"body expert 'blazepose_lite' needs its model file.*"
                                                 r"python -m dope_core.experts.fetch_models") as e:
        experts_config_from_dict({"body": "blazepose_lite"})
    assert "\n" not in str(e.value)
    assert PRESETS["default"].body == "blazepose"                 # the full model stays the default body expert


def test_the_refining_body_model_is_a_body_expert_and_its_file_is_checked(monkeypatch):
    import dope_core.experts.tflite as tflite

    assert PRESETS["default"].body_refine == "blazepose_heavy" and PRESETS["legacy"].body_refine is None
    assert experts_config_from_dict({"body_refine": None}).body_refine is None
    with pytest.raises(ExpertsConfigError, match="unknown body expert 'huge' in experts.body_refine"):
        experts_config_from_dict({"body_refine": "huge"})
    with pytest.raises(ExpertsConfigError, match="body_refine_max must be >= 0"):
        experts_config_from_dict({"body_refine_max": -1})
    monkeypatch.setitem(tflite.MODEL_FILES, "pose_landmark_heavy", "pose_landmark/no_such_model.tflite")
    with pytest.raises(ExpertsConfigError, match=r"body expert 'blazepose_heavy' needs its model file.*"
                                                 r"python -m dope_core.experts.fetch_models") as e:
        load_experts_config(None)
    assert "\n" not in str(e.value)
    assert experts_config_from_dict({"body_refine": None}).body == "blazepose"   # without it: the wheel's models


def test_the_ssd_detector_without_its_model_file_is_one_line_and_the_presets_still_import(monkeypatch):
    import dope_core.experts.tflite as tflite

    monkeypatch.setitem(tflite.MODEL_FILES, "person_ssd", "objectron/no_such_model.tflite")
    assert "ssd" in PRESETS["default"].person_detectors                   # built without looking for files
    for make in (lambda: load_experts_config(None), lambda: experts_config_from_dict({"max_people": 5}),
                 lambda: PRESETS["legacy"].replace(person_detectors=("ssd",))):
        with pytest.raises(ExpertsConfigError, match=r"person detector 'ssd' needs its model file.*"
                                                     r"python -m dope_core.experts.fetch_models") as e:
            make()
        assert "\n" not in str(e.value)
    assert experts_config_from_dict({"person_detectors": ["blazepose", "faces"]}).person_detectors == ("blazepose", "faces")
    from dope_core.experts.ensemble import ExpertsEstimator

    with pytest.raises(ExpertsConfigError, match="person detector 'ssd'"):   # the estimator checks too
        ExpertsEstimator()


@pytest.mark.parametrize("section", [
    {"tile_fractions": [1.0]}, {"ssd_fill_tile_fractions": [1.0]}, {"ssd_score": 0.0}, {"ssd_score": 1.0},
    {"yolo_score": 0.0}, {"yolo_image_size": 32}, {"yolo_image_size": 4096}, {"hand_zoom_out": 4.0},
    {"face_zoom_out": 0.0}, {"detector_score": 1.0}, {"body_refine_max": 0}, {"min_tile_side": 0.0},
    {"max_candidates": 1}, {"hand_weak_palm_score": 0.0}, {"hand_weak_palm_score": 0.49},
    {"hand_body_reach": None}, {"hand_body_reach": 0.99},
])
def test_values_at_the_ends_of_their_ranges_are_accepted(section: dict) -> None:
    """The documented ranges include their closed ends: these values make a configuration."""
    cfg = experts_config_from_dict(section)
    assert all(cfg.to_dict()[k] == (list(v) if isinstance(v, list) else v) for k, v in section.items())


@pytest.mark.parametrize("section, message", [
    ({"yolo_score": 1.5}, "yolo_score must lie in"),
    ({"yolo_score": -0.1}, "yolo_score must lie in"),
    ({"yolo_image_size": 31}, "yolo_image_size must lie in"),
    ({"yolo_image_size": 4097}, "yolo_image_size must lie in"),
    ({"detector_score": 1.2}, "detector_score must lie in"),
    ({"detector_score": -0.1}, "detector_score must lie in"),
    ({"face_zoom_out": 4.5}, "face_zoom_out must be 0"),
    ({"max_candidates": 0}, "max_candidates must be at least 1"),
    ({"min_tile_side": -1.0}, "min_tile_side must be >= 0"),
    ({"tile_fractions": [0.0]}, "tile_fractions must lie in"),
])
def test_values_just_outside_their_ranges_are_one_line_errors(section: dict, message: str) -> None:
    """Values past a range's end raise one-line errors naming the option."""
    with pytest.raises(ExpertsConfigError, match=message) as e:
        experts_config_from_dict(section)
    assert "\n" not in str(e.value)
