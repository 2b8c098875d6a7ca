"""build_estimator: the experts backend honours only CPU devices and says so; streams get their settings."""

from __future__ import annotations

import pytest

from dope_core.estimator import build_estimator


@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_experts_backend_refuses_a_gpu_device(device):
    with pytest.raises(ValueError, match=r"the experts backend runs on the CPU only \(LiteRT\)"):
        build_estimator("experts", device=device)


def test_a_streaming_estimator_gets_its_schedule_and_second_opinion():
    from dope_core.experts.streaming import DetectionSchedule, StreamingExpertsEstimator

    schedule = DetectionSchedule(every_frames=7)
    stream = build_estimator("experts", streaming=schedule, second_opinion=0.0)
    assert isinstance(stream, StreamingExpertsEstimator)
    assert stream.schedule is schedule and stream.second_opinion == 0.0
    assert build_estimator("experts", streaming=schedule).second_opinion == 0.8


@pytest.mark.parametrize("kwargs, error, why", [
    ({"parts": []}, ValueError, "parts is empty"),
    ({"streaming": True}, TypeError, "streaming must be a DetectionSchedule"),
    ({"tile_fractions": [0.0]}, ValueError, "tile_fractions must lie in"),
    ({"tile_fractions": [float("nan")]}, ValueError, "tile_fractions must lie in"),
    ({"backend": "network", "device": "gpu"}, ValueError, "unknown device 'gpu'"),
    ({"backend": "network", "device": None}, ValueError, "unknown device None"),
    ({"backend": "network", "device": "meta"}, ValueError, "unknown device 'meta'"),     # torch parses these two,
    ({"backend": "network", "device": "mps"}, ValueError, "unknown device 'mps'"),       # neither runs the network
    ({"checkpoint": "student.pth"}, ValueError, "checkpoint is for backend 'network'"),
    ({"half": True}, ValueError, "half is for backend 'network'"),
    ({"postprocess": "nms", "checkpoint": "x.pth"}, ValueError, "checkpoint and postprocess are for backend 'network'"),
])
def test_bad_arguments_are_clear_errors(kwargs, error, why):
    with pytest.raises(error, match=why):
        build_estimator(**kwargs)


def test_the_network_settings_left_at_their_defaults_build_the_experts_backend():
    """What the node passes with its default parameters (checkpoint '', fp16 false, postprocess '')."""
    experts = build_estimator("experts", parts=["body"], checkpoint=None, half=False, postprocess=None)
    assert experts.name == "experts"


def test_a_preset_name_is_an_experts_configuration():
    thorough = build_estimator("experts", experts_config="thorough", parts=["body"])
    assert thorough.config.max_people == 60
